"""Chaos on a cluster of real ``dask scheduler`` / ``dask worker`` processes (the bench at a smaller size).

``bench/bench_chaos.py`` runs the full size (26400 cells, a worker SIGKILL every
10 s); this test runs 2112 cells with a kill every second, then kills the scheduler.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path

import pytest

from bench import bench_chaos as chaos


@pytest.mark.slow
def test_worker_kills_lose_nothing_and_a_scheduler_kill_fails_cleanly(tmp_path):
    grid = tmp_path / "chaos.yaml"
    grid.write_text(chaos.chaos_grid(16))  # 2112 cells: several seconds of batches even on a fast machine
    with ExitStack() as stack:
        # one worker of 4 threads (several batches and cell runners at once in one process), two of 1
        addr, sched, workers = chaos.start_cluster(stack, tmp_path, 3, threads=(4, 1))
        c = chaos.run_with_worker_kills(grid, tmp_path / "chaos", addr, workers, tmp_path, kill_every=1.0, min_kills=3)
        print(c)
        assert c["returncode"] == 0, c["stderr"]
        assert c["kills"] >= 3
        assert c["cells"] == 2112 and c["lost"] == 0 and c["duplicated"] == 0 and c["errors"] == 0

        s = chaos.run_with_scheduler_kill(grid, tmp_path / "sk", addr, sched, tmp_path)
        print(s)
        assert s["returncode"] not in (0, None) and s["exit_seconds_after_kill"] < 30
        assert "lost the Dask scheduler" in s["stderr"] and "Traceback" not in s["stderr"]
        assert s["run_status"] == "failed" and s["duplicated"] == 0 and s["catalog_loads"]
        saved = s["rows"]
    with ExitStack() as stack:
        addr, sched, workers = chaos.start_cluster(stack, tmp_path, 3)
        proc = chaos.run_cmd(grid, tmp_path / "sk", addr, tmp_path)
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
        import json

        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["skipped"] == saved and summary["computed"] == 2112 - saved
        keys = chaos.raw_keys(tmp_path / "sk")
        assert len(keys) == len(set(keys)) == 2112
