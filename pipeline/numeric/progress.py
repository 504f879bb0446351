"""Progress of a long numerical count: one line on stderr per milestone, when asked for.

``neurovar compute ... --progress`` (or ``NEUROVAR_PROGRESS=1`` in the
environment, which a cell's child process inherits) prints the engine's
milestones with the time of day: the solutions found by the monodromy, the
extra witnesses of each trace test and its verdict, each round from a new
base. A count that runs for hours (the plane octic) otherwise says nothing
until it ends.

>>> import io, logging
>>> out = io.StringIO()
>>> h = logging.StreamHandler(out)
>>> LOG.addHandler(h); LOG.setLevel(logging.INFO)
>>> note("trace test: %d extra witnesses", 35)
>>> LOG.removeHandler(h); out.getvalue()
'trace test: 35 extra witnesses\\n'
"""

from __future__ import annotations

import logging
import os
import sys

ENV = "NEUROVAR_PROGRESS"
LOG = logging.getLogger("neurovar.numeric")


def enable() -> None:
    """Print the milestones on stderr, here and in child processes started from here."""
    os.environ[ENV] = "1"
    _attach()


def _attach() -> None:
    if not any(getattr(h, "_neurovar", False) for h in LOG.handlers):
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        h._neurovar = True
        LOG.addHandler(h)
        LOG.setLevel(logging.INFO)
        LOG.propagate = False


def note(msg: str, *args) -> None:
    """One milestone (``msg % args``); nothing is printed unless progress was enabled."""
    if os.environ.get(ENV) == "1":
        _attach()
    LOG.info(msg, *args)
