"""End to end with real servers on 127.0.0.1: ``prefect server start``, ``dask scheduler``,
two ``dask worker`` processes; and the fault tests (a worker killed, the run killed)."""

import json
import os
import signal
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from neurovar.catalog import store

from .conftest import neurovar_cmd
from .servers import dask_scheduler, http_json, prefect_env, prefect_server, spawn, start_worker, stop, wait_for, wait_workers

pytestmark = pytest.mark.slow

# 30 cells of 0.2-0.7 s each: x^3 networks (d0, h, h, 1), whose dimension is
# the KTB expected dimension min(d0 h + h^2 + h - 2h, binom(d0 + 8, 9)).
GRID = """
name: faults
computations: [dimension]
model: mlp
axes:
  input_dim: [5, 6]
  hidden: [20, 22, 24, 26, 28]
  depth: [3]
  output_dim: [1]
  activation: ["x^3"]
  float_check: [false]
  seed: [0, 1, 2]
timeout_s: 120
"""


def last_json(text: str) -> dict:
    return json.loads([line for line in text.strip().splitlines() if line.startswith("{")][-1])


def expected_dim(d0, h):
    from math import comb

    return min(d0 * h + h * h + h - 2 * h, comb(d0 + 8, 9))


def check_catalog(results: Path, n: int):
    raw = pd.read_parquet(results / "dimension")
    assert len(raw) == n and raw["cell_key"].nunique() == n  # every cell exactly once
    df = store.load("dimension", results)
    assert set(df["status"]) == {"ok"}
    for w, d in zip(df["widths"], df["dimension"]):
        assert d == expected_dim(w[0], w[1])


@pytest.fixture
def grid(tmp_path):
    p = tmp_path / "faults.yaml"
    p.write_text(GRID)
    return p


def test_real_prefect_server_and_dask_cluster(tmp_path, grid):
    with prefect_server(tmp_path) as api, dask_scheduler(tmp_path) as (addr, _):
        workers = [start_worker(tmp_path, addr, f"w{i}") for i in range(2)]
        try:
            wait_workers(addr, 2)
            env = {**os.environ, **prefect_env(tmp_path / "prefect-home"), "PREFECT_API_URL": api}
            p = subprocess.run(neurovar_cmd() + ["run", str(grid), "--scheduler", addr, "--results",
                                                 str(tmp_path / "r"), "--json"],
                               capture_output=True, text=True, env=env, timeout=600)
            assert p.returncode == 0, p.stderr[-3000:]
            summary = last_json(p.stdout)
            assert summary["computed"] == 30 and summary["ok"] == 30
            check_catalog(tmp_path / "r", 30)
            # both workers did some of the work
            hosts = store.load("dimension", tmp_path / "r")
            assert len(hosts) == 30
            # the flow run is in the Prefect server's database, completed
            fr = http_json(f"{api}/flow_runs/{summary['flow_run_id']}")
            assert fr["state_type"] == "COMPLETED"
            flows = http_json(f"{api}/flows/filter", {})
            assert "neurovar-grid" in {f["name"] for f in flows}
            runs = store.load_runs(tmp_path / "r")
            assert runs["flow_run_id"].iloc[0] == summary["flow_run_id"]
        finally:
            for w in workers:
                stop(w)


def test_killed_worker_is_replaced_and_every_cell_lands_once(tmp_path, grid):
    from distributed import Client

    results = tmp_path / "r"
    with dask_scheduler(tmp_path) as (addr, _):
        workers = [start_worker(tmp_path, addr, f"w{i}") for i in range(2)]
        try:
            wait_workers(addr, 2)
            log = tmp_path / "run.log"
            run = spawn(neurovar_cmd() + ["run", str(grid), "--scheduler", addr, "--results", str(results), "--json"],
                        log, prefect_env(tmp_path / "prefect-home"))
            wait_for(lambda: len(store.part_files("dimension", results)) >= 2, 300, "first batches", run, log)
            with Client(addr, timeout="30s") as c:
                pids = c.run(os.getpid)
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)  # the worker process; its nanny starts a new one
            assert run.wait(timeout=600) == 0, log.read_text()[-3000:]
            summary = last_json(log.read_text())
            assert summary["ok"] == 30 and summary["error"] == 0
            check_catalog(results, 30)
            with Client(addr, timeout="30s") as c:
                c.wait_for_workers(2, timeout=60)
                assert victim not in c.run(os.getpid).values()
        finally:
            for w in workers:
                stop(w)


def test_killed_run_leaves_a_clean_catalog_and_rerun_computes_only_the_rest(tmp_path, grid):
    results = tmp_path / "r"
    log = tmp_path / "run.log"
    env = prefect_env(tmp_path / "prefect-home")
    run = spawn(neurovar_cmd() + ["run", str(grid), "--workers", "2", "--results", str(results)], log, env)
    wait_for(lambda: len(store.part_files("dimension", results)) >= 2, 300, "first batches", run, log)
    os.killpg(run.pid, signal.SIGKILL)  # the whole run: CLI, flow, local cluster, temporary server
    run.wait(timeout=30)
    done = store.load("dimension", results)
    n_done = len(done)
    assert 0 < n_done < 30
    assert len(pd.read_parquet(results / "dimension")) == n_done
    assert not [p for p in (results / "dimension").iterdir() if not p.name.endswith(".parquet")] or all(
        p.name.startswith(".") for p in (results / "dimension").iterdir() if not p.name.endswith(".parquet"))
    p = subprocess.run(neurovar_cmd() + ["run", str(grid), "--workers", "2", "--results", str(results), "--json"],
                       capture_output=True, text=True, env={**os.environ, **env}, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    summary = last_json(p.stdout)
    assert summary["skipped"] == n_done and summary["computed"] == 30 - n_done
    check_catalog(results, 30)
