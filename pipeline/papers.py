"""Constants and closed formulas taken from papers, in one place.

Every other module imports them from here, so a value quoted from the
literature is written once, next to its source.

Example
-------
>>> [prop16_bound(k) for k in (2, 3, 4, 5)]
[1, 13, 37, 73]
"""

from __future__ import annotations

#: The attention neurovariety of ``d = 2, d_out = 1`` (talk 'Lightning Self-Attention'; Henry, Marchetti,
#: Kohn, *Geometry of lightning self-attention: identifiability and dimension*, ICLR 2025): pairs of binary
#: quadrics with a common factor, the resultant, in the virtual-weight coordinates ``y1..y6``.
ATTENTION_HYPERSURFACE = (
    "y1^2*y6^2 + y4^2*y3^2 + y1*y3*y5^2 + y2^2*y4*y6 - 2*y1*y4*y3*y6 - y2*y1*y6*y5 - y2*y4*y3*y5"
)


def prop16_bound(k: int) -> int:
    """``6(k-1)^2 - 6(k-1) + 1``: ``r``-th powers of ``k`` pairwise non-proportional polynomials are
    linearly independent for ``r`` above it (Finkel, Rodriguez, Wu, Yahl, *Activation thresholds and
    expressiveness of polynomial neural networks*, Prop. 16).

    >>> prop16_bound(3)
    13
    """
    return 6 * (k - 1) ** 2 - 6 * (k - 1) + 1


def rank_variety_dimension(widths, bias: bool = False) -> int:
    """``q (d0 + dL - q)`` with ``q = min(widths)``; plus ``dL`` for the free constant term with bias.

    The dimension of ``dL x d0`` matrices of rank ``<= q`` (Bruns, Vetter, *Determinantal rings*,
    Prop. 1.1), the neurovariety of a linear network (Trager, Kohn, Bruna, *Pure and spurious
    critical points: a geometric study of linear networks*, ICLR 2020, Sec. 3).

    >>> rank_variety_dimension((2, 1, 2))
    3
    """
    q = min(widths)
    d0, dL = widths[0], widths[-1]
    return q * (d0 + dL - q) + (dL if bias else 0)


def ed_degree_rank_one_tensors(dims) -> int:
    """ED degree (Frobenius norm) of rank-one tensors of format ``m1 x ... x mk``: the number of singular
    vector tuples of a generic tensor, the coefficient of ``prod t_i^(m_i - 1)`` in
    ``prod_i (T_i^m_i - t_i^m_i) / (T_i - t_i)`` with ``T_i = sum_{j != i} t_j`` (Friedland, Ottaviani,
    *The number of singular vector tuples and uniqueness of best rank-one approximation of tensors*,
    Found. Comput. Math. 14 (2014), Theorem 1).

    >>> [ed_degree_rank_one_tensors(d) for d in ((2, 2), (3, 4), (2, 2, 2), (2, 2, 3), (2, 3, 3), (3, 3, 3))]
    [2, 3, 6, 8, 15, 37]
    """
    import sympy

    t = sympy.symbols(f"t0:{len(dims)}")
    total = sum(t)
    prod = sympy.Integer(1)
    for ti, m in zip(t, dims):
        T = total - ti
        prod *= sum(T ** (m - 1 - j) * ti ** j for j in range(m))  # (T^m - t^m) / (T - t)
    return int(sympy.Poly(sympy.expand(prod), *t).coeff_monomial(sympy.Mul(*[ti ** (m - 1) for ti, m in zip(t, dims)])))


def ed_degree_symmetric_rank(n: int, r: int) -> int:
    """ED degree (Frobenius norm) of symmetric ``n x n`` matrices of rank ``<= r``: ``binom(n, r)``, the choices
    of ``r`` eigenvalues kept, by the spectral theorem (the Eckart--Young theorem for symmetric matrices).

    >>> ed_degree_symmetric_rank(5, 2)
    10
    """
    from math import comb

    return comb(n, r)


__all__ = ["ATTENTION_HYPERSURFACE", "ed_degree_rank_one_tensors", "ed_degree_symmetric_rank", "prop16_bound",
           "rank_variety_dimension"]
