"""The grid flow: plan the cells, fan them out over Dask, append results to the catalog.

``run_grid`` is a Prefect 3 flow with three coarse tasks:

``plan``
    expand the grid into cells, drop the keys already in the catalog, pack the
    rest into batches of a few seconds of estimated work;
``execute``
    submit one Dask task per batch (not per cell: Prefect's per-task overhead is
    tens of milliseconds) and append every finished batch to the catalog as it
    arrives;
``record_run``
    write the run's row to the ``_runs`` table.

A worker that dies takes its batch with it; the scheduler reruns the batch on
another worker (up to ``distributed.scheduler.allowed-failures``), and a batch
that still fails is recorded cell by cell with ``status='error'``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Callable

from prefect import flow, get_run_logger, task

try:  # Prefect >= 3.0
    from prefect.cache_policies import NO_CACHE
except ImportError:  # pragma: no cover
    NO_CACHE = None

from neurovar.catalog import store
from neurovar.pipeline.cells import Cell, cell_cost, failed_record, package_versions
from neurovar.pipeline.grid import GridSpec
from neurovar.pipeline.runner import run_batch  # what the workers run: importing it must not import Prefect

from .cluster import dask_client, default_workers

#: Called in the flow's process as ``hook(event, **info)``; the CLI draws its progress bar with it.
PROGRESS_HOOK: Callable[..., None] | None = None

#: Target estimated seconds of work per batch.
BATCH_SECONDS = 2.0


def _emit(event: str, **info) -> None:
    if PROGRESS_HOOK is not None:
        try:
            PROGRESS_HOOK(event, **info)
        except Exception:  # a broken progress bar never stops a run
            pass


def pack_batches(cells: list[Cell], workers: int, target_seconds: float = BATCH_SECONDS) -> list[list[Cell]]:
    """Pack cells (in order) into batches of about ``target_seconds`` of estimated work.

    Batches are also kept small enough that every worker gets several of them,
    so one slow batch cannot leave the others idle at the end.
    """
    if not cells:
        return []
    costs = [cell_cost(c) for c in cells]
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


def _flow_run_id() -> str | None:
    try:
        from prefect.runtime import flow_run

        return str(flow_run.id) if flow_run.id else None
    except Exception:
        return None


def _task(**kw):
    if NO_CACHE is not None:
        kw["cache_policy"] = NO_CACHE
    return task(persist_result=False, **kw)


@_task(name="plan")
def plan(spec: GridSpec, results: str, retry_failed: bool, workers: int, extra_cells: list[Cell] | None = None) -> dict:
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
    batches = pack_batches(todo, workers)
    return {"planned": len(cells), "skipped": len(cells) - len(todo), "todo": todo, "batches": batches}


@_task(name="execute")
def execute(batches: list[list[Cell]], results: str, run_id: str, flow_run_id: str | None,
            scheduler: str | None, workers: int, cluster: str | None, cluster_config: str | None) -> Counter:
    from distributed import as_completed

    counts: Counter = Counter()
    if not batches:
        return counts
    logger = get_run_logger()
    with dask_client(scheduler, workers, cluster, cluster_config) as client:
        logger.info("Dask scheduler %s, %d batches", client.scheduler.address, len(batches))
        _emit("cluster", address=client.scheduler.address, batches=len(batches))
        futures = {client.submit(run_batch, b, pure=False, key=f"batch-{run_id}-{i}"): b for i, b in enumerate(batches)}
        for fut in as_completed(futures):
            batch = futures.pop(fut)
            try:
                records = fut.result()
            except Exception as exc:  # KilledWorker after repeated worker deaths, or a lost scheduler
                msg = f"batch failed on the cluster: {type(exc).__name__}: {exc}"
                records = [failed_record(c, "error", msg, 0.0) for c in batch]
            by_comp = defaultdict(list)
            for rec in records:
                rec["run_id"] = run_id
                rec["flow_run_id"] = flow_run_id
                by_comp[rec["computation"]].append(rec)
                counts[rec["status"]] += 1
            for comp, recs in by_comp.items():
                store.write_records(recs, comp, results)
            _emit("batch", records=records)
            fut.release()
    return counts


@flow(name="neurovar-grid", log_prints=False, persist_result=False, validate_parameters=False)
def run_grid(spec: GridSpec, results: str = store.DEFAULT_ROOT, workers: int | None = None,
             scheduler: str | None = None, retry_failed: bool = False, spec_path: str | None = None,
             cluster: str | None = None, cluster_config: str | None = None,
             extra_cells: list[Cell] | None = None) -> dict:
    """Run every missing cell of a grid and append the results to the catalog.

    ``extra_cells`` are planned with the grid's cells (``neurovar run
    --recompute-stale`` passes the cells of the catalog's stale rows).

    Returns a summary: cells planned, skipped (already in the catalog), and the
    counts of ``ok`` / ``timeout`` / ``error`` records written by this run.
    """
    logger = get_run_logger()
    workers = workers or default_workers()
    run_id = uuid.uuid4().hex[:12]
    fr_id = _flow_run_id()
    started = datetime.now(timezone.utc)
    p = plan(spec, results, retry_failed, workers, extra_cells)
    row = {
        "run_id": run_id, "flow_run_id": fr_id, "spec_name": spec.name, "spec_hash": spec.spec_hash,
        "spec_path": spec_path, "started": started, "ended": None, "cells_planned": p["planned"],
        "cells_skipped": p["skipped"], "cells_ok": 0, "cells_timeout": 0, "cells_error": 0,
        "workers": workers, "scheduler": scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or cluster or "local",
        "versions": package_versions(), "status": "running",
    }
    if p["todo"]:
        store.write_run(row, results)
    logger.info("grid %s: %d cells, %d already in the catalog, %d to run in %d batches",
                spec.name, p["planned"], p["skipped"], len(p["todo"]), len(p["batches"]))
    _emit("plan", planned=p["planned"], skipped=p["skipped"], todo=len(p["todo"]), batches=len(p["batches"]),
          run_id=run_id, flow_run_id=fr_id)
    t0 = time.perf_counter()
    counts = execute(p["batches"], results, run_id, fr_id, scheduler, workers, cluster, cluster_config)
    summary = {
        "run_id": run_id, "flow_run_id": fr_id, "spec": spec.name, "planned": p["planned"],
        "skipped": p["skipped"], "computed": len(p["todo"]), "ok": counts.get("ok", 0),
        "timeout": counts.get("timeout", 0), "error": counts.get("error", 0),
        "seconds": time.perf_counter() - t0, "results": str(results),
    }
    if p["todo"]:
        row.update(ended=datetime.now(timezone.utc), cells_ok=summary["ok"], cells_timeout=summary["timeout"],
                   cells_error=summary["error"], status="completed")
        store.write_run(row, results)
    logger.info("grid %s done: %s", spec.name, json.dumps({k: summary[k] for k in ("computed", "ok", "timeout", "error")}))
    return summary
