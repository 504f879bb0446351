"""The exact parametric route of ``edd``: critical points in parameter space, counted by image."""

from __future__ import annotations

import time
from fractions import Fraction

import flint
import numpy as np

from ..algebra import msolve
from ..algebra.edd_system import RANDOM_COEFF, _det
from ..algebra.field import MSOLVE_PRIMES
from ..algebra.weights import kernel_basis
from ..errors import SpecError

def _image_count(polys, names, ys_lifted, rng, prime, timeout) -> int:
    """Distinct values of ``c(theta)`` on the finite set ``V(polys)``: adjoin ``z = l(c)``, eliminate the rest."""
    ctx = flint.fmpq_mpoly_ctx.get(tuple(names) + ("z_",), "degrevlex")
    g = ctx.gens()
    lift = [f.compose(*g[: len(names)], ctx=ctx) for f in polys]
    ell = sum((int(c) * y.compose(*g[: len(names)], ctx=ctx) for c, y in
               zip(rng.integers(-RANDOM_COEFF, RANDOM_COEFF + 1, size=len(ys_lifted)), ys_lifted)), ctx.constant(0))
    gb = msolve.groebner_basis(lift + [g[-1] - ell], list(names) + ["z_"], characteristic=prime,
                               eliminate=len(names), timeout=timeout)
    uni = [f for f in gb if all(not any(e[:-1]) for e in f)]
    if len(uni) != 1:
        raise msolve.MsolveError("the elimination ideal in z is not principal: the critical set is not finite")
    coeffs = [0] * (max(e[-1] for e in uni[0]) + 1)
    for e, c in uni[0].items():
        coeffs[e[-1]] = c
    f = flint.nmod_poly(coeffs, prime)
    return f.degree() - f.gcd(f.derivative()).degree()  # distinct roots: the degree of the square-free part


def parametric_critical_points(pnames, ys, Q, u, seed=0, prime=MSOLVE_PRIMES[0], timeout=None) -> dict:
    """Critical points in parameter space, counted by their images ``c(theta)``.

    Unknowns ``theta`` (gauge-fixed), ``s``, ``t``; equations
    ``J^T Q (y(theta) - u) = 0``, ``s det(C^T J) = 1`` (``J`` of full rank),
    ``t (w . Q (y - u)) = 1`` (positive loss). Zero loss: ``Q (y - u) = 0``.
    A finite part is counted by image (:func:`_image_count`). The generic fiber
    size, the number of solutions of ``y(theta) = y(theta_0)`` with ``J`` of full
    rank at a random ``theta_0``, is reported with the number of distinct
    critical parameters (``parameter_points``); their ratio is the image count
    when the critical points have generic fibers.
    """
    P, n = len(pnames), len(ys)
    rng = np.random.default_rng([seed, 5151])
    names = pnames + ["s", "t"]
    ctx = flint.fmpq_mpoly_ctx.get(tuple(names), "degrevlex")
    gens = ctx.gens()
    th, s, t = gens[:P], gens[P], gens[P + 1]
    Y = [y.compose(*th, ctx=ctx) for y in ys]
    J = [[Y[i].derivative(k) for k in range(P)] for i in range(n)]  # n x P
    C = rng.integers(-RANDOM_COEFF, RANDOM_COEFF + 1, size=(n, P))
    w = rng.integers(-RANDOM_COEFF, RANDOM_COEFF + 1, size=n)
    theta0 = rng.integers(-50, 51, size=P)
    y0 = [_eval(y, theta0) for y in ys]
    point = [flint.fmpq(int(v)) for v in theta0]
    # the rank at a random point first: the symbolic determinant below takes minutes on 8 parameters
    J0 = flint.fmpq_mat(n, P, [y.derivative(b)(*point) if P else 0 for y in ys for b in range(P)])
    if J0.rank() < P:
        raise SpecError("method", f"the gauge-fixed parametrization has rank {J0.rank()} < {P} parameters "
                        "(positive-dimensional fibers: more parameters than the dimension of the neurovariety); "
                        "use implicit equations (method exact or exact-implicit) or a smaller network")
    CJ = [[sum((int(C[i, a]) * J[i][b] for i in range(n)), ctx.constant(0)) for b in range(P)] for a in range(P)]
    rank_ok = s * _det(CJ) - 1
    q = lambda v: flint.fmpq(Fraction(v).numerator, Fraction(v).denominator)  # noqa: E731
    res = [sum((q(Q[i][k]) * (Y[k] - q(u[k])) for k in range(n)), ctx.constant(0)) for i in range(n)]
    grad = [sum((J[i][b] * res[i] for i in range(n)), ctx.constant(0)) for b in range(P)]
    positive = grad + [rank_ok, t * sum((int(w[i]) * res[i] for i in range(n)), ctx.constant(0)) - 1]
    fiber_sys = [Y[i] - q(y0[i]) for i in range(n)] + [rank_ok, t]
    t0 = time.perf_counter()
    fib = msolve.solve(fiber_sys, names, characteristic=prime, timeout=timeout)
    if fib.kind != "finite":
        raise SpecError("method", "the gauge-fixed parametrization has no point where its Jacobian has full rank "
                        "(positive-dimensional fibers: more parameters than the dimension of the neurovariety); "
                        "use implicit equations (method exact-implicit) or a smaller network")
    if P >= n:
        raise SpecError("model", f"the network fills its {n}-dimensional coefficient space (dim M = {P}): "
                        "the ED degree is 1 (the data point itself); give a narrower network")
    pos = msolve.solve(positive, names, characteristic=prime, timeout=timeout)
    pos_images = _image_count(positive, names, Y, rng, prime, timeout) if pos.kind == "finite" else None
    k = len(kernel_basis(Q))
    zero_count = zero_images = 0
    zero_kind = "empty"
    if k:
        rows = _independent_rows(Q)
        zero = [res[i] for i in rows] + [rank_ok, t]
        z = msolve.solve(zero, names, characteristic=prime, timeout=timeout)
        zero_kind = z.kind
        zero_count = z.distinct if z.kind == "finite" else None
        if z.kind == "finite":
            zero_images = _image_count(zero, names, Y, rng, prime, timeout)
        elif z.kind == "positive_dimensional":
            zero_images = None
    f = fib.distinct
    params_found = None if pos.kind != "finite" or zero_count is None else pos.distinct + zero_count
    return {
        "fiber_size": f,
        "positive_loss_points": pos_images if pos.kind == "finite" else (0 if pos.kind == "empty" else None),
        "positive_loss_kind": pos.kind,
        "zero_loss_kind": zero_kind,
        "zero_loss_points": zero_images,
        "parameter_points": params_found,
        "divisible": (pos.kind != "finite" or pos.distinct % f == 0) and (not zero_count or zero_count % f == 0),
        "seconds": time.perf_counter() - t0,
    }


