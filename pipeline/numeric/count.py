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

import time
from dataclasses import dataclass, field

import numpy as np

from .budget import blas_threads, deadline, expired, remaining
from .certify import certify
from .distribute import as_executor
from .monodromy import MonodromyResult, monodromy_solve
from .progress import note
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
    loops: dict = field(default_factory=dict)

    @property
    def solutions(self) -> np.ndarray:
        """The certified distinct solutions (orbit representatives)."""
        return self.monodromy.solutions[self.keep]


def certified_count(system, x0=None, p0=None, *, start_pair=None, group=None, seed: int = 0,
                    time_limit: float | None = None, stall_loops: int = 5, filter=None, exact: int | None = None,
                    trace_attempts: int = 3, distribute: str | None = None, client=None, image=None,
                    direction=None, witnesses=None, **monodromy_options) -> CertifiedCount:
    """Solve by monodromy, certify, prove freeness, run the trace test and apply the trust rule.

    Parameters
    ----------
    system : System
    x0, p0, start_pair
        The start (see :func:`~pipeline.numeric.monodromy.monodromy_solve`).
    group : BlockPermutationGroup, optional
    seed : int
    time_limit : float, optional
        Seconds for everything (monodromy, certification, trace test), as a
        deadline (:mod:`pipeline.numeric.budget`; an enclosing deadline also
        holds); the monodromy gets at most 60% of what is left. A count whose
        certificate the deadline cut is a lower bound whose reason says so.
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
    distribute : str or LoopExecutor, optional
        ``auto``, ``always`` or ``never``: spread the monodromy rounds and the
        trace test's paths over the Dask ``client``
        (:mod:`pipeline.numeric.distribute`); default ``auto``. An executor
        given here is used as it is (its ``stats`` and ``round_log`` then
        tell the caller how the solve was spread). The answer does not depend on it.
    client : distributed.Client or callable, optional
        Where spread rounds go (a client, or a function returning one or None);
        None: this process.
    image : System, optional
        When what is counted are the images ``y(x)`` of the solutions (a
        parametrization's critical parameters): the trace test runs on the
        image curve (:class:`~pipeline.numeric.trace.ImageForms`).
    direction, witnesses : callable, optional
        The trace test's parameter direction and extra witnesses found another way
        (see :func:`~pipeline.numeric.trace.trace_test`).

    Returns
    -------
    CertifiedCount
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads(), user_api="blas"):
        with deadline(time_limit), np.errstate(over="ignore", invalid="ignore"):  # diverging paths' status says so
            return _certified_count(system, x0, p0, start_pair, group, seed, stall_loops, filter, exact,
                                    trace_attempts, as_executor(distribute, client), monodromy_options,
                                    image, (direction, witnesses))


def _certified_set(system, R, group):
    """Krawczyk certificates of ``R``'s solutions; with a group, distinct orbits and freeness."""
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
    return X, C, keep, free


def _moved(system, X, p0, seed: int, tries: int = 4):
    """``(X', p1, moved)``: the solutions ``X`` tracked from ``p0`` to a new random base ``p1`` of the same scale.

    A path that fails makes the move useless (no solution may be lost by it), so another random base is
    drawn, up to ``tries`` times; ``(X, p0, False)`` when every try failed (or time ran out).
    """
    from .tracker import TrackerOptions, track

    rng = np.random.default_rng([seed, 0xBA5E])
    p0 = np.asarray(p0, dtype=np.complex128)
    scale = max(float(np.sqrt(np.mean(np.abs(p0) ** 2))), 1e-3)
    for _ in range(tries):
        p1 = scale * (rng.normal(size=len(p0)) + 1j * rng.normal(size=len(p0))) / np.sqrt(2)
        T = track(system, X, p0, p1, gamma=None, seed=int(rng.integers(2**31)),
                  options=TrackerOptions(corrector_tol=1e-8))
        if T.regular.all():
            return T.solutions, p1, True
        if expired():
            break
    return X, p0, False


