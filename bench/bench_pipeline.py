"""Benchmark: orchestration overhead of ``run_grid`` on >= 2000 cheap cells.

Cells: dimensions of small networks, about 7 ms each. For 1 and 2 local Dask
workers (a ``LocalCluster`` started and warmed beforehand, so its start-up and
the workers' first imports are not counted; Prefect's temporary server start-up
is reported separately, in the whole flow's time), the grid runs through the real flow into a fresh catalog and the
bench prints:

- ``overhead = wall / (sum of cell seconds / workers)``, with ``wall`` measured
  from the flow's plan to the last batch appended to the catalog (target <= 1.25);
- the speed-up of 2 workers over 1 (``wall_1 / wall_2``, target >= 1.7);
- the whole flow's wall time, start-up included, for reference.

Run: ``python bench/bench_pipeline.py [--cells 2000]``
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def grid_spec(n_cells: int):
    from neurovar.pipeline.grid import GridSpec

    base = 3 * 7 * 2 * 3  # input dims x hidden widths x depths x activations
    seeds = -(-n_cells // base)
    return GridSpec.from_mapping({
        "name": "bench_pipeline",
        "computations": ["dimension"],
        "model": "mlp",
        "axes": {"input_dim": [3, 4, 5], "hidden": [6, 7, 8, 9, 10, 11, 12], "depth": [2, 3], "output_dim": [1],
                 "activation": ["x^2", "x^3", "x^4"], "float_check": [False], "seed": list(range(seeds))},
    })


def run_once(spec, workers: int) -> dict:
    from distributed import Client, LocalCluster

    from neurovar.catalog import store
    from neurovar.flows import flow as flow_mod

    marks = {}

    def hook(event, **info):
        now = time.perf_counter()
        if event == "plan":
            marks["plan"] = now
        elif event == "batch":
            marks["last"] = now

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as lc, Client(lc) as client:
        client.wait_for_workers(workers)
        # warm imports (every computation module, flint), as on a long-lived cluster; not orchestration
        client.run(lambda: (__import__("neurovar.pipeline.compute").pipeline.compute.computations(), __import__("flint")))
        with tempfile.TemporaryDirectory() as root:
            flow_mod.PROGRESS_HOOK = hook
            t0 = time.perf_counter()
            summary = flow_mod.run_grid(spec, results=root, scheduler=lc.scheduler_address, workers=workers)
            total = time.perf_counter() - t0
            flow_mod.PROGRESS_HOOK = None
            df = store.load("dimension", root)
    assert summary["ok"] == len(df) == summary["computed"], summary
    wall = marks["last"] - marks["plan"]
    cell_sum = float(df["seconds"].sum())
    return {"workers": workers, "cells": len(df), "wall": wall, "cell_sum": cell_sum,
            "overhead": wall / (cell_sum / workers), "total": total}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=2000)
    args = ap.parse_args()
    spec = grid_spec(args.cells)
    n = len(spec.cells())
    print(f"grid: {n} dimension cells")
    res = {w: run_once(spec, w) for w in (1, 2)}
    for w, r in res.items():
        print(f"{w} worker(s): {r['cells']} cells, sum of cell seconds {r['cell_sum']:.1f}, fan-out wall "
              f"{r['wall']:.1f} s, overhead ratio {r['overhead']:.2f} (target <= 1.25); whole flow {r['total']:.1f} s")
    print(f"speed-up of 2 workers over 1: {res[1]['wall'] / res[2]['wall']:.2f} (target >= 1.7)")


if __name__ == "__main__":
    main()
