"""Real critical points at the price of complex ones: Krawczyk boxes that meet or miss R^n.

The exact route counts the critical points modulo a prime (``edd``), which says
nothing about which are real. Counting the real ones over ``Q`` (msolve's real
root isolation, characteristic 0: a rational parametrization lifted from many
primes) cost 57 times the complex count on the attention ED degree. Here
instead:

1. the complex critical points over a random complex data point ``u0`` are
   found by monodromy (:func:`pipeline.numeric.monodromy_solve`) from a start
   pair, stopping as soon as ``edd`` of them are known (the exact count is the
   target: no trace test is needed, the exact count is the completeness
   certificate);
2. they are tracked to the exact method's rational data ``u`` (a straight
   parameter homotopy from a generic ``u0``: one path per solution) and
   certified there by Krawczyk's method in ball arithmetic
   (:func:`.edd_numerical._certify_at_data`): each box holds exactly one
   critical point, boxes are pairwise disjoint, and a box symmetric under
   conjugation certifies a real point, one that misses ``R^n`` a non-real one;
3. when ``edd`` pairwise disjoint boxes are certified and each is decided real or
   non-real, the real count is exact: the boxes hold ``edd`` distinct critical
   points, and there are exactly ``edd`` of them. Otherwise (a path failed, a box
   could not be certified, a Q with a kernel, a positive-dimensional part, the
   time budget spent) the answer is None and the caller counts over ``Q`` as before.

Example
-------
>>> from fractions import Fraction as Fr
>>> from neurovar.pipeline.compute.edd import EddParams
>>> from neurovar.pipeline.compute.edd_varieties import variety_of
>>> var = variety_of(None, EddParams(equations="x^2 + 4*y^2 - 1"))
>>> certified_real_points(var, [[Fr(1), Fr(0)], [Fr(0), Fr(1)]], [Fr(1, 7), Fr(1, 5)], edd=4)
(4, 'certified')
"""

from __future__ import annotations

from fractions import Fraction

import flint
import numpy as np

#: Seconds the certified route may take before the caller falls back to counting over Q.
BUDGET = 60.0
#: Step control of the one homotopy to the data (its endpoints are judged by Krawczyk, not by the tracker).
_LOOSE = dict(predictor_tol=0.1, max_step=0.5, initial_step=0.1, corrector_tol=1e-5, endgame=False)
#: Generic solves kept per process: ``{key of the equations: (system, solutions, parameters)}``.
_SOLVED: dict = {}


def _family(G: list, names: list[str]):
    """``G = 0``, ``W (x - u) = sum_j l_j grad G_j`` with the data ``u`` *and* the symmetric ``W`` as parameters."""
    from ..numeric import System

    n, c = len(names), len(G)
    lams = [f"l{j + 1}_" for j in range(c)]
    us = [f"u{i + 1}_" for i in range(n)]
    ws = [f"w{i + 1}_{k + 1}_" for i in range(n) for k in range(i, n)]
    ctx = flint.fmpq_mpoly_ctx.get(tuple(names + lams + us + ws), "degrevlex")
    g = ctx.gens()
    X, L, U, Wg = g[:n], g[n: n + c], g[n + c: 2 * n + c], g[2 * n + c:]
    idx = {(i, k): j for j, (i, k) in enumerate((i, k) for i in range(n) for k in range(i, n))}
    W = [[Wg[idx[min(i, k), max(i, k)]] for k in range(n)] for i in range(n)]
    Gl = [f.compose(*X, ctx=ctx) for f in G]
    rows = []
    for i in range(n):
        e = sum((W[i][k] * (X[k] - U[k]) for k in range(n)), ctx.constant(0))
        rows.append(e - sum((L[j] * Gl[j].derivative(i) for j in range(c)), ctx.constant(0)))
    return System.from_mpolys(Gl + rows, names + lams, us + ws)


def _homogeneous(f) -> bool:
    return len({sum(e) for e in f.monoms()}) == 1


def _weights(Q) -> np.ndarray:
    n = len(Q)
    return np.array([complex(Q[i][k]) for i in range(n) for k in range(i, n)])


