"""What a run needs from its surroundings, checked before Prefect or Dask starts.

``neurovar run`` calls :func:`check_environment` before it plans: each failure is a
:class:`~neurovar.pipeline.errors.SpecError` (one line, exit 2, nothing written):

- ``--scheduler`` together with ``--cluster`` (or ``DASK_SCHEDULER_ADDRESS`` with ``--cluster``);
- ``--cluster slurm|pbs`` whose submit command (``sbatch``, ``qsub``) is not on ``PATH``;
- a ``--results`` folder in which a probe file cannot be created and removed;
- a ``--scheduler`` that does not answer as a Dask scheduler within
  :data:`~neurovar.flows.cluster.SCHEDULER_CHECK_SECONDS`.

Example
-------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> check_writable(folder / "results")   # a folder still to be made, in a writable parent
>>> (folder / "a-file").write_text("x") and None
>>> try:
...     check_writable(folder / "a-file" / "results")
... except SpecError as e:
...     print(e.field, e.message.split(": ")[0].endswith("a-file is a file, not a folder"))
--results True
"""

from __future__ import annotations

import os
from pathlib import Path

from neurovar.pipeline.errors import SpecError


def check_writable(results: Path) -> None:
    """``--results`` can take files: a probe file is created and removed in it (or, for a folder
    still to be made, a probe folder in its nearest existing parent). Raises SpecError."""
    import tempfile

    where = results
    while not where.exists() and where != where.parent:
        where = where.parent
    if not where.is_dir():
        raise SpecError("--results", f"{where} is a file, not a folder: name a folder for the catalog")
    try:
        if where == results:
            fd, probe = tempfile.mkstemp(prefix=".neurovar-probe-", dir=where)
            os.close(fd)
            os.unlink(probe)
        else:
            os.rmdir(tempfile.mkdtemp(prefix=".neurovar-probe-", dir=where))
    except OSError as e:
        raise SpecError("--results", f"cannot write in {where} ({e.strerror or e}): choose a writable folder") from None


def check_environment(results: Path, scheduler: str | None, cluster: str | None, cluster_config) -> None:
    """What a run needs from its surroundings, checked before Prefect or Dask starts (raises SpecError):
    one of --scheduler and --cluster, the queue's config and submit command, a writable --results,
    and a scheduler that answers."""
    from .cluster import check_cluster_choice, check_scheduler, check_submit_command, scheduler_address, security

    check_cluster_choice(scheduler, cluster)
    if cluster is not None:
        from .hpc import load_cluster_config

        load_cluster_config(cluster, cluster_config)
        check_submit_command(cluster)
    addr = scheduler_address(scheduler)
    check_writable(results)
    tls = addr is not None and addr.startswith("tls://")
    check_scheduler(addr, connection_args=security().get_connection_args("client") if tls else None)


__all__ = ["check_environment", "check_writable"]
