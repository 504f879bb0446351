"""The polyhedral homotopy (Huber--Sturmfels): one path per solution of a generic system on given supports.

The family ``G(x; c) = (sum_{a in A_i} c_{i,a} x^a)_i`` of all systems with the
supports ``A_1, ..., A_n`` has, for generic ``c``, exactly ``MV(A_1, ..., A_n)``
solutions in the torus (Bernstein). Given the mixed cells of a random lifting
``w_i`` (:func:`~pipeline.numeric.bkk.mixed_cells`), each cell ``C`` with inner
normal ``(alpha, 1)`` and edges ``{a_i, b_i}`` gives ``vol(C) = |det(b_i - a_i)|``
of them:

1. **The binomial start system.** ``c_{i,a_i} y^{a_i} + c_{i,b_i} y^{b_i} = 0``, i.e.
   ``y^{d_i} = r_i`` with ``d_i = b_i - a_i`` and ``r_i = -c_{i,a_i} / c_{i,b_i}``.
   In logarithms ``D log y = log r + 2 pi i k``; the ``k`` modulo the lattice
   ``D Z^n`` are the boxes ``0 <= k_j < H_jj`` of the Hermite normal form ``H``
   of that lattice (exact, python-flint), so the ``|det D|`` solutions are
   ``y = exp(D^{-1} (log r + 2 pi i k))``, one per ``k`` (:func:`binomial_solutions`).
2. **The lifted homotopy.** With ``x = y t^alpha`` and ``t = e^tau`` the system
   ``sum_a c_{i,a} t^{w_i(a)} x^a`` divided by ``t^{beta_i}`` (``beta_i`` the
   lowest lifted value, attained at ``a_i`` and ``b_i`` only) is
   ``sum_a c_{i,a} e^{tau e_{i,a}} y^a`` with exponents ``e_{i,a} = <a, alpha> +
   w_i(a) - beta_i`` that are zero on the cell's edges and positive elsewhere
   (checked exactly). That is ``G(y; c(tau))`` along a curved path of
   coefficients: at ``tau -> -infinity`` the binomial system, at ``tau = 0``
   the generic system ``G(x; c)``. The exponents of a cell are scaled so that
   the least positive one is 1, and the path starts at ``tau_0 = -TAU0``, where
   the other terms weigh at most ``e^{-TAU0}``; the binomial solutions are
   refined by Newton's method there and all paths of all cells are tracked
   together (:mod:`pipeline.numeric.tracker`, vectorised).

The start is not itself a certificate: the distinct regular ends are the
solutions of ``G(x; c)`` found; the caller counts them against the mixed volume
(and falls back on monodromy if a path was lost, see
:mod:`~pipeline.numeric.coeff_monodromy`).

Example: ``x^2 y = 2, x y^3 = 3`` (one cell, ``det [[2, 1], [1, 3]] = 5`` solutions)

>>> Y = binomial_solutions([[2, 1], [1, 3]], [2.0, 3.0])
>>> len(Y), bool(np.allclose(Y[:, 0] ** 2 * Y[:, 1], 2) and np.allclose(Y[:, 0] * Y[:, 1] ** 3, 3))
(5, True)
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product
from math import lcm

import flint
import numpy as np

from .newton import _norm, newton
from .tracker import TrackerOptions, _track_core

#: the start of the lifted homotopy, ``tau_0 = -TAU0``: the terms off the cell weigh ``e^{-TAU0}`` ~ 1e-11 there
TAU0 = 25.0


def binomial_solutions(D, r) -> np.ndarray:
    """All ``|det D|`` solutions ``y`` in the torus of ``prod_j y_j^{D[i][j]} = r_i`` (rows ``i``).

    ``D`` is an integer ``n x n`` matrix with nonzero determinant, ``r`` nonzero complex numbers.
    """
    D = [[int(v) for v in row] for row in D]
    n = len(D)
    H = flint.fmpz_mat([[D[i][j] for i in range(n)] for j in range(n)]).hnf()  # rows span D Z^n
    diag = [int(H[j, j]) for j in range(n)]
    if any(h == 0 for h in diag):
        raise ValueError("the binomial system's exponent matrix is singular")
    K = np.array(list(product(*[range(abs(h)) for h in diag])), dtype=float).reshape(-1, n)
    logr = np.log(np.asarray(r, dtype=np.complex128))
    U = np.linalg.solve(np.array(D, dtype=float), (logr[None, :] + 2j * np.pi * K).T).T
    return np.exp(U)


class _LiftedPath:
    """The coefficients ``c e^{tau E}`` of each row's lifted homotopy, ``tau = tau0 (1 - s)``, ``s`` in [0, 1]."""

    def __init__(self, c, E, tau0):
        self.c, self.E, self.tau0 = c, E, tau0

    def bind(self, idx):
        return _BoundLifted(self.c, self.E[idx], self.tau0)


