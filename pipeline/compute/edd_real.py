"""Real critical points at the price of complex ones: Krawczyk boxes that meet or miss R^n.

The exact route counts the critical points modulo a prime (``edd``), which says
nothing about which are real. Counting the real ones over ``Q`` (msolve's real
root isolation, characteristic 0: a rational parametrization lifted from many
primes) cost 57 times the complex count on the attention ED degree. Here
instead:

1. once per variety and process, the critical points over a random complex
   data point ``u0`` *and* a random complex symmetric weight matrix ``W0`` (the
   weights are parameters of the family too, so one solve serves every cell of
   a grid, whatever its weights and data) are found by monodromy
   (:func:`pipeline.numeric.monodromy_solve`, its stall criterion);
2. per cell they are tracked to the cell's rational ``(u, Q)`` (for a cone, to
   ``(u / s, Q)`` with ``s`` a power of two near ``|u|``: the critical points
   scaled by ``1 / s``, of the size of the start's), by one straight parameter
   homotopy from a generic start: every isolated critical point at the target is
   the end of some path (paths from the extra points of generic weights diverge
   or end singular);
3. the regular endpoints are certified there by Krawczyk's method in ball
   arithmetic, at the exact rational parameters: each box holds exactly one
   solution of the Lagrange system, boxes are pairwise disjoint, and a box
   symmetric under conjugation certifies a real point, one that misses ``R^n`` a
   non-real one. For a hypersurface every such solution is a critical point that
   the exact count counts (``u`` off ``M`` is checked exactly, so ``x != u``,
   hence ``l != 0`` and ``grad f(x) != 0``: positive loss, a smooth point); for a
   squared-up system (codimension > 1) the endpoints whose generators' ball
   values exclude 0 are dropped first (:func:`.edd_codim.on_variety`);
4. when exactly ``edd`` (the exact count) pairwise disjoint boxes are certified
   and each is decided real or non-real, the real count is the number of real
   boxes. Otherwise (a path failed, a box could not be certified, a singular
   ``Q``, a positive-dimensional part, the time budget spent) the answer is None
   and the caller counts over ``Q`` as before.

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

import threading
from fractions import Fraction

import flint
import numpy as np

#: Seconds the certified route may take before the caller falls back to counting over Q.
BUDGET = 60.0
#: Step control of the one homotopy to the data (its endpoints are judged by Krawczyk, not by the tracker).
_LOOSE = dict(predictor_tol=0.1, max_step=0.5, initial_step=0.1, corrector_tol=1e-3, endgame=False,
              singular_condition=1e30)
#: Generic solves kept per process: ``{key of the equations: (system, solutions, parameters)}``.
_SOLVED: dict = {}
_LOCK = threading.Lock()


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


def _generic_solve(var, G, seed: int):
    """The critical points over a generic complex ``(u0, W0)`` (monodromy, once per process): ``(key, solved)``."""
    names = list(var.names)
    key = (tuple(names), tuple(str(g) for g in G))
    with _LOCK:  # cells in threads of one worker share the solves; one solves, the others wait for it
        return key, _solved(key, var, G, names, seed)


def _solved(key, var, G, names, seed):
    from ..numeric import monodromy_solve

    from .edd_codim import EquationSampler

    if key not in _SOLVED:
        system = _family(G, names)
        sampler = var if var.parametrization() is not None else EquationSampler(var.equations, names, len(G))
        # the generic (u0, W0) has as many critical points as generic weights give (14 on the attention
        # hypersurface), more than a special Q such as the identity (6): no target, the monodromy's stall
        R = monodromy_solve(system, start_pair=_Start(sampler, G, names), seed=seed, certify=False)
        while len(_SOLVED) >= 32:  # a long-lived worker keeps the 32 last varieties
            _SOLVED.pop(next(iter(_SOLVED)))
        _SOLVED[key] = (system, R.solutions, R.parameters)
    return _SOLVED[key]


def certified_boxes(var, Q, u, seed: int = 0, budget: float = BUDGET) -> tuple[int, int, int, str]:
    """``(distinct, real, non-real, why)``: certified critical points at ``(u, Q)`` (see the module docstring).

    Needs no exact count, so that it can run while msolve makes one
    (:func:`.edd_implicit.exact_implicit`); :func:`decide` compares the two.
    """
    from ..algebra.weights import kernel_basis
    from ..numeric import TrackerOptions, certify, track
    from ..numeric.budget import deadline, expired

    from .edd_numerical import _certify_at_data, ed_generators

    if var.equations is None or len(kernel_basis(Q)):
        return 0, 0, 0, "no implicit equations or a singular Q"
    if all(f(*[flint.fmpq(Fraction(v).numerator, Fraction(v).denominator) for v in u]) == 0 for f in var.equations):
        return 0, 0, 0, "the data u lies on the variety"  # x = u, l = 0 would solve the Lagrange system
    scale = max(abs(q) for row in Q for q in row)
    Qn = [[Fraction(q) / scale for q in row] for row in Q]  # same critical points, entries of size 1
    with deadline(budget):
        G, _, dim_check = ed_generators(var, seed)
        if dim_check is not None and not dim_check.agree:
            return 0, 0, 0, "the codimension was not confirmed"
        key, (system, X0, p0) = _generic_solve(var, G, seed)
        if expired():
            return 0, 0, 0, "time budget spent"
        cone = all(_homogeneous(f) for f in var.equations)
        if cone:  # the critical points for u / s are x / s
            s = 2 ** int(round(np.log2(max(1.0, max(abs(float(v)) for v in u)))))
            u = [Fraction(v) / s for v in u]  # data of the size of the generic start: a short path, x of size 1
        n = len(Qn)
        p_exact = [Fraction(v) for v in u] + [Qn[i][k] for i in range(n) for k in range(i, n)]
        p1 = np.array([complex(v) for v in p_exact])
        # one straight segment from the generic complex start (no gamma needed), with loose step control:
        # a path that jumps ends on another's point and the count of disjoint boxes below falls short
        T = track(system, X0, p0, p1, gamma=1.0, seed=seed, options=TrackerOptions(**_LOOSE))
        ends = T.solutions[T.regular]
        if len(G) < len(var.equations) and len(ends):  # squared up: keep endpoints consistent with every generator
            from .edd_codim import on_variety

            ends = ends[on_variety(var.equations, list(var.names), system, ends, p_exact).on]
        if not len(ends):
            distinct, n_real, n_nonreal = 0, 0, 0
        elif cone:  # x of size 1: Krawczyk on the family itself, at the exact rational (u, Q)
            C = certify(system, ends, p_exact)
            distinct, n_real, n_nonreal = C.n_distinct, C.n_real, C.n_nonreal
        else:  # x as large as u: certified in rescaled coordinates
            distinct, n_real, n_nonreal = _certify_at_data(G, list(var.names), Qn, ends, u, decided=True)
    return distinct, n_real, n_nonreal, f"{distinct} certified distinct at u, {n_real} real and {n_nonreal} non-real"


def decide(boxes, edd: int | None) -> tuple[int | None, str]:
    """The real count from :func:`certified_boxes` when exactly ``edd`` boxes, each real or non-real; else None."""
    distinct, n_real, n_nonreal, why = boxes
    if edd is None or edd <= 0 or distinct != edd or n_real + n_nonreal != edd:
        return None, f"{why}; the exact count is {edd}"
    return n_real, "certified"


def certified_real_points(var, Q, u, edd: int, seed: int = 0, budget: float = BUDGET) -> tuple[int | None, str]:
    """The number of real critical points, from ``edd`` certified complex ones; ``(None, why)`` if not decided.

    ``var`` has implicit equations, ``Q`` is invertible, ``u`` rational and
    ``edd`` the exact number of critical points (all of positive loss).
    """
    return decide(certified_boxes(var, Q, u, seed, budget), edd)


__all__ = ["BUDGET", "certified_boxes", "certified_real_points", "decide"]
