"""The numerical ED route for implicit varieties of any codimension, from their equations alone.

``M = V(F)``, ``F = (f_1..f_m)`` typed by the user (``--equations``), no
parametrization. The numerical route of :mod:`.edd_numerical` needs

1. **points of M** and its **codimension** ``c``: :func:`pipeline.numeric.witness.witness_point`
   (Newton projection with a rank-revealing step onto ``M ∩ {a . x = 1}``; ``c``
   the numerical rank of ``dF`` there), **checked exactly**: a point of ``M``
   over ``GF(p)`` on ``n - c`` random affine hyperplanes (msolve's rational
   parametrization) where the rank of ``dF`` modulo ``p`` must also be ``c``
   (:mod:`pipeline.algebra.msolve_points`). A disagreement stops the count
   (no count, the reason given).
2. the ED system of a **generic complete intersection** ``V(G) ⊇ M``: ``G = A F``
   with ``A`` a random integer ``c x m`` matrix (:func:`.edd_numerical._critical_points`).
   ``M`` is a component of ``V(G)``; monodromy from a start pair on ``M`` stays
   on ``M``'s component of the ED correspondence, so the points found are
   ``M``'s critical points, and the trace test certifies that set complete as
   elsewhere (``completeness: trace-test``).
3. **which solutions lie on M, certified**: every solution's Krawczyk box for
   the square ``G``-system is an enclosure of a unique exact critical point
   ``xi`` of ``V(G)``; every generator ``f_i`` is evaluated over the box in ball
   arithmetic (:func:`on_variety`). When some ``f_i(box)`` excludes 0, ``xi`` is
   *proven* not on ``M`` and discarded; when every ``f_i(box)`` contains 0,
   ``xi`` is consistent with ``M`` to the box's width (``~1e-12``) -- the points
   counted. Points off ``M`` (from the other components of ``V(G)``) appear
   only if a path jumped; they are reported.

Example
-------
>>> from neurovar.pipeline.algebra.parser import parse_system
>>> ctx, F = parse_system("x*z - y^2; y*w - z^2; x*w - y*z", ["x", "y", "z", "w"])   # twisted cubic cone
>>> C = implicit_codimension(F, seed=0)
>>> C.codimension, C.exact_rank, C.agree
(2, 2, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import flint
import numpy as np

from ..algebra.field import MSOLVE_PRIMES


@dataclass
class Codimension:
    """The codimension of ``V(F)``: numerical (rank of ``dF`` at a complex point) and exact (mod ``p``)."""

    codimension: int  # numerical
    exact_rank: int | None  # rank of dF mod p at a GF(p)-point of V on n - c random hyperplanes
    prime: int
    gap: float

    @property
    def agree(self) -> bool:
        return self.exact_rank == self.codimension

    def describe(self) -> str:
        exact = ("no GF(p)-point found on the slices" if self.exact_rank is None
                 else f"exact rank of dF mod {self.prime} at a point of V over GF({self.prime}): {self.exact_rank}")
        return f"codimension {self.codimension} (numerical rank of dF, singular-value gap {self.gap:.0e}; {exact})"


def implicit_codimension(F, seed: int = 0, prime: int = MSOLVE_PRIMES[0]) -> Codimension:
    """Numerical codimension of ``V(F)`` (``F``: fmpq_mpolys of one context), with its exact check mod ``prime``."""
    from ..algebra.msolve_points import jacobian_rank_mod_p, point_mod_p
    from ..numeric.system import System
    from ..numeric.witness import witness_point

    names = list(F[0].context().names())
    rng = np.random.default_rng([seed, 27])
    W = witness_point(System.from_mpolys(list(F), names), rng)
    pt = point_mod_p(list(F), W.dimension, prime, rng)
    exact = None if pt is None else jacobian_rank_mod_p(list(F), pt, prime)
    return Codimension(W.codimension, exact, prime, W.gap)


class EquationSampler:
    """Random smooth points of ``V(F)`` (a top-dimensional component): :func:`~pipeline.numeric.witness.sample_point`."""

    def __init__(self, F, names, codimension: int):
        from ..numeric.system import System

        self.F = System.from_mpolys(list(F), names)
        self.codim = codimension

    def sample_point(self, rng):
        from ..numeric.witness import sample_point

        return sample_point(self.F, rng, self.codim)


@dataclass
class Membership:
    """Which certified solutions lie on ``V(F)`` (see the module docstring)."""

    on: np.ndarray  # every generator's ball value over the Krawczyk box contains 0
    off: np.ndarray  # some generator's ball value excludes 0: proven not on V(F)

    def describe(self) -> str:
        n_on, n_off = int(self.on.sum()), int(self.off.sum())
        return (f"on the variety: {n_on} of {len(self.on)} certified solutions satisfy every generator over their "
                f"Krawczyk box (ball values contain 0); {n_off} proven off it (a generator's value excludes 0)")


def on_variety(F, names, system, X, p) -> Membership:
    """Certify ``X`` (solutions ``(x, l)`` of ``system`` at ``p``) and test every generator of ``F`` over the boxes."""
    from ..numeric.certify import _BallProgram, certify
    from ..numeric.system import System

    n, N = len(names), system.n_variables
    C = certify(system, X, p)
    prog = _BallProgram(System.from_mpolys(list(F), names))
    on = np.zeros(len(X), dtype=bool)
    off = np.zeros(len(X), dtype=bool)
    for k in np.flatnonzero(C.certified):
        # the enclosure's ends (real parts of the N unknowns, then imaginary parts) were rounded to floats:
        # widened by a few units in the last place, the box holds the exact root
        pad = 1e-15 * np.maximum(np.abs(C.lo[k]), np.abs(C.hi[k])) + 1e-300
        lo, hi = C.lo[k] - pad, C.hi[k] + pad
        box = [flint.acb(flint.arb(lo[i]).union(flint.arb(hi[i])), flint.arb(lo[N + i]).union(flint.arb(hi[N + i])))
               for i in range(n)]
        vals = prog.values(box)
        zero = [v.real.contains(0) and v.imag.contains(0) for v in vals]
        on[k], off[k] = all(zero), not all(zero)
    return Membership(on, off)


__all__ = ["Codimension", "EquationSampler", "Membership", "implicit_codimension", "on_variety"]
