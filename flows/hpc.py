"""Dask workers started through an HPC batch queue (SLURM or PBS) with dask-jobqueue.

``neurovar run GRID --cluster slurm --cluster-config deploy/slurm.yaml --workers 4``
starts a Dask scheduler inside the ``neurovar run`` process, submits 4 batch
jobs, each running ``python -m distributed.cli.dask_worker`` (the ``dask worker``
command) with ``processes`` worker processes of ``cores / processes`` threads
(cells are single-threaded: keep ``processes == cores``, the default), runs the grid on
them, and cancels the jobs at the end.

The scheduler listens where the compute nodes, and so every other user of the
cluster, can reach it; a Dask scheduler runs whatever its clients send. So it
takes only mutually authenticated TLS (``tls://``): each run makes a self-signed
certificate and key (:meth:`distributed.security.Security.temporary`) and writes
them, readable by the user alone, into a new 0700 folder under
``shared_temp_directory`` (default ``~/.neurovar/tls``, which the compute nodes
must see); the job script passes them to ``dask worker`` (``--tls-ca-file``,
``--tls-cert``, ``--tls-key``, the way dask-jobqueue does for ``security=``) and
exports them as the Dask client settings of the worker's child processes. The
folder is removed when the run ends. ``--tls-ca-file``/``--tls-cert``/``--tls-key``
(or ``DASK_DISTRIBUTED__COMM__TLS__*``) with scheduler and worker certificates use
those instead; ``--insecure`` turns TLS off. The dashboard listens on 127.0.0.1
(``scheduler_options: {dashboard_address: ...}`` changes it): reach it with ``ssh -L``.

The cluster config is a YAML mapping of dask-jobqueue's settings (see
``deploy/slurm.yaml`` and ``deploy/pbs.yaml``); it may also be nested under the
kind's name, as in dask's own ``jobqueue.yaml``::

    queue: normal
    account: myproject
    cores: 8              # cores per job
    processes: 8          # Dask worker processes per job (cores / processes threads each)
    memory: 32GB          # memory per job
    walltime: "04:00:00"

Example
-------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "slurm.yaml"
>>> _ = p.write_text("queue: normal\\ncores: 4\\nmemory: 8GB\\nwalltime: '01:00:00'\\n")
>>> cfg = load_cluster_config("slurm", p)
>>> cfg["cores"], cfg["processes"], cfg["memory"]
(4, 4, '8GB')
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from neurovar.pipeline.errors import SpecError, read_yaml

KINDS = ("slurm", "pbs")

#: settings every kind accepts (dask_jobqueue.core.Job)
_COMMON = {
    "cores": "total cores per job, e.g. 8",
    "memory": "total memory per job, e.g. 32GB",
    "processes": "Dask worker processes per job (default: cores, so one thread each)",
    "walltime": "job time limit HH:MM:SS",
    "queue": "queue (SLURM partition) to submit to",
    "account": "account/project charged for the jobs",
    "job_name": "name of the batch jobs",
    "interface": "network interface the workers and scheduler use, e.g. ib0",
    "local_directory": "fast node-local scratch, e.g. $TMPDIR",
    "log_directory": "where the batch system writes the jobs' output",
    "python": "Python executable on the compute nodes (with neurovar installed)",
    "job_script_prologue": "shell lines run before the worker starts, e.g. module load / source venv",
    "job_extra_directives": "extra #SBATCH / #PBS lines (without the prefix)",
    "job_directives_skip": "generated directives to leave out",
    "worker_extra_args": "extra arguments of the dask worker command",
    "death_timeout": "seconds a worker waits for the scheduler before exiting",
    "shebang": "first line of the job script",
    "scheduler_options": "options of the scheduler started by neurovar (e.g. {dashboard_address: ':8787'})",
    "shared_temp_directory": "a folder the compute nodes see, for the run's TLS credentials (default ~/.neurovar/tls)",
}
_SPECIFIC = {
    "slurm": {"job_cpu": "--cpus-per-task if different from cores", "job_mem": "--mem if different from memory"},
    "pbs": {"resource_spec": "the -l select=... resource request (default from cores and memory)"},
}
_WALLTIME = re.compile(r"^(\d+-)?\d{1,3}:\d{2}(:\d{2})?$")


def allowed_keys(kind: str) -> dict[str, str]:
    """The settings a ``--cluster-config`` file may hold for ``kind``, with their meaning."""
    return {**_COMMON, **_SPECIFIC[kind]}


def load_cluster_config(kind: str | None, path: str | Path | None) -> dict[str, Any]:
    """Read and validate a job-queue config for ``--cluster KIND --cluster-config PATH``.

    Returns the keyword arguments of ``SLURMCluster`` / ``PBSCluster`` (keys with
    ``-`` are read as ``_``; ``processes`` defaults to ``cores``).

    Raises
    ------
    SpecError
        naming ``--cluster`` or ``--cluster-config`` and the fix.
    """
    if kind not in KINDS:
        raise SpecError("--cluster", f"unknown batch system {kind!r}; choose one of {', '.join(KINDS)}")
    if path is None:
        raise SpecError("--cluster-config", f"required with --cluster {kind}: a YAML file such as deploy/{kind}.yaml")
    path = Path(path)
    data = read_yaml(path, "--cluster-config", f" (start from deploy/{kind}.yaml)")
    if isinstance(data, dict) and set(data) == {"jobqueue"}:
        data = data["jobqueue"]
    if isinstance(data, dict) and kind in data and isinstance(data[kind], dict):
        data = data[kind]
    if not isinstance(data, dict):
        raise SpecError("--cluster-config", f"{path} must hold a mapping such as 'cores: 8', 'memory: 32GB'")
    cfg = {str(k).replace("-", "_"): v for k, v in data.items()}
    allowed = allowed_keys(kind)
    for key in cfg:
        if key not in allowed:
            other = [k for k in KINDS if k != kind and key in _SPECIFIC[k]]
            hint = f" (that is a {other[0]} setting)" if other else ""
            raise SpecError("--cluster-config", f"unknown setting {key!r} for {kind}{hint}; allowed: {', '.join(allowed)}")
    for key in ("cores", "memory"):
        if key not in cfg:
            raise SpecError("--cluster-config", f"missing {key!r}: {allowed[key]}")
    for key in ("cores", "processes", "death_timeout"):
        if key in cfg and (not isinstance(cfg[key], int) or isinstance(cfg[key], bool) or cfg[key] < 1):
            raise SpecError("--cluster-config", f"{key} must be a positive integer, got {cfg[key]!r}")
    cfg.setdefault("processes", cfg["cores"])
    if cfg["processes"] > cfg["cores"]:
        raise SpecError("--cluster-config", f"processes ({cfg['processes']}) cannot exceed cores ({cfg['cores']})")
    from dask.utils import parse_bytes

    try:
        if parse_bytes(str(cfg["memory"])) <= 0:
            raise ValueError
    except ValueError:
        raise SpecError("--cluster-config", f"memory must be an amount such as 16GB, got {cfg['memory']!r}") from None
    if "walltime" in cfg and not _WALLTIME.match(str(cfg["walltime"])):
        raise SpecError("--cluster-config", f"walltime must be HH:MM:SS (quote it in YAML: '04:00:00'), got {cfg['walltime']!r}")
    for key in ("job_script_prologue", "job_extra_directives", "job_directives_skip", "worker_extra_args"):
        if key in cfg and not (isinstance(cfg[key], list) and all(isinstance(x, str) for x in cfg[key])):
            raise SpecError("--cluster-config", f"{key} must be a list of strings, got {cfg[key]!r}")
    if "scheduler_options" in cfg and not isinstance(cfg["scheduler_options"], dict):
        raise SpecError("--cluster-config", "scheduler_options must be a mapping, e.g. {dashboard_address: ':8787'}")
    for key in ("queue", "account", "walltime", "memory", "job_name", "interface", "python", "resource_spec",
                "shared_temp_directory"):
        if key in cfg and cfg[key] is not None:
            cfg[key] = str(cfg[key])
    return cfg


#: the Dask client settings a worker's child processes read (their ``Client`` reaches the scheduler too)
_CLIENT_ENV = {"ca_file": "DASK_DISTRIBUTED__COMM__TLS__CA_FILE", "cert": "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT",
               "key": "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY"}


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def run_credentials(kind: str, config: dict[str, Any]):
    """``(Security, folder)``: a certificate and key made for one run, in a new 0700 folder.

    The folder is made under ``shared_temp_directory`` (or dask's
    ``jobqueue.<kind>.shared-temp-directory``, else ``~/.neurovar/tls``); its files
    ``ca.pem``, ``node.pem``, ``node-key.pem`` are 0600. Every role (scheduler,
    workers, the run's client) presents the certificate and trusts only it.
    """
    import dask
    from distributed.security import Security

    base = config.get("shared_temp_directory") or dask.config.get(f"jobqueue.{kind}.shared-temp-directory", None)
    base = Path(os.path.expandvars(os.path.expanduser(str(base or "~/.neurovar/tls"))))
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder = Path(tempfile.mkdtemp(prefix="run-", dir=base))  # mode 0700
    except OSError as e:
        raise SpecError("--cluster-config", f"cannot make the run's TLS folder in {base} ({e.strerror}); "
                        "set shared_temp_directory to a folder of yours that the compute nodes see") from None
    temp = Security.temporary()  # self-signed: the certificate is its own authority
    files = {"ca_file": folder / "ca.pem", "cert": folder / "node.pem", "key": folder / "node-key.pem"}
    _write_private(files["ca_file"], temp.tls_ca_file)
    _write_private(files["cert"], temp.tls_scheduler_cert)
    _write_private(files["key"], temp.tls_scheduler_key)
    kw = {f"tls_{role}_{part}": str(files[part]) for role in ("client", "scheduler", "worker") for part in ("cert", "key")}
    return Security(tls_ca_file=str(files["ca_file"]), require_encryption=True, **kw), folder


def _own_credentials():
    """The ``--tls-*`` files (or ``distributed.comm.tls.*``) if they give the scheduler and workers a certificate."""
    from .cluster import security

    sec = security()
    if sec.tls_ca_file and sec.tls_scheduler_cert and sec.tls_worker_cert:
        sec.require_encryption = True
        return sec
    return None


def make_cluster(kind: str, config: dict[str, Any], insecure: bool = False):
    """A ``SLURMCluster`` or ``PBSCluster`` with no jobs submitted yet (its scheduler runs here).

    Unless ``insecure``, the scheduler and the workers take only TLS with the run's
    credentials (:func:`run_credentials`, or the user's own); the cluster's
    ``tls_folder`` (None otherwise) is removed with the cluster.
    """
    try:
        import dask_jobqueue
    except ImportError:  # pragma: no cover - an optional dependency
        raise SpecError("--cluster", "needs dask-jobqueue: pip install 'neurovar[hpc]'") from None
    cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[kind]
    kwargs = {k: v for k, v in config.items() if k != "shared_temp_directory"}
    # the dashboard on loopback (ssh -L to see it), on a free port: two runs on a login node never collide
    kwargs["scheduler_options"] = {"dashboard_address": "127.0.0.1:0", **config.get("scheduler_options", {})}
    if insecure:
        return cls(**kwargs)
    folder = None
    sec = _own_credentials()
    if sec is None:
        sec, folder = run_credentials(kind, config)
    worker = sec.get_tls_config_for_role("worker")
    exports = [f"export {_CLIENT_ENV[k]}={shlex.quote(str(worker[k]))}" for k in ("ca_file", "cert", "key") if worker.get(k)]
    kwargs["job_script_prologue"] = exports + list(config.get("job_script_prologue", []))
    try:
        shared = {"shared_temp_directory": str(folder)} if folder is not None else {}
        cluster = cls(security=sec, **shared, **kwargs)
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    cluster.tls_folder = folder
    if folder is not None:
        weakref.finalize(cluster, shutil.rmtree, str(folder), True)
    return cluster


def close_cluster(cluster) -> None:
    """Close a cluster of :func:`make_cluster` and remove its run's credentials."""
    try:
        cluster.close()
    finally:
        folder = getattr(cluster, "tls_folder", None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def jobqueue_cluster(kind: str, path: str | Path | None, workers: int | None,
                     insecure: bool = False) -> Iterator[tuple[Any, dict]]:
    """Submit ``workers`` batch jobs of Dask workers; yields ``(cluster, config)`` and cancels them at exit.

    Each job runs ``config['processes']`` worker processes, so the grid runs on
    ``workers * processes`` processes once the queue starts the jobs. The
    scheduler takes TLS only unless ``insecure`` (:func:`make_cluster`).

    Example
    -------
    ``with jobqueue_cluster("slurm", "deploy/slurm.yaml", 4) as (cluster, cfg):``
    ``    client = distributed.Client(cluster)``
    """
    config = load_cluster_config(kind, path)
    jobs = workers or 1
    if jobs < 1:
        raise SpecError("--workers", f"must be at least 1 job, got {jobs}")
    cluster = make_cluster(kind, config, insecure=insecure)
    try:
        cluster.scale(jobs=jobs)
        yield cluster, config
    finally:
        close_cluster(cluster)
