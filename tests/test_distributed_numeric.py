"""One numerical solve spread over a real Dask cluster, and time limits that hold.

Real ``dask scheduler`` / ``dask worker`` processes on 127.0.0.1
(:mod:`tests.servers`). The counts are ED degrees checked against the formula
``d * sum_{i<n} (d - 1)^i`` for a general hypersurface of degree ``d`` in
``C^n`` (Draisma et al., *The Euclidean distance degree*, Cor. 2.10): 9 for a
general plane cubic; an ellipse ``x^2 + 4 y^2 = 1`` has 4 (its four vertices,
the ED degree of a general conic). A general binary septic is a sum of four
seventh powers in one way (Sylvester: a general binary form of odd degree
``2k - 1`` has a unique decomposition into ``k`` powers), so the fiber of the
``(2, 4, 1)`` network with ``x^7`` has ``4! = 24`` points.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from neurovar.catalog import store

from .conftest import neurovar_cmd
from .servers import dask_scheduler, prefect_env, start_worker, stop, wait_workers

pytestmark = pytest.mark.slow

CUBIC = "3*x^3 - 5*x^2*y + 7*x*y^2 + 2*y^3 + 11*x^2 - 13*x*y + 17*y^2 + 19*x - 23*y + 29"
ELLIPSE = "x^2 + 4*y^2 - 1"
EXPECTED = {ELLIPSE: 4, CUBIC: 9}

# every cell runs its monodromy rounds as loop tasks (distribute: always); timeout_s sends the cells
# through the worker's killable child process, whose solve reaches the cluster by the scheduler address
GRID = f"""
name: numerical_dist
computations: [edd]
axes:
  equations: ["{ELLIPSE}", "{CUBIC}"]
  weights: ["identity"]
  method: ["numerical"]
  distribute: ["always"]
  seed: [0, 1]
