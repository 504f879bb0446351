"""Bertini 2 as a peer for the numerical benches, through the Python API of the PyPI wheel ``bertini2``.

What runs on this machine (wheel ``bertini2-4.0.0-cp311-manylinux_2_34``):

* the **Python API** (``bertini.parse.system`` and ``bertini.nag_algorithm.ZeroDimSolver``): a
  total-degree homotopy, power-series endgame, adaptive precision; it solves in this process
  (katsura-3..6: 8, 16, 32, 64 solutions; cyclic-5: 70);
* the bundled **executable** ``bertini/_bin/bertini2`` does *not* run: it is linked against a
  vendored Open MPI whose ``MPI_Init`` looks for its components under ``/usr/lib64/openmpi`` and
  aborts ("An error occurred in MPI_Init_thread") before reading the input file.

So the bench times the Python API, in this process, with one thread (``BERTINI_NUM_THREADS=1``, set
before the import) and no records written (``bertini.recording(False)``). bertini2 is not a
dependency of the project: :func:`unavailable` says why the peer is absent and the bench skips it
with that message.

Example (skipped when the wheel is absent)::

    >>> from bench._bertini import bertini_time, unavailable            # doctest: +SKIP
    >>> unavailable() or bertini_time(["x^2 + y^2 - 5", "x*y - 2"], ["x", "y"])[1]   # doctest: +SKIP
    4
"""

from __future__ import annotations

import os
import re
import time

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def unavailable() -> str | None:
    """None when the Bertini 2 Python API imports, else one sentence saying why (and the fix)."""
    os.environ.setdefault("BERTINI_NUM_THREADS", "1")
    try:
        import bertini  # noqa: F401
        from bertini.nag_algorithm import ZeroDimSolver  # noqa: F401
    except ImportError as e:
        return f"Bertini 2 is not installed ({e}): pip install bertini2 (a cp311 manylinux wheel)"
    return None


def classic_input(system_strings, variables) -> str:
    """The Bertini classic ``INPUT`` section of a square system (``**`` written ``^``)."""
    system_strings, variables = [str(s) for s in system_strings], [str(v) for v in variables]
    if len(system_strings) != len(variables) or not variables:
        raise ValueError(f"need a square system: {len(system_strings)} equations in {len(variables)} variables")
    bad = [v for v in variables if not _NAME.match(v)]
    if bad:
        raise ValueError(f"variable names must be letters, digits and _ (starting with a letter), got {bad}")
    names = [f"f{i + 1}" for i in range(len(system_strings))]
    lines = ["INPUT", f"variable_group {', '.join(variables)};", f"function {', '.join(names)};"]
    lines += [f"{n} = {s.replace('**', '^')};" for n, s in zip(names, system_strings)]
    return "\n".join(lines + ["END;"])


def bertini_time(system_strings, variables, mptype: str = "adaptive") -> tuple[float, int]:
    """``(seconds, n_solutions)``: Bertini 2's zero-dimensional solve of a square system, one thread.

    ``n_solutions`` counts the finite, non-singular path ends (the isolated regular solutions; a
    total-degree homotopy reaches each exactly once). ``mptype``: Bertini's default, adaptive
    precision (``"double"`` is faster but lost a path of katsura-4 here: 15 of 16). The seconds cover
    building the solver and tracking every path, not the import nor the parse. Raises RuntimeError
    when Bertini 2 cannot run.
    """
    why = unavailable()
    if why:
        raise RuntimeError(why)
    import bertini
    from bertini.nag_algorithm import ZeroDimSolver

    bertini.recording(False)
    system = bertini.parse.system(classic_input(system_strings, variables))
    t0 = time.perf_counter()
    solver = ZeroDimSolver(system, mptype=mptype)
    solver.solve()
    seconds = time.perf_counter() - t0
    found = sum(1 for m in solver.solution_metadata()
                if m.is_finite and not m.is_singular and not m.is_nonsolution)
    return seconds, found


__all__ = ["bertini_time", "classic_input", "unavailable"]
