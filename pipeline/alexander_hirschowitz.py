"""The Alexander--Hirschowitz theorem: dimensions of secant varieties of Veronese varieties.

For a shallow network ``(n, k, 1)`` with ``s = x^d`` (no bias) the neurovariety is the
``k``-th secant of the Veronese ``v_d(P^{n-1})`` (J. Alexander, A. Hirschowitz, *Polynomial
interpolation in several variables*, J. Algebraic Geom. 4 (1995)). This module imports
nothing of the project: the catalog's registry entry and a one-cell ``neurovar compute`` (which
names the exception in its answer) share it, and no model's code fingerprint depends on it.

>>> ah_dimension(3, 5, 4)
14
"""

from __future__ import annotations

from math import comb


def ah_dimension(n: int, k: int, d: int) -> int:
    """Dimension of the ``k``-th secant of the Veronese ``v_d(P^{n-1})`` (affine cone), by Alexander--Hirschowitz.

    ``min(k n, binom(n+d-1, d))`` except ``d = 2, 2 <= k <= n-1``
    (``k n - binom(k, 2)``) and ``(n, d, k)`` in ``{(3,4,5), (4,4,9), (5,4,14), (5,3,7)}``
    (one less).

    >>> ah_dimension(3, 5, 4), ah_dimension(3, 4, 4), ah_dimension(4, 2, 2), ah_dimension(5, 7, 3)
    (14, 12, 7, 34)
    """
    if d < 2:
        raise ValueError("Alexander-Hirschowitz is about degree d >= 2")
    generic = min(k * n, comb(n + d - 1, d))
    if d == 2 and 2 <= k <= n - 1:
        return k * n - comb(k, 2)
    if (n, d, k) in AH_SPORADIC:
        return generic - 1
    return generic


#: The sporadic defective cases ``(n, d, k)`` of Alexander--Hirschowitz (defect 1).
AH_SPORADIC = frozenset({(3, 4, 5), (4, 4, 9), (5, 4, 14), (5, 3, 7)})


def ah_exceptional(n: int, k: int, d: int) -> bool:
    """Whether ``(n, k, 1)`` with ``x^d`` is one of the theorem's defective cases.

    >>> [ah_exceptional(*c) for c in [(3, 5, 4), (4, 3, 2), (4, 4, 2), (5, 7, 3), (5, 7, 4)]]
    [True, True, False, True, False]
    """
    return (d == 2 and 2 <= k <= n - 1) or (n, d, k) in AH_SPORADIC
