"""Benchmark: planning a grid of about 10^5 cells, cells per second, against the former planner.

The grid: dimensions of MLPs over 7 input sizes, 8 hidden widths, 3 depths, 4 output
sizes, 5 activations and 32 seeds (107,520 cells), planned into an empty catalog.

- ``new``: :func:`neurovar.flows.runs.plan_grid`, as ``neurovar run`` calls it once per run:
  per combination of the non-seed axes one validation, one model build (for the
  constraints and the cost), one key template; per cell one hash.
- ``old``: the planner this replaced, rebuilt here from the same public functions and run in
  the same process: every cell validated by ``make_cell`` (activations parsed anew), its key
  computed twice (lookup, deduplication), its model built for its cost estimate.

The bench prints cells per second of each and their ratio, then the wall and CPU time of the
whole ``neurovar run GRID --dry-run`` (start-up, planning and printing; the target is <= 5 s on
2 cores). On a machine shared with other work, wall times grow with its load; CPU times less.

Run: ``python bench/bench_planning.py [--seeds 32] [--skip-old]``
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AXES = {"input_dim": [1, 2, 3, 4, 5, 6, 7], "hidden": [1, 2, 3, 4, 5, 6, 7, 8], "depth": [2, 3, 4],
        "output_dim": [1, 2, 3, 4], "activation": ["x^2", "x^3", "x^4", "x^2+x", "x^3+x"]}


def grid_mapping(seeds: int) -> dict:
    return {"name": "bench_planning", "computations": ["dimension"], "model": "mlp",
            "axes": {**AXES, "seed": list(range(seeds))}}


def old_plan(spec, results, workers: int) -> dict:
    """The former planner: the same cells and batches, with the per-cell work it did."""
    from neurovar.catalog import store
    from neurovar.flows.runs import pack_batches
    from neurovar.pipeline.cells import cell_key, get_computation, make_cell
    from neurovar.pipeline.models import MODELS, build_model

    cells = []
    widths = spec._widths()
    model_fields = set(MODELS[spec.model][0].model_fields)
    for comp_name in spec.computations:
        fields = spec._fields_for(comp_name)
        keys = [k for k in spec.axes if k not in spec._generator_keys() and k != "widths" and (k in fields or k == "seed")]
        keys = ["widths"] + keys
        for combo in itertools.product(*[widths if k == "widths" else spec._axis(k) for k in keys]):
            values = dict(zip(keys, combo))
            seed = values.pop("seed", 0)
            model = {"model": spec.model, **{k: v for k, v in values.items() if k in model_fields}}
            params = {k: v for k, v in values.items() if k not in model_fields}
            cells.append(make_cell(comp_name, model, params, seed=seed, timeout_s=spec.timeout_s))
    have = {c: store.keys(c, results) for c in spec.computations}
    todo = [c for c in cells if cell_key(c) not in have[c.computation]]
    todo = list({cell_key(c): c for c in todo}.values())
    costs = []
    for c in todo:
        comp = get_computation(c.computation)
        costs.append(float(comp.cost(build_model(c.model, seed=c.seed), comp.params.model_validate(c.params))))
    return {"planned": len(cells), "todo": todo, "costs": costs, "batches": pack_batches(todo, workers, costs=costs)}


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=32, help="values of the seed axis (32: 107,520 cells)")
    ap.add_argument("--skip-old", action="store_true", help="time the current planner only")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_planning-"))
    try:
        run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp: Path) -> None:
    import yaml

    from neurovar.flows.runs import plan_grid
    from neurovar.pipeline.grid import GridSpec
    from neurovar.pipeline.models import activation

    results = tmp / "results"
    mapping = grid_mapping(args.seeds)
    spec = GridSpec.from_mapping(mapping)
    (tmp / "grid.yaml").write_text(yaml.safe_dump(mapping))

    new, wall_new, cpu_new = timed(lambda: plan_grid(spec, results, 2))
    n = new.planned
    print(f"grid: {n} cells ({len(new.todo)} to run, {len(new.batches)} batches), empty catalog")
    print(f"new planner: {wall_new:6.2f} s wall, {cpu_new:6.2f} s CPU, {n / wall_new:9.0f} cells/s")
    if not args.skip_old:
        parse_once = activation._polynomial
        activation._polynomial = parse_once.__wrapped__  # the former planner parsed every spelling anew
        try:
            old, wall_old, cpu_old = timed(lambda: old_plan(spec, results, 2))
        finally:
            activation._polynomial = parse_once
        assert [c.key for c in old["todo"]] == [c.key for c in new.todo], "the two planners disagree on the cells"
        assert old["costs"] == new.costs and len(old["batches"]) == len(new.batches)
        print(f"old planner: {wall_old:6.2f} s wall, {cpu_old:6.2f} s CPU, {n / wall_old:9.0f} cells/s")
        print(f"speed-up: {wall_old / wall_new:.1f}x wall, {cpu_old / cpu_new:.1f}x CPU (same cells, keys, costs, batches)")

    cmd = [sys.executable, "-m", "neurovar", "run", str(tmp / "grid.yaml"), "--dry-run", "--results", str(results)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert p.returncode == 0, p.stderr
    print(p.stdout.splitlines()[0])
    print(f"neurovar run --dry-run: {wall:.2f} s wall, {cpu:.2f} s CPU (target <= 5 s on 2 cores); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
