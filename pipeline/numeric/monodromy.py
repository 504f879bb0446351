"""Monodromy solving: all solutions of a generic member of a parametrised family.

Start from one solution ``x0`` of ``F(x; p0) = 0`` (a random point of the
incidence variety, e.g. from :class:`~pipeline.numeric.families.Family`).
Moving the parameters around a loop ``p0 -> p1 -> p2 -> p0`` through random
complex points permutes the solutions over ``p0`` (the monodromy action); the
solutions reached from the known ones are added, new ones are sent around the
same loop again until that loop yields nothing new, and then a fresh loop is
drawn. All paths of one leg are tracked as one vectorised batch.

The monodromy group acts transitively on the solutions that lie on the same
irreducible component of the incidence variety as ``(x0, p0)``: for the fiber of
a parametrisation (the incidence variety is its graph) and for ED critical
points of an irreducible hypersurface, that is all of them. Spurious solutions
of other components (singular points, ``lambda = 0``) are never reached.

Stopping: the ``target_count`` (when theory gives one), ``stall_loops`` loops in
a row without a new solution, ``max_loops``, or ``time_limit`` seconds. The
result records which one stopped it. (A trace test is not implemented: it
needs a linear-slice family, which the ED and fiber families are not.)

Example
-------
>>> import numpy as np
>>> from pipeline.numeric.families import ed_lagrange_family
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

from .certify import CertificationResult, certify as _certify
from .tracker import TrackerOptions, newton, track


@dataclass
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
        Solution count after each loop.
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


class SolutionSet:
    """Distinct points up to a relative tolerance (sorted random projection + exact check).

    >>> S = SolutionSet(2, tol=1e-8)
    >>> S.add(np.array([[1, 2], [1 + 1e-12, 2], [3, 4]], dtype=complex)).shape[0]
    2
    >>> len(S)
    2
    """

    def __init__(self, n: int, tol: float = 1e-6, seed: int = 12345):
        self.n, self.tol = n, tol
        self.points = np.zeros((0, n), dtype=np.complex128)
        self.w = np.random.default_rng(seed).normal(size=n)
        self._keys = np.zeros(0)
        self._order = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return self.points.shape[0]

    def _key(self, X):
        return (X.real @ self.w) + 0.7071 * (X.imag @ self.w)

    def add(self, X: np.ndarray) -> np.ndarray:
        """Add the rows of ``X`` that are new; return them."""
        X = np.atleast_2d(X)
        new = []
        wsum = np.abs(self.w).sum() * 1.7071
        for x in X:
            if not np.all(np.isfinite(x)):
                continue
            tol = self.tol * max(1.0, float(np.abs(x).max()))
            k = self._key(x[None, :])[0]
            lo = np.searchsorted(self._keys, k - tol * wsum, side="left")
            hi = np.searchsorted(self._keys, k + tol * wsum, side="right")
            cand = self._order[lo:hi]
            if len(cand) and np.any(np.abs(self.points[cand] - x).max(axis=1) <= tol):
                continue
            self.points = np.vstack([self.points, x[None, :]])
            pos = np.searchsorted(self._keys, k)
            self._keys = np.insert(self._keys, pos, k)
            self._order = np.insert(self._order, pos, len(self.points) - 1)
            new.append(x)
        return np.array(new, dtype=np.complex128).reshape(-1, self.n)


def _random_parameters(rng, p0):
    m = len(p0)
    scale = max(float(np.sqrt(np.mean(np.abs(p0) ** 2))), 1e-3)
    # log-normal radius: most loops stay near p0's scale, some go far out, where branch points
    # exchanging solutions of large norm can lie
    radius = scale * np.exp(rng.normal() * (0.5 if rng.random() < 0.5 else 3.0))
    return radius * (rng.normal(size=m) + 1j * rng.normal(size=m)) / np.sqrt(2)


def monodromy_solve(system, x0=None, p0=None, *, start_pair: Callable | None = None,
                    target_count: int | None = None, stall_loops: int = 10, max_loops: int = 200,
                    time_limit: float | None = None, seed: int = 0, certify: bool = True,
                    real_parameters=None, options: TrackerOptions | None = None,
                    tol: float = 1e-6) -> MonodromyResult:
    """Find the solutions of ``F(x; p0) = 0`` reachable by monodromy from ``x0``.

    Parameters
    ----------
    system : System
        Square system with parameters.
    x0, p0 : array
        A start pair with ``F(x0; p0) = 0`` (``p0`` generic complex), or give
        ``start_pair``.
    start_pair : callable, optional
        ``start_pair(rng) -> (x0, p0)``, e.g. ``Family.start_pair``.
    target_count : int, optional
        Stop as soon as this many solutions are known.
    stall_loops : int
        Stop after this many consecutive loops without a new solution.
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
    tol : float
        Relative tolerance for identifying solutions.

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
    x0 = np.asarray(x0, dtype=np.complex128).ravel()
    p0 = np.asarray(p0, dtype=np.complex128).ravel()
    if x0.shape[0] != system.n_variables or p0.shape[0] != system.n_parameters:
        raise ValueError(f"x0 must have {system.n_variables} entries and p0 {system.n_parameters}")
    xr, last = newton(system, x0[None, :], p0)
    res = np.abs(system.evaluate(xr, p0)).max()
    if not np.isfinite(res) or last[0] > 1e-6 * (1 + np.abs(xr).max()):
        raise ValueError(f"x0 is not a solution at p0 (Newton does not converge; residual {res:.2e})")
    sols = SolutionSet(system.n_variables, tol=tol, seed=seed + 1)
    sols.add(xr)
    loops, stall, tracked = 0, 0, 0
    history = [1]
    stop = None
    while stop is None:
        if target_count is not None and len(sols) >= target_count:
            stop = "target_count"
            break
        if stall >= stall_loops:
            stop = "stalled"
            break
        if loops >= max_loops:
            stop = "max_loops"
            break
        if time_limit is not None and time.perf_counter() - t_start > time_limit:
            stop = "time_limit"
            break
        p1, p2 = _random_parameters(rng, p0), _random_parameters(rng, p0)
        queue = sols.points.copy()
        found = 0
        while len(queue):
            x = queue
            for a, b in ((p0, p1), (p1, p2), (p2, p0)):
                R = track(system, x, a, b, options=options)
                tracked += len(x)
                x = R.solutions[R.regular]
                if len(x) == 0:
                    break
            new = sols.add(x)
            found += len(new)
            queue = new
            if target_count is not None and len(sols) >= target_count:
                break
            if time_limit is not None and time.perf_counter() - t_start > time_limit:
                break
        loops += 1
        history.append(len(sols))
        stall = 0 if found else stall + 1
    solutions = sols.points
    certification = _certify(system, solutions, p0) if certify else None
    n_cert = certification.n_distinct if certification is not None else None
    real_solutions = real_cert = None
    real_count = None
    if real_parameters is not None:
        pr = list(real_parameters)
        prc = np.array([complex(v) for v in pr])
        R = track(system, solutions, p0, prc, gamma=None, seed=seed, options=options)
        tracked += len(solutions)
        real_solutions = R.solutions
        if certify:
            real_cert = _certify(system, real_solutions[R.regular], pr)
            real_count = real_cert.n_real
        else:
            xs = real_solutions[R.regular]
            real_count = int((np.abs(xs.imag).max(axis=1) <= 1e-8 * (1 + np.abs(xs).max(axis=1))).sum())
    return MonodromyResult(solutions, p0, len(solutions), loops, n_cert, real_count, stop,
                           time.perf_counter() - t_start, tracked, real_solutions, real_cert,
                           certification, history)
