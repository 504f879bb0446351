"""``neurovar run`` checks its environment before anything starts.

Each bad environment ends the run with one line on stderr, exit status 2, within
10 s, and nothing written: a results folder that cannot take files, a scheduler
that does not answer, a batch queue whose submit command is missing, and
``--scheduler`` together with ``--cluster``. A cluster that starts no worker ends
the run after ``--worker-timeout`` with exit 1, one line and a ``failed`` row in
``_runs``.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .servers import dask_scheduler, free_port, prefect_env

REPO = Path(__file__).resolve().parents[1]
GRID = REPO / "grids" / "quickstart.yaml"


def _tree(path: Path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else None


def _refused(p, flag: str, seconds: float) -> str:
    """Exit 2, one ``error:`` line naming ``flag`` on stderr, nothing on stdout, within 10 s."""
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {flag}:"), p.stderr
    assert p.stdout == ""
    assert seconds <= 10.0, f"took {seconds:.1f} s"
    return lines[0]


def _run(cli, *args, env=None):
    t0 = time.monotonic()
    p = cli("run", GRID, *args, cwd=REPO, env=env, timeout=60)
    return p, time.monotonic() - t0


def test_results_under_a_file_exits_2(cli, tmp_path):
    f = tmp_path / "catalog.txt"
    f.write_text("a file where a folder is expected\n")
    p, secs = _run(cli, "--results", f / "results")
    assert "catalog.txt is a file, not a folder" in _refused(p, "--results", secs)
    assert _tree(tmp_path) == ["catalog.txt"] and f.read_text() == "a file where a folder is expected\n"


def test_results_in_a_folder_that_takes_no_files_exits_2(cli, tmp_path):
    # /proc/1 is a folder that refuses new entries even to root, although os.access says it is writable
    # to root: only creating a probe tells
    target = Path("/proc/1/neurovar-results")
    p, secs = _run(cli, "--results", target)
    assert "cannot write in /proc/1" in _refused(p, "--results", secs)
    assert not target.exists()


def test_scheduler_that_refuses_the_connection_exits_2(cli, tmp_path):
    port = free_port()  # nothing listens there
    results = tmp_path / "results"
    p, secs = _run(cli, "--scheduler", f"tcp://127.0.0.1:{port}", "--results", results)
    assert "no Dask scheduler answers" in _refused(p, "--scheduler", secs)
    assert not results.exists()


def test_scheduler_that_never_answers_exits_2_within_10_s(cli, tmp_path):
    # a port that accepts connections and never says a word (a hung or wrong service)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        results = tmp_path / "results"
        p, secs = _run(cli, "--scheduler", f"tcp://127.0.0.1:{silent.getsockname()[1]}", "--results", results)
    assert "did not answer as a Dask scheduler" in _refused(p, "--scheduler", secs)
    assert not results.exists()


@pytest.mark.parametrize("kind, command", [("slurm", "sbatch"), ("pbs", "qsub")])
def test_cluster_without_its_submit_command_exits_2(cli, tmp_path, kind, command):
    path = os.path.dirname(sys.executable)  # the environment's own commands, and no batch system
    assert shutil.which(command, path=path) is None
    results = tmp_path / "results"
    p, secs = _run(cli, "--cluster", kind, "--cluster-config", REPO / "deploy" / f"{kind}.yaml",
                   "--results", results, env={"PATH": path})
    assert f"submitted with {command}, which is not on PATH" in _refused(p, "--cluster", secs)
    assert not results.exists()


def test_scheduler_with_cluster_exits_2(cli, tmp_path):
    results = tmp_path / "results"
    p, secs = _run(cli, "--scheduler", "tcp://127.0.0.1:8786", "--cluster", "slurm",
                   "--cluster-config", REPO / "deploy" / "slurm.yaml", "--results", results)
    assert "not both" in _refused(p, "--cluster", secs)
    assert not results.exists()


def test_a_scheduler_that_answers_passes_the_check(tmp_path):
    from neurovar.flows.cluster import check_scheduler

    with dask_scheduler(tmp_path) as (addr, _):
        t0 = time.monotonic()
        check_scheduler(addr)  # raises SpecError if the identity request fails
        assert time.monotonic() - t0 < 5


def test_cluster_that_starts_no_worker_fails_the_run(cli, tmp_path):
    """A real ``dask scheduler`` with no worker: the run waits --worker-timeout, then fails."""
    from neurovar.catalog import store

    from .conftest import neurovar_cmd

    results = tmp_path / "results"
    env = {**{k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"},  # Prefect's temporary server
           **prefect_env(tmp_path / "prefect-home")}
    with dask_scheduler(tmp_path) as (addr, _):
        p = subprocess.run(neurovar_cmd() + ["run", str(GRID), "--scheduler", addr, "--worker-timeout", "3",
                                             "--results", str(results)],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 1, (p.stdout, p.stderr)
    notices = ("Prefect UI:", "Prefect: temporary server", "dashboard:")  # where to look, printed by every run
    lines = [ln for ln in p.stderr.splitlines() if ln.strip() and not ln.startswith(notices)]
    assert len(lines) == 1 and lines[0].startswith("error: no Dask worker joined the scheduler"), p.stderr
    assert "within 3 s" in lines[0] and "0 cells saved" in lines[0]
    runs = store.load_runs(results)
    assert list(runs["status"]) == ["failed"]
    assert int(runs["cells_ok"].iloc[0]) == 0 and int(runs["cells_planned"].iloc[0]) > 0
