"""Dask preload for the workers of a local cluster: a terminal's Ctrl-C is the run's to handle.

A Ctrl-C in a terminal reaches every process of the foreground group, the
local Dask workers too; each would print a ``KeyboardInterrupt`` traceback
while the run (:mod:`neurovar.flows.signals`) is killing them. Workers started
with this preload ignore SIGINT; they still die with the run.
"""

from __future__ import annotations

import signal


def dask_setup(worker) -> None:  # pragma: no cover - runs in the worker process
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to do
        pass
