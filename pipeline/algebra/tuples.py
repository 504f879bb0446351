"""Tuples of polynomials to test for linear independence, one at a time or by tuple families.

(A :class:`TupleFamily` is a set of tuples to enumerate; the parameterised polynomial
systems with start pairs are :class:`pipeline.numeric.families.Family`.)

A *tuple* ``p_1; ...; p_k`` is typed by the user and parsed by the safe parser.
A *family* is a set of tuples named by a spelling, enumerated in batches and
split into shards (a grid cell is one shard):

``random:nvars=2,deg=2,coef=3,count=3,tuples=50[,homogeneous=1]``
    ``tuples`` random tuples of ``count`` polynomials in ``nvars`` variables of
    degree ``<= deg`` (``== deg`` if homogeneous) with integer coefficients
    uniform in ``[-coef, coef]``; tuple ``j`` is drawn from ``(seed, j)``, so the
    tuples do not depend on the sharding. ``k`` is a synonym of ``count``.
``binary_linear:k=3,coef=2``
    all ``k``-tuples of pairwise non-proportional binary linear forms
    ``a*x + b*y`` with integers ``a, b`` in ``[-coef, coef]``; the same as
    ``box:nvars=2,deg=1,homogeneous=1,k=K,coef=C``.
``box:nvars=2,deg=2,k=3,coef=1[,homogeneous=1]``
    every ``k``-tuple of polynomials with integer coefficients in
    ``[-coef, coef]`` on the monomials of degree ``<= deg`` (``== deg``).
``file:PATH``
    explicit tuples, one per line (``p1; p2; p3``); blank lines and lines
    starting with ``#`` are skipped.

Exhaustive families (``box``, ``binary_linear``) are enumerated up to the
symmetries of the question, so that no tuple is tested twice:

* permutations of the tuple (independence of a set does not depend on order);
* signed permutations of the variables ``x_i -> +-x_sigma(i)`` (an invertible
  linear substitution preserves linear independence and maps the box to itself);
* when ``scaling_invariant`` (monomial activations: ``(c p)^r = c^r p^r``),
  scalings of each polynomial: polynomials are taken primitive with a positive
  first coefficient, i.e. one representative per proportionality class, which
  also makes every tuple pairwise non-proportional. Otherwise (a general
  activation ``s``, where ``s(-p)`` and ``s(p)`` differ) every non-constant
  polynomial of the box is its own class.

A tuple is kept when it is the lexicographically smallest member of its orbit.
Shards take the raw ``k``-subsets round robin, so each orbit's representative is
tested by exactly one shard.

Example
-------
>>> from neurovar.pipeline.algebra.tuple_families import parse_family
>>> fam = parse_family("binary_linear:k=3,coef=1")
>>> fam.k, fam.pool_size(scaling_invariant=True)
(3, 4)
>>> sum(len(b.tuples) for b in fam.batches())   # {x, y, x+y, x-y}: 2 orbits of triples
2
>>> ctx, polys = parse_tuple("x^2 - y^2; 2*x*y; x^2 + y^2")
>>> [str(p) for p in polys]
['x^2 - y^2', '2*x*y', 'x^2 + y^2']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from .monomials import monomial_exponents
from .parser import PolynomialSyntaxError, parse_system

#: Largest number of raw k-subsets an exhaustive family may enumerate (per shard, all are visited).
MAX_SUBSETS = 50_000_000
#: Largest number of coefficient vectors in a box.
MAX_BOX_VECTORS = 2_000_000
#: Largest number of random tuples.
MAX_RANDOM_TUPLES = 10_000_000
MAX_NVARS = 4
CHUNK = 1 << 15

_FAMILY_KINDS = ("random", "binary_linear", "box", "file")
_SPELLINGS = (
    "random:nvars=2,deg=2,coef=3,count=3,tuples=50, binary_linear:k=3,coef=2, "
    "box:nvars=2,deg=2,k=3,coef=1[,homogeneous=1] or file:PATH"
)


def variable_names(nvars: int) -> tuple[str, ...]:
    """``x, y, z`` for up to three variables, else ``x1, ..., xn``."""
    return ("x", "y", "z")[:nvars] if nvars <= 3 else tuple(f"x{i + 1}" for i in range(nvars))


def _is_constant(p) -> bool:
    return p.is_zero() or p.total_degree() <= 0


def check_tuple(polys, scaling_invariant: bool = True, what: str = "polynomial") -> None:
    """Raise ``ValueError`` if the tuple is not admissible.

    With ``scaling_invariant`` (monomial activation) the polynomials must be
    non-zero and pairwise non-proportional (Prop. 16's hypothesis; proportional
    ``p, c p`` always have dependent powers). Otherwise they must be non-constant
    and pairwise distinct (the conjecture's hypothesis for a generic ``s``).
    """
    normal = []
    for i, p in enumerate(polys):
        if scaling_invariant:
            if p.is_zero():
                raise ValueError(f"{what} {i + 1} is zero: every polynomial must be non-zero")
            normal.append(p / p.leading_coefficient())
        else:
            if _is_constant(p):
                raise ValueError(
                    f"{what} {i + 1} ({p}) is constant: a general activation needs non-constant polynomials"
                )
            normal.append(p)
    for i in range(len(polys)):
        for j in range(i + 1, len(polys)):
            if normal[i] == normal[j]:
                if scaling_invariant:
                    raise ValueError(
                        f"{what}s {i + 1} ({polys[i]}) and {j + 1} ({polys[j]}) are proportional, so their "
                        "powers are always dependent; remove one (the inputs must be pairwise non-proportional)"
                    )
                raise ValueError(f"{what}s {i + 1} and {j + 1} are equal ({polys[i]}); remove one")


def parse_tuple(text: str, scaling_invariant: bool = True, variables=None):
    """Parse ``"p1; p2; ..."`` with the safe parser and check it (see :func:`check_tuple`).

    Returns ``(ctx, [p1, ..., pk])``; raises ``ValueError`` with the fix.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("give the polynomials separated by ';', e.g. 'x^2 - y^2; 2*x*y; x^2 + y^2'")
    try:
        ctx, polys = parse_system(text, variables)
    except PolynomialSyntaxError as e:
        msg = str(e).replace("equation ", "polynomial ")
        raise ValueError(f"{msg} (write polynomials such as 'x^2 - y^2; 2*x*y', separated by ';')") from None
    check_tuple(polys, scaling_invariant)
    return ctx, polys


def tuple_text(polys) -> str:
    """The tuple as parseable text ``p1; p2; ...``."""
    return "; ".join(str(p) for p in polys)


@dataclass
class TupleBatch:
    """Tuples ``pool[tuples[t, i]]``, i = 0..k-1, all in the ring ``ctx``."""

    ctx: object
    pool: list
    tuples: np.ndarray  # (T, k) indices into pool

    def polys(self, t: int) -> list:
        return [self.pool[i] for i in self.tuples[t]]

    def text(self, t: int) -> str:
        return tuple_text(self.polys(t))


# ---------------------------------------------------------------------------
# spelling
# ---------------------------------------------------------------------------

_OPTION = re.compile(r"^\s*([a-z_]+)\s*=\s*(-?\d+|true|false)\s*$", re.IGNORECASE)


# ---------------------------------------------------------------------------
# families
# ---------------------------------------------------------------------------


@dataclass
class TupleFamily:
    text: str
    k: int = field(init=False, default=0)

    def validate(self, scaling_invariant: bool) -> None:
        """Check that the family can be enumerated for this kind of activation."""

    def batches(self, shard: int = 0, num_shards: int = 1, scaling_invariant: bool = True, seed: int = 0) -> Iterator[TupleBatch]:
        raise NotImplementedError


__all__ = [
    "TupleFamily",
    "MAX_BOX_VECTORS",
    "MAX_RANDOM_TUPLES",
    "MAX_SUBSETS",
    "TupleBatch",
    "check_tuple",
    "parse_tuple",
    "tuple_text",
    "variable_names",
    "monomial_exponents",
]
