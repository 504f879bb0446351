"""Activation functions: monomials ``x^r``, explicit polynomials, and ``generic:r``.

An :class:`Activation` is a univariate polynomial ``s(x) = c0 + c1 x + ... + cr x^r``
with exact rational coefficients, usable in any :class:`~pipeline.algebra.field.Field`.

Spellings
---------
``x^r``
    the monomial activation (``x`` alone is ``x^1``, the linear network).
``generic:r``
    a polynomial of degree ``r`` with random non-zero integer coefficients in
    ``[-1000, 1000]``, drawn from the cell's seed (generic with high probability).
any polynomial in ``x``
    e.g. ``x^3 + 2*x``, parsed by the safe parser.

Example
-------
>>> a = Activation.parse("x^3 + 2*x")
>>> a.degree, a.is_monomial, [int(c) for c in a.coeffs]
(3, False, [0, 2, 0, 1])
>>> Activation.parse("x^4").is_monomial
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache

import numpy as np

from ..algebra.parser import PolynomialSyntaxError, univariate_coefficients

_MONOMIAL = re.compile(r"^\s*x\s*(?:\^\s*(\d+))?\s*$")
_GENERIC = re.compile(r"^\s*generic\s*:\s*(\d+)\s*$")


@lru_cache(maxsize=4096)
def _polynomial(text: str) -> tuple[tuple[Fraction, ...], str]:
    """Coefficients and spelling of an activation written as a polynomial in x (parsed once per
    spelling: a grid validates and builds the same few activations for thousands of cells)."""
    try:
        coeffs = univariate_coefficients(text, "x")
    except PolynomialSyntaxError as e:
        raise ValueError(f"{e} (activations are x^r, generic:r or a polynomial in x)") from None
    if len(coeffs) < 2:
        raise ValueError(f"{text!r} is constant: an activation needs degree >= 1")
    return tuple(coeffs), text.strip()


@dataclass(frozen=True)
class Activation:
    coeffs: tuple[Fraction, ...]  # c0, c1, ..., cr with cr != 0
    text: str

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> "Activation":
        """Parse an activation spelling; raises ``ValueError`` with the fix."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("must be x^r, generic:r or a polynomial in x such as x^3+2*x")
        m = _MONOMIAL.match(text)
        if m:
            r = int(m.group(1) or 1)
            if r < 1:
                raise ValueError("x^0 is constant: the degree r must be at least 1")
            return cls(tuple([Fraction(0)] * r + [Fraction(1)]), f"x^{r}")
        m = _GENERIC.match(text)
        if m:
            r = int(m.group(1))
            if r < 1:
                raise ValueError("generic:r needs r >= 1")
            rng = np.random.default_rng([seed, r, 0x5EED])
            mags = rng.integers(1, 1001, size=r + 1)
            signs = rng.choice([-1, 1], size=r + 1)
            return cls(tuple(Fraction(int(s * v)) for s, v in zip(signs, mags)), f"generic:{r}")
        return cls(*_polynomial(text))

    @property
    def degree(self) -> int:
        return len(self.coeffs) - 1

    @cached_property
    def is_monomial(self) -> bool:
        """True for ``c * x^r`` (the scalings ``t^r`` are then symmetries)."""
        return sum(1 for c in self.coeffs if c != 0) == 1

    @property
    def is_linear(self) -> bool:
        return self.is_monomial and self.degree == 1

    def derivative_coeffs(self) -> tuple[Fraction, ...]:
        return tuple(i * c for i, c in enumerate(self.coeffs))[1:] or (Fraction(0),)

    def __call__(self, F, z):
        """``s(z)`` entrywise in the field ``F``."""
        if self.is_monomial:
            return F.mul(F.const(self.coeffs[-1]), F.pow(z, self.degree)) if self.coeffs[-1] != 1 else F.pow(z, self.degree)
        return F.polyval([F.const(c) for c in self.coeffs], z)

    def derivative(self, F, z):
        """``s'(z)`` entrywise in the field ``F``."""
        d = self.derivative_coeffs()
        if self.is_monomial:
            r = self.degree
            return F.mul(F.const(d[-1]), F.pow(z, r - 1))
        return F.polyval([F.const(c) for c in d], z)