timeout_s: 300
"""

ROW = ["equations", "seed", "status", "edd", "edd_numerical", "numerical_certified", "numerical_real_points",
       "completeness", "method"]


def _run(grid, addr, results, tmp_path):
    p = subprocess.run(neurovar_cmd() + ["run", str(grid), "--scheduler", addr, "--results", str(results), "--json"],
                       capture_output=True, text=True, timeout=900, env={**__import__("os").environ,
                                                                         **prefect_env(tmp_path / "prefect-home")})
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    df = store.load("edd", results)
    return df[ROW].sort_values(["equations", "seed"]).reset_index(drop=True)


def _loop_workers(addr) -> set:
    from distributed import Client

    with Client(addr, timeout="30s") as c:
        events = c.get_events()
    return {msg["worker"] for topic, evs in events.items() if str(topic).startswith("neurovar-loops")
            for _, msg in evs}


def test_numerical_grid_gives_the_same_rows_on_one_and_two_workers(tmp_path):
    grid = tmp_path / "numerical_dist.yaml"
    grid.write_text(GRID)
    with dask_scheduler(tmp_path) as (addr, _):
        workers = [start_worker(tmp_path, addr, "w0")]
        try:
            wait_workers(addr, 1)
            one = _run(grid, addr, tmp_path / "one", tmp_path)
            # the second worker has more threads than the grid has cells, so one thread is always free for
            # loop tasks while cells run: with one thread each, both workers were often busy with cells at
            # the same time and every chunk was tracked by its own cell (the answer is the same either way)
            workers.append(start_worker(tmp_path, addr, "w1", nthreads=5))
            wait_workers(addr, 2)
            two = _run(grid, addr, tmp_path / "two", tmp_path)
            used = _loop_workers(addr)
        finally:
            for w in workers:
                stop(w)
    assert len(one) == 4 and set(one["status"]) == {"ok"}
    for eq, edd, comp in zip(one["equations"], one["edd"], one["completeness"]):
        assert edd == EXPECTED[eq] and comp == "trace-test"
    pd.testing.assert_frame_equal(one, two)
    # on 1 worker its only thread waits for the cell, so no loop task can start there: every loop task
    # that ran in another process ran during the 2-worker run
    assert used


def test_distributed_loops_merge_to_the_local_solution_set(tmp_path):
    from distributed import Client

    from neurovar.pipeline.numeric.count import certified_count
    from neurovar.pipeline.numeric.distribute import LoopExecutor
    from neurovar.pipeline.numeric.families import ed_lagrange_family
    from neurovar.pipeline.numeric.monodromy import monodromy_solve

    fam = ed_lagrange_family(CUBIC, ["x", "y"])
    local = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=3, certify=False)
    chunked = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=3, certify=False,
                              loop_tracker=LoopExecutor("always"))
    with dask_scheduler(tmp_path) as (addr, _):
        workers = [start_worker(tmp_path, addr, f"w{i}") for i in range(2)]
        try:
            wait_workers(addr, 2)
            with Client(addr, timeout="30s") as c:
                E = LoopExecutor("always", client=c)
                spread = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=3, certify=False, loop_tracker=E)
                again = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=3, certify=False,
                                        loop_tracker=LoopExecutor("always", client=c))
                C = certified_count(fam.system, start_pair=fam.start_pair, seed=3, distribute="always")
        finally:
            for w in workers:
                stop(w)
    assert local.count == chunked.count == spread.count == 9
    assert E.stats["remote_chunks"] > 0  # the other processes tracked part of the paths
    # the merged set is the local one: every solution found every way (to rounding: batches of other sizes
    # may round numpy's reductions differently), found in the same rounds
    for S in (chunked, spread, again):
        d = np.abs(local.solutions[:, None, :] - S.solutions[None, :, :]).max(axis=2)
        assert (d.min(axis=1) < 1e-8).all()
        assert S.history == local.history
    assert C.count == 9 and C.completeness == "trace-test"


def test_a_time_limit_ends_the_numerical_solve_in_time_with_a_lower_bound():
    # a general cubic surface: ED degree 3 (1 + 2 + 4 + 8) = 45, about 10 s of monodromy and trace test
    from neurovar.pipeline.numeric.families import random_hypersurface

    f = random_hypersurface(4, 3, seed=0)
    limit = 2.0
    t0 = time.monotonic()
    p = subprocess.run(neurovar_cmd() + ["compute", "edd", "--equations", f, "--variables", "x1,x2,x3,x4",
                                         "--method", "numerical", "--time-limit", str(limit), "--json"],
                       capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - t0
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads([line for line in p.stdout.splitlines() if line.startswith("{")][-1])
    assert r["numerical_seconds"] <= 1.1 * limit + 0.5  # the solve itself: T + 10 % (+ rounding of the phases)
    assert wall <= 1.1 * limit + 20  # + process start-up and imports, generous on a busy machine
    assert r["edd"] is None and r["method_used"] == "numerical-lower-bound" and r["completeness"] == "none"
    assert 0 < r["edd_numerical"] <= 45
    assert "time limit" in r["numerical_stop_reason"]


def _solve(kind: str, seed: int, distribute):
    if kind == "cubic":
        from neurovar.pipeline.numeric.count import certified_count
        from neurovar.pipeline.numeric.families import ed_lagrange_family

        fam = ed_lagrange_family(CUBIC, ["x", "y"])
        C = certified_count(fam.system, start_pair=fam.start_pair, seed=seed, distribute=distribute)
        return C.count, C.completeness
    from neurovar.pipeline.models import build_model
    from neurovar.pipeline.problems.fiber import numerical_fiber

    r = numerical_fiber(build_model({"model": "mlp", "widths": [2, 4, 1], "activation": "x^7"}), seed=seed,
                        distribute=distribute)
    return r["fiber_points"], r["completeness"]


def test_a_solve_run_in_a_worker_spreads_its_batches_and_keeps_the_serial_answer(tmp_path):
    import cloudpickle
    from distributed import Client

    def in_a_worker(kind: str, seed: int):
        """A cell's solve as a task on a worker: its batches go to the cluster's other workers."""
        from distributed import get_client

        from neurovar.pipeline.numeric.distribute import LoopExecutor

        E = LoopExecutor("always", client=get_client())
        return (*_solve(kind, seed, E), dict(E.stats))

    # the task and what it calls are sent by value (a local function is not pickled by reference, and the
    # scheduler and workers do not import the tests)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    serial = {k: _solve(k, 0, "never") for k in ("cubic", "septic")}
    assert serial == {"cubic": (9, "trace-test"), "septic": (24, "trace-test")}
    with dask_scheduler(tmp_path) as (addr, _):
        workers = [start_worker(tmp_path, addr, f"w{i}") for i in range(2)]
        try:
            wait_workers(addr, 2)
            with Client(addr, timeout="30s") as c:
                spread = {k: c.submit(in_a_worker, k, 0, pure=False).result(timeout=600)
                          for k in ("cubic", "septic")}
        finally:
            for w in workers:
                stop(w)
            cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    for k in serial:
        count, completeness, stats = spread[k]
        assert (count, completeness) == serial[k]
        assert stats["helpers"] == 1  # the worker running the solve is not counted: one other thread
    # the other worker tracked batches of monodromy loops, trace-test paths or chart crossings
    assert sum(s["remote_chunks"] for _, _, s in spread.values()) > 0


def test_compute_with_scheduler_spreads_one_cell_over_the_workers(tmp_path):
    # the one-cell CLI as the coordinator of a real cluster: (2, 4, 1) with x^7 is 4! = 24 points (Sylvester)
    args = ["compute", "fiber", "--model", "mlp", "--widths", "2,4,1", "--activation", "x^7",
            "--method", "numerical", "--distribute", "always", "--json"]
    refused = subprocess.run(neurovar_cmd() + args + ["--scheduler", "tcp://127.0.0.1:1"],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "--scheduler" in refused.stderr and refused.stdout == ""
    with dask_scheduler(tmp_path) as (addr, _):
        worker = start_worker(tmp_path, addr, "w0")
        try:
            wait_workers(addr, 1)
            p = subprocess.run(neurovar_cmd() + args + ["--scheduler", addr], capture_output=True, text=True,
                               timeout=600)
            used = _loop_workers(addr)
        finally:
            stop(worker)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads([line for line in p.stdout.splitlines() if line.startswith("{")][-1])
    assert (r["fiber_points"], r["completeness"], r["orbits"], r["group_order"]) == (24, "trace-test", 1, 24)
    assert used  # the worker tracked batches of the CLI's solve
