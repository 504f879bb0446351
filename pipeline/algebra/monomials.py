"""The one monomial enumerator: exponent vectors of ``V`` in a fixed order used everywhere.

Example
-------
>>> monomial_count(3, 2, True), len(monomial_exponents(3, 2))
(6, 6)
"""

from __future__ import annotations

from itertools import combinations_with_replacement
from math import comb


def monomial_count(nvars: int, degree: int, homogeneous: bool) -> int:
    """Number of monomials of degree ``degree`` (or ``<= degree``) in ``nvars`` variables."""
    if homogeneous:
        return comb(nvars + degree - 1, degree)
    return comb(nvars + degree, degree)


def monomial_exponents(nvars: int, degree: int, homogeneous: bool = True) -> list[tuple[int, ...]]:
    """Exponent vectors spanning polynomials of degree ``degree`` (or ``<= degree``): the one enumerator.

    Order: highest degree first; within a degree lexicographically descending
    (``x0^d`` first). Every basis of ``V`` in the project uses this order.

    >>> monomial_exponents(2, 2)
    [(2, 0), (1, 1), (0, 2)]
    >>> monomial_exponents(2, 1, homogeneous=False)
    [(1, 0), (0, 1), (0, 0)]
    """
    degrees = [degree] if homogeneous else range(degree, -1, -1)
    out = []
    for d in degrees:
        block = []
        for combo in combinations_with_replacement(range(nvars), d):
            e = [0] * nvars
            for v in combo:
                e[v] += 1
            block.append(tuple(e))
        out += sorted(block, reverse=True)
    return out


__all__ = ["monomial_count", "monomial_exponents"]
