"""Every real critical point of the two-neuron loss, exactly: the certificate of the ``bias`` computation.

For ``f(x) = a_1 s(w_1 x) + a_2 s(w_2 x)`` the output weights are projected out:
``l(w_1, w_2) = min_a ||A G a - t||^2`` with ``G = [g(w_1) g(w_2)]`` (``g(w)`` the
coefficient vector ``c_k w^k`` of ``s(w x)``, ``A`` the monomials at the data
inputs, ``Q = A^T A``; ``A = I`` without data). As a quotient of Gram determinants

    l = Gram(A g_1, A g_2, t) / Gram(A g_1, A g_2) = Nu / De,

both sums of squares of minors of ``[A g(w_1)  A g(w_2)  t]`` (Cauchy--Binet).
Every minor is antisymmetric in ``(w_1, w_2)``, so both are divisible by
``(w_1 - w_2)^2``; after the division (and that of their greatest common
divisor: for even ``s`` the columns also agree on ``w_1 = -w_2``) ``l`` is
defined on the diagonal too, where it is the loss of the confluent limit
``b s(w x) + c x s'(w x)`` (two neurons merging with weights ``+-infinity``).
In ``u = 1/w`` the columns are ``u^r g(1/u)`` (same span), so ``l`` is a
continuous function on the torus ``(R u infinity)^2`` -- the closure of the
real image -- wherever ``De > 0``, and its minimum is the infimum of the loss
over the real image. ``De`` does not depend on the labels; without data (or with
an injective ``A``, ``dataset_size > deg s``) its ``(0, 1)`` minor is
``-c_0 c_1``, so ``De > 0`` on all of ``R^2`` when ``c_0 c_1 != 0``.

The global minimum is therefore the least value of

1. ``l`` at the real solutions of ``De d_i Nu - Nu d_i De = 0`` (``i = 1, 2``):
   every real critical point with ``w_1, w_2`` finite, off the diagonal and on
   it, isolated *and complete* by msolve's exact real root isolation over ``Q``
   (the data rounded to rationals);
2. ``l(w, infinity)``: the real roots of one univariate polynomial, the same
   way (a minimum at ``w_2 = infinity`` is a minimum of this restriction);
3. ``l(infinity, infinity)``.

Only when msolve reports a positive-dimensional solution set (a curve of zero
loss, ``dataset_size = 3``) or fails is the sample left uncertified -- unless a
sign change of the single ``3 x 3`` minor between two rational points proves
that the loss vanishes somewhere (a certified zero loss).

Example
-------
>>> from fractions import Fraction
>>> X = exact_two_neuron([Fraction(1), Fraction(1), Fraction(1), Fraction(1)], None,
...                      [Fraction(1), Fraction(2), Fraction(0), Fraction(1)])
>>> X.certified, X.kind
(True, 'finite')
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction

import flint
import numpy as np

#: msolve seconds per sample before the sample is left uncertified
TIMEOUT = 60.0


@dataclass
class ExactMinimum:
    """The certified global minimum of ``l`` (``certified`` false: nothing is claimed)."""

    certified: bool
    kind: str  # finite, zero-loss, positive-dimensional, failed
    loss: float | None = None
    w: tuple | None = None  # (w1, w2) floats, +-inf at infinity
    where: str | None = None  # interior, diagonal, infinity
    real_critical_points: int | None = None


def _q(x: Fraction):
    return flint.fmpq(x.numerator, x.denominator)


def _metric(c, inputs, t):
    """``(Q, b, tt)``: the Gram matrix of the monomials at the data (``Q = A^T A``, or ``I``), ``A^T t`` and ``t.t``."""
    r = len(c) - 1
    if inputs is None:
        Q = [[flint.fmpq(int(i == j)) for j in range(r + 1)] for i in range(r + 1)]
        b = list(t)
    else:
        A = [[x**k for k in range(r + 1)] for x in inputs]
        Q = [[sum((row[i] * row[j] for row in A), flint.fmpq(0)) for j in range(r + 1)] for i in range(r + 1)]
        b = [sum((row[i] * tj for row, tj in zip(A, t)), flint.fmpq(0)) for i in range(r + 1)]
    return Q, b, sum((v * v for v in t), flint.fmpq(0))


def _column(c, z, inverted: bool):
    """The coefficient vector of ``s(z x)`` (or of ``u^r s(x / u)`` at ``u = z``)."""
    r = len(c) - 1
    return [c[k] * z ** (r - k if inverted else k) for k in range(r + 1)]


def _gram(u, v, Q):
    return sum((u[i] * Q[i][j] * v[j] for i in range(len(u)) for j in range(len(v)) if Q[i][j] != 0), 0 * u[0])


def _wedges(g1, g2, metric, div):
    """``(Nu, De)``: the Gram determinants of ``(A g1, A g2, t)`` and ``(A g1, A g2)``, divided by ``div^2``
    and by their common factor (the same rational function ``l = Nu / De``)."""
    Q, b, tt = metric
    P11, P12, P22 = _gram(g1, g1, Q), _gram(g1, g2, Q), _gram(g2, g2, Q)
    b1 = sum((g1[i] * b[i] for i in range(len(b))), 0 * g1[0])
    b2 = sum((g2[i] * b[i] for i in range(len(b))), 0 * g1[0])
    De = P11 * P22 - P12 * P12
    Nu = De * tt - (P22 * b1 * b1 - 2 * P12 * b1 * b2 + P11 * b2 * b2)
    for _ in range(2 if div is not None else 0):
        for name in ("De", "Nu"):
            q, rem = divmod(De if name == "De" else Nu, div)
            if rem != 0:
                raise ArithmeticError("a Gram determinant is not divisible by the diagonal")
            if name == "De":
                De = q
            else:
                Nu = q
    g = Nu.gcd(De)
    if g.total_degree() > 0:
        Nu, De = divmod(Nu, g)[0], divmod(De, g)[0]
    return Nu, De


def _value(Nu, De, point) -> float:
    num = float(Nu(*[flint.fmpq(v.numerator, v.denominator) for v in point]))
    den = float(De(*[flint.fmpq(v.numerator, v.denominator) for v in point]))
    return num / den if den > 0 else float("inf")


def _mid(iv) -> Fraction:
    lo, hi = iv
    return (Fraction(lo) + Fraction(hi)) / 2


def exact_two_neuron(coeffs, inputs, t, timeout: float = TIMEOUT) -> ExactMinimum:
    """The certified global minimum of the two-neuron variable-projection loss (see the module docstring).

    Parameters
    ----------
    coeffs : list of Fraction
        The activation ``s(z) = sum c_k z^k``.
    inputs : list of Fraction or None
        The data inputs (None: coefficient space, ``Q = I``).
    t : list of Fraction
        Labels (or target coefficients).
    """
    from ..algebra.msolve import MsolveError, solve

    c = [_q(x) for x in coeffs]
    xs = None if inputs is None else [_q(x) for x in inputs]
    tq = [_q(x) for x in t]
    metric = _metric(c, xs, tq)
    ctx = flint.fmpq_mpoly_ctx.get(("w1_", "w2_"), "degrevlex")
    W1, W2 = ctx.gens()
    Nu, De = _wedges(_column(c, W1, False), _column(c, W2, False), metric, W1 - W2)
    if De == 0:  # one datum: two columns are never independent, the one-neuron problem decides
        return ExactMinimum(False, "rank-one")
    if Nu == 0:  # (at most two data) the columns span the data wherever De != 0: zero loss
        return ExactMinimum(True, "zero-loss", 0.0, None, "interior", None)
    if Nu.total_degree() <= 0 and De.total_degree() <= 0:  # l is constant: every point is a minimiser
        p = (Fraction(1, 3), Fraction(-5, 7))
        return ExactMinimum(True, "finite", _value(Nu, De, p), tuple(map(float, p)), "interior", None)
    cands: list[tuple[float, tuple, str]] = []
    try:
        R = solve([De * Nu.derivative(0) - Nu * De.derivative(0), De * Nu.derivative(1) - Nu * De.derivative(1)],
                  ["w1_", "w2_"], real=True, timeout=timeout)
    except MsolveError:
        return ExactMinimum(False, "failed")
    if R.kind == "positive_dimensional":
        return _zero_loss_by_sign_change(Nu, De, len(tq))
    n_real = 0
    for sol in R.real_solutions or []:
        p = (_mid(sol[0]), _mid(sol[1]))
        n_real += 1
        diag = abs(float(p[0] - p[1])) <= 1e-9 * (1 + abs(float(p[0])))
        cands.append((_value(Nu, De, p), (float(p[0]), float(p[1])), "diagonal" if diag else "interior"))
    # w2 = infinity: the column u^r g(1/u) at u = 0
    ctx1 = flint.fmpq_mpoly_ctx.get(("w1_",), "degrevlex")
    (V,) = ctx1.gens()
    ginf = [x + 0 * V for x in _column(c, 0 * V, True)]
    Nu1, De1 = _wedges(_column(c, V, False), ginf, metric, None)
    try:
        R1 = solve([De1 * Nu1.derivative(0) - Nu1 * De1.derivative(0)], ["w1_"], real=True, timeout=timeout)
    except MsolveError:
        return ExactMinimum(False, "failed")
    if R1.kind == "positive_dimensional":
        return ExactMinimum(False, "positive-dimensional")
    for sol in R1.real_solutions or []:
        p = (_mid(sol[0]),)
        n_real += 1
        cands.append((_value(Nu1, De1, p), (float(p[0]), float("inf")), "infinity"))
    # both at infinity: the limit of span{u^r g(1/u)} at u = 0, spanned by e_r and the next monomial in s
    r = len(c) - 1
    k = max((j for j in range(r) if c[j] != 0), default=None)
    if k is not None:
        ctx2 = flint.fmpq_mpoly_ctx.get(("z_",), "degrevlex")
        (Z,) = ctx2.gens()
        e = [(flint.fmpq(1) if j == r else flint.fmpq(0)) + 0 * Z for j in range(r + 1)]
        f = [(flint.fmpq(1) if j == k else flint.fmpq(0)) + 0 * Z for j in range(r + 1)]
        Nu2, De2 = _wedges(e, f, metric, None)
        cands.append((_value(Nu2, De2, (Fraction(0),)), (float("inf"), float("inf")), "infinity"))
    loss, w, where = min(cands, key=lambda z: z[0])
    return ExactMinimum(True, "finite", loss, w, where, n_real)


def _univariate(f, a: Fraction) -> list[Fraction]:
    """Coefficients (low to high) of ``f(a, w2)``."""
    out: dict[int, Fraction] = {}
    for (i, j), v in f.to_dict().items():
        j = int(j)
        out[j] = out.get(j, Fraction(0)) + Fraction(int(v.p), int(v.q)) * a ** int(i)
    return [out.get(j, Fraction(0)) for j in range(max(out, default=0) + 1)]


def _ev(p: list[Fraction], x: Fraction) -> Fraction:
    v = Fraction(0)
    for cf in reversed(p):
        v = v * x + cf
    return v


def _zero_loss_by_sign_change(Nu, De, N: int) -> ExactMinimum:
    """A positive-dimensional critical set: prove zero loss exactly or leave the sample uncertified.

    ``Nu`` is a Gram determinant; when it is a square ``T^2`` (three data), a sign change of
    ``T(a, .)`` on ``[lo, hi]`` (rational ``a``, ``lo``, ``hi``, narrowed by bisection) gives a real
    zero of ``l = T^2 / De`` there, provided ``De(a, .) > 0`` on ``[lo, hi]``: checked by
    ``De(a, lo) > (hi - lo) * sum_k k |d_k| M^(k-1)`` with ``M = max(|lo|, |hi|)`` (a bound on ``|De'|``).
    """
    try:
        T = Nu.sqrt()
    except Exception:  # noqa: BLE001 - not a square: nothing is claimed
        return ExactMinimum(False, "positive-dimensional")
    for a in (Fraction(1, 3), Fraction(-2, 7), Fraction(5, 4)):
        Ta, Da = _univariate(T, a), _univariate(De, a)
        grid = [Fraction(k, 4) for k in range(-16, 17)]
        for lo, hi in zip(grid, grid[1:]):
            if _ev(Ta, lo) * _ev(Ta, hi) >= 0:
                continue
            for _ in range(40):
                mid = (lo + hi) / 2
                if _ev(Ta, mid) == 0:
                    lo = hi = mid
                    break
                if _ev(Ta, lo) * _ev(Ta, mid) < 0:
                    hi = mid
                else:
                    lo = mid
            M = max(abs(lo), abs(hi), Fraction(1))
            slope = sum((k * abs(d) * M ** (k - 1) for k, d in enumerate(Da) if k), Fraction(0))
            if _ev(Da, lo) > (hi - lo) * slope:
                return ExactMinimum(True, "zero-loss", 0.0, (float(a), float(lo)), "interior", None)
    return ExactMinimum(False, "positive-dimensional")
