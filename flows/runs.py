"""What a run is, without Prefect: its plan, its ``_runs`` row, its progress lines, its cost.

Importing this module imports neither Prefect nor Dask, so ``neurovar run`` can
plan a grid, find that nothing is missing, write the run's row and exit in
about a second, and ``--dry-run`` can price a grid of thousands of cells.

Example
-------
>>> import tempfile
>>> from neurovar.pipeline.grid import GridSpec
>>> spec = GridSpec.from_mapping({"name": "tiny", "computations": ["dimension"], "model": "linear",
...                               "axes": {"widths": [[2, 1, 2], [3, 1, 3]]}})
>>> p = plan_grid(spec, tempfile.mkdtemp(), workers=2)
>>> p["planned"], p["skipped"], len(p["todo"])
(2, 0, 2)
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from typing import Callable, TextIO

from neurovar.catalog import store
from neurovar.pipeline.cells import Cell, cell_cost, failed_record, package_versions

#: Target estimated seconds of work per batch.
BATCH_SECONDS = 2.0
#: ``--dry-run`` warns when the estimated wall time is above this many seconds.
DRY_RUN_WARN_SECONDS = 3600.0
#: Run statuses in ``_runs``.
STATUSES = ("running", "ok", "interrupted", "failed")


def pack_batches(cells: list[Cell], workers: int, target_seconds: float = BATCH_SECONDS,
                 costs: list[float] | None = None) -> list[list[Cell]]:
    """Pack cells (in order) into batches of about ``target_seconds`` of estimated work.

    Batches are also kept small enough that every worker gets several of them,
    so one slow batch cannot leave the others idle at the end.
    """
    if not cells:
        return []
    costs = [cell_cost(c) for c in cells] if costs is None else costs
    total = sum(costs)
    target = min(target_seconds, max(total / (12 * max(workers, 1)), 0.05))
    batches, cur, acc = [], [], 0.0
    for c, cost in zip(cells, costs):
        if cur and acc + cost > target:
            batches.append(cur)
            cur, acc = [], 0.0
        cur.append(c)
        acc += cost
    if cur:
        batches.append(cur)
    return batches


def plan_grid(spec, results, workers: int, retry_failed: bool = False, extra_cells: list[Cell] | None = None) -> dict:
    """Expand the grid, drop the cells already in the catalog, pack the rest into batches.

    ``extra_cells`` are planned with the grid's own (e.g. the cells of stale rows to recompute).

    Returns ``planned`` (cells in the grid), ``skipped`` (already there),
    ``todo`` (cells to run, each key once), ``costs`` (estimated seconds of each)
    and ``batches``.
    """
    cells = spec.cells() + list(extra_cells or [])
    have: dict[str, set[str]] = {}
    todo = []
    for c in cells:
        if c.computation not in have:
            statuses = ("ok",) if retry_failed else None
            have[c.computation] = store.keys(c.computation, results, statuses=statuses)
        if c.key not in have[c.computation]:
            todo.append(c)
    # the same cell twice in one grid (e.g. an axis that does not apply) runs once
    todo = list({c.key: c for c in todo}.values())
    costs = [cell_cost(c) for c in todo]
    batches = pack_batches(todo, workers, costs=costs)
    return {"planned": len(cells), "skipped": len(cells) - len(todo), "todo": todo, "costs": costs,
            "batches": batches}


def batch_records(batch: list[Cell], result) -> list[dict]:
    """One record per cell of ``batch`` from what its Dask task returned (or raised).

    A task's result is trusted only cell by cell: a record is kept when it is a
    mapping with the cell's key and a status; every other cell of the batch
    gets an ``error`` record that says what came back instead (an exception,
    a malformed list, a missing cell). A batch never stops the run.

    >>> from neurovar.pipeline.cells import make_cell
    >>> cells = [make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]}),
    ...          make_cell("dimension", {"model": "linear", "widths": [3, 1, 3]})]
    >>> [r["status"] for r in batch_records(cells, ["ready", 7])]
    ['error', 'error']
    >>> batch_records(cells, RuntimeError("worker lost"))[0]["error"]
    'batch failed on the cluster: RuntimeError: worker lost'
    """
    if isinstance(result, BaseException):
        msg = f"batch failed on the cluster: {type(result).__name__}: {result}"
        return [failed_record(c, "error", msg, 0.0) for c in batch]
    got: dict[str, dict] = {}
    if isinstance(result, (list, tuple)):
        for rec in result:
            if isinstance(rec, dict) and isinstance(rec.get("cell_key"), str) and rec.get("status") in (
                    "ok", "timeout", "error"):
                got.setdefault(rec["cell_key"], rec)
    shown = repr(result)
    shown = shown[:80] + "..." if len(shown) > 80 else shown
    return [got.get(c.key) or failed_record(c, "error", f"the batch returned no record of this cell (it returned "
                                            f"{type(result).__name__} {shown})", 0.0) for c in batch]


def new_run_row(spec, plan: dict, workers: int, scheduler: str | None, cluster: str | None,
                spec_path: str | None, flow_run_id: str | None = None, run_id: str | None = None) -> dict:
    """The ``_runs`` row of a run that starts now (``status='running'``)."""
    return {
        "run_id": run_id or uuid.uuid4().hex[:12], "flow_run_id": flow_run_id, "spec_name": spec.name,
        "spec_hash": spec.spec_hash, "spec_path": spec_path, "started": datetime.now(timezone.utc), "ended": None,
        "cells_planned": plan["planned"], "cells_skipped": plan["skipped"], "cells_ok": 0, "cells_timeout": 0,
        "cells_error": 0, "workers": workers,
        "scheduler": scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or cluster or "local",
        "versions": package_versions(), "status": "running",
    }


def finish_run_row(row: dict, counts: Counter | dict, status: str, results) -> dict:
    """Write the run's final row: counts, ``ended`` and ``status`` (``ok | interrupted | failed``)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    row.update(ended=datetime.now(timezone.utc), cells_ok=int(counts.get("ok", 0)),
               cells_timeout=int(counts.get("timeout", 0)), cells_error=int(counts.get("error", 0)), status=status)
    store.write_run(row, results)
    return row