class _BoundLifted:
    __slots__ = ("c", "E", "tau0")

    def __init__(self, c, E, tau0):
        self.c, self.E, self.tau0 = c, E, tau0

    def point(self, t, dt):
        tau = self.tau0 * (1.0 - np.real(t))
        f = self.c[None, :] * np.exp(self.E * tau[:, None])
        return f, (self.E * f) * (-self.tau0 * dt)[:, None]


def cell_start(cell, normal, lifts, exps, eq, c):
    """``(Y, e)``: the binomial start solutions of one mixed cell and the scaled exponents ``e`` (one per
    parameter ``k``, monomial ``exps[k]`` of equation ``eq[k]``) of its lifted homotopy."""
    n = len(cell)
    index = {(int(i), tuple(int(v) for v in a)): k for k, (i, a) in enumerate(zip(eq, exps))}
    alpha = [Fraction(int(v.p), int(v.q)) if hasattr(v, "q") else Fraction(v) for v in normal]
    L = lcm(*[a.denominator for a in alpha])  # exact: L * e is an integer vector (Python ints)
    num = np.array([int(a * L) for a in alpha], dtype=object)
    Ae = np.array(exps, dtype=object).reshape(len(exps), n)
    lifted = Ae.dot(num) + np.array([L * lifts[i][tuple(int(v) for v in a)] for a, i in zip(exps, eq)], dtype=object)
    beta = [lifted[index[(i, tuple(int(v) for v in a))]] for i, (a, _) in enumerate(cell)]
    e = lifted - np.array([beta[i] for i in eq], dtype=object)  # L * e_{i,a}
    on_cell = np.zeros(len(e), dtype=bool)
    on_cell[[index[(i, tuple(int(v) for v in p))] for i, pair in enumerate(cell) for p in pair]] = True
    if any(v < 0 for v in e) or np.any((e == 0) != on_cell):
        raise ValueError("not a fine mixed cell of this lifting")  # the lifting was not generic
    least = min(v for v in e[~on_cell]) if not on_cell.all() else 1
    D = [[int(b[j]) - int(a[j]) for j in range(n)] for a, b in cell]
    r = [-c[index[(i, tuple(a))]] / c[index[(i, tuple(b))]] for i, (a, b) in enumerate(cell)]
    return binomial_solutions(D, r), np.array([float(Fraction(int(v), int(least))) for v in e])


def polyhedral_solutions(G, c, cells, options: TrackerOptions) -> tuple[np.ndarray, dict]:
    """Solutions of ``G(x; c)`` (``G`` the coefficient family of :func:`~pipeline.numeric.coeff_monodromy.
    coefficient_family`, ``c`` generic) from the mixed cells ``cells`` (a :class:`~pipeline.numeric.bkk.
    MixedCells` of ``G``'s supports): ``(X, info)`` with the Newton-refined regular ends, one row per path
    (not deduplicated), and the path counts."""
    n = G.n_variables
    exps, eq = [], []
    for i, e, _ in G.terms:
        exps.append(tuple(int(v) for v in e[:n]))
        eq.append(int(i))
    order = np.argsort([int(np.flatnonzero(np.asarray(e[n:]))[0]) for _, e, _ in G.terms])
    exps, eq = [exps[k] for k in order], [eq[k] for k in order]  # parameter order
    starts, E = [], []
    for cell, normal in zip(cells.cells, cells.normals):
        Y, e = cell_start(cell, normal, cells.lifts, exps, eq, c)
        starts.append(Y)
        E.append(np.broadcast_to(e, (len(Y), len(e))))
    Y0, E = np.vstack(starts), np.vstack(E)
    path = _LiftedPath(np.asarray(c, dtype=np.complex128), E, -TAU0)
    P0, _ = path.bind(np.arange(len(Y0))).point(np.zeros(len(Y0)), np.zeros(len(Y0)))
    Y0, _ = newton(G, Y0, P0)
    ident = lambda s: s.astype(np.complex128)
    one = lambda s: np.ones_like(s, dtype=np.complex128)
    X, _, code, steps = _track_core(G, path, Y0, ident, one, 0.0, 1.0, options)
    ended = code == 0
    Xr, last = newton(G, X[ended], c)
    good = np.isfinite(last) & (last <= 1e-8 * (1 + _norm(Xr)))
    info = {"polyhedral_paths": len(Y0), "polyhedral_ended": int(ended.sum()),
            "polyhedral_steps": int(steps.sum())}
    return Xr[good], info


__all__ = ["TAU0", "binomial_solutions", "cell_start", "polyhedral_solutions"]
