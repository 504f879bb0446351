"""Certified numerical counts: monodromy, Krawczyk, freeness of the group, the trace test, the trust rule.

:func:`certified_count` is the one entry point the compute layer uses for a
numerical count (ED degrees, fibers):

1. :func:`~pipeline.numeric.monodromy.monodromy_solve` (one representative per
   orbit when a :class:`~pipeline.numeric.symmetry.BlockPermutationGroup` is
   given; no group element is ever listed);
2. Krawczyk certification of every representative; with a group, a proof that
   the stabiliser of each is trivial and that the representatives lie in
   different orbits (:meth:`~BlockPermutationGroup.free_on`,
   :meth:`~BlockPermutationGroup.distinct_orbits`);
3. the trace test (:func:`~pipeline.numeric.trace.trace_test`), repeated with
   fresh random choices when it fails (a failure can also come from an
   incomplete set of extra witnesses; a pass is the certificate);
4. :func:`~pipeline.numeric.trust.verdict`.

Example
-------
>>> from neurovar.pipeline.numeric.families import ed_lagrange_family
>>> fam = ed_lagrange_family("x^2 + y^2 - 1", ["x", "y"])
>>> C = certified_count(fam.system, start_pair=fam.start_pair, seed=0)
>>> C.count, C.completeness, C.orbits, C.group_order
(2, 'trace-test', 2, 1)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from .certify import certify
from .monodromy import MonodromyResult, monodromy_solve
from .trace import TraceTestResult, trace_test
from .trust import Verdict, verdict


@dataclass
class CertifiedCount:
    """Outcome of :func:`certified_count`.

    ``count`` is ``orbits * group_order`` (a Python int) when the trust rule
    holds, else None and ``lower_bound`` is what was found.
    """

    count: int | None
    lower_bound: int
    completeness: str
    reason: str
    orbits: int
    group_order: int
    certified: int
    free: bool | None
    stop_reason: str
    seconds: float
    monodromy: MonodromyResult
    trace: TraceTestResult | None
    keep: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @property
    def solutions(self) -> np.ndarray:
        """The certified distinct solutions (orbit representatives)."""
        return self.monodromy.solutions[self.keep]


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


def certified_count(system, x0=None, p0=None, *, start_pair=None, group=None, seed: int = 0,
                    time_limit: float | None = None, stall_loops: int = 5, filter=None, exact: int | None = None,
                    trace_attempts: int = 3, **monodromy_options) -> CertifiedCount:
    """Solve by monodromy, certify, prove freeness, run the trace test and apply the trust rule.

    Parameters
    ----------
    system : System
    x0, p0, start_pair
        The start (see :func:`~pipeline.numeric.monodromy.monodromy_solve`).
    group : BlockPermutationGroup, optional
    seed : int
    time_limit : float, optional
        Seconds for everything (monodromy, certification, trace test); the
        monodromy gets at most 60% of it.
    stall_loops : int
        The monodromy's stopping heuristic (a stop, not a certificate).
    filter : callable, optional
        ``filter(X) -> bool array``: which certified solutions count (e.g. the
        fiber points among the solutions of a squared-up system). The trace
        test runs on all solutions of the square system.
    exact : int, optional
        An exact count to compare with (``exact-agrees``).
    trace_attempts : int
        Trace tests with fresh random lines before giving up.

    Returns
    -------
    CertifiedCount
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads(), user_api="blas"):
        return _certified_count(system, x0, p0, start_pair, group, seed, time_limit, stall_loops, filter, exact,
                                trace_attempts, monodromy_options)


def _certified_count(system, x0, p0, start_pair, group, seed, time_limit, stall_loops, filter, exact,
                     trace_attempts, monodromy_options) -> CertifiedCount:
    t0 = time.perf_counter()

    def left(frac=1.0):
        return None if time_limit is None else max(0.5, frac * time_limit - (time.perf_counter() - t0))

    R = monodromy_solve(system, x0, p0, start_pair=start_pair, group=group, seed=seed, stall_loops=stall_loops,
                        time_limit=left(0.6), certify=False, **monodromy_options)
    X = R.solutions
    C = certify(system, X, R.parameters)
    R.certification = C
    keep = C.distinct.copy()
    free = True
    if group is not None and len(X):
        keep = group.distinct_orbits(C.lo, C.hi, C.certified)
        free_mask = group.free_on(C.lo, C.hi)
        free = bool(np.all(free_mask[keep])) if keep.any() else False
    R.certified = int(keep.sum())
    trace = None
    if time_limit is None or time.perf_counter() - t0 < time_limit:
        for attempt in range(trace_attempts):
            remaining = left()
            if remaining is not None and remaining <= 0.5:
                break
            trace = trace_test(system, X, R.parameters, group=group, seed=seed * 7919 + attempt, time_limit=remaining,
                               stall_loops=5 + 5 * attempt)
            if trace.passed:
                break
    found = len(X)
    certified = int(keep.sum())
    use = keep
    if filter is not None and len(X):
        passing = np.asarray(filter(X), dtype=bool)
        found = int(passing.sum())
        certified = int((keep & passing).sum())
        use = keep & passing
    order = group.order if group is not None else 1
    v: Verdict = verdict(found, certified, None if trace is None else trace.passed, exact=exact,
                         trace_reason="" if trace is None else trace.reason, group_order=order, free=free)
    return CertifiedCount(v.count, v.lower_bound, v.completeness, v.reason, found, order, certified, free,
                          R.stop_reason, time.perf_counter() - t0, R, trace, use)


__all__ = ["CertifiedCount", "blas_threads", "certified_count"]