def _trace(system, X, R, group, seed, attempts, loops, total, image=None, line=(None, None), carry=None):
    """The trace test, repeated until it passes (or time runs short).

    A failed test is most often an incomplete set of extra witnesses: the next
    test continues on the same line from the ones found (``TraceLine``; also
    ``carry``, a line of an earlier call over the same base) as long as each
    test there finds new ones. A new random line is drawn after an
    inconclusive test, and after a continued test that found no new extra
    witness (then either the solutions ``X`` are incomplete, which the
    caller's rounds from new bases address, or this line is a bad one).
    """
    trace, earlier, lines = None, [], 1
    before = None if carry is None else len(carry.witnesses)
    for attempt in range(attempts):
        if remaining() is not None and remaining() <= 0.05 * (total or 0):
            break
        if trace is not None:
            earlier.append(f"line {lines}: {trace.reason}")
            grew = trace.line is not None and (before is None or len(trace.line.witnesses) > before)
            carry = _kept(trace) if grew else None
            lines += carry is None
            before = None if carry is None else len(carry.witnesses)
        trace = trace_test(system, X, R.parameters, group=group, seed=seed * 7919 + attempt, time_limit=remaining(),
                           stall_loops=5 + 5 * attempt, loop_tracker=loops, image=image, direction=line[0],
                           witnesses=line[1], line=carry)
        if trace.passed:
            break
    if trace is not None and not trace.passed and earlier:  # every line's outcome reaches the stop reason
        trace.reason += f" [earlier tests: {' | '.join(earlier)}]"
    return trace


def _back(system, more, carry, group, seed):
    """``more`` (solutions over a new base) tracked back to the base of the failed test's line ``carry``,
    as a result over that base, so the test continues on its line with the extra witnesses found there;
    None when there is no such line or a path failed (the next test then draws a line over the new base)."""
    from .tracker import TrackerOptions, track

    if carry is None or expired():
        return None
    T = track(system, more.solutions, more.parameters, carry.p0, gamma=None, seed=seed,
              options=TrackerOptions(corrector_tol=1e-8))
    if not T.regular.all():
        return None
    back = _over(system, T.solutions, carry.p0, group, seed)
    if back is not None:
        back.stop_reason = more.stop_reason
    return back


def _over(system, X, p, group, seed):
    """The solutions ``X`` over the base ``p`` as a monodromy result there (no loops), or None when
    two of them turned out to be one (a path that jumped on the way to ``p``)."""
    R = monodromy_solve(system, X, p, group=group, seed=seed, max_loops=0, certify=False)
    return R if len(R.solutions) == len(X) else None


def _kept(trace):
    """The line of a failed test, kept for the next one (None after a pass, an inconclusive test or none)."""
    return trace.line if trace is not None and trace.passed is False else None


#: Rounds from new base points under a deadline (without one, ``resume_rounds``): the deadline ends them first
MAX_RESUME_ROUNDS = 1000


def _verdict(X, keep, free, trace, filter, exact, group):
    """``(verdict, found, certified, used)`` of a certified set ``X`` (``keep``: certified distinct)."""
    found, certified, use = len(X), int(keep.sum()), keep
    if filter is not None and len(X):
        passing = np.asarray(filter(X), dtype=bool)
        found = int(passing.sum())
        certified = int((keep & passing).sum())
        use = keep & passing
    order = group.order if group is not None else 1
    v: Verdict = verdict(found, certified, None if trace is None else trace.passed, exact=exact,
                         trace_reason="" if trace is None else trace.reason, group_order=order, free=free)
    return v, found, certified, use


