"""Multi-threaded Dask workers: one cell runner per running batch, never shared between threads.

``dask worker ADDR`` starts one process with a thread per core, and each
thread runs a batch. The runners' children are checked against formulas:
a linear network ``(a, q, b)`` parametrizes the ``a x b`` matrices of rank at
most ``q``, of dimension ``q (a + b - q)``; ``x^2`` networks ``(3, k, 1)``
give the symmetric 3x3 matrices of rank at most ``k`` (dimension 3, 5, 6).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pandas as pd
import pytest

from neurovar.catalog import store
from neurovar.pipeline.cells import make_cell
from neurovar.pipeline.runner import RunnerPool, run_cells

from .conftest import neurovar_cmd
from .servers import dask_scheduler, prefect_env, start_worker, stop, wait_workers


def linear_cells(n: int, timeout_s: float = 120) -> list:
    """``n`` distinct linear-network cells with a time limit (so they go through a runner's child)."""
    shapes = [(a, q, b) for a in range(2, 6) for b in range(2, 6) for q in range(1, min(a, b) + 1)]
    return [make_cell("dimension", {"model": "linear", "widths": list(s)}, timeout_s=timeout_s) for s in shapes[:n]]


def rank_dimension(widths) -> int:
    a, q, b = widths
    return q * (a + b - q)


def test_threads_sharing_one_pool_each_get_their_own_runner():
    # eight threads at once through one pool: with one shared child this mixed up pickles and pipes
    pool = RunnerPool()
    cells = linear_cells(40)
    per_thread = [cells[i::8] for i in range(8)]
    out: dict[int, list] = {}
    most = [0]

    def work(i):
        with pool.runner({"NEUROVAR_TEST_THREAD": str(i % 2)}) as r:
            most[0] = max(most[0], pool.size())
            out[i] = run_cells(per_thread[i], runner=r)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        size = pool.size()
    finally:
        pool.close()
    recs = [r for i in range(8) for r in out[i]]
    assert len(recs) == 40 and {r["status"] for r in recs} == {"ok"}
    for i in range(8):
        for cell, rec in zip(per_thread[i], out[i]):
            assert rec["cell_key"] == cell.key
            assert rec["dimension"] == rank_dimension(cell.model["widths"])
    assert 2 <= most[0] <= 8 and size <= 8
    assert pool.children() == 0


def test_a_runner_for_a_new_environment_never_touches_one_in_use():
    pool = RunnerPool()
    slow = make_cell("dimension", {"model": "linear", "widths": [5, 3, 5]}, timeout_s=120)
    try:
        with pool.runner({"NEUROVAR_TEST_ADDR": "a"}) as a:
            a.run(slow)  # its child is up
            pid = a.proc.pid
            with pool.runner({"NEUROVAR_TEST_ADDR": "b"}) as b:  # the "new scheduler address"
                assert b is not a
                assert b.run(slow)["dimension"] == 3 * (5 + 5 - 3)
            assert a.proc is not None and a.proc.pid == pid and a.proc.poll() is None
            assert a.run(slow)["dimension"] == 21
        # idle now: a later batch for address "b" reuses b's child, one for "c" restarts an idle one
        with pool.runner({"NEUROVAR_TEST_ADDR": "b"}) as again:
            assert again is b
        with pool.runner({"NEUROVAR_TEST_ADDR": "c"}) as c:
            assert c.env == {"NEUROVAR_TEST_ADDR": "c"} and c.proc is None
        assert pool.size() == 2
    finally:
        pool.close()


def _max_runner_children(addr: str, stop_event: threading.Event, seen: list) -> None:
    """Poll the worker's pool size while batches run (through the scheduler, as a user would)."""
    from distributed import Client

    def size():
        from neurovar.pipeline import runner

        return 0 if runner._POOL is None else runner._POOL.size()

    with Client(addr, timeout="30s") as c:
        while not stop_event.is_set():
            try:
                seen.extend(c.run(size).values())
            except Exception:
                pass
            time.sleep(0.2)


@pytest.mark.slow
def test_a_four_thread_worker_runs_concurrent_batches_with_at_most_four_runners(tmp_path):
    from distributed import Client

    from neurovar.pipeline.runner import run_batch

    cells = linear_cells(24)
    batches = [cells[i::12] for i in range(12)]
    with dask_scheduler(tmp_path) as (addr, _):
        w = start_worker(tmp_path, addr, "w4", nthreads=4)
        seen: list = []
        ev = threading.Event()
        try:
            wait_workers(addr, 1)
            watcher = threading.Thread(target=_max_runner_children, args=(addr, ev, seen), daemon=True)
            watcher.start()
            with Client(addr, timeout="30s") as c:
                futs = [c.submit(run_batch, b, pure=False) for b in batches]
                results = c.gather(futs)
            ev.set()
            watcher.join(timeout=30)
        finally:
            ev.set()
            stop(w)
    recs = [r for res in results for r in res]
    assert len(recs) == 24 and {r["status"] for r in recs} == {"ok"}
    for batch, res in zip(batches, results):
        assert [r["cell_key"] for r in res] == [c.key for c in batch]
        for cell, rec in zip(batch, res):
            assert rec["dimension"] == rank_dimension(cell.model["widths"])
    assert seen and max(seen) <= 4


# cells with a time limit (runner children) of two computations; every value is known:
# x^2 networks (3, k, 1): symmetric rank <= k, dim 3, 5, 6; linear (a, q, b): q (a + b - q);
# fibers of x^2 (2, 2, 1): positive-dimensional (the orthogonal group O(2) acts on the hidden layer)
GRID = """
name: threaded
computations: [dimension]
model: mlp
axes:
  widths: [[3, 1, 1], [3, 2, 1], [3, 3, 1], [2, 2, 1], [2, 3, 1], [3, 2, 2]]
  activation: ["x^2", "x^3"]
  seed: [0, 1]
timeout_s: 120
"""

ROW = ["widths", "activation", "seed", "status", "dimension", "num_params", "ambient_dimension", "expected_dimension",
       "defect", "filling", "prime"]


def _run(grid, results, tmp_path, *args):
    env = {**os.environ, **prefect_env(tmp_path / "prefect-home")}
    p = subprocess.run(neurovar_cmd() + ["run", str(grid), "--results", str(results), "--json", *args],
                       capture_output=True, text=True, timeout=900, env=env)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    df = store.load("dimension", results)
    df = df.assign(widths=df["widths"].map(tuple))
    return df[ROW].sort_values(["widths", "activation", "seed"]).reset_index(drop=True)


@pytest.mark.slow
def test_threaded_workers_give_the_rows_of_a_single_threaded_run(tmp_path):
    grid = tmp_path / "threaded.yaml"
    grid.write_text(GRID)
    local = _run(grid, tmp_path / "local", tmp_path, "--workers", "2")
    assert len(local) == 24 and set(local["status"]) == {"ok"}
    sym = {(3, 1, 1): 3, (3, 2, 1): 5, (3, 3, 1): 6}
    for w, a, d in zip(local["widths"], local["activation"], local["dimension"]):
        if a == "x^2" and w in sym:
            assert d == sym[w]
    layouts = {"1x4": [4], "2x2": [2, 2], "1x32": [32]}  # the last: more threads than cells
    with dask_scheduler(tmp_path) as (addr, _):
        for name, threads in layouts.items():
            workers = [start_worker(tmp_path, addr, f"{name}-{i}", nthreads=n) for i, n in enumerate(threads)]
            try:
                wait_workers(addr, len(workers))
                rows = _run(grid, tmp_path / name, tmp_path, "--scheduler", addr)
            finally:
                for w in workers:
                    stop(w)
            pd.testing.assert_frame_equal(rows, local, obj=name)


def test_a_malformed_batch_result_keeps_the_good_records_and_errors_the_rest():
    from neurovar.flows.runs import batch_records
    from neurovar.pipeline.cells import run_cell

    cells = linear_cells(3)
    good = run_cell(cells[1])
    # what a runner shared between threads used to hand back: a stray "ready", a record of another cell
    recs = batch_records(cells, ["ready", good, {"cell_key": "not-a-cell", "status": "ok"}])
    assert [r["cell_key"] for r in recs] == [c.key for c in cells]
    assert [r["status"] for r in recs] == ["error", "ok", "error"]
    assert recs[1]["dimension"] == rank_dimension(cells[1].model["widths"])
    assert "returned no record of this cell" in recs[0]["error"] and "'ready'" in recs[0]["error"]


def test_a_timeout_in_one_thread_kills_only_that_threads_runner():
    pool = RunnerPool()
    # the fiber of a depth-3 generic quartic network: its expanded equations take far longer than 2 s
    slow = make_cell("fiber", {"model": "mlp", "widths": [2, 2, 1, 1], "activation": "generic:4"}, timeout_s=2)
    quick = linear_cells(6)
    out: dict = {}

    def run(name, cells):
        with pool.runner() as r:
            out[name] = run_cells(cells, runner=r)

    threads = [threading.Thread(target=run, args=("slow", [slow])), threading.Thread(target=run, args=("quick", quick))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert out["slow"][0]["status"] == "timeout" and "timeout_s=2" in out["slow"][0]["error"]
        assert [r["dimension"] for r in out["quick"]] == [rank_dimension(c.model["widths"]) for c in quick]
        # the timed-out child was killed; the other thread's child lives on for reuse
        assert pool.size() == 2 and pool.children() == 1
    finally:
        pool.close()