def record_noop_run(spec, plan: dict, results, workers: int, scheduler: str | None = None,
                    cluster: str | None = None, spec_path: str | None = None) -> dict:
    """The ``_runs`` row of a run with nothing to compute (computed 0, status ``ok``)."""
    row = new_run_row(spec, plan, workers, scheduler, cluster, spec_path)
    return finish_run_row(row, Counter(), "ok", results)


def interrupted_line(saved: int, todo: int) -> str:
    """The one line printed when a run is interrupted.

    >>> interrupted_line(40, 90)
    'interrupted: 40 cells saved, 50 not computed; rerun to resume'
    """
    return f"interrupted: {saved} cells saved, {max(todo - saved, 0)} not computed; rerun to resume"


def _duration(seconds: float) -> str:
    """``_duration(3725) == '1h02m'``; ``_duration(75) == '1m15s'``; ``_duration(4.2) == '4.2s'``."""
    if seconds != seconds or seconds == float("inf"):
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


class ProgressLines:
    """Plain progress lines for output that is not a terminal (a log file, CI, nohup).

    A line is written when 10 s have passed or another 5 % of the cells is done
    (and once at the end): cells done, ok / timeout / error, rate and ETA.

    >>> import io
    >>> out = io.StringIO()
    >>> p = ProgressLines("quickstart", total=20, stream=out, clock=iter([0.0, 1.0, 2.0]).__next__)
    >>> p.update({"ok": 1})
    >>> out.getvalue()
    'quickstart: 1/20 cells (5%): 1 ok, 0 timeout, 0 error; 1.00 cells/s, ETA 19.0s\\n'
    """

    def __init__(self, name: str, total: int, stream: TextIO, every_seconds: float = 10.0,
                 every_fraction: float = 0.05, clock: Callable[[], float] = time.monotonic):
        self.name, self.total, self.stream = name, max(int(total), 0), stream
        self.every_seconds, self.every_fraction, self.clock = every_seconds, every_fraction, clock
        self.counts: Counter = Counter()
        self.t0 = clock()
        self.last_t = self.t0
        self.last_done = 0

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def update(self, statuses: dict | Counter | None = None, force: bool = False) -> None:
        if statuses:
            self.counts.update(statuses)
        now = self.clock()
        done = self.done
        step = max(1, int(self.total * self.every_fraction))
        if force or now - self.last_t >= self.every_seconds or done - self.last_done >= step or (
                done == self.total and done != self.last_done):
            self.write(now)

    def write(self, now: float) -> None:
        done, elapsed = self.done, max(now - self.t0, 1e-9)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        pct = 100.0 * done / self.total if self.total else 100.0
        c = self.counts
        self.stream.write(f"{self.name}: {done}/{self.total} cells ({pct:.0f}%): {c.get('ok', 0)} ok, "
                          f"{c.get('timeout', 0)} timeout, {c.get('error', 0)} error; "
                          f"{rate:.2f} cells/s, ETA {_duration(eta)}\n")
        self.stream.flush()
        self.last_t, self.last_done = now, done


def dry_run_estimate(plan: dict, workers: int) -> dict:
    """Cells, batches, estimated CPU seconds (each computation's cost model) and wall seconds.

    The wall time is the CPU time spread over ``workers``, but never less than
    the longest single cell, plus the start-up of the workers and their runner
    children (about 5 s).

    >>> est = dry_run_estimate({"todo": [None] * 4, "costs": [1.0, 1.0, 1.0, 5.0], "batches": [[0, 1], [2], [3]]}, 2)
    >>> est["cpu_seconds"], est["wall_seconds"]
    (8.0, 10.0)
    """
    costs = plan["costs"]
    cpu = float(sum(costs))
    longest = max(costs) if costs else 0.0
    wall = (max(cpu / max(workers, 1), longest) + 5.0) if costs else 0.0
    by_comp: Counter = Counter()
    for c, cost in zip(plan["todo"], costs):
        by_comp[getattr(c, "computation", "?")] += cost
    limits = [getattr(c, "timeout_s", None) for c in plan["todo"]]
    worst = float(sum(max(cost, t) if t else cost for cost, t in zip(costs, limits)))
    return {"cells": len(plan["todo"]), "batches": len(plan["batches"]), "cpu_seconds": cpu, "wall_seconds": wall,
            "worst_cpu_seconds": worst,
            "workers": workers, "by_computation": dict(by_comp), "warn": wall > DRY_RUN_WARN_SECONDS}


__all__ = ["BATCH_SECONDS", "DRY_RUN_WARN_SECONDS", "ProgressLines", "batch_records", "dry_run_estimate", "finish_run_row",
           "interrupted_line", "new_run_row", "pack_batches", "plan_grid", "record_noop_run"]
