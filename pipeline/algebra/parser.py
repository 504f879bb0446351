"""A small, safe parser for polynomials typed by users.

The grammar accepts numbers (integers and decimals such as ``2.5``, read as
exact rationals), variable names, ``+ - * ^``, and parentheses; nothing else.
User text is never passed to ``eval`` or ``sympify``. Products are expanded by
python-flint's ``fmpq_mpoly``, so the result is an exact polynomial over Q.

Grammar (precedence from low to high)::

    expr   := term (("+" | "-") term)*
    term   := unary ("*" unary)*
    unary  := ("+" | "-") unary | power
    power  := atom ("^" INTEGER)?
    atom   := NUMBER | NAME | "(" expr ")"

Example
-------
>>> p = parse_polynomial("(x - y)^2 + 2*x*y", variables=["x", "y"])
>>> str(p)
'x^2 + y^2'
>>> parse_polynomial("x**2")
Traceback (most recent call last):
...
neurovar.pipeline.algebra.parser.PolynomialSyntaxError: '*' at position 1 is not followed by a factor: write powers as x^2, not x**2
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Sequence

import flint

MAX_EXPONENT = 1000
MAX_LENGTH = 100_000

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+\.\d*|\.\d+|\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*^()]))")
_ALLOWED = "numbers, variables and + - * ^ ( )"


class PolynomialSyntaxError(ValueError):
    """The text is not a polynomial in the accepted grammar."""


@dataclass(frozen=True)
class _Tok:
    kind: str  # "num", "name", "op", "end"
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    if len(text) > MAX_LENGTH:
        raise PolynomialSyntaxError(f"polynomial text is longer than {MAX_LENGTH} characters")
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise PolynomialSyntaxError(
                f"unexpected character {text[pos]!r} at position {pos}: only {_ALLOWED} are allowed"
            )
        kind = m.lastgroup
        toks.append(_Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    toks.append(_Tok("end", "", len(text)))
    return toks


def polynomial_variables(text: str) -> list[str]:
    """Variable names in order of first appearance."""
    seen: dict[str, None] = {}
    for t in _tokenize(text):
        if t.kind == "name":
            seen.setdefault(t.text, None)
    return list(seen)


def polynomial_context(variables: Sequence[str]) -> flint.fmpq_mpoly_ctx:
    """The flint context of polynomials over Q in ``variables`` (degrevlex)."""
    if not variables:
        variables = ("_",)
    return flint.fmpq_mpoly_ctx.get(tuple(variables), "degrevlex")


class _Parser:
    def __init__(self, toks: list[_Tok], ctx, names: dict[str, int]):
        self.toks = toks
        self.i = 0
        self.ctx = ctx
        self.gens = ctx.gens()
        self.names = names

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def parse(self):
        if self.tok.kind == "end":
            raise PolynomialSyntaxError("empty polynomial: write e.g. x^2 + 1")
        value = self.expr()
        if self.tok.kind != "end":
            t = self.tok
            raise PolynomialSyntaxError(
                f"unexpected {t.text!r} at position {t.pos}: expected an operator (+ - * ^) or the end"
                + ("; write products with '*', e.g. 2*x" if t.kind in ("name", "num") or t.text == "(" else "")
            )
        return value

    def expr(self):
        value = self.term()
        while self.tok.kind == "op" and self.tok.text in "+-":
            op = self.take().text
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self):
        value = self.unary()
        while self.tok.kind == "op" and self.tok.text == "*":
            star = self.take()
            if self.tok.kind == "op" and self.tok.text == "*":
                raise PolynomialSyntaxError(
                    f"'*' at position {star.pos} is not followed by a factor: write powers as x^2, not x**2"
                )
            value = value * self.unary()
        return value

    def unary(self):
        if self.tok.kind == "op" and self.tok.text in "+-":
            op = self.take().text
            v = self.unary()
            return -v if op == "-" else v
        return self.power()

    def power(self):
        base = self.atom()
        if self.tok.kind == "op" and self.tok.text == "^":
            caret = self.take()
            t = self.take()
            if t.kind != "num" or not t.text.isdigit():
                raise PolynomialSyntaxError(
                    f"exponent after '^' at position {caret.pos} must be a non-negative integer, got {t.text or 'nothing'!r}"
                )
            e = int(t.text)
            if e > MAX_EXPONENT:
                raise PolynomialSyntaxError(f"exponent {e} at position {t.pos} exceeds the limit {MAX_EXPONENT}")
            if self.tok.kind == "op" and self.tok.text == "^":
                raise PolynomialSyntaxError(f"ambiguous '^' at position {self.tok.pos}: use parentheses, e.g. (x^2)^3")
            base = base**e
        return base

    def atom(self):
        t = self.take()
        if t.kind == "num":
            q = Fraction(t.text)
            return self.ctx.constant(flint.fmpq(q.numerator, q.denominator))
        if t.kind == "name":
            if t.text not in self.names:
                allowed = ", ".join(self.names) if self.names else "none"
                raise PolynomialSyntaxError(f"unknown variable {t.text!r} at position {t.pos} (allowed: {allowed})")
            return self.gens[self.names[t.text]]
        if t.kind == "op" and t.text == "(":
            value = self.expr()
            close = self.take()
            if close.text != ")":
                raise PolynomialSyntaxError(f"missing ')' for the '(' at position {t.pos}")
            return value
        if t.kind == "end":
            raise PolynomialSyntaxError("polynomial ends where a number, variable or '(' was expected")
        raise PolynomialSyntaxError(
            f"unexpected {t.text!r} at position {t.pos}: expected a number, a variable or '('"
        )


def parse_polynomial(text: str, variables: Sequence[str] | None = None, ctx=None):
    """Parse ``text`` into an exact ``flint.fmpq_mpoly``.

    Parameters
    ----------
    text : str
        The polynomial, e.g. ``"x^3 + 2*x"``.
    variables : sequence of str, optional
        Allowed variable names, in the order of the polynomial ring's generators.
        Default: the names in ``text`` in order of appearance.
    ctx : flint.fmpq_mpoly_ctx, optional
        Use this context (its names are the allowed variables).

    Raises
    ------
    PolynomialSyntaxError
        For anything but numbers, variables and ``+ - * ^ ( )``.
    """
    if not isinstance(text, str):
        raise PolynomialSyntaxError(f"expected a polynomial as text, got {type(text).__name__}")
    toks = _tokenize(text)
    if ctx is None:
        if variables is None:
            variables = [t.text for t in toks if t.kind == "name"]
            variables = list(dict.fromkeys(variables))
        ctx = polynomial_context(variables)
    names = {n: i for i, n in enumerate(ctx.names()) if n != "_"}
    return _Parser(toks, ctx, names).parse()


def parse_system(text: str | Iterable[str], variables: Sequence[str] | None = None):
    """Parse ``"f1; f2; ..."`` (or a list of strings) into polynomials over one context.

    Returns ``(ctx, [f1, f2, ...])``.
    """
    parts = [s.strip() for s in (text.split(";") if isinstance(text, str) else text)]
    parts = [s for s in parts if s]
    if not parts:
        raise PolynomialSyntaxError("no equations given: separate polynomials with ';'")
    if variables is None:
        seen: dict[str, None] = {}
        for s in parts:
            for v in polynomial_variables(s):
                seen.setdefault(v, None)
        variables = list(seen)
    ctx = polynomial_context(variables)
    polys = []
    for k, s in enumerate(parts):
        try:
            polys.append(parse_polynomial(s, ctx=ctx))
        except PolynomialSyntaxError as e:
            raise PolynomialSyntaxError(f"equation {k + 1}: {e}") from None
    return ctx, polys


def univariate_coefficients(text: str, variable: str = "x") -> list[Fraction]:
    """Coefficients ``[c0, c1, ..., cr]`` of a univariate polynomial in ``variable``."""
    p = parse_polynomial(text, variables=[variable])
    coeffs: dict[int, Fraction] = {}
    for exps, c in p.to_dict().items():
        coeffs[exps[0]] = Fraction(int(c.p), int(c.q))
    deg = max(coeffs, default=0)
    return [coeffs.get(i, Fraction(0)) for i in range(deg + 1)]