def _eval(poly, values) -> Fraction:
    total = Fraction(0)
    for exps, c in poly.to_dict().items():
        term = Fraction(int(c.p), int(c.q))
        for e, v in zip(exps, values):
            term *= Fraction(int(v)) ** int(e)
        total += term
    return total


def _independent_rows(Q) -> list[int]:
    n = len(Q)
    rows: list[int] = []
    for i in range(n):
        trial = rows + [i]
        M = flint.fmpq_mat(len(trial), n, [flint.fmpq(Q[r][j].numerator, Q[r][j].denominator)
                                            for r in trial for j in range(n)])
        if M.rank() == len(trial):
            rows = trial
    return rows




def exact_parametric(var, Q, u, confirm: bool, seed: int) -> dict:
    """The ``edd`` record of the parametric route (``method: exact-parametric``, or no implicit equations)."""
    pnames, ys = var.parametrization()
    r1 = parametric_critical_points(pnames, ys, Q, u, seed, MSOLVE_PRIMES[0])
    agree = None
    if confirm:
        r2 = parametric_critical_points(pnames, ys, Q, u, seed, MSOLVE_PRIMES[1])
        agree = all(r1[k] == r2[k] for k in ("fiber_size", "positive_loss_points", "zero_loss_points",
                                               "parameter_points"))
    pos, zl = r1["positive_loss_points"], r1["zero_loss_points"]
    posdim = []
    for kind, zero in (("positive_loss_kind", False), ("zero_loss_kind", True)):
        if r1[kind] == "positive_dimensional":
            posdim.append({"dimension": None, "degree": None, "zero_loss": zero, "components_over_Q": None,
                           "components_over_C": None, "lines": None, "linear_span": None})
    return {
        "edd": None if pos is None else pos + (zl or 0),
        "positive_loss_points": pos, "zero_loss_points": zl or 0,
        "positive_dimensional": posdim, "real_critical_points": None, "prime": MSOLVE_PRIMES[0],
        "primes_agree": agree,
        "solver_seconds": r1["seconds"] + (r2["seconds"] if confirm else 0.0),
        "codimension": None, "kernel_dimension": len(kernel_basis(Q)), "fiber_size": r1["fiber_size"],
        "parameter_points": r1["parameter_points"],
        "method": "exact-parametric-modp",
    }
