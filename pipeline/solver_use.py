"""Which external solvers the running cell called (msolve, Singular): their versions enter its fingerprint.

The solver bridges call :func:`note_solver` each time they start a solver; :func:`recording_solvers`
collects the names for one cell (a context variable, so cells running in different threads do not
mix). :mod:`neurovar.pipeline.provenance` turns the names into versions.

>>> with recording_solvers() as used:
...     note_solver("msolve")
>>> sorted(used)
['msolve']
>>> note_solver("Singular")  # outside a cell: nothing is recorded
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager

_USED: contextvars.ContextVar[set | None] = contextvars.ContextVar("neurovar_solvers_used", default=None)


def note_solver(name: str) -> None:
    """Record that the running cell called the external solver ``name`` (``msolve`` or ``Singular``)."""
    used = _USED.get()
    if used is not None:
        used.add(name)


@contextmanager
def recording_solvers():
    """Collect the solvers noted while the block runs (one cell): ``with recording_solvers() as used:``."""
    used: set[str] = set()
    token = _USED.set(used)
    try:
        yield used
    finally:
        _USED.reset(token)


__all__ = ["note_solver", "recording_solvers"]
