"""Monodromy solving: all solutions of a generic member of a parametrised family.

Start from one solution ``x0`` of ``F(x; p0) = 0`` (a random point of the
incidence variety, e.g. from :class:`~pipeline.numeric.families.Family`).
A *loop* goes from ``p0`` to a random complex point ``p1`` and back along a
different arc (two legs with independent random gamma constants, so the two
arcs bound a region of the complex line through ``p0`` and ``p1``); moving the
parameters around it permutes the solutions over ``p0`` (the monodromy action).
By Zariski's theorem loops in generic lines through ``p0`` generate the whole
monodromy group. Each round tracks every known solution around several fresh
loops in one vectorised batch; solutions new to a loop are sent around the
same loop again until it yields nothing new.

The monodromy group acts transitively on the solutions that lie on the same
irreducible component of the incidence variety as ``(x0, p0)``: for the fiber of
a parametrisation (the incidence variety is its graph) and for ED critical
points of an irreducible hypersurface, that is all of them. Spurious solutions
of other components (singular points, ``lambda = 0``) are never reached.

**Known symmetries.** A ``group_action(x) -> points`` (deck transformations of
the family: solution maps that commute with every parameter path, e.g. the
permutations of hidden neurons for the fiber of a network) adds the whole
orbit of every new solution at once, and only one representative per orbit is
tracked: since ``gamma(sigma x) = sigma gamma(x)``, the loop's action on the
other members of the orbit is known without tracking them.

**Stopping.** ``target_count`` (when theory or an exact computation gives the
count), ``max_loops`` or ``time_limit`` (the count is then only a lower bound),
or *stalling*: ``stall_loops`` loops in a row, each **complete** -- every known
orbit tracked around it came back regular, onto a known orbit, and the loop
permutes the known orbits bijectively -- found nothing new, **and** the
permutations of those loops generate a group acting transitively on the known
orbits. A missing solution would have to be fixed by all those loops; with a
transitive subgroup observed, loops that stayed inside a small neighbourhood of
``p0`` (and so only permute a few solutions) do not count as evidence. A
loop whose paths failed or jumped (two paths onto one solution) is not
complete and does not count. Stalling is a stop, not a certificate: completeness is the
trace test's (:mod:`pipeline.numeric.trace`, :mod:`pipeline.numeric.count`).

Example
-------
>>> import numpy as np
>>> from neurovar.pipeline.numeric.families import ed_lagrange_family
>>> fam = ed_lagrange_family("x^2 + y^2 - 1", ["x", "y"], Q=[[4, 0], [0, 1]])
>>> R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=1)
>>> R.count, R.certified, R.stop_reason
(4, 4, 'stalled')
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .budget import expired
from .certify import CertificationResult, certify as _certify
from .orbits import SolutionSet, _Orbits, _transitive  # noqa: F401  (SolutionSet: re-exported)
from .tracker import TrackerOptions, newton, track, track_loops


@dataclass(kw_only=True)
class MonodromyResult:
    """Solutions found by :func:`monodromy_solve`.

    Attributes
    ----------
    solutions : complex array (count, n)
        Distinct solutions at ``parameters``.
    parameters : complex array (m,)
        The generic base point ``p0``.
    count : int
    loops : int
        Monodromy loops drawn.
    certified : int or None
        Solutions certified by Krawczyk's method with pairwise disjoint boxes
        (``None`` when certification was not asked for).
    real_count : int or None
        Real solutions at ``real_parameters`` (after tracking there), counted
        from certified real boxes when ``certified`` was computed.
    stop_reason : str
        ``target_count``, ``stalled``, ``max_loops`` or ``time_limit``.
    seconds : float
    paths_tracked : int
    real_solutions : complex array or None
        All solutions at ``real_parameters`` (tracked from ``solutions``).
    real_certification : CertificationResult or None
    certification : CertificationResult or None
    history : list of int
        Solution count after each round of loops.
    complete_loops : int
        Loops of the final stall that permuted the known orbits bijectively.
    orbits : int
        Orbits of ``group_action`` among the solutions (= ``count`` without one).
    group_order : int
        ``|G|`` of ``group`` (1 without; ``solutions`` are then orbit representatives).
    rejected_images : int
        Images under ``group_action`` that Newton's method did not refine to a solution.
    """

    solutions: np.ndarray
    parameters: np.ndarray
    count: int
    loops: int
    certified: int | None
    real_count: int | None
    stop_reason: str
    seconds: float
    paths_tracked: int = 0
    real_solutions: np.ndarray | None = None
    real_certification: CertificationResult | None = None
    certification: CertificationResult | None = None
    history: list = field(default_factory=list)
    complete_loops: int = 0
    orbits: int = 0
    group_order: int = 1
    rejected_images: int = 0


def _random_parameters(rng, p0):
    m = len(p0)
    scale = max(float(np.sqrt(np.mean(np.abs(p0) ** 2))), 1e-3)
    # log-normal radius: most loops stay near p0's scale, some go far out, where branch points
    # exchanging solutions of large norm can lie
    radius = scale * np.exp(rng.normal() * (0.5 if rng.random() < 0.5 else 3.0))
    return radius * (rng.normal(size=m) + 1j * rng.normal(size=m)) / np.sqrt(2)


def _random_gamma(rng, size):
    # unit complex numbers away from -1 (where the gamma arc passes through infinity)
    return np.exp(1j * np.pi * rng.uniform(-0.85, 0.85, size=size))


def monodromy_solve(system, x0=None, p0=None, *, start_pair: Callable | None = None,
                    target_count: int | None = None, stall_loops: int = 5, max_loops: int = 400,
                    time_limit: float | None = None, seed: int = 0, certify: bool = True,
                    real_parameters=None, options: TrackerOptions | None = None,
                    tol: float = 1e-6, group_action: Callable | None = None, group=None,
                    batch_size: int = 64, max_parallel_loops: int = 16,
                    loop_tracker: Callable | None = None, stall_rule: str = "permutations") -> MonodromyResult:
    """Find the solutions of ``F(x; p0) = 0`` reachable by monodromy from ``x0``.

    Parameters
    ----------
    system : System
        Square system with parameters.
    x0, p0 : array
        A start pair with ``F(x0; p0) = 0`` (``p0`` generic complex), or give
        ``start_pair``. ``x0`` may have several rows: solutions already known
        at ``p0``, to continue from.
    start_pair : callable, optional
        ``start_pair(rng) -> (x0, p0)``, e.g. ``Family.start_pair``.
    target_count : int, optional
        Stop as soon as this many solutions are known.
    stall_loops : int
        Stop after this many consecutive complete loops without a new solution
        whose permutations act transitively on the known orbits (see the module
        docstring).
    max_loops : int
    time_limit : float, optional
        Seconds.
    seed : int
    certify : bool
        Certify the solutions (Krawczyk) at ``p0`` and, if given, at ``real_parameters``.
    real_parameters : sequence, optional
        Real (e.g. rational) parameter values: the solutions are tracked there
        (gamma trick) and the real ones counted.
    options : TrackerOptions, optional
        For the loops (default: no endgame, corrector tolerance ``1e-4``; a
        loop path that does not end regular is dropped, it carries no
        information).
    tol : float
        Relative tolerance for identifying solutions.
    group_action : callable, optional
        ``group_action(x) -> array (k, n)``: the images of a solution under a
        finite group of deck transformations (known symmetries), enumerated;
        the images are Newton-refined and kept only if they converge.
    group : BlockPermutationGroup, optional
        Deck transformations that permute blocks of coordinates: one canonical
        representative per orbit is stored and tracked and the group is never
        enumerated (``solutions`` are the representatives, ``count`` the
        orbits; the points are ``orbits * group.order``).
    batch_size : int
        Paths per round: ``ceil(batch_size / orbits)`` loops (at most
        ``max_parallel_loops``) are tracked together.
    stall_rule : str
        ``permutations`` (default): a loop counts towards the stall only when
        every path of it came back (a permutation of the known solutions), and
        the counted permutations must act transitively. ``loops``: every loop
        that found nothing new counts; for sets where a heuristic stop is
        harmless (the trace test's extra witnesses: a missing one makes the
        test fail, never pass) and large enough that some path of every loop
        fails.
    loop_tracker : callable, optional
        Replaces :func:`~pipeline.numeric.tracker.track_loops` (same signature),
        e.g. a :class:`~pipeline.numeric.distribute.LoopExecutor` that spreads
        the paths of a round over the workers of a Dask cluster. Paths are
        tracked independently, so the answer does not depend on it.

    Returns
    -------
    MonodromyResult
    """
    t_start = time.perf_counter()
    rng = np.random.default_rng(seed)
    if x0 is None or p0 is None:
        if start_pair is None:
            raise ValueError("give a start pair (x0, p0) or a start_pair(rng) function")
        x0, p0 = start_pair(rng)
    x0 = np.asarray(x0, dtype=np.complex128)
    X0 = x0 if x0.ndim == 2 else x0.ravel()[None, :]  # several rows: known solutions to continue from
    p0 = np.asarray(p0, dtype=np.complex128).ravel()
    if X0.shape[1] != system.n_variables or p0.shape[0] != system.n_parameters:
        raise ValueError(f"x0 must have {system.n_variables} entries and p0 {system.n_parameters}")
    xr, last = newton(system, X0, p0)
    res = np.abs(system.evaluate(xr, p0)).max(axis=1)
    moved = np.abs(xr - X0).max(axis=1) > 1e-4 * (1 + np.abs(X0).max(axis=1))
    bad = ~np.isfinite(res) | (last > 1e-6 * (1 + np.abs(xr).max(axis=1))) | moved
    if bad.any():
        raise ValueError(f"x0 is not a solution at p0 (Newton does not converge to a point near x0; "
                         f"residual {res.max():.2e})")
    # loops: no endgame, and a looser corrector (1e-4 relative; each endpoint is then refined by
    # Newton's method to 1e-13 and kept only if it converges, so accuracy is not lost, while a
    # path that jumps shows up as a loop that is not a bijection and does not count as evidence;
    # measured: the same loops and solutions as with 1e-5 on the attention ED and (4, 5, 1) fiber
    # systems, with ~10% fewer steps)
    loop_opts = options or TrackerOptions(endgame=False, corrector_tol=1e-4)
    loop_tracker = loop_tracker or track_loops
    S = _Orbits(system.n_variables, tol, seed + 1, group_action, system, p0, group)
    order = group.order if group is not None else 1
    S.add(xr)
    loops, tracked = 0, 0
    history = [len(S)]
    stall_perms: list[np.ndarray] = []
    stop = None

    def out_of_time():
        return (time_limit is not None and time.perf_counter() - t_start > time_limit) or expired()

    while stop is None:
        if target_count is not None and len(S) * order >= target_count:
            stop = "target_count"
            break
        if len(stall_perms) >= stall_loops and (stall_rule == "loops" or _transitive(stall_perms, S.n_orbits)):
            stop = "stalled"
            break
        if loops >= max_loops:
            stop = "max_loops"
            break
        if out_of_time():
            stop = "time_limit"
            break
        K = S.n_orbits
        L = int(min(max_parallel_loops, max_loops - loops, max(1, -(-batch_size // K))))
        if stall_perms:
            # the previous round found nothing new: only the loops still missing for the stall
            # test (and one spare) are needed, not a whole round
            L = max(1, min(L, stall_loops - len(stall_perms) + 1))
        P1 = np.array([_random_parameters(rng, p0) for _ in range(L)])
        G1, G2 = _random_gamma(rng, L), _random_gamma(rng, L)
        loops += L
        # every orbit representative around every loop, one batch
        orb = np.tile(np.arange(K), L)
        lid = np.repeat(np.arange(L), K)
        X = S.rep_points(orb)
        Y, ok = loop_tracker(system, X, p0, P1[lid], G1[lid], G2[lid], loop_opts)
        tracked += 2 * len(X)
        found = S.add(Y[ok])
        image = np.full(len(X), -1, dtype=np.int64)
        image[ok] = S.orbit_index(Y[ok])
        if len(found) == 0:
            for l in range(L):
                perm = image[lid == l]
                if stall_rule == "loops" or (np.all(perm >= 0) and len(np.unique(perm)) == K):
                    stall_perms.append(perm)
        else:
            stall_perms = []
            # send the new orbits around the loop that found them, until it finds nothing new
            queue_o, queue_l = [], []
            for o in found:
                hit = np.flatnonzero(image == o)
                l = int(lid[hit[0]]) if len(hit) else int(rng.integers(L))
                queue_o.append(o)
                queue_l.append(l)
            while queue_o and not out_of_time():
                if target_count is not None and len(S) * order >= target_count:
                    break
                qo, ql = np.array(queue_o), np.array(queue_l)
                Yq, okq = loop_tracker(system, S.rep_points(qo), p0, P1[ql], G1[ql], G2[ql], loop_opts)
                tracked += 2 * len(qo)
                queue_o, queue_l = [], []
                for y, l in zip(Yq[okq], ql[okq]):
                    new = S.add(y[None, :])
                    for o in new:
                        queue_o.append(o)
                        queue_l.append(l)
        history.append(len(S))
    solutions = S.sols.points
    certification = _certify(system, solutions, p0) if certify else None
    n_cert = certification.n_distinct if certification is not None else None
    real_solutions = real_cert = None
    real_count = None
    if real_parameters is not None:
        pr = list(real_parameters)
        prc = np.array([complex(v) for v in pr])
        # corrector 1e-6 (the endpoints are refined by Newton's method and then certified, which
        # also catches two paths ending on one solution)
        R = track(system, solutions, p0, prc, gamma=None, seed=seed,
                  options=options or TrackerOptions(corrector_tol=1e-6))
        tracked += len(solutions)
        real_solutions = R.solutions
        if certify:
            real_cert = _certify(system, real_solutions[R.regular], pr)
            real_count = real_cert.n_real
        else:
            xs = real_solutions[R.regular]
            real_count = int((np.abs(xs.imag).max(axis=1) <= 1e-8 * (1 + np.abs(xs).max(axis=1))).sum())
    return MonodromyResult(
        solutions=solutions, parameters=p0, count=len(solutions), loops=loops, certified=n_cert,
        real_count=real_count, stop_reason=stop, seconds=time.perf_counter() - t_start, paths_tracked=tracked,
        real_solutions=real_solutions, real_certification=real_cert, certification=certification,
        history=history, complete_loops=len(stall_perms) if stop == "stalled" else 0, orbits=S.n_orbits,
        group_order=order, rejected_images=S.rejected_images)
