"""Exact linear relations among polynomials: expansion of activated polynomials, rank and rational kernel over Q.

Example
-------
>>> import flint
>>> ctx = flint.fmpq_mpoly_ctx.get(("x", "y"), "lex")
>>> x, y = ctx.gens()
>>> exact_rank([(x - y)**2, 2*x*y, (x + y)**2])   # (x+y)^2 - (x-y)^2 = 2 (2xy)
2
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

import flint

def _fmpq(c: Fraction) -> flint.fmpq:
    return flint.fmpq(c.numerator, c.denominator)


def activate(coeffs: Sequence[Fraction], p):
    """``s(p) = c_0 + c_1 p + ... + c_r p^r`` expanded exactly (Horner on ``fmpq_mpoly``).

    >>> from neurovar.pipeline.algebra.parser import parse_polynomial
    >>> str(activate([Fraction(1), Fraction(0), Fraction(2)], parse_polynomial("x + y")))
    '2*x^2 + 4*x*y + 2*y^2 + 1'
    """
    ctx = p.context()
    if sum(1 for c in coeffs if c != 0) == 1:
        return p ** (len(coeffs) - 1) * _fmpq(coeffs[-1])
    acc = ctx.constant(_fmpq(coeffs[-1]))
    for c in reversed(coeffs[:-1]):
        acc = acc * p
        if c != 0:
            acc = acc + _fmpq(c)
    return acc


def primitive_integer_vector(v: Sequence) -> list[Fraction]:
    """``v`` (integers or fractions) scaled to coprime integers with a positive first non-zero entry."""
    v = [Fraction(x) for x in v]
    den = math.lcm(*(x.denominator for x in v))
    ints = [int(x * den) for x in v]
    g = math.gcd(*ints) or 1
    first = next((x for x in ints if x), 1)
    sign = 1 if first > 0 else -1
    return [Fraction(sign * x // g) for x in ints]


def coefficient_matrix(fs: Sequence) -> tuple[flint.fmpz_mat, list[int]]:
    """The ``(#monomials) x k`` integer matrix of ``d_i f_i`` and the column scalings ``d_i``.

    Column ``i`` holds the coefficients of ``f_i`` times the lcm ``d_i`` of their
    denominators, so the kernel of the rational matrix is ``{(d_i x_i)}`` for
    ``x`` in the kernel of this one, and the ranks agree.
    """
    k = len(fs)
    dicts = [f.to_dict() for f in fs]
    monos: dict[tuple, int] = {}
    for d in dicts:
        for e in d:
            monos.setdefault(e, len(monos))
    entries = [0] * (max(len(monos), 1) * k)
    dens = []
    for i, d in enumerate(dicts):
        den = math.lcm(*(int(c.q) for c in d.values())) if d else 1
        dens.append(den)
        for e, c in d.items():
            entries[monos[e] * k + i] = int(c.p) * (den // int(c.q))
    return flint.fmpz_mat(max(len(monos), 1), k, entries), dens


def exact_rank(fs: Sequence) -> int:
    """Rank of ``f_1, ..., f_k`` over ``Q`` (exact integer matrix rank)."""
    return coefficient_matrix(fs)[0].rank()


def rational_kernel(fs: Sequence) -> tuple[int, list[list[Fraction]]]:
    """Exact rank of ``f_1, ..., f_k`` over ``Q`` and a basis of ``{c : sum c_i f_i = 0}``.

    Every basis vector is verified by exact expansion; the vectors are
    primitive integer vectors (coprime, first non-zero entry positive).

    >>> from neurovar.pipeline.algebra.parser import parse_system
    >>> _, fs = parse_system("x^2; y^2; x^2 + y^2")
    >>> rational_kernel(fs)
    (2, [[Fraction(1, 1), Fraction(1, 1), Fraction(-1, 1)]])
    """
    k = len(fs)
    A, dens = coefficient_matrix(fs)
    X, nullity = A.nullspace()
    basis = []
    if nullity:
        # the reduced row echelon form of the kernel is canonical (independent of the method)
        K = flint.fmpq_mat(nullity, k, [int(X[i, col]) * dens[i] for col in range(nullity) for i in range(k)])
        R, _ = K.rref()
        for row in range(nullity):
            v = primitive_integer_vector([Fraction(int(R[row, i].p), int(R[row, i].q)) for i in range(k)])
            if not is_relation(v, fs):
                raise ArithmeticError("a kernel vector failed the exact check sum c_i f_i == 0")
            basis.append(v)
    return k - nullity, basis


def is_relation(c: Sequence[Fraction], fs: Sequence) -> bool:
    """``sum c_i f_i == 0``, checked by exact expansion."""
    acc = fs[0].context().constant(0)
    for ci, f in zip(c, fs):
        if ci != 0:
            acc = acc + f * _fmpq(ci)
    return acc.is_zero()


def certificate_text(v: Sequence[Fraction] | None) -> list[str] | None:
    """A kernel vector as JSON-friendly rational strings (``"3"``, ``"-1/2"``)."""
    return None if v is None else [str(x) for x in v]
