"""Scheduled deployments on a real ``prefect server start`` (127.0.0.1, own PREFECT_HOME).

``neurovar serve GRID --interval 5`` registers the deployment and runs its
scheduled flow runs; the first computes every cell, the next ones find them all
in the catalog and compute nothing. ``neurovar deploy`` registers a deployment
for a process work pool that ``prefect worker start --pool`` runs.
"""

import json
import signal
from pathlib import Path

import pytest

from neurovar.catalog import store

from .conftest import neurovar_cmd
from .servers import SYMMETRIC_RANK_DIMENSIONS, symmetric_rank_grid, bin_path, http_json, prefect_env, prefect_server, spawn, stop, wait_for

ROOT = Path(__file__).resolve().parents[1]

GRID = symmetric_rank_grid("served")
EXPECTED = SYMMETRIC_RANK_DIMENSIONS


def flow_runs(api: str, deployment_id: str) -> list[dict]:
    return http_json(f"{api}/flow_runs/filter", {"deployments": {"id": {"any_": [deployment_id]}},
                                                 "sort": "EXPECTED_START_TIME_ASC"})


def deployment(api: str, name: str) -> dict:
    return http_json(f"{api}/deployments/name/neurovar-scheduled-grid/{name}")


def artifacts_by_run(api: str, key: str) -> dict[str, dict]:
    arts = http_json(f"{api}/artifacts/filter", {"artifacts": {"key": {"any_": [key]}}})
    out = {}
    for a in arts:
        data = json.loads(a["data"]) if isinstance(a["data"], str) else a["data"]
        out[a["flow_run_id"]] = data[0]
    return out


def check_catalog(results: Path):
    df = store.load("dimension", results)
    assert sorted(zip(df["widths"].map(tuple), df["dimension"])) == EXPECTED
    assert set(df["status"]) == {"ok"}


@pytest.fixture
def grid(tmp_path):
    p = tmp_path / "served.yaml"
    p.write_text(GRID)
    return p


def test_serve_without_a_server_exits_2(cli, grid, tmp_path):
    p = cli("serve", grid, "--interval", "5", env={"PREFECT_API_URL": "", "PREFECT_HOME": str(tmp_path / "ph")},
            timeout=120)
    assert p.returncode == 2
    assert "PREFECT_API_URL" in p.stderr and "no scheduler" in p.stderr and "prefect server start" in p.stderr
    p = cli("serve", grid, "--interval", "5", env={"PREFECT_API_URL": "http://127.0.0.1:9/api",
                                                   "PREFECT_HOME": str(tmp_path / "ph")}, timeout=120)
    assert p.returncode == 2 and "no Prefect server answers at http://127.0.0.1:9/api" in p.stderr


@pytest.mark.parametrize("args, needle", [
    ([], "--cron: give a schedule"),
    (["--cron", "0 2 * * *", "--interval", "60"], "either --cron or --interval"),
    (["--interval", "-1"], "--interval: must be a positive"),
    (["--cron", "every night"], "--cron: not a cron expression"),
    (["--interval", "5", "--scheduler", "localhost:8786"], "--scheduler: expected an address"),
])
def test_bad_schedule_exits_2(cli, grid, args, needle):
    p = cli("serve", grid, *args, timeout=120)
    assert p.returncode == 2 and needle in p.stderr


def test_bad_grid_exits_2_naming_the_field(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GRID.replace("[3, 3, 1]]", "[3, 0, 1]]"))
    p = cli("deploy", bad, "--interval", "60", timeout=120)
    assert p.returncode == 2 and "grid.axes.widths[2]" in p.stderr


