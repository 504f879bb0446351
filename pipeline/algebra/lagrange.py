"""The one builder of the ED Lagrange equations, for the exact and the numerical routes.

Critical points of ``(x - u)^T Q (x - u)`` on ``{g_1 = ... = g_c = 0}`` satisfy

    Q (x - u) = sum_j l_j grad g_j(x),

one equation per coordinate. :func:`lagrange_rows` writes these rows in any
python-flint polynomial ring: the data ``u`` may be rational constants (the
exact route, :mod:`pipeline.algebra.edd_system`) or parameters of the ring
(the numerical routes, :mod:`pipeline.compute.edd_numerical` and
:func:`pipeline.numeric.families.ed_lagrange_family`); the saturations and
start pairs are added by each route.

Example
-------
>>> import flint
>>> ctx = flint.fmpq_mpoly_ctx.get(("x", "y", "l", "u", "v"), "lex")
>>> x, y, l, u, v = ctx.gens()
>>> g = x**2 + y**2 - 1
>>> [str(r) for r in lagrange_rows([x, y], [u, v], [l], [[g.derivative(0), g.derivative(1)]], [[1, 0], [0, 1]])]
['-2*x*l + x - u', '-2*y*l + y - v']
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import flint


def _q(v):
    if isinstance(v, (int, Fraction)):
        v = Fraction(v)
        return flint.fmpq(v.numerator, v.denominator)
    return v


def lagrange_rows(X: Sequence, U: Sequence, L: Sequence, grads: Sequence[Sequence], Q) -> list:
    """``Q (X - U) - sum_j L_j grads[j]``: one polynomial per coordinate.

    Parameters
    ----------
    X : the coordinates (ring generators).
    U : the data, ring elements (parameters) or rationals.
    L : the multipliers (ring generators), one per equation.
    grads : ``grads[j][i] = d g_j / d x_i`` in the ring.
    Q : the symmetric weight matrix (rationals).
    """
    n = len(X)
    zero = (X[0] - X[0]) if n else 0
    rows = []
    for i in range(n):
        e = zero
        for k in range(n):
            if Q[i][k]:
                e = e + _q(Q[i][k]) * (X[k] - _q(U[k]))
        for j in range(len(L)):
            e = e - L[j] * grads[j][i]
        rows.append(e)
    return rows


__all__ = ["lagrange_rows"]
