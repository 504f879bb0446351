"""The trace test: a completeness certificate for a solution set found by monodromy.

Leykin, Rodriguez and Sottile (*Trace test*, Arnold Math. J. 4 (2018)); the
form used by HomotopyContinuation.jl's ``verify_solution_completeness``.

Let ``F(x; p) = 0`` be a square family and ``W`` the solutions found over a
generic ``p0``. Take a random direction ``v`` of parameters and the curve

    ``C = {(x, lam) : F(x; p0 + lam v) = 0}``

(irreducible when the incidence variety is: a generic line section). ``W`` is
the fibre of ``C`` over ``lam = 0``. The rational function
``phi = -(a . x - 1) lam`` on ``C`` (``a`` random) has the poles of every
coordinate: where ``x`` goes to infinity ``phi`` does too (as long as ``lam``
does not go to 0 at the same time, which would be a solution at infinity over
``p0``, not there for generic ``p0``), and where ``lam`` does. So the *trace*
``T(t) = sum of (x, lam) over phi^{-1}(t)`` is a polynomial in ``t`` of degree
at most one: the sum of a function over the fibres of a finite map is a
rational function whose poles lie under the function's poles, and each
coordinate's pole order is bounded by ``phi``'s. The fibre over ``t = 0`` is
``W`` (``lam = 0``) together with the *extra witnesses* ``C ∩ {a . x = 1}``.

A proper subset ``W'`` of the fibre, continued along ``t``, is permuted by the
monodromy of ``phi`` (transitive on the fibres of an irreducible curve); its
trace then takes several values at one ``t`` and is not a polynomial, except
for sums that happen to coincide, which random choices make a probability-zero
event. So: track the fibre over ``0`` to ``t1`` and to ``t2 = 2 t1`` and test
``T(0) - 2 T(t1) + T(t2) = 0``, with a tolerance tied to the accuracy of the
endpoints (condition number times the unit round-off, summed over the
points). It fails on purpose when one solution is removed (see the tests).

The extra witnesses are found by monodromy in the linear-slice family
``{F(x; p0 + lam v) = 0, a . x = 1}`` over ``a``, from points of ``C`` (a
solution of ``W`` tracked to a random ``lam1``, and every solution tracked there
and then along the hyperplanes from ``{lam = lam1}`` to ``{a . x = 1}``).
Their completeness is not assumed: an incomplete extra set makes the test
fail, never pass; after a failure the monodromy continues with a longer stall
and the test is repeated while new extra witnesses come.

**Orbits.** With a :class:`~pipeline.numeric.symmetry.BlockPermutationGroup`
``G`` acting on ``x`` (and commuting with every parameter path), the test runs
on the image of the quotient curve ``C / G`` under invariant linear forms
``y = A^T x`` (:class:`LinearImage`: by default all of the group's; a network
fiber passes the sums over neurons of their incoming weights,
:func:`~pipeline.problems.fiber.incoming_sums`): ``phi = -(a . y - 1) lam``, one
representative per orbit is tracked, and the traces are those of ``y`` and
``lam``. The images must separate the orbits: two found orbits (or two extra
witnesses) with one image make the test inconclusive, never a pass. Where two
neurons collide their output weights diverge with opposite signs while these
sums stay finite, so they give far fewer (and better conditioned) extra
witnesses than invariant quadrics: 35 for the plane quintic's 21 unknowns.

Example
-------
>>> from neurovar.pipeline.numeric.families import ed_lagrange_family
>>> from neurovar.pipeline.numeric.monodromy import monodromy_solve
>>> fam = ed_lagrange_family("x^2 + 4*y^2 - 1", ["x", "y"])
>>> R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=1)
>>> T = trace_test(fam.system, R.solutions, R.parameters, seed=1)
>>> R.count, T.passed
(4, True)
>>> trace_test(fam.system, R.solutions[1:], R.parameters, seed=1).passed   # one removed
False
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .distribute import track_paths
from .newton import quiet_overflow
from .pencil import TraceTestResult, _distinct, _distinct_images, _outcome, _pencil_test, _WithLam
from .progress import note
from .trace_forms import ImageForms, LinearImage, LineSystem, Projection
from .tracker import TrackerOptions, track


def _bridged(system, p0, v, forms, beta0, W, lam1, rng, opts, loop_tracker=None) -> list:
    """Points of ``C ∩ {q = 0}``: ``W`` tracked to ``lam1``, then along the hyperplanes to ``{q = 0}``."""
    Xl, st = track_paths(system, W, p0, p0 + lam1 * v, int(rng.integers(2**31)), opts, loop_tracker)
    ok = st == "regular"
    if not ok.any():
        return []
    bridge = LineSystem(system, p0, v, "bridge", forms, beta=beta0, c=lam1)
    Xl = np.c_[Xl[ok], np.full(int(ok.sum()), lam1)]
    Xb, st = track_paths(bridge, Xl, np.zeros(1), np.ones(1), int(rng.integers(2**31)), opts, loop_tracker)
    return [Xb[st == "regular"]]


def _lift_group(group, width):
    """The group acting on ``(x, lam)`` (``lam`` fixed)."""
    if group is None:
        return None
    return group.lifted(width)


@quiet_overflow
def trace_test(system, solutions, p0, *, group=None, seed: int = 0, time_limit: float | None = None,
               stall_loops: int = 8, max_loops: int = 300,
               options: TrackerOptions | None = None, loop_tracker=None, image=None,
               extend_rounds: int = 2, direction=None, witnesses=None, line=None) -> TraceTestResult:
    """Test whether ``solutions`` (orbit representatives under ``group``) are all solutions over ``p0``.

    Parameters
    ----------
    system : System
        Square family ``F(x; p)``.
    solutions : complex array (W, n)
        The solutions found over ``p0`` (one representative per orbit when
        ``group`` is given).
    p0 : array (m,)
        The generic base parameter.
    group : BlockPermutationGroup, optional
        Known symmetries acting freely on the solutions (deck transformations).
    seed : int
    time_limit : float, optional
        Seconds for the whole test (the extra-witness monodromy stops early and
        the test is then likely to fail, never to pass wrongly).
    stall_loops : int
        Stall criterion of the extra-witness monodromy (a heuristic there is
        harmless: an incomplete extra set fails the test).
    loop_tracker : callable, optional
        For the extra-witness monodromy (see
        :func:`~pipeline.numeric.monodromy.monodromy_solve`).
    extend_rounds : int
        After a failed test, continue the extra witnesses' monodromy (stall
        doubled) and test again, up to this many times while new ones come.
    direction : callable, optional
        ``direction(rng) -> v``: the parameter line's direction (default: a
        random vector of ``p0``'s scale). A family whose solutions are far more
        sensitive to some parameters than to others passes a direction that
        moves a solution at unit speed (see
        :meth:`~pipeline.problems.fiber.NetworkFiberFamily.trace_direction`).
    witnesses : callable, optional
        ``witnesses(p0, v, beta, seed, time_limit, loop_tracker, known) -> points (x, lam)`` of
        ``C ∩ {q = 0}`` found another way (for network fibers the chart
        crossings, :class:`~pipeline.problems.crossings.ChartCrossings`), given
        the ``known`` ones (which may seed them). Called after the first failed
        test; when they add extra witnesses the test is repeated on the union
        at once, and the slice loops continue from it only if that fails. With
        them the first slice loops stop at their second empty loop.
    line : TraceLine, optional
        The line of an earlier test over the same ``p0`` (``result.line``): its
        direction, slice and extra witnesses are kept and the monodromy starts
        from those witnesses, so a test after a failure continues where the
        last stopped instead of finding them again on a new line (the plane
        octic's first line had 1450 after an hour; the next line started
        from none). Ignored when ``p0`` differs.
    image : System, optional
        A map ``y(x)`` (no parameters) whose *images* are counted: the test is
        then that ``y(solutions)`` is every point of the image curve ``y(C)``
        over ``lam = 0`` (see :class:`ImageForms`); solutions and extra
        witnesses with one image count once. With ``group``, ``y`` must be
        invariant (its images then separate orbits).

    Returns
    -------
    TraceTestResult
    """
    from .monodromy import monodromy_solve

    t_start = time.perf_counter()
    rng = np.random.default_rng([seed, 0x7ACE])
    W = np.atleast_2d(np.asarray(solutions, dtype=np.complex128))
    p0 = np.asarray(p0, dtype=np.complex128).ravel()
    n = system.n_variables
    if W.shape[0] == 0:
        return TraceTestResult(None, np.inf, 0.0, 0.0, 0, 0.0, "no solutions to test")
    opts = options or TrackerOptions(corrector_tol=1e-8)
    scale = max(float(np.sqrt(np.mean(np.abs(p0) ** 2))), 1e-3)
    v = scale * (rng.normal(size=len(p0)) + 1j * rng.normal(size=len(p0))) / np.sqrt(2)
    if direction is not None:
        v = np.asarray(direction(rng), dtype=np.complex128).ravel()
    if line is not None and not (line.p0.shape == p0.shape and np.array_equal(line.p0, p0)):
        line = None
    if line is not None:
        v = line.v
    # what is traced: the coordinates, the group's invariant linear forms, or the caller's images; the first
    # two must separate the points (orbits) counted, while a caller's map counts one point per image
    separate = group is not None or image is None
    if image is None:
        image = LinearImage(group.invariant_forms(n) if group is not None else np.eye(n, dtype=np.complex128))
    keep = _distinct_images(image, W)
    if separate and len(keep) < len(W):
        return TraceTestResult(None, np.inf, 0.0, 0.0, 0, time.perf_counter() - t_start,
                               "inconclusive: two solutions (orbits) have one image (the traced forms do not "
                               "separate them)")
    W = W[keep]
    lift = _lift_group(group, n + 1)

    def remaining():
        return None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - t_start))

    # a point of C away from lam = 0: one solution tracked to lam1
    y, lam1 = (None, 0j) if line is None else (line.y, line.lam1)
    tries = 5 if line is None else 0  # a different solution each time (one may sit near a bad stretch of the line)
    for i in range(tries):
        lam1 = complex(np.exp(2j * np.pi * rng.random()) * (0.5 + rng.random()))
        j = i % len(W)
        R = track(system, W[j:j + 1], p0, p0 + lam1 * v, gamma=None, seed=int(rng.integers(2**31)), options=opts)
        if R.status[0] == "regular":
            y = R.solutions[0]
            break
    if y is None:
        return TraceTestResult(None, np.inf, 0.0, 0.0, 0, time.perf_counter() - t_start,
                               "inconclusive: no point of the parameter line's curve could be reached")
    forms = ImageForms(image)
    r = rng.normal(size=forms.K) + 1j * rng.normal(size=forms.K)
    beta0 = r / (forms(y[None, :])[0][0] @ r) if line is None else line.beta
    S = LineSystem(system, p0, v, "slice", forms)
    # a heuristic stop is harmless here (a missing extra witness fails the test); with many extra
    # witnesses some path of nearly every loop fails, so loops that found nothing count, bijections or not.
    # The monodromy starts from more points of C ∩ {q = 0} than y: the solutions tracked to lam1, then along
    # the hyperplanes from {lam = lam1} to {q = 0} (the slice loops' monodromy can mix the extra witnesses
    # slowly, and starting from several points reaches more of them, sooner: 0.24 s against 0.41 s on
    # the attention ED; how they are found does not matter to the test). A failed test is most often a
    # missing extra witness: the monodromy continues with a stall twice as long and the test is repeated
    starts = np.vstack([np.r_[y, lam1][None, :],
                        *_bridged(system, p0, v, forms, beta0, W, lam1, rng, opts, loop_tracker),
                        *([] if line is None else [line.witnesses])])
    # the extra witnesses need no certificate, only Newton's convergence: a simple root that is badly
    # scaled (a neuron near the gauge chart's line at infinity: incoming weights ~40, output weight
    # ~1e-10; raw condition 1e11 and more) is still a point of C, and dropping it leaves the set
    # incomplete (45 of 345 on the plane septic's (3, 12, 1) fibre): the loops judge endpoints by
    # the equilibrated condition number, with a looser bound
    wopts = TrackerOptions(endgame=False, corrector_tol=1e-4, singular_condition=1e14, equilibrated=True)
    # with witnesses found another way (seeded by these) a shorter stall: they reach the last few sooner
    M = monodromy_solve(S, _distinct(starts), beta0, seed=int(rng.integers(2**31)), certify=False, options=wopts,
                        stall_loops=stall_loops if witnesses is None else min(stall_loops, 2), time_limit=remaining(),
                        group=lift, max_loops=max_loops, loop_tracker=loop_tracker, stall_rule="loops")
    note("trace line: %d extra witnesses from the slice loops%s", len(M.solutions),
         "" if line is None else f" ({len(line.witnesses)} carried)")
    crossed, tests = False, []
    for rnd in range(extend_rounds + 1):
        if rnd:
            found, known, union = len(M.solutions), M.solutions, False
            if not crossed and witnesses is not None:
                # the extra witnesses found another way, seeded with the ones found (``known``): when they
                # add any, the union is tested before more slice loops (they would mostly retrace it)
                crossed = True
                more = witnesses(p0, v, beta0, seed=int(rng.integers(2**31)),
                                 time_limit=None if remaining() is None else 0.5 * remaining(),
                                 loop_tracker=loop_tracker, known=known)
                if len(more):
                    U = monodromy_solve(S, np.vstack([known, more]), beta0, certify=False, options=wopts,
                                        group=lift, max_loops=0)
                    if len(U.solutions) > found:
                        M, union = U, True
                note("trace line: %d extra witnesses with the chart crossings", len(M.solutions))
            if not union:
                # with the crossings, more slice loops are the slower way to the last few witnesses (plane
                # octic: the crossings gave +18 in 40 min, twenty-loop slice rounds +1 in an hour): a short
                # stall here, and a continued test on this line (``line``) runs the crossings again
                stall = stall_loops * 2 ** rnd if witnesses is None else min(stall_loops, 2) * 2 ** (rnd - 1)
                M = monodromy_solve(S, known, beta0, seed=int(rng.integers(2**31)), certify=False, options=wopts,
                                    stall_loops=stall, time_limit=remaining(), group=lift,
                                    max_loops=max_loops, loop_tracker=loop_tracker, stall_rule="loops")
                note("trace line: %d extra witnesses after longer slice loops", len(M.solutions))
                if len(M.solutions) <= found:
                    break
        extra = M.solutions
        if len(extra):
            # a point of the image curve is (y, lam): with one traced form every extra witness has the same y
            keep = _distinct_images(_WithLam(image), extra)
            if separate and len(keep) < len(extra):
                return TraceTestResult(None, np.inf, 0.0, 0.0, len(extra), time.perf_counter() - t_start,
                                       "inconclusive: two extra witnesses have one image (the traced forms do "
                                       "not separate orbits)")
            extra = extra[keep]
        res = _pencil_test(system, p0, v, forms, beta0, W, extra, opts, rng, loop_tracker, remaining, t_start)
        tests.append(_outcome(res))
        note("trace test: %s", tests[-1])
        if res.passed is True or (time_limit is not None and remaining() <= 0):
            break
        # an inconclusive test (a pencil path that failed, endpoints too ill-conditioned) says nothing
        # about the extra witnesses; it ends the line only once the ones found another way were added
        # (the plane octic's second line ended after its first, inconclusive test, without them)
        if res.passed is None and (crossed or witnesses is None):
            break
    if res.passed is not True and len(tests) > 1:  # what each test on this line saw, for the stop reason
        res.reason += f" (tests on this line: {'; '.join(tests)})"
    res.line = TraceLine(p0, v, lam1, y, beta0, M.solutions)
    return res


@dataclass
class TraceLine:
    """A trace test's line: ``C`` over ``p0 + lam v``, its point ``y`` over ``lam1``, the slice ``beta``
    (``beta . forms(y) = 1``) and the extra witnesses ``(x, lam)`` found on ``C ∩ {beta . forms = 1}``."""

    p0: np.ndarray
    v: np.ndarray
    lam1: complex
    y: np.ndarray
    beta: np.ndarray
    witnesses: np.ndarray


__all__ = ["ImageForms", "LineSystem", "LinearImage", "Projection", "TraceLine", "TraceTestResult", "trace_test"]
