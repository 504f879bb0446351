"""Wall-clock deadlines for numerical solves: a time limit that every phase obeys.

A numerical count runs several phases (monodromy loops, Krawczyk certificates,
the trace test with its own monodromy and tracking, real points at the data).
A time limit given to the first phase alone lets the others run past it, so
the limit is a *deadline* in wall-clock seconds since the epoch, held in a
context variable: :func:`_track_core <pipeline.numeric.tracker>` stops every
path still running when it has passed (those paths end ``failed``, so nothing
unfinished is ever counted), certification stops certifying, and the phases
check :func:`expired` between steps. Wall-clock time (not a monotonic clock)
so that a deadline can be handed to loop tasks running in other processes of
the cluster (:mod:`pipeline.numeric.distribute`).

Deadlines nest: an inner one never extends an outer one.

Example
-------
>>> with deadline(60.0):
...     left = remaining()
>>> 59.0 < left <= 60.0, remaining() is None
(True, True)
>>> with deadline(0.0):
...     expired()
True
"""

from __future__ import annotations

import contextvars
import os
import time
from contextlib import contextmanager

#: Seconds a numerical solve may take when no limit is given (``--numerical-time-limit`` /
#: ``time_limit`` raise or lower it): ten minutes, so that a numerical count never runs silently for
#: hours; when it cuts a solve the result is a lower bound saying so.
DEFAULT_TIME_LIMIT = 600.0

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("neurovar_numeric_deadline", default=None)


def current() -> float | None:
    """The deadline in force (seconds since the epoch), or None."""
    return _DEADLINE.get()


@contextmanager
def deadline(seconds: float | None = None, *, at: float | None = None):
    """Run the block under a deadline ``seconds`` from now (or ``at`` an absolute time); None: no new limit."""
    new = at if at is not None else (None if seconds is None else time.time() + float(seconds))
    old = _DEADLINE.get()
    if new is None or (old is not None and old <= new):
        new = old
    token = _DEADLINE.set(new)
    try:
        yield new
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left before the deadline (never negative), or None without one."""
    d = _DEADLINE.get()
    return None if d is None else max(0.0, d - time.time())


def expired() -> bool:
    """Whether the deadline in force has passed."""
    d = _DEADLINE.get()
    return d is not None and time.time() >= d


def blas_threads() -> int:
    """BLAS threads for one numerical solve: ``NEUROVAR_BLAS_THREADS``, else 1.

    The engine's matrices are small (tens of rows, batched); with several
    threads per call the BLAS threads of concurrent cells (or of a busy
    neighbour) oversubscribe the cores and every call waits on the others.
    One thread per cell (per Dask worker process) unless configured.
    """
    try:
        return max(1, int(os.environ.get("NEUROVAR_BLAS_THREADS", "1")))
    except ValueError:
        return 1


__all__ = ["DEFAULT_TIME_LIMIT", "blas_threads", "current", "deadline", "expired", "remaining"]
