"""Points of a variety over ``GF(p)`` from msolve's rational parametrization, and exact Jacobian ranks there.

A variety ``V = V(F)`` of dimension ``d`` meets ``d`` random affine hyperplanes
(coefficients in ``GF(p)``) in ``deg V`` points over the algebraic closure;
msolve's parametrization of that section gives them as ``x_i = -P_i(w)/den(w)``
at the roots of ``elim(w)``. A root in ``GF(p)`` (a linear factor of ``elim``;
about two slices in three have one) is a point of ``V`` over ``GF(p)``, checked
exactly, and generic on ``V`` in the Schwartz--Zippel sense: the rank of the
Jacobian of ``F`` there, modulo ``p``, is the codimension of ``V`` at its
smooth points, except with probability ``O(deg / p)``. This is the exact check
of a dimension found numerically (:func:`pipeline.numeric.witness.witness_point`).

Example
-------
>>> import numpy as np
>>> from neurovar.pipeline.algebra.parser import parse_system
>>> ctx, F = parse_system("x*z - y^2; y*w - z^2; x*w - y*z", ["x", "y", "z", "w"])   # twisted cubic cone
>>> pt = point_mod_p(F, 2, 1073741827, np.random.default_rng(0))
>>> jacobian_rank_mod_p(F, pt, 1073741827)
2
"""

from __future__ import annotations

from typing import Sequence

import flint

from .field import MSOLVE_PRIMES
from .msolve import MsolveError, _as_fraction, _terms, evaluate_mod_p, parametrization


def points_at_roots(param, roots, p: int) -> list[tuple[int, ...]] | None:
    """The points ``x_i = -P_i(w) / den(w)`` of a :func:`parametrization` at roots ``w`` of ``elim`` in ``GF(p)``."""
    _, den, params = param
    points = []
    for w in roots:
        dv = int(den(w))
        if dv == 0:
            return None
        inv = pow(dv, -1, p)
        points.append(tuple((-int(P(w)) * inv) % p for P in params))
    return points


def check_points(polys, variables: Sequence[str], points, p: int) -> None:
    """Raise :class:`MsolveError` unless every point satisfies ``polys`` exactly over ``GF(p)``."""
    checks = [{e: int(_as_fraction(v).numerator * pow(_as_fraction(v).denominator, -1, p)) % p for e, v in t}
              for t in (_terms(f, variables) for f in polys)]
    if any(evaluate_mod_p(g, pt, p) for g in checks for pt in points):
        raise MsolveError("a point read from msolve's parametrization does not satisfy the system")


def linear_roots(f) -> list[int]:
    """The roots in ``GF(p)`` of an ``nmod_poly`` (from its linear factors)."""
    _, factors = f.factor()
    p = f.modulus()
    return [int(-g.coeffs()[0] * pow(int(g.coeffs()[1]), -1, p)) % p if len(g.coeffs()) > 1 else 0
            for g, _ in factors if g.degree() == 1]


def rational_points(polys, variables: Sequence[str], characteristic: int = MSOLVE_PRIMES[0],
                    timeout: float | None = None) -> list[tuple[int, ...]] | None:
    """All solutions of a zero-dimensional system when they all lie in ``GF(p)^n``, else None.

    The roots of the :func:`parametrization`'s ``elim`` are found with flint.
    Every point returned is checked to satisfy ``polys`` exactly.

    Example
    -------
    >>> sorted(rational_points(["x^2 - 1", "y - x - 2"], ["x", "y"], 1000003))
    [(1, 3), (1000002, 1)]
    >>> rational_points(["x^2 + 1"], ["x"], 1000003) is None   # 1000003 = 3 mod 4: no i in GF(p)
    True
    """
    p = characteristic
    param = parametrization(polys, variables, p, timeout)
    if not param:
        return param
    elim = param[0]
    _, factors = elim.factor()
    if any(f.degree() != 1 for f, _ in factors) or sum(k for _, k in factors) != elim.degree():
        return None
    points = points_at_roots(param, linear_roots(elim), p)
    if points is not None:
        check_points(polys, variables, points, p)
    return points


def _mod_p(poly, names, p) -> dict[tuple[int, ...], int]:
    return {e: int(_as_fraction(v).numerator * pow(_as_fraction(v).denominator, -1, p)) % p
            for e, v in _terms(poly, names)}


def point_mod_p(equations, dim: int, p: int, rng, attempts: int = 24,
                timeout: float | None = None) -> tuple[int, ...] | None:
    """A point of ``V(equations)`` over ``GF(p)`` on ``dim`` random affine hyperplanes, or None.

    ``dim`` must be the dimension of ``V`` (a smaller one gives a
    positive-dimensional section, a larger one none: both give None).
    """
    names = list(equations[0].context().names())
    ctx = equations[0].context()
    gens = ctx.gens()
    for salt in range(attempts):
        hyper = []
        for _ in range(dim):
            c = [int(v) for v in rng.integers(1, 10**6, size=len(names) + 1)]
            hyper.append(sum((c[i] * gens[i] for i in range(len(names))), ctx.constant(0)) - c[-1])
        system = list(equations) + hyper
        try:
            param = parametrization(system, names, p, timeout, salt=salt)
        except MsolveError:
            continue
        if not param:
            if param == []:
                return None  # the section is empty: dim is too large
            continue
        roots = linear_roots(param[0])
        points = points_at_roots(param, roots[:1], p) if roots else None
        if points:
            check_points(system, names, points, p)
            return points[0]
    return None


def jacobian_rank_mod_p(equations, point, p: int) -> int:
    """The rank over ``GF(p)`` of the Jacobian of ``equations`` at a point of ``GF(p)^n``."""
    names = list(equations[0].context().names())
    n = len(names)
    rows = [[evaluate_mod_p(_mod_p(f.derivative(i), names, p), point, p) for i in range(n)] for f in equations]
    return int(flint.nmod_mat(rows, p).rank())


__all__ = ["check_points", "jacobian_rank_mod_p", "linear_roots", "point_mod_p", "points_at_roots", "rational_points"]