class _Start:
    """Start pairs over a random complex symmetric ``W0``: ``x0`` on ``M``, ``u0 = x0 - W0^-1 J^T l0``."""

    def __init__(self, sampler, G, names):
        from ..numeric import System

        self.sampler, self.n, self.c = sampler, len(names), len(G)
        self.Gsys = System.from_mpolys(G, names)

    def __call__(self, rng):
        from ..numeric.families import step_scale

        n = self.n
        A = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
        W0 = np.eye(n) + (A + A.T) / (2 * np.sqrt(n))  # complex symmetric, generic
        x0 = self.sampler.sample_point(rng)
        J = self.Gsys.jacobian(x0[None, :])[1][0]
        l0 = rng.normal(size=self.c) + 1j * rng.normal(size=self.c)
        step = np.linalg.solve(W0, J.T @ l0)
        l0 = l0 * step_scale(x0, step)
        return np.r_[x0, l0], np.r_[x0 - np.linalg.solve(W0, J.T @ l0), _weights(W0)]


def _generic_solve(var, G, edd: int, seed: int):
    """All ``edd`` critical points over a generic complex ``(u0, W0)`` (monodromy, once per process)."""
    from ..numeric import monodromy_solve

    from .edd_codim import EquationSampler

    names = list(var.names)
    key = (tuple(names), tuple(str(g) for g in G), edd)
    if key not in _SOLVED:
        system = _family(G, names)
        sampler = var if var.parametrization() is not None else EquationSampler(var.equations, names, len(G))
        R = monodromy_solve(system, start_pair=_Start(sampler, G, names), seed=seed, target_count=edd,
                            certify=False)
        if len(R.solutions) != edd:
            return None, f"monodromy found {len(R.solutions)} of {edd} complex critical points"
        _SOLVED[key] = (system, R.solutions, R.parameters)
    return _SOLVED[key], ""


def certified_real_points(var, Q, u, edd: int, seed: int = 0, budget: float = BUDGET) -> tuple[int | None, str]:
    """The number of real critical points, from ``edd`` certified complex ones; ``(None, why)`` if not decided.

    ``var`` has implicit equations, ``Q`` is invertible, ``u`` rational and
    ``edd`` the exact number of critical points (all of positive loss).
    """
    from ..algebra.weights import kernel_basis
    from ..numeric import TrackerOptions, certify, track
    from ..numeric.budget import deadline, expired

    from .edd_numerical import _REAL_STEP, _certify_at_data, ed_generators

    if var.equations is None or edd <= 0 or len(kernel_basis(Q)):
        return None, "no implicit equations, no critical point or a singular Q"
    scale = max(abs(q) for row in Q for q in row)
    Qn = [[Fraction(q) / scale for q in row] for row in Q]  # same critical points, entries of size 1
    with deadline(budget):
        G, _, dim_check = ed_generators(var, seed)
        if dim_check is not None and not dim_check.agree:
            return None, "the codimension was not confirmed"
        solved, why = _generic_solve(var, G, edd, seed)
        if solved is None or expired():
            return None, why or "time budget spent"
        system, X0, p0 = solved
        cone = all(_homogeneous(f) for f in var.equations)
        if cone:  # the critical points for u / s are x / s
            s = 2 ** int(round(np.log2(max(1.0, max(abs(float(v)) for v in u)))))
            u = [Fraction(v) / s for v in u]  # data of the size of the generic start: a short path, x of size 1
        n = len(Qn)
        p_exact = [Fraction(v) for v in u] + [Qn[i][k] for i in range(n) for k in range(i, n)]
        p1 = np.array([complex(v) for v in p_exact])
        # one straight segment from the generic complex start (no gamma needed), with loose step control:
        # a path that jumps ends on another's point and the count of disjoint boxes below falls short
        T = track(system, X0, p0, p1, gamma=1.0, seed=seed, options=TrackerOptions(**_REAL_STEP, **_LOOSE))
        ends = T.solutions[T.regular]
        if len(ends) != edd:
            return None, f"{len(ends)} of {edd} paths reached the data u"
        if cone:  # x of size 1: Krawczyk on the family itself, at the exact rational (u, Q)
            C = certify(system, ends, p_exact)
            distinct = C.n_distinct
            n_real, n_nonreal = C.n_real, C.n_nonreal
        else:  # x as large as u: certified in rescaled coordinates
            distinct, n_real, n_nonreal = _certify_at_data(G, list(var.names), Qn, ends, u, decided=True)
    if distinct != edd or n_real + n_nonreal != edd:
        return None, f"{distinct} of {edd} certified distinct at u, {n_real} real and {n_nonreal} non-real"
    return n_real, "certified"


__all__ = ["BUDGET", "certified_real_points"]
