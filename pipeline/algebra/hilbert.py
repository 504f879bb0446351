"""Dimension and degree of a monomial ideal from its Hilbert series (the leading ideal of a Gröbner basis).

Example
-------
>>> dimension_degree_of_monomial_ideal([(2, 0), (0, 2)], 2)   # <x^2, y^2>: 4 points
DimensionDegree(dimension=0, degree=4)
"""

from __future__ import annotations

from typing import NamedTuple, Sequence


class DimensionDegree(NamedTuple):
    """Krull dimension of the affine variety ``V(I)`` and its degree (``dimension = -1``: empty)."""

    dimension: int
    degree: int


def _divides(a, b) -> bool:
    return all(x <= y for x, y in zip(a, b))


def _minimalize(monos):
    monos = sorted(set(monos), key=sum)
    out = []
    for m in monos:
        if not any(_divides(g, m) for g in out):
            out.append(m)
    return out


def _poly_mul(a: list[int], b: list[int]) -> list[int]:
    out = [0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                out[i + j] += x * y
    return out


def _poly_add(a, b):
    n = max(len(a), len(b))
    return [(a[i] if i < len(a) else 0) + (b[i] if i < len(b) else 0) for i in range(n)]


def hilbert_numerator(monos: Sequence[tuple[int, ...]]) -> list[int]:
    """Numerator ``N(t)`` of the Hilbert series ``N(t) / (1-t)^n`` of ``K[x_1..x_n] / <monos>``.

    Bigatti's pivot recursion: ``N(I) = N(I + <x^e>) + t^e N(I : x^e)``; the base
    case (pairwise coprime generators) is ``prod (1 - t^deg m)``.

    Example
    -------
    >>> hilbert_numerator([(1, 1)])     # K[x,y]/<xy>: (1 - t^2)
    [1, 0, -1]
    """
    gens = _minimalize([tuple(m) for m in monos])
    if any(sum(m) == 0 for m in gens):
        return [0]
    # base case: pairwise coprime supports
    support_used: set[int] = set()
    coprime = True
    for m in gens:
        s = {i for i, k in enumerate(m) if k}
        if s & support_used:
            coprime = False
            break
        support_used |= s
    if coprime:
        out = [1]
        for m in gens:
            d = sum(m)
            out = _poly_mul(out, [1] + [0] * (d - 1) + [-1])
        return out
    # pivot x_i^e: x_i a variable shared by generators, e its smallest exponent in a generator that
    # also involves another variable (so x_i^e is not in I, and I : x_i^e is strictly larger than I)
    n = len(gens[0])
    mixed = [m for m in gens if sum(1 for k in m if k) > 1]
    counts = [sum(1 for m in gens if m[j]) for j in range(n)]
    i = max((j for j in range(n) if any(m[j] for m in mixed)), key=lambda j: counts[j])
    e = min(m[i] for m in mixed if m[i])
    pivot = tuple(e if j == i else 0 for j in range(n))
    plus = gens + [pivot]
    colon = [tuple(max(k - pk, 0) for k, pk in zip(m, pivot)) for m in gens]
    return _poly_add(hilbert_numerator(plus), [0] * e + hilbert_numerator(colon))


def dimension_degree_of_monomial_ideal(monos: Sequence[tuple[int, ...]], nvars: int) -> DimensionDegree:
    """Dimension and degree of ``K[x]/<monos>`` from its Hilbert series (``-1, 0`` for the unit ideal)."""
    if not monos:
        return DimensionDegree(nvars, 1)
    num = hilbert_numerator(monos)
    while num and num[-1] == 0:
        num.pop()
    if not num:
        return DimensionDegree(-1, 0)
    order = 0  # multiplicity of t = 1 as a root of num: divide by (1 - t) repeatedly
    while sum(num) == 0:
        # synthetic division of num by (1 - t): q with num = (1 - t) q
        q = []
        acc = 0
        for c in num[:-1]:
            acc += c
            q.append(acc)
        num = q
        order += 1
    return DimensionDegree(nvars - order, sum(num))


