"""Where the cells run: a local Dask cluster, an existing scheduler, or an HPC queue.

Order of precedence: ``--scheduler ADDR``, then ``DASK_SCHEDULER_ADDRESS``, then
``--cluster slurm|pbs --cluster-config FILE`` (dask-jobqueue), else a
``LocalCluster`` with ``--workers N`` single-threaded worker processes (default:
one per core).

Security (a scheduler runs whatever Python its clients send): the local cluster
and its dashboard listen on 127.0.0.1 only; a SLURM/PBS scheduler takes only
mutually authenticated TLS with credentials made for the run (:mod:`.hpc`)
unless ``--insecure``; a ``tls://`` scheduler is reached with ``--tls-ca-file``,
``--tls-cert``, ``--tls-key`` or Dask's ``DASK_DISTRIBUTED__COMM__TLS__*``
settings; a plain ``tcp://`` scheduler off loopback gets a warning.

Example
-------
>>> is_loopback("tcp://127.0.0.1:8786"), is_loopback("tcp://localhost:8786"), is_loopback("tcp://192.0.2.7:8786")
(True, True, False)
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from neurovar.pipeline.errors import SpecError

#: set by ``neurovar run`` (:func:`configure_security`): ``--insecure`` and the ``--tls-*`` files
SECURITY: dict = {"insecure": False, "ca_file": None, "cert": None, "key": None}

INSECURE_WARNING = ("warning: --insecure: a scheduler that neurovar starts for --cluster takes plain tcp:// "
                    "with no authentication; anyone who can reach its port can run code as you")


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def notice(line: str) -> None:
    """One line for the user on stderr (stdout may carry ``--json``)."""
    print(line, file=sys.stderr, flush=True)


def configure_security(insecure: bool = False, tls_ca_file: str | Path | None = None,
                       tls_cert: str | Path | None = None, tls_key: str | Path | None = None) -> None:
    """Record ``--insecure`` and the ``--tls-*`` files for this process's runs (checked: they must exist)."""
    for flag, path in (("--tls-ca-file", tls_ca_file), ("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and not Path(path).is_file():
            raise SpecError(flag, f"no such file: {path} (a PEM file)")
    if tls_key is not None and tls_cert is None:
        raise SpecError("--tls-key", "given without --tls-cert: pass the certificate the key belongs to")
    SECURITY.update(insecure=bool(insecure), ca_file=tls_ca_file and str(tls_ca_file),
                    cert=tls_cert and str(tls_cert), key=tls_key and str(tls_key))


def security():
    """A ``distributed.Security`` from the ``--tls-*`` files over Dask's ``distributed.comm.tls.*`` config.

    The certificate (and key) given by flag serve every role of this process: the client of
    ``--scheduler``, and the scheduler and workers of a ``--cluster`` run.
    """
    from distributed.security import Security

    kw = {}
    if SECURITY["ca_file"]:
        kw["tls_ca_file"] = SECURITY["ca_file"]
    for part in ("cert", "key"):
        if SECURITY[part]:
            for role in ("client", "scheduler", "worker"):
                kw[f"tls_{role}_{part}"] = SECURITY[part]
    return Security(**kw)


def host_of(addr: str) -> str:
    """The host of ``proto://host:port`` (brackets of IPv6 removed)."""
    rest = addr.split("://", 1)[-1]
    if rest.startswith("["):
        return rest[1:].split("]", 1)[0]
    return rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest


def is_loopback(addr: str) -> bool:
    """Whether every address the host of ``addr`` resolves to is a loopback address."""
    host = host_of(addr)
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    ips = {info[4][0].split("%")[0] for info in infos}
    return bool(ips) and all(ipaddress.ip_address(ip).is_loopback for ip in ips)


def warn_if_open(addr: str) -> None:
    """A warning for a plain ``tcp://`` scheduler off loopback (anyone who reaches it can run code)."""
    if addr.startswith("tcp://") and not is_loopback(addr):
        notice(f"warning: {addr} is plain tcp:// off loopback: neither encrypted nor authenticated, so anyone "
               "who reaches it can run code as its owner; prefer tls:// (docs/cluster.md, Security)")


def _client_tls_context():
    try:
        return security().get_connection_args("client")["ssl_context"]
    except OSError as e:  # ssl.SSLError too: a file that is not a certificate or key, or does not match
        raise SpecError("--tls-cert", f"cannot use the TLS files: {e}") from None


def scheduler_address(scheduler: str | None) -> str | None:
    addr = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if addr is not None and "://" not in addr:
        raise SpecError("--scheduler", f"expected an address such as tls://HOST:8786, got {addr!r}")
    if addr is not None and addr.startswith("tls://") and _client_tls_context() is None:
        raise SpecError("--scheduler", f"{addr} needs certificates: --tls-ca-file and --tls-cert (and --tls-key), "
                        "or DASK_DISTRIBUTED__COMM__TLS__CA_FILE, __CLIENT__CERT and __CLIENT__KEY")
    return addr


def _print_dashboard(obj) -> None:
    try:
        link = obj.dashboard_link
    except Exception:  # a scheduler without a dashboard
        return
    if link:
        notice(f"dashboard: {link}")


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None,
                cluster: str | None = None, cluster_config: str | None = None) -> Iterator:
    """A ``distributed.Client`` for the chosen cluster; closes what it started."""
    from distributed import Client, LocalCluster

    if os.environ.get("NEUROVAR_DASK_LOGS") is None:
        for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.worker", "distributed.core"):
            # ERROR: a nanny's "still alive after 4 s, killing" at shutdown is routine on a busy machine
            logging.getLogger(name).setLevel(logging.ERROR)
    if SECURITY["insecure"]:
        notice(INSECURE_WARNING)
    addr = scheduler_address(scheduler)
    if addr is not None:
        warn_if_open(addr)
        client = Client(addr, timeout="60s", security=security())
        try:
            if "dashboard" in client.scheduler_info().get("services", {}):
                _print_dashboard(client)
            yield client
        finally:
            client.close()
        return
    if cluster is not None:
        from .hpc import jobqueue_cluster

        with jobqueue_cluster(cluster, cluster_config, workers, insecure=SECURITY["insecure"]) as (jq, _):
            _print_dashboard(jq)
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
        host="127.0.0.1",  # the scheduler and workers: this machine only
        dashboard_address="127.0.0.1:0",  # loopback only; a free port: two runs on one machine never collide
        silence_logs=logging.ERROR,
        preload=["neurovar.flows.worker_setup"],  # the workers ignore a terminal's Ctrl-C: the run handles it
    )
    _print_dashboard(lc)
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
    if addr.startswith("tls://") and not (connection_args or {}).get("ssl_context"):
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
