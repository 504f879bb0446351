"""Which Dask client a cell's numerical solve spreads its loop tasks over.

The numerical engine (:mod:`pipeline.numeric.distribute`) takes a client as an
argument and never looks for one. This module is where the choice is made for
the computations of a grid:

* inside a Dask worker (a grid's batch), the worker's own client;
* in the killable child process of a cell with ``timeout_s``
  (:mod:`pipeline.runner`), a client of the scheduler whose address the worker
  passes in :data:`SCHEDULER_ENV`;
* elsewhere (the CLI, a notebook), none: the paths are tracked in this process.

:func:`loop_client` returns a factory, called by the engine at the first round
large enough to spread (a small solve never connects).

Example
-------
>>> import os
>>> _ = os.environ.pop(SCHEDULER_ENV, None)
>>> loop_client()() is None          # no worker, no scheduler address: this process
True
>>> distribute_mode(None) in ("auto", "always", "never"), distribute_mode("never")
(True, 'never')
"""

from __future__ import annotations

import os

#: Environment variable with the scheduler address, for cells run in a child process of a worker.
SCHEDULER_ENV = "NEUROVAR_CLUSTER_SCHEDULER"
#: Environment variable with the default mode (``auto`` when unset).
MODE_ENV = "NEUROVAR_DISTRIBUTE"

_CLIENT = None


def distribute_mode(mode: str | None) -> str:
    """``mode``, or ``NEUROVAR_DISTRIBUTE`` if it names a mode, else ``auto``."""
    from ..numeric.distribute import MODES

    if mode:
        return mode
    m = os.environ.get(MODE_ENV, "auto").strip().lower()
    return m if m in MODES else "auto"


def cluster_client():
    """The Dask client of the cluster this process works for, or None (see the module docstring)."""
    global _CLIENT
    try:
        from distributed import get_client, get_worker

        get_worker()
        return get_client()
    except (ImportError, ValueError):
        pass
    addr = os.environ.get(SCHEDULER_ENV)
    if not addr:
        return None
    if _CLIENT is not None and _CLIENT.status == "running" and _CLIENT.scheduler.address == addr:
        return _CLIENT
    try:
        from distributed import Client

        _CLIENT = Client(addr, timeout="10s", set_as_default=False)
    except Exception:  # no scheduler there any more: track locally
        _CLIENT = None
    return _CLIENT


def loop_client():
    """The client factory a cell passes to the engine (:func:`cluster_client`, called lazily)."""
    return cluster_client


__all__ = ["MODE_ENV", "SCHEDULER_ENV", "cluster_client", "distribute_mode", "loop_client"]
