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
2. **Monodromy** (:func:`~pipeline.numeric.monodromy.monodromy_solve`) around
   random loops in the coefficients, stopped as soon as the number of
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
from .monodromy import monodromy_solve
from .newton import newton
from .system import System
from .tracker import track


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


def coefficient_monodromy(F: System, bound: int, with_origin: bool, *, seed: int = 0,
                          time_limit: float | None = None, stall_loops: int = 5) -> CoefficientMonodromy:
    """Solve ``F`` by monodromy in its coefficients (module docstring); ``bound`` is the BKK bound and
    ``with_origin`` says whether it was computed with constant terms added (:func:`~pipeline.numeric.bkk.bkk_bound`)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, 0xC0EF])
    G, x0, c0, target = generic_start(F, rng, with_origin)
    M = monodromy_solve(G, x0, c0, target_count=bound, stall_loops=stall_loops, seed=seed, certify=False,
                        time_limit=time_limit, batch_size=max(64, bound))
    W = M.solutions
    generic = f"{len(W)} solutions of a generic member by {M.loops} monodromy loops ({M.stop_reason})"
    generic += f", BKK bound {bound}"
    R = track(G, W, c0, target, gamma=None, seed=int(rng.integers(2**31)))
    regular = R.status == "regular"
    X = R.solutions[regular]
    if len(X):
        X, _ = newton(F, X, None)
        C = certify(F, X)
        keep = C.distinct
        sols, cert = C.centers[keep], int(keep.sum())
        real, uncertified = int((C.real & keep).sum()), int((~C.certified).sum())
    else:
        sols, cert, real, uncertified = np.zeros((0, F.n_variables), dtype=np.complex128), 0, 0, 0
    counts = R.counts()
    if cert == bound and len(W) == bound:
        completeness = "bkk-bound"
    else:
        completeness = "none"
    reason = (f"{generic}; {len(W)} paths to the target: {counts}; {cert} certified distinct finite solutions"
              + (f", {uncertified} end(s) not certified" if uncertified else ""))
    if completeness == "bkk-bound":
        reason += " = the BKK bound (Bernstein: there is no other isolated solution)"
    paths = {"total": len(W), **counts, "loops": M.loops, "monodromy_paths": M.paths_tracked,
             "bkk": bound, "seconds_monodromy": round(M.seconds, 3)}
    return CoefficientMonodromy(sols, cert, real, uncertified, completeness, reason, paths, counts["singular"])


__all__ = ["CoefficientMonodromy", "coefficient_family", "coefficient_monodromy", "generic_start"]
