"""The BKK bound: mixed volumes of Newton polytopes, by the mixed cells of a random lifting.

Bernstein's theorem (Bernstein--Kushnirenko--Khovanskii): a square system whose
equation ``i`` has support ``A_i`` (its exponent vectors) has at most
``MV(conv A_1, ..., conv A_n)`` isolated solutions in the torus ``(C*)^n``, and
exactly that many, all nonsingular, for generic coefficients on those supports.
With the origin added to every support the mixed volume bounds the isolated
solutions in all of ``C^n`` (Li--Wang), again attained for generic coefficients.

**Algorithm** (the lift-and-prune method of Emiris--Canny, as in PHCpack's
and HomotopyContinuation.jl's mixed-volume codes, in a plain form). Lift each
point ``a`` of ``A_i`` to ``(a, w_i(a))`` with random integers ``w_i``. The
lower facets of the lifted Minkowski sum project to a fine mixed subdivision
of ``conv A_1 + ... + conv A_n``; its *mixed cells* are sums of one edge
``{a_i, b_i}`` per support, and ``MV`` is the sum of ``|det(b_i - a_i)|`` over
them. A choice of edges is a mixed cell when some inner normal ``(alpha, 1)``
makes both ends of each edge the lowest points of their lifted support:
``<a_i, alpha> + w_i(a_i) = <b_i, alpha> + w_i(b_i) <= <c, alpha> + w_i(c)`` for every
``c`` in ``A_i``. The choices are enumerated depth first, one support at a
time (fewest lower edges first), and a partial choice whose system of these
(in)equalities is infeasible (a linear program, HiGHS through scipy) is pruned
with everything below it. At a full choice the normal ``alpha`` is unique; it
is solved for and every inequality is checked **in exact rational arithmetic**
(python-flint), and the cell's volume is an exact integer determinant. The
linear programs only prune; a cell counts only after the exact check.

Example
-------
>>> mixed_volume([[(2, 0), (0, 2), (0, 0), (1, 1)], [(2, 0), (0, 2), (0, 0), (1, 0)]])  # two generic conics
4
>>> mixed_volume([[(1, 1), (0, 0)], [(1, 0), (0, 1), (0, 0)]])  # x*y - 1, x + y - c: 2 = Bezout
2
>>> mixed_volume([[(1, 1), (0, 0)], [(2, 1), (0, 0)]])  # x*y = 1, x^2*y = 2: one root, Bezout 6
1
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import flint
import numpy as np

#: regions of this dimension or more are tested by a linear program; below, the children's vectorised
#: checks (a point or a line) prune (measured on cyclic-7: a polygon test per candidate cost more than it saved)
LP_MIN_DIM = 3
#: lifting values are drawn from [1, LIFT]: generic with high probability, small enough for exact checks
LIFT = 2**20


class WorkLimit(RuntimeError):
    """The enumeration needed more linear programs than allowed (``max_lps``)."""


@dataclass
class MixedCells:
    """The mixed cells of one random lifting.

    Attributes
    ----------
    volume : int
        The mixed volume (sum of the cells' volumes).
    cells : list of tuple
        One ``((a_1, b_1), ..., (a_n, b_n))`` per mixed cell, in the input's support order.
    normals : list of tuple of Fraction
        The cells' inner normals ``alpha`` (exact).
    lps : int
        Linear programs solved.
    lifts : list of dict
        The lifting: per support, exponent tuple -> integer value (a start of the polyhedral homotopy).
    """

    volume: int
    cells: list
    normals: list
    lps: int
    lifts: list = None


_LOCAL = threading.local()  # one HiGHS instance per thread (an instance is not safe to share)


def _highs():
    """This thread's HiGHS instance for the linear programs (through scipy's build of it), or None.

    scipy's ``linprog`` validates its input and sets every option again on each call: ~1.5 ms of
    overhead on these LPs of ~0.1 ms (measured). The instance is made once, quiet, without presolve;
    if scipy's internal module is not there or differs (another scipy version), ``linprog`` is used.
    """
    if not hasattr(_LOCAL, "highs"):
        try:
            from scipy.optimize._highspy import _core as h

            highs = h._Highs()
            opts = h.HighsOptions()
            opts.output_flag = False
            opts.presolve = "off"
            highs.passOptions(opts)
            _LOCAL.highs = (h, highs)
        except (ImportError, AttributeError, TypeError):  # pragma: no cover - depends on scipy's internals
            _LOCAL.highs = None
    return _LOCAL.highs


def _feasible(rows_eq, rhs_eq, rows_ub, rhs_ub, n, counter) -> bool:
    """Whether ``{rows_eq alpha = rhs_eq, rows_ub alpha <= rhs_ub}`` is nonempty (a linear program)."""
    counter[0] += 1
    fast = _highs()
    if fast is not None:
        try:
            return _feasible_highs(*fast, rows_eq, rhs_eq, rows_ub, rhs_ub, n)
        except (AttributeError, TypeError):  # pragma: no cover - another scipy's internals
            _LOCAL.highs = None
    from scipy.optimize import linprog

    res = linprog(np.zeros(n), A_ub=rows_ub if len(rows_ub) else None, b_ub=rhs_ub if len(rows_ub) else None,
                  A_eq=rows_eq if len(rhs_eq) else None, b_eq=rhs_eq if len(rhs_eq) else None,
                  bounds=[(None, None)] * n, method="highs")
    return res.status == 0


def _feasible_highs(h, highs, rows_eq, rhs_eq, rows_ub, rhs_ub, n) -> bool:
    A = np.vstack([np.asarray(rows_eq, dtype=float).reshape(-1, n), np.asarray(rows_ub, dtype=float).reshape(-1, n)])
    m_eq = len(rhs_eq)
    lp = h.HighsLp()
    lp.num_col_, lp.num_row_ = n, len(A)
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, len(A)
    lp.a_matrix_.format_ = h.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.arange(0, A.size + 1, n, dtype=np.int32)
    lp.a_matrix_.index_ = np.tile(np.arange(n, dtype=np.int32), len(A))
    lp.a_matrix_.value_ = A.ravel()
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.full(n, -np.inf)
    lp.col_upper_ = np.full(n, np.inf)
    rhs = np.concatenate([np.asarray(rhs_eq, dtype=float), np.asarray(rhs_ub, dtype=float)])
    lp.row_lower_ = np.concatenate([rhs[:m_eq], np.full(len(A) - m_eq, -np.inf)])
    lp.row_upper_ = rhs
    highs.passModel(lp)
    highs.run()
    return highs.getModelStatus() == h.HighsModelStatus.kOptimal


def _interval_ok(coef, rhs) -> np.ndarray:
    """Per column ``k``: whether some ``t`` has ``coef[:, k] t <= rhs[:, k]`` for every row (with a margin)."""
    tol = 1e-7 * (1.0 + np.abs(rhs) + np.abs(coef) * np.abs(rhs).max(axis=0, keepdims=True))
    r = rhs + tol
    with np.errstate(divide="ignore", invalid="ignore"):
        q = r / coef
    pos, neg, zero = coef > 1e-12, coef < -1e-12, np.abs(coef) <= 1e-12
    hi = np.where(pos, q, np.inf).min(axis=0)
    lo = np.where(neg, q, -np.inf).max(axis=0)
    return (lo <= hi) & ~np.any(zero & (r < 0), axis=0)


def _children(A, w, edges, a0, N, U, u):
    """The edges of the lifted support ``(A, w)`` that can extend a node: ``(edge, s, N')`` each.

    The node's region is ``{a0 + N s : U (a0 + N s) <= u}``; an edge ``(a, b)`` adds
    the equation ``<b - a, alpha> = w_a - w_b`` (``g . s = h`` in the node's
    coordinates, with ``s`` the point of it nearest to 0 and ``N'`` the rest) and
    the rows "``a`` is lowest". Dropped here: edges whose direction depends on the
    chosen ones (``g = 0``), and, decided in floating point with a margin (all
    candidates at once when the new region is a point or a line), those whose new
    region of dimension <= 1 is empty.
    """
    if not edges:
        return []
    ea, eb = np.array(edges).T
    D = A[eb] - A[ea]
    g = D @ N
    h = (w[ea] - w[eb]) - D @ a0
    gn = np.linalg.norm(g, axis=1)
    keep = gn > 1e-9 * np.linalg.norm(D, axis=1)
    ea, eb, g, h, gn = ea[keep], eb[keep], g[keep], h[keep], gn[keep]
    if not len(ea):
        return []
    m = N.shape[1]
    sk = g * (h / gn**2)[:, None]  # (K, m): the nearest point of each new region
    G0, r0 = U @ N, u - U @ a0
    P, Wt = A @ N, w + A @ a0  # lifted values of A's points: P s + Wt
    if m <= 2:
        if m == 1:  # a point: every row checked at it
            q = np.zeros_like(sk)
        else:  # a line s + t q
            q = np.stack([-g[:, 1], g[:, 0]], axis=1) / gn[:, None]
        coef = np.vstack([G0 @ q.T, P @ q.T - (P[ea] * q).sum(axis=1)[None, :]])
        rhs = np.vstack([r0[:, None] - G0 @ sk.T,
                         (P @ sk.T + Wt[:, None]) - ((P[ea] * sk).sum(axis=1) + Wt[ea])[None, :]])
        # own rows: value(a) <= value(c), i.e. (P_a - P_c) . (s + t q) <= Wt_c - Wt_a
        coef[len(G0):] *= -1
        ok = _interval_ok(coef, rhs)
    else:
        ok = np.ones(len(ea), dtype=bool)
    out = []
    for j in np.flatnonzero(ok):
        _, _, Vt = np.linalg.svd(g[j][None, :])
        Nc = N @ Vt[1:].T
        out.append(((int(ea[j]), int(eb[j])), sk[j], Nc))
    return out


def _edge_rows(A, w, k):
    """Equality row (and rhs) and the inequality rows of 'edge k of A is lowest' (scaled, float)."""
    a, b = k
    eq = (A[b] - A[a]).astype(float), float(w[a] - w[b])
    others = [c for c in range(len(A)) if c != a]
    ub = (A[a] - A[others]).astype(float), (w[others] - w[a]).astype(float)  # <a - c, alpha> <= w_c - w_a
    return eq, ub


def _exact_cell(supports, lifts, order, chosen):
    """``(volume, alpha)`` of a full choice of edges if it is a mixed cell (exact check), else None."""
    n = len(order)
    D = [[int(v) for v in supports[i][b] - supports[i][a]] for i, (a, b) in zip(order, chosen)]
    det = int(flint.fmpz_mat(D).det())
    if det == 0:
        return None
    rhs = [[int(lifts[i][a] - lifts[i][b])] for i, (a, b) in zip(order, chosen)]
    alpha = flint.fmpq_mat(D).solve(flint.fmpq_mat(rhs))
    al = [alpha[j, 0] for j in range(n)]
    for i, (a, _) in zip(order, chosen):
        A, w = supports[i], lifts[i]
        base = sum(int(A[a][j]) * al[j] for j in range(n)) + int(w[a])
        for c in range(len(A)):
            if sum(int(A[c][j]) * al[j] for j in range(n)) + int(w[c]) < base:
                return None
    return abs(det), al


def mixed_cells(supports: Sequence, seed: int = 0, max_lps: int | None = None) -> MixedCells:
    """The mixed cells of ``supports`` (n point sets in Z^n) for a random lifting drawn from ``seed``.

    Raises :class:`WorkLimit` after ``max_lps`` linear programs (None: no limit).
    """
    S = [np.unique(np.asarray(A, dtype=np.int64).reshape(len(A), -1), axis=0) for A in supports]
    n = len(S)
    if any(A.shape[1] != n for A in S):
        raise ValueError(f"{n} supports need points with {n} coordinates")
    if any(len(A) < 2 for A in S):
        return MixedCells(0, [], [], 0)  # a monomial equation: no solution in the torus
    rng = np.random.default_rng([seed, 0xB11])
    W = [rng.integers(1, LIFT, size=len(A)) for A in S]
    counter = [0]

    def over_budget():
        if max_lps is not None and counter[0] > max_lps:
            raise WorkLimit(f"more than {max_lps} linear programs")

    # the lower edges of each lifted support (a lower edge of a mixed cell is one of them)
    edges = []
    for A, w in zip(S, W):
        E = []
        if np.linalg.matrix_rank(A[1:] - A[0]) == len(A) - 1:  # a simplex: every edge is a lower edge
            edges.append(list(combinations(range(len(A)), 2)))
            continue
        for k in combinations(range(len(A)), 2):
            (er, eb), (ur, ub) = _edge_rows(A, w, k)
            over_budget()
            if _feasible(er[None, :], [eb], ur, ub, n, counter):
                E.append(k)
        edges.append(E)
    order = sorted(range(n), key=lambda i: len(edges[i]))
    cells, normals, volume = [], [], 0
    # a node: the edges chosen so far and its region {a0 + N s : U (a0 + N s) <= u} (N orthonormal columns)
    stack = [((), np.zeros(n), np.eye(n), np.zeros((0, n)), np.zeros(0))]
    while stack:
        chosen, a0, N, U, u = stack.pop()
        i = order[len(chosen)]
        A, w = S[i], W[i]
        for k, s_k, Nc in _children(A, w, edges[i], a0, N, U, u):
            if Nc.shape[1] == 0:  # a full choice: the exact check decides
                got = _exact_cell(S, W, order, chosen + (k,))
                if got is not None:
                    volume += got[0]
                    back = dict(zip(order, chosen + (k,)))
                    cells.append(tuple(tuple(tuple(int(v) for v in S[j][c]) for c in back[j]) for j in range(n)))
                    normals.append(tuple(got[1]))
                continue
            ac = a0 + N @ s_k
            Uc, uc = np.vstack([U, A[k[0]] - A]), np.concatenate([u, w - w[k[0]]])
            if Nc.shape[1] >= LP_MIN_DIM:  # a linear program prunes an empty region
                over_budget()
                if not _feasible(np.zeros((0, Nc.shape[1])), [], Uc @ Nc, uc - Uc @ ac, Nc.shape[1], counter):
                    continue
            stack.append((chosen + (k,), ac, Nc, Uc, uc))
    lifts = [{tuple(int(v) for v in a): int(x) for a, x in zip(A, w)} for A, w in zip(S, W)]
    return MixedCells(volume, cells, normals, counter[0], lifts)


def mixed_volume(supports: Sequence, seed: int = 0, max_lps: int | None = None) -> int:
    """``MV(conv A_1, ..., conv A_n)``, normalised so that ``MV(Delta, ..., Delta) = 1``: the BKK bound."""
    return mixed_cells(supports, seed, max_lps).volume


def supports_of(system) -> list[np.ndarray]:
    """The supports (exponent vectors over the unknowns) of a parameter-free :class:`System`'s equations."""
    rows: list[list] = [[] for _ in range(system.n_equations)]
    for i, e, _ in system.terms:
        rows[i].append(e[:system.n_variables])
    return [np.array(r, dtype=np.int64) for r in rows]


def torus_only(supports: Sequence) -> bool:
    """True when no solution can have a zero coordinate: for every ``j`` some equation is, at ``x_j = 0``,
    a nonzero constant (its only monomial free of ``x_j`` is the constant term), e.g. ``x_1 ... x_n - 1``."""
    n = len(supports)
    for j in range(n):
        if not any(sum(1 for a in A if a[j] == 0) == 1 and any(not np.any(a) for a in A) for A in supports):
            return False
    return True


def bkk_cells(supports: Sequence, seed: int = 0, max_lps: int | None = None) -> tuple[MixedCells, bool]:
    """``(cells, with_origin)``: the mixed cells behind :func:`bkk_bound` (same supports, same lifting)."""
    if torus_only(supports):
        return mixed_cells(supports, seed, max_lps), False
    n = len(supports)
    return mixed_cells([np.vstack([np.asarray(A), np.zeros((1, n), dtype=np.int64)]) for A in supports],
                       seed, max_lps), True


def bkk_bound(supports: Sequence, seed: int = 0, max_lps: int | None = None) -> tuple[int, bool]:
    """``(bound, with_origin)``: the mixed volume bounding every isolated solution in ``C^n``.

    The supports' own mixed volume when no solution can have a zero coordinate
    (:func:`torus_only`), else that of the supports with the origin added
    (Li--Wang); ``with_origin`` says which.
    """
    cells, with_origin = bkk_cells(supports, seed, max_lps)
    return cells.volume, with_origin


__all__ = ["MixedCells", "WorkLimit", "bkk_bound", "bkk_cells", "mixed_cells", "mixed_volume", "supports_of",
           "torus_only"]
