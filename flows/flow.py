"""The grid flow: plan the cells, fan them out over Dask, append results to the catalog.

``run_grid`` is a Prefect 3 flow with three coarse tasks:

``plan``
    expand the grid into cells, drop the keys already in the catalog, pack the
    rest into batches of a few seconds of estimated work (skipped when the
    caller hands the flow its plan, as ``neurovar run`` does);
``execute``
    submit one Dask task per batch (not per cell: Prefect's per-task overhead is
    tens of milliseconds) and append every finished batch to the catalog as it
    arrives;
``record_run``
    write the run's row to the ``_runs`` table.

A worker that dies takes its batch with it; the scheduler reruns the batch on
another worker (up to ``distributed.scheduler.allowed-failures``), and a batch
that still fails is recorded cell by cell with ``status='error'``.

A run that loses its Dask scheduler stops within :data:`SCHEDULER_LOST_SECONDS`
with ``status='failed'`` in ``_runs`` and the message of what was lost; the
batches it had already written stay, so a rerun computes only the rest. SIGINT
and SIGTERM stop the run through :mod:`neurovar.flows.signals`: the process
tree is killed, the run's row says ``interrupted`` and the process exits 130
or 143 without needing the Prefect server any more.

Every invocation writes one ``_runs`` row, a run with nothing to compute too
(``status`` ``ok | interrupted | failed``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Callable

from prefect import flow, get_run_logger, task

try:  # Prefect >= 3.0
    from prefect.cache_policies import NO_CACHE
except ImportError:  # pragma: no cover
    NO_CACHE = None

from neurovar.catalog import store
from neurovar.pipeline.cells import Cell
from neurovar.pipeline.grid import GridSpec
from neurovar.pipeline.runner import run_batch  # what the workers run: importing it must not import Prefect

from . import signals
from .cluster import dask_client, default_workers, no_worker_message
from .runs import (BATCH_SECONDS, Plan, batch_records, finish_run_row, interrupted_line, new_run_row, pack_batches,
                   plan_grid)

#: Called in the flow's process as ``hook(event, **info)``; the CLI draws its progress bar with it.
#: Events: ``plan``, ``cluster``, ``batch`` (records), ``tick`` (about once a second while waiting).
PROGRESS_HOOK: Callable[..., None] | None = None

#: Seconds without a connection to the Dask scheduler after which the run fails.
SCHEDULER_LOST_SECONDS = float(os.environ.get("NEUROVAR_SCHEDULER_LOST_SECONDS", "10"))

#: The run in progress in this process: its ``_runs`` row, counts and cells to do (for the signal handler).
CURRENT: dict = {}

__all__ = ["BATCH_SECONDS", "CURRENT", "PROGRESS_HOOK", "execute", "pack_batches", "plan_task", "run_grid"]


def _emit(event: str, **info) -> None:
    if PROGRESS_HOOK is not None:
        try:
            PROGRESS_HOOK(event, **info)
        except Exception:  # a broken progress bar never stops a run
            pass


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
def plan_task(spec: GridSpec, results: str, retry_failed: bool, workers: int, extra_cells: list[Cell] | None = None) -> dict:
    return plan_grid(spec, results, workers, retry_failed, extra_cells)


def _write_batch(records: list[dict], run_id: str, flow_run_id: str | None, results: str, counts: Counter) -> None:
    by_comp = defaultdict(list)
    for rec in records:
        rec["run_id"] = run_id
        rec["flow_run_id"] = flow_run_id
        by_comp[rec["computation"]].append(rec)
    with signals.deferred():  # a signal waits until the part files are written and counted
        for comp, recs in by_comp.items():
            store.write_records(recs, comp, results)
        for rec in records:
            counts[rec["status"]] += 1


@_task(name="execute")
def execute(batches: list[list[Cell]], results: str, run_id: str, flow_run_id: str | None,
            scheduler: str | None, workers: int, cluster: str | None, cluster_config: str | None,
            worker_timeout: float | None = None) -> dict:
    """Run the batches on Dask and write each as it arrives.

    Returns ``{"counts": Counter of statuses, "failed": None or the reason the run stopped}``.
    """
    from concurrent.futures import CancelledError

    from distributed import as_completed

    counts: Counter = CURRENT.setdefault("counts", Counter())
    if not batches:
        return {"counts": counts, "failed": None}
    logger = get_run_logger()
    failed = None
    cm = dask_client(scheduler, workers, cluster, cluster_config)
    client = cm.__enter__()
    exc_info = (None, None, None)
    try:
        addr = client.scheduler.address
        failed = no_worker_message(client, worker_timeout)  # a queue that never starts a worker ends the run
        if failed:
            return {"counts": counts, "failed": failed}
        logger.info("Dask scheduler %s, %d batches", addr, len(batches))
        _emit("cluster", address=addr, batches=len(batches))
        futures = {client.submit(run_batch, b, pure=False, key=f"batch-{run_id}-{i}"): b for i, b in enumerate(batches)}
        CURRENT["futures"], CURRENT["client"] = futures, client
        ac = as_completed(futures)
        lost_since = None
        last_tick = time.monotonic()
        while not ac.is_empty():
            done = ac.next_batch(block=False)
            now = time.monotonic()
            if now - last_tick >= 1.0:
                _emit("tick")
                last_tick = now
            if not done:
                if getattr(client, "status", "running") != "running":
                    lost_since = lost_since or now
                    if now - lost_since >= SCHEDULER_LOST_SECONDS:
                        failed = f"lost the Dask scheduler at {addr} (no connection for {SCHEDULER_LOST_SECONDS:g} s)"
                        break
                else:
                    lost_since = None
                time.sleep(0.1)
                continue
            for fut in done:
                batch = futures.pop(fut)
                try:
                    result = fut.result()
                except CancelledError:  # the scheduler forgot it: connection lost; nothing computed, nothing written
                    failed = f"lost the Dask scheduler at {addr}"
                    continue
                except Exception as exc:  # KilledWorker after repeated worker deaths, or the batch raised
                    result = exc
                records = batch_records(batch, result)  # whatever came back: one well-formed record per cell
                _write_batch(records, run_id, flow_run_id, results, counts)
                _emit("batch", records=records)
                fut.release()
            if failed:
                break
    except BaseException as e:
        exc_info = (type(e), e, e.__traceback__)
        raise
    finally:
        CURRENT.pop("futures", None)
        CURRENT.pop("client", None)
        if failed:
            logging.disable(logging.CRITICAL)  # the client's reconnection attempts have nothing to tell
            try:
                client.close(timeout=5)
            except Exception:
                pass
        try:
            cm.__exit__(*exc_info)
        except Exception:
            if not failed and exc_info[0] is None:
                raise
        if failed:
            logging.disable(logging.NOTSET)
    return {"counts": counts, "failed": failed}


def _cancel_futures(signum: int) -> None:
    """Stop a cluster we do not own from running what is queued (a local cluster is killed instead)."""
    client, futures = CURRENT.get("client"), CURRENT.get("futures")
    if client is None or not futures or not CURRENT.get("external"):
        return
    try:
        client.cancel(list(futures), force=True)
    except Exception:
        pass


def _record_interrupted(signum: int) -> None:
    row = CURRENT.get("row")
    if row is None or CURRENT.get("recorded"):
        return
    finish_run_row(row, CURRENT.get("counts", Counter()), "interrupted", CURRENT["results"])
    CURRENT["recorded"] = True
    _cancel_flow_run(row.get("flow_run_id"))


def _cancel_flow_run(flow_run_id: str | None, timeout: float = 2.0) -> None:
    """Tell a Prefect server that outlives this process (``PREFECT_API_URL``) that the flow run was
    cancelled, so it does not stay ``Running``; a temporary server died with the run and needs nothing."""
    if not flow_run_id or not os.environ.get("PREFECT_API_URL"):
        return
    import threading

    def cancel():
        try:
            from prefect.client.orchestration import get_client
            from prefect.states import Cancelled

            with get_client(sync_client=True) as client:
                client.set_flow_run_state(flow_run_id, Cancelled(message="interrupted (SIGINT/SIGTERM)"), force=True)
        except Exception:
            pass

    th = threading.Thread(target=cancel, daemon=True)
    th.start()
    th.join(timeout)


def _interrupted_message(signum: int) -> str:
    counts = CURRENT.get("counts", Counter())
    return interrupted_line(sum(counts.values()), CURRENT.get("todo", 0))


@flow(name="neurovar-grid", log_prints=False, persist_result=False, validate_parameters=False)
def run_grid(spec: GridSpec, results: str = store.DEFAULT_ROOT, workers: int | None = None,
             scheduler: str | None = None, retry_failed: bool = False, spec_path: str | None = None,
             cluster: str | None = None, cluster_config: str | None = None,
             extra_cells: list[Cell] | None = None, plan: Plan | None = None,
             worker_timeout: float | None = None) -> dict:
    """Run every missing cell of a grid and append the results to the catalog.

    ``plan`` is the run's :class:`~neurovar.flows.runs.Plan` when the caller made it (``neurovar
    run`` plans before Prefect starts): the flow runs it as it is. Without one the flow plans
    (the ``plan`` task), with ``extra_cells`` planned beside the grid's cells (e.g. the cells of
    stale rows to recompute). ``worker_timeout``: seconds the cluster has to start its first
    worker before the run fails (default :data:`~neurovar.flows.cluster.WORKER_TIMEOUT_SECONDS`).

    Returns a summary: cells planned, skipped (already in the catalog), the
    counts of ``ok`` / ``timeout`` / ``error`` records written by this run, the
    run's ``status`` (``ok`` or ``failed``) and, for a failed run, ``message``.
    """
    logger = get_run_logger()
    workers = workers or default_workers()
    fr_id = _flow_run_id()
    p = plan if plan is not None else plan_task(spec, results, retry_failed, workers, extra_cells)
    row = new_run_row(spec, p, workers, scheduler, cluster, spec_path, flow_run_id=fr_id)
    run_id = row["run_id"]
    counts: Counter = Counter()
    CURRENT.clear()
    CURRENT.update(row=row, counts=counts, todo=len(p["todo"]), results=results, recorded=False,
                   external=bool(scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or cluster))
    logger.info("grid %s: %d cells, %d already in the catalog, %d to run in %d batches",
                spec.name, p["planned"], p["skipped"], len(p["todo"]), len(p["batches"]))
    _emit("plan", planned=p["planned"], skipped=p["skipped"], todo=len(p["todo"]), batches=len(p["batches"]),
          run_id=run_id, flow_run_id=fr_id)
    t0 = time.perf_counter()
    out = {"counts": counts, "failed": None}
    if p["todo"]:
        store.write_run(row, results)
        with signals.handling(stop=_cancel_futures, record=_record_interrupted, message=_interrupted_message):
            try:
                out = execute(p["batches"], results, run_id, fr_id, scheduler, workers, cluster, cluster_config,
                              worker_timeout)
            except Exception:
                finish_run_row(row, counts, "failed", results)
                CURRENT["recorded"] = True
                raise
    status = "failed" if out["failed"] else "ok"
    finish_run_row(row, counts, status, results)  # a run with nothing to do has its row too
    CURRENT["recorded"] = True
    summary = {
        "run_id": run_id, "flow_run_id": fr_id, "spec": spec.name, "planned": p["planned"],
        "skipped": p["skipped"], "computed": sum(counts.values()), "ok": counts.get("ok", 0),
        "timeout": counts.get("timeout", 0), "error": counts.get("error", 0),
        "seconds": time.perf_counter() - t0, "results": str(results), "status": status,
        "not_computed": len(p["todo"]) - sum(counts.values()),
    }
    if out["failed"]:
        summary["message"] = out["failed"]
    logger.info("grid %s done: %s", spec.name, json.dumps({k: summary[k] for k in ("computed", "ok", "timeout", "error")}))
    return summary
