"""All isolated solutions of a square system by monodromy in the coefficients of its own supports.

As HomotopyContinuation.jl's ``monodromy_solve`` on a system with random
coefficients: the target ``f`` is embedded in the family ``F(x; c)`` of all
systems with the same supports, one parameter ``c_k`` per monomial of each
equation (with a constant term added to every equation when the bound counts
solutions in ``C^n``, see :func:`~pipeline.numeric.bkk.bkk_bound`).

1. **A start pair.** A random point ``x0`` of the torus ``(C*)^n`` and random
   complex coefficients; one coefficient per equation (the constant term's
   when there is one) is then solved for so that ``F(x0; c0) = 0``. This
   ``c0`` is generic (the other coefficients are, and ``x0`` is).
   With the mixed cells of the bound (``cells``), the **polyhedral homotopy**
   (:mod:`~pipeline.numeric.polyhedral`) first gives the solutions over ``c0``,
   one path each; the monodromy below then only looks for those it missed.
2. **Monodromy** (:func:`fixed_loops`) around a few random loops in the
   coefficients, each known solution once around each loop, stopped as soon as the number of
   solutions reaches the **BKK bound** (the mixed volume, exactly computed by
   :mod:`pipeline.numeric.bkk`). By Bernstein's theorem a generic member has
   exactly that many solutions, so the generic fibre is then complete; no
   stall criterion and no trace test are needed (a time limit may cut it short).
3. **One parameter homotopy** from ``c0`` to the target's coefficients, with
   the gamma trick: every isolated solution of the target is the end of one
   of these paths (coefficient-parameter homotopy, Morgan--Sommese). The finite
   regular ends are Newton-refined and certified by Krawczyk's method on the
   target.

**Certificate.** ``completeness = "bkk-bound"`` when the target has as many
certified distinct solutions as the bound: Bernstein's theorem says it has no
more isolated ones, so these are all (whatever the paths did). Otherwise
``"none"`` (the count is a lower bound: a solution of the target may be
singular, or the monodromy was cut by the time limit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .certify import certify
from .monodromy import _random_gamma, _random_parameters
from .newton import newton
from .orbits import _Orbits
from .system import System
from .tracker import TrackerOptions, track, track_loops

#: the loops' tracker: no endgame, loose tolerances and long steps. A loop path that jumps to another
#: solution costs nothing but a loop that is not a permutation (the monodromy stops at the bound, not by
#: stalling); every endpoint is refined by Newton's method and kept only if it converges
#: (measured on cyclic-5 and -6: 10-15% less time than the engine's loop default, corrector 1e-4, short steps)
LOOP_OPTIONS = TrackerOptions(endgame=False, corrector_tol=1e-3, max_step=0.34, predictor_tol=3e-2, initial_step=0.1)
#: the parameter homotopy to the target: its ends are Newton-refined and certified, and a jump shows as fewer
#: certified solutions than the bound, then the paths are tracked again with ``STRICT_FINAL_OPTIONS``
#: (measured on cyclic-7 after the polyhedral start: 22,000-26,000 steps against 32,000-37,000 with the strict ones)
FINAL_OPTIONS = TrackerOptions(corrector_tol=5e-5, predictor_tol=3e-3)
#: measured on cyclic-6: 27% fewer steps than the tracker's default 1e-7
STRICT_FINAL_OPTIONS = TrackerOptions(corrector_tol=1e-6)
#: loops drawn at the start of :func:`fixed_loops`, and at most in all
LOOPS, MAX_LOOPS = 2, 64


@dataclass
class CoefficientMonodromy:
    """The outcome of :func:`coefficient_monodromy` (see the module docstring)."""

    solutions: np.ndarray
    certified: int
    real: int
    uncertified: int
    completeness: str
    reason: str
    paths: dict
    singular: int


def coefficient_family(F: System, with_origin: bool = False):
    """``(G, target, pivots)``: the family of all systems with ``F``'s supports.

    ``G`` has ``F``'s unknowns and one parameter per monomial (equation by
    equation); ``target`` are ``F``'s coefficients in that order (0 for a
    constant term added by ``with_origin``); ``pivots[i]`` is the parameter
    index solved for in the start pair of equation ``i`` (its constant term if
    any, else its first monomial).
    """
    n = F.n_variables
    rows: list[dict] = [dict() for _ in range(F.n_equations)]
    for i, e, c in F.terms:
        rows[i][tuple(e[:n])] = c
    if with_origin:
        for r in rows:
            r.setdefault((0,) * n, 0)
    terms = [(i, e, c) for i, r in enumerate(rows) for e, c in r.items()]
    K = len(terms)
    fam: list[dict] = [dict() for _ in range(F.n_equations)]
    pivots = [-1] * F.n_equations
    for k, (i, e, _) in enumerate(terms):
        fam[i][e + tuple(int(j == k) for j in range(K))] = 1
        if pivots[i] < 0 or not any(e):
            pivots[i] = k
    G = System(fam, list(F.variables), [f"c{k}" for k in range(K)])
    target = np.array([complex(c) for _, _, c in terms])
    return G, target, pivots, [e for _, e, _ in terms], [i for i, _, _ in terms]


def generic_start(F: System, rng, with_origin: bool = False):
    """``(G, x0, c0, target)``: the coefficient family and a random start pair on it."""
    G, target, pivots, exps, eq = coefficient_family(F, with_origin)
    n = F.n_variables
    x0 = np.exp(2j * np.pi * rng.random(n))
    E = np.array(exps, dtype=np.int64).reshape(len(exps), n)
    mono = np.prod(x0[None, :] ** E, axis=1)
    c0 = (rng.normal(size=len(exps)) + 1j * rng.normal(size=len(exps))) / np.sqrt(2)
    eq = np.array(eq)
    for i, k in enumerate(pivots):
        others = (eq == i) & (np.arange(len(exps)) != k)
        c0[k] = -(c0[others] * mono[others]).sum() / mono[k]
    return G, x0, c0, target


@dataclass
class _Loops:
    solutions: np.ndarray
    loops: int
    paths_tracked: int
    stop_reason: str
    seconds: float


def fixed_loops(G, x0, c0, target: int, rng, options, time_limit=None, t0=None, seed: int = 0,
                n_loops: int = LOOPS) -> _Loops:
    """Solutions over ``c0`` by monodromy until ``target`` are known, each tracked once around each loop.

    ``n_loops`` random loops ``c0 -> c1 -> c0`` are drawn at the start; every known
    solution goes around every loop once (the pending pairs in one batch each
    round), so a solution costs ``2 n_loops`` paths; a loop is added only when
    every pair is done and the target is not reached (the loops' permutations
    were not yet transitive), and the known solutions go around it a sample
    (``target / 16``) at a time: one new solution found there is enough, the
    first loops bring the rest of its orbit. Measured on cyclic-6: half the paths of
    :func:`~pipeline.numeric.monodromy.monodromy_solve`'s rounds, which send the
    known solutions around fresh loops.
    """
    t0 = t0 or time.perf_counter()
    chunk = max(16, target // 16)
    xr, _ = newton(G, np.atleast_2d(np.asarray(x0)), c0)  # one start point, or the solutions known
    S = _Orbits(G.n_variables, 1e-6, seed + 1, None)
    S.add(xr)
    P1, G1, G2 = [], [], []

    def new_loop():
        P1.append(_random_parameters(rng, c0))
        G1.append(_random_gamma(rng, 1)[0])
        G2.append(_random_gamma(rng, 1)[0])

    for _ in range(n_loops):
        new_loop()
    done = np.zeros((1, n_loops), dtype=bool)
    tracked, stop = 0, "target_count"
    while len(S) < target:
        if (time_limit is not None and time.perf_counter() - t0 > time_limit) or len(P1) > MAX_LOOPS:
            stop = "time_limit" if len(P1) <= MAX_LOOPS else "max_loops"
            break
        if len(done) < len(S):
            done = np.vstack([done, np.zeros((len(S) - len(done), done.shape[1]), dtype=bool)])
        o, l = np.nonzero(~done)
        if not len(o):
            new_loop()
            done = np.hstack([done, np.zeros((len(done), 1), dtype=bool)])
            continue
        extra = np.flatnonzero(l >= n_loops)
        if len(extra) > chunk:  # around an added loop, a sample of the known solutions at a time
            keep = l < n_loops
            keep[rng.choice(extra, chunk, replace=False)] = True
            o, l = o[keep], l[keep]
        Pa = np.array(P1)
        Y, ok = track_loops(G, S.rep_points(o), c0, Pa[l], np.array(G1)[l], np.array(G2)[l], options)
        tracked += 2 * len(o)
        done[o, l] = True
        S.add(Y[ok])
    return _Loops(S.sols.points, len(P1), tracked, stop, time.perf_counter() - t0)


def _to_target(F, G, W, c0, target, seed, options):
    """The parameter homotopy from ``c0`` to ``target`` and the certificates of its regular ends:
    ``(TrackResult, solutions, certified, real, uncertified)``."""
    R = track(G, W, c0, target, gamma=None, seed=seed, options=options)
    X = R.solutions[R.status == "regular"]
    if not len(X):
        return R, np.zeros((0, F.n_variables), dtype=np.complex128), 0, 0, 0
    X, _ = newton(F, X, None)
    C = certify(F, X)
    keep = C.distinct
    return R, C.centers[keep], int(keep.sum()), int((C.real & keep).sum()), int((~C.certified).sum())


def coefficient_monodromy(F: System, bound: int, with_origin: bool, *, seed: int = 0,
                          time_limit: float | None = None, stall_loops: int = 5,
                          loop_options: TrackerOptions | None = None, cells=None) -> CoefficientMonodromy:
    """Solve ``F`` by monodromy in its coefficients (module docstring); ``bound`` is the BKK bound and
    ``with_origin`` says whether it was computed with constant terms added (:func:`~pipeline.numeric.bkk.bkk_bound`).

    ``cells`` (the :class:`~pipeline.numeric.bkk.MixedCells` behind the bound): the generic member is
    solved by the polyhedral homotopy instead (:mod:`~pipeline.numeric.polyhedral`, one path per
    solution), and monodromy only finds what its paths missed."""
    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, 0xC0EF])
    G, x0, c0, target = generic_start(F, rng, with_origin)
    poly = {}
    if cells is not None:
        from .polyhedral import polyhedral_solutions

        X0, poly = polyhedral_solutions(G, c0, cells, loop_options or LOOP_OPTIONS)
        x0 = np.vstack([x0[None, :], X0])  # x0 solves G(x; c0) too: generic_start made c0 so
    M = fixed_loops(G, x0, c0, bound, rng, loop_options or LOOP_OPTIONS, time_limit, t0, seed)
    W = M.solutions
    if cells is not None:
        generic = (f"{len(W)} solutions of a generic member by the polyhedral homotopy ({len(cells.cells)} mixed "
                   f"cells, {poly['polyhedral_paths']} paths)"
                   + (f" and {M.paths_tracked} monodromy paths" if M.paths_tracked else ""))
    else:
        generic = f"{len(W)} solutions of a generic member by {M.loops} monodromy loops ({M.stop_reason})"
    generic += f", BKK bound {bound}"
    seed_final = int(rng.integers(2**31))
    R, sols, cert, real, uncertified = _to_target(F, G, W, c0, target, seed_final, FINAL_OPTIONS)
    if cert < bound and len(W) == bound:  # a path may have jumped: once more with the strict tolerances
        again = _to_target(F, G, W, c0, target, seed_final + 1, STRICT_FINAL_OPTIONS)
        if again[2] > cert:
            R, sols, cert, real, uncertified = again
    counts = R.counts()
    if cert == bound and len(W) == bound:
        completeness = "bkk-bound"
    else:
        completeness = "none"
    reason = (f"{generic}; {len(W)} paths to the target: {counts}; {cert} certified distinct finite solutions"
              + (f", {uncertified} end(s) not certified" if uncertified else ""))
    if completeness == "bkk-bound":
        reason += " = the BKK bound (Bernstein: there is no other isolated solution)"
    paths = {"total": len(W), **counts, **poly, "loops": M.loops, "monodromy_paths": M.paths_tracked,
             "bkk": bound, "seconds_monodromy": round(M.seconds, 3)}
    return CoefficientMonodromy(sols, cert, real, uncertified, completeness, reason, paths, counts["singular"])


__all__ = ["CoefficientMonodromy", "coefficient_family", "coefficient_monodromy", "generic_start"]
