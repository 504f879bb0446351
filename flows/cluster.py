"""Where the cells run: a local Dask cluster, an existing scheduler, or an HPC queue.

Order of precedence: ``--scheduler ADDR``, then ``DASK_SCHEDULER_ADDRESS``, then
``--cluster slurm|pbs --cluster-config FILE`` (dask-jobqueue), else a
``LocalCluster`` with ``--workers N`` single-threaded worker processes (default:
one per core).
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Iterator

from neurovar.pipeline.errors import SpecError


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def scheduler_address(scheduler: str | None) -> str | None:
    addr = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if addr is not None and "://" not in addr:
        raise SpecError("--scheduler", f"expected an address such as tcp://HOST:8786, got {addr!r}")
    return addr


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None,
                cluster: str | None = None, cluster_config: str | None = None) -> Iterator:
    """A ``distributed.Client`` for the chosen cluster; closes what it started."""
    from distributed import Client, LocalCluster

    if os.environ.get("NEUROVAR_DASK_LOGS") is None:
        for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.worker", "distributed.core"):
            # ERROR: a nanny's "still alive after 4 s, killing" at shutdown is routine on a busy machine
            logging.getLogger(name).setLevel(logging.ERROR)
    addr = scheduler_address(scheduler)
    if addr is not None:
        client = Client(addr, timeout="60s")
        try:
            yield client
        finally:
            client.close()
        return
    if cluster is not None:
        from .hpc import jobqueue_cluster

        with jobqueue_cluster(cluster, cluster_config, workers) as (jq, _):
            client = Client(jq)
            try:
                yield client
            finally:
                client.close()
        return
    n = workers or default_workers()
    if n < 1:
        raise SpecError("--workers", f"must be at least 1, got {n}")
    lc = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # a free port: two runs on one machine never collide
        silence_logs=logging.ERROR,
        preload=["neurovar.flows.worker_setup"],  # the workers ignore a terminal's Ctrl-C: the run handles it
    )
    client = Client(lc)
    try:
        yield client
    finally:
        client.close()
        lc.close()