def _certified_count(system, x0, p0, start_pair, group, seed, stall_loops, filter, exact,
                     trace_attempts, loops, monodromy_options, image=None, line=(None, None),
                     resume_rounds: int = 3) -> CertifiedCount:
    t0 = time.perf_counter()
    total = remaining()
    R = monodromy_solve(system, x0, p0, start_pair=start_pair, group=group, seed=seed, stall_loops=stall_loops,
                        time_limit=None if total is None else 0.6 * total, certify=False, loop_tracker=loops,
                        **monodromy_options)
    X, C, keep, free = _certified_set(system, R, group)
    note("monodromy: %d %s%s, %d certified, %.0f s", len(X), "solution" if group is None else "orbit",
         "" if len(X) == 1 else "s", int(keep.sum()), time.perf_counter() - t0)
    trace = _trace(system, X, R, group, seed, trace_attempts, loops, total, image, line)
    carry = _kept(trace)
    resumed = fruitless = 0
    # The monodromy stalls short when a solution's branch points lie where the loops around this base
    # rarely wind (the real cubic of the sweep, seed 4: the ninth ED critical point has norm 32 against
    # at most 3.3 for the others; 40 more loops around the same base find nothing, one round from a
    # new base finds it). So a failed or inconclusive trace test moves every known solution to a new
    # random base and continues the monodromy there (new loops, a longer stall criterion), round after
    # round while time is left (``resume_rounds`` rounds without a deadline): a round that finds
    # nothing is no verdict, the next one starts from yet another base. The trace test is repeated
    # when new solutions came, or when it was inconclusive, or every third round without news (fresh
    # lines and extra witnesses). A passed test with a solution whose Krawczyk certificate failed
    # (badly conditioned over this base) moves the set to a new base and certifies and tests it there.
    # A failed test's line is kept (``carry``): new solutions from another base are tracked back to its
    # base and tested there with its extra witnesses, and a round without news continues it; a new line
    # is drawn when that tracking fails, the test was inconclusive or the line stopped giving witnesses.
    # An exact count that the certified set already matches ends it (``exact-agrees``).
    while (trace is not None and (trace.passed is not True or not keep.all()) and not expired()
           and (resumed < resume_rounds or (total is not None and resumed < MAX_RESUME_ROUNDS))
           and (exact is None or _verdict(X, keep, free, trace, filter, exact, group)[0].count is None)):
        resumed += 1
        left = remaining()
        Xb, pb, moved = _moved(system, X, R.parameters, seed + 1009 * resumed)
        if trace.passed is True:  # complete, one certificate short: the same set over the new base
            if not moved:
                continue
            more = _over(system, Xb, pb, group, seed)
            if more is None:
                continue
            more.stop_reason = f"{R.stop_reason} (moved to a new base to certify, round {resumed})"
        else:
            more = monodromy_solve(system, Xb, pb, group=group, seed=seed + 1009 * resumed,
                                   stall_loops=stall_loops * 2 ** min(resumed, 3), certify=False,
                                   loop_tracker=loops, time_limit=None if left is None else 0.6 * left,
                                   **monodromy_options)
            note("round %d from a new base: %d solutions (had %d)", resumed, len(more.solutions), len(X))
            if len(more.solutions) <= len(X):  # nothing new from this base: the next round tries another
                fruitless += 1
                if trace.passed is False and fruitless % 3:
                    continue
                if len(more.solutions) < len(X):  # a loss would be a tracking failure: keep the old set
                    continue
                if carry is not None:  # the same solutions: the failed test's line continues, over its base
                    trace = _trace(system, X, R, group, seed + resumed, trace_attempts, loops, total, image, line,
                                   carry)
                    carry = _kept(trace)
                    continue
            else:
                fruitless = 0
                back = _back(system, more, carry, group, seed + resumed)
                more, carry = (more, None) if back is None else (back, carry)
            more.stop_reason = (f"{more.stop_reason} (continued from a new base after a failed trace test, "
                                f"round {resumed})")
        R = more
        X, C, keep, free = _certified_set(system, R, group)
        trace = _trace(system, X, R, group, seed + resumed, trace_attempts, loops, total, image, line, carry)
        carry = _kept(trace)
    cut = expired() or R.stop_reason == "time_limit"
    v, found, certified, use = _verdict(X, keep, free, trace, filter, exact, group)
    order = group.order if group is not None else 1
    if cut and v.count is None:
        why = v.reason.removeprefix("lower bound: ")  # said once: "..., a lower bound: trace not ..."
        v.reason = f"time limit reached after {time.perf_counter() - t0:.1f} s, a lower bound: {why}"
    if resumed and v.count is None:
        v.reason += f" ({resumed} rounds from new base points)"
    return CertifiedCount(v.count, v.lower_bound, v.completeness, v.reason, found, order, certified, free,
                          R.stop_reason, time.perf_counter() - t0, R, trace, use, dict(loops.stats))


__all__ = ["CertifiedCount", "blas_threads", "certified_count"]