@pytest.mark.slow
def test_served_interval_schedule_runs_twice_and_the_second_run_computes_nothing(tmp_path, grid):
    results = tmp_path / "results"
    with prefect_server(tmp_path) as api:
        env = {**prefect_env(tmp_path / "prefect-home"), "PREFECT_API_URL": api,
               "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
        log = tmp_path / "serve.log"
        proc = spawn(neurovar_cmd() + ["serve", str(grid), "--interval", "5", "--results", str(results),
                                       "--workers", "1", "--name", "every-5s"], log, env)
        try:
            wait_for(lambda: deployment(api, "every-5s")["id"], 180, "deployment registered", proc, log)
            dep = deployment(api, "every-5s")
            assert dep["parameters"]["spec"]["name"] == "served"
            assert dep["parameters"]["results"] == str(results)
            assert [s["schedule"]["interval"] for s in dep["schedules"]] == [5.0]

            def two_completed():
                done = [r for r in flow_runs(api, dep["id"]) if r["state_type"] == "COMPLETED"]
                return len(done) >= 2

            wait_for(two_completed, 420, "two completed scheduled runs", proc, log)
        finally:
            # Ctrl-C: serve pauses its schedule on the way out; a SIGKILL after the timeout would skip
            # that, so on a loaded machine (a CI run beside a long solve) it gets two minutes
            stop(proc, sig=signal.SIGINT, timeout=120)
        runs = flow_runs(api, dep["id"])
        done = [r for r in runs if r["state_type"] == "COMPLETED"]
        assert not [r for r in runs if r["state_type"] in ("FAILED", "CRASHED")], log.read_text()[-3000:]
        assert all(r["auto_scheduled"] for r in done)  # created by the server's scheduler, not by hand
        done.sort(key=lambda r: r["start_time"])
        first, second = done[0], done[1]
        arts = artifacts_by_run(api, "neurovar-served")
        assert arts[first["id"]]["computed"] == 3 and arts[first["id"]]["ok"] == 3
        assert arts[second["id"]]["computed"] == 0 and arts[second["id"]]["skipped"] == 3
        # the catalog: each cell exactly once; one run row per flow run, the second one computed nothing
        check_catalog(results)
        assert len(store.load("dimension", results, parse_json=False)) == 3
        runs_table = store.load_runs(results).set_index("flow_run_id")
        assert runs_table.loc[first["id"], "cells_ok"] == 3 and runs_table.loc[first["id"], "status"] == "ok"
        assert runs_table.loc[second["id"], "cells_ok"] == 0 and runs_table.loc[second["id"], "cells_skipped"] == 3
        # the schedule is paused when serve stops
        # serve pauses its schedule while shutting down; the pause reaches the API asynchronously
        wait_for(lambda: deployment(api, "every-5s")["paused"] is True, 60, "the schedule paused after serve stopped",
                 log=log)


@pytest.mark.slow
def test_deploy_to_a_process_work_pool_and_a_worker_runs_it(tmp_path, grid, cli):
    results = tmp_path / "results"
    with prefect_server(tmp_path) as api:
        env = {**prefect_env(tmp_path / "prefect-home"), "PREFECT_API_URL": api}
        p = cli("deploy", grid, "--cron", "0 2 * * *", "--work-pool", "nightly", "--results", results,
                "--workers", "1", env=env, timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        assert "prefect worker start --pool nightly" in p.stdout
        dep = deployment(api, "served")
        assert dep["work_pool_name"] == "nightly"
        assert [s["schedule"]["cron"] for s in dep["schedules"]] == ["0 2 * * *"]
        assert dep["entrypoint"] == "neurovar.flows.deploy.scheduled_grid"
        pool = http_json(f"{api}/work_pools/nightly")
        assert pool["type"] == "process"
        # the nightly run, now: a flow run of the deployment, picked up by a worker of the pool
        fr = http_json(f"{api}/deployments/{dep['id']}/create_flow_run", {})
        log = tmp_path / "worker.log"
        worker = spawn([bin_path("prefect"), "worker", "start", "--pool", "nightly", "--type", "process",
                        "--prefetch-seconds", "5"], log, {**env, "PREFECT_WORKER_QUERY_SECONDS": "2"},
                       cwd=tmp_path)
        try:
            def finished():
                return http_json(f"{api}/flow_runs/{fr['id']}")["state_type"] in ("COMPLETED", "FAILED", "CRASHED")

            wait_for(finished, 420, "the worker's flow run", worker, log)
        finally:
            stop(worker, sig=signal.SIGINT, timeout=60)
        assert http_json(f"{api}/flow_runs/{fr['id']}")["state_type"] == "COMPLETED", log.read_text()[-3000:]
        check_catalog(results)
        assert list(store.load_runs(results)["flow_run_id"]) == [fr["id"]]
