"""Where the cells run: a local Dask cluster, an existing scheduler, or an HPC queue.

Order of precedence: ``--scheduler ADDR``, then ``DASK_SCHEDULER_ADDRESS``, then
``--cluster slurm|pbs --cluster-config FILE`` (dask-jobqueue), else a
``LocalCluster`` with ``--workers N`` single-threaded worker processes (default:
one per core).
"""

from __future__ import annotations

import logging
import os
import socket
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


# ------------------------------------------------------------------ pre-flight checks (before Prefect starts)

#: Seconds ``--scheduler`` has to answer before the run stops (exit 2) ...
SCHEDULER_CHECK_SECONDS = float(os.environ.get("NEUROVAR_SCHEDULER_CHECK_SECONDS", "5"))
#: ... but no later than this many seconds after the process started (a loaded machine's slow start-up
#: included), and never less than 1 s: the command says so within 10 s.
CHECKED_BY_SECONDS = 9.0
#: Default seconds a cluster has to start its first worker before the run fails (``--worker-timeout``).
WORKER_TIMEOUT_SECONDS = float(os.environ.get("NEUROVAR_WORKER_TIMEOUT", "300"))
#: The command each ``--cluster`` kind submits its jobs with.
SUBMIT_COMMANDS = {"slurm": "sbatch", "pbs": "qsub"}


def check_cluster_choice(scheduler: str | None, cluster: str | None) -> None:
    """``--scheduler`` (or ``DASK_SCHEDULER_ADDRESS``) and ``--cluster`` exclude each other."""
    if cluster is None:
        return
    if scheduler:
        raise SpecError("--cluster", "give either --scheduler (an existing Dask scheduler) or --cluster "
                        "(workers started through a batch queue), not both")
    if os.environ.get("DASK_SCHEDULER_ADDRESS"):
        raise SpecError("--cluster", f"DASK_SCHEDULER_ADDRESS={os.environ['DASK_SCHEDULER_ADDRESS']} names a "
                        "scheduler too: unset it to start workers through the batch queue")


def check_submit_command(cluster: str | None) -> None:
    """The batch system's submit command (``sbatch`` or ``qsub``) must be on ``PATH``."""
    import shutil

    cmd = SUBMIT_COMMANDS.get(cluster or "")
    if cmd is not None and shutil.which(cmd) is None:
        raise SpecError("--cluster", f"{cluster} jobs are submitted with {cmd}, which is not on PATH: run on the "
                        f"cluster's login node (or load its module), or use --scheduler or a local run")


def check_scheduler(addr: str | None, timeout: float | None = None, connection_args: dict | None = None) -> None:
    """The scheduler at ``addr`` answers an ``identity`` request within ``timeout`` seconds; a refused
    connection fails at once. Raises :class:`SpecError` on ``--scheduler`` otherwise."""
    if addr is None:
        return
    import asyncio
    import time

    if timeout is None:
        import psutil

        started = time.time() - psutil.Process().create_time()
        timeout = round(max(1.0, min(SCHEDULER_CHECK_SECONDS, CHECKED_BY_SECONDS - started)), 1)
    deadline = time.monotonic() + timeout
    host, _, port = addr.split("://", 1)[1].rpartition(":")
    if addr.startswith(("tcp://", "tls://")) and port.isdigit():
        try:  # refused or unreachable: say so now rather than retrying for the whole timeout
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
        except OSError as e:
            why = "timed out" if isinstance(e, socket.timeout) else (e.strerror or str(e))
            raise SpecError("--scheduler", f"no Dask scheduler answers at {addr} ({why}): start one "
                            "(dask scheduler) or fix the address") from None
    if addr.startswith("tls://") and not connection_args:
        return  # reachable; the TLS handshake needs the run's certificates

    async def identity():
        from distributed.core import rpc

        async with rpc(addr, timeout=max(deadline - time.monotonic(), 0.5),
                       connection_args=connection_args or {}) as r:
            return await asyncio.wait_for(r.identity(), max(deadline - time.monotonic(), 0.5))

    try:
        info = asyncio.run(identity())
    except (TimeoutError, OSError) as e:  # distributed says "Timed out ..." with an OSError
        why = "no answer" if isinstance(e, TimeoutError) or "imed out" in str(e) else (e.strerror or str(e))
        raise SpecError("--scheduler", f"{addr} did not answer as a Dask scheduler within {timeout:g} s "
                        f"({why}): check the address and that the scheduler runs") from None
    except Exception as e:
        info = type(e).__name__
    if not isinstance(info, dict) or info.get("type") != "Scheduler":
        what = info if isinstance(info, str) else "another identity"
        raise SpecError("--scheduler", f"{addr} answers, but not as a Dask scheduler ({what}): check the address "
                        "(a scheduler's port is 8786 by default)")


def no_worker_message(client, timeout: float | None = None) -> str | None:
    """Wait until the cluster has a worker; the run's failure message if none came within ``timeout``
    seconds (default :data:`WORKER_TIMEOUT_SECONDS`), else None."""
    timeout = WORKER_TIMEOUT_SECONDS if timeout is None else timeout
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        return (f"no Dask worker joined the scheduler at {client.scheduler.address} within {timeout:g} s "
                "(--worker-timeout): check the batch jobs, or that workers can reach the scheduler")
    return None
