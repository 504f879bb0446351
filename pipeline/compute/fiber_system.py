"""The exact route of ``fiber``: the point identities in a gauge slice, their Jacobian rank, msolve's count.

See :mod:`pipeline.compute.fiber` for the mathematics (unisolvent points, the
positive-dimensional test, the count over the algebraic closure of ``GF(p)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..algebra.field import ObjectRing, PrimeField
from ..algebra.gauge import Gauge
from ..models.base import Model, monomial_exponents

# --- the polynomial system -----------------------------------------------------

@dataclass
class FiberSystem:
    """The point identities ``f_theta(x_j) - f_theta0(x_j)`` in the free parameters.

    Attributes
    ----------
    polys : list of flint.nmod_mpoly
        One polynomial per (point, output coordinate), fully expanded.
    variables : list of str
        ``t0, t1, ...``: the free (non-gauge) parameters, in parameter order.
    free : numpy.ndarray
        Indices of the free parameters in the flat parameter vector.
    theta0 : numpy.ndarray
        The base point (in the gauge slice), entries in ``GF(prime)``.
    points : numpy.ndarray
        The ``N`` unisolvent input points, shape ``(N, d0)``.
    prime : int
    gauge : Gauge
    """

    polys: list
    variables: list
    free: np.ndarray
    theta0: np.ndarray
    points: np.ndarray
    prime: int
    gauge: Gauge


def unisolvent_points(model: Model, F: PrimeField, rng: np.random.Generator, tries: int = 5) -> np.ndarray:
    """``N = #monomials`` random points at which evaluation is injective on ``V`` (rank-checked)."""
    exps = monomial_exponents(model.input_dim, model.degree, model.homogeneous)
    n = len(exps)
    E = np.array(exps, dtype=np.int64)  # (n, d0)
    for _ in range(tries):
        X = F.random((n, model.input_dim), rng)
        Vm = None
        for v in range(model.input_dim):
            col = np.stack([F.pow(X[:, v], int(e)) for e in E[:, v]], axis=1)  # (N, n)
            Vm = col if Vm is None else F.mul(Vm, col)
        if F.rank(Vm) == n:
            return X
    raise RuntimeError(f"no unisolvent point set found in {tries} tries over GF({F.p}); the prime is too small")


def _symbolic_forward(model: Model, params: np.ndarray, X: np.ndarray, ctx) -> np.ndarray:
    """``f_theta(x_j)`` with ``theta`` an object array of nmod_mpoly; returns ``(N, dL)`` objects."""
    x = np.array([[int(v) for v in row] for row in X], dtype=object)  # (N, d0)
    return model.forward(params, x, ObjectRing.over_context(ctx))


def fiber_system(model: Model, gauge: Gauge, prime: int, rng: np.random.Generator) -> FiberSystem:
    """Build the polynomial system whose solutions are ``fiber(theta0) ∩ slice``.

    ``theta0`` is drawn uniformly in the slice ``{theta[k] = gauge.fixed[k]}``.

    Example
    -------
    >>> import numpy as np
    >>> from neurovar.pipeline.models import build_model
    >>> from neurovar.pipeline.algebra.gauge import choose_gauge
    >>> m = build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^3"})
    >>> S = fiber_system(m, choose_gauge(m), 1073741827, np.random.default_rng(0))
    >>> len(S.polys), S.variables
    (4, ['t0', 't1', 't2', 't3'])
    """
    import flint

    F = PrimeField(prime)
    theta0 = model.random_parameters(F, rng)
    for k, v in gauge.fixed.items():
        theta0[k] = v % prime
    free = np.array([k for k in range(model.num_params) if k not in gauge.fixed], dtype=np.int64)
    names = [f"t{i}" for i in range(len(free))]
    ctx = flint.nmod_mpoly_ctx.get(tuple(names) if names else ("t0",), modulus=prime)
    gens = ctx.gens()
    params = np.empty(model.num_params, dtype=object)
    for k, v in gauge.fixed.items():
        params[k] = ctx.constant(v % prime)
    for i, k in enumerate(free):
        params[k] = gens[i]
    X = unisolvent_points(model, F, rng)
    target = model.evaluate(theta0, X, F)  # (N, dL) numeric
    sym = _symbolic_forward(model, params, X, ctx)
    polys = []
    for j in range(sym.shape[0]):
        for o in range(sym.shape[1]):
            v = sym[j, o]
            polys.append((v if hasattr(v, "is_zero") else ctx.constant(int(v) % prime)) - int(target[j, o]))
    # every equation vanishes at theta0 (checks the symbolic forward pass against the model)
    values = [int(theta0[k]) for k in free]
    for g in polys:
        if g.is_zero():
            continue
        if int(g(*values) if values else g.leading_coefficient()) != 0:
            raise AssertionError("symbolic and numeric forward passes disagree at theta0")
    polys = [g for g in polys if not g.is_zero()]
    return FiberSystem(polys, names, free, theta0, X, prime, gauge)


def slice_jacobian_rank(model: Model, system: FiberSystem) -> int:
    """Rank over ``GF(p)`` of ``d f_theta(x_j) / d theta_free`` at ``theta0``."""
    F = PrimeField(system.prime)
    J = model.jacobian(system.theta0, system.points, F)
    return F.rank(np.ascontiguousarray(J[:, system.free]))


# --- counting -------------------------------------------------------------------

def count_fiber_points(model: Model, gauge: Gauge, prime: int, seed: int, timeout: float | None = None) -> dict:
    """Count ``fiber(theta0) ∩ slice`` over the algebraic closure of ``GF(prime)``.

    Returns a dict with ``fiber_points`` (distinct solutions; None when
    positive-dimensional or timed out), ``positive_dimensional``, ``reduced``
    (every solution simple: msolve's count with multiplicity equals the distinct
    count), ``slice_fiber_dimension`` (free parameters minus the rank of their
    Jacobian at ``theta0``), ``num_unknowns``, ``num_equations``,
    ``solver_seconds``, ``method`` and ``timed_out``.

    Example
    -------
    >>> from neurovar.pipeline.models import build_model
    >>> from neurovar.pipeline.algebra.gauge import choose_gauge
    >>> m = build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^3"})
    >>> count_fiber_points(m, choose_gauge(m), 1073741827, seed=0)["fiber_points"]  # Sylvester: 2! * 1
    2
    """
    from ..algebra import msolve

    rng = np.random.default_rng([seed, prime, 0xF1BE])
    S = fiber_system(model, gauge, prime, rng)
    n = len(S.free)
    slice_dim = n - slice_jacobian_rank(model, S)
    out = {
        "num_unknowns": n,
        "num_equations": len(S.polys),
        "slice_fiber_dimension": slice_dim,
        "solver_seconds": 0.0,
        "reduced": None,
        "timed_out": False,
    }
    if n == 0:  # nothing free: the slice is the point theta0
        return {**out, "fiber_points": 1, "positive_dimensional": False, "reduced": True,
                "method": "exact-modp-jacobian"}
    if slice_dim > 0:
        return {**out, "fiber_points": None, "positive_dimensional": True, "method": "exact-modp-jacobian"}
    try:
        res = msolve.solve(S.polys, S.variables, characteristic=prime, timeout=timeout)
    except msolve.MsolveTimeout:
        return {**out, "fiber_points": None, "positive_dimensional": None, "method": "exact-msolve",
                "solver_seconds": float(timeout or 0.0), "timed_out": True}
    out["solver_seconds"] = float(res.seconds)
    if res.kind == "finite":
        return {**out, "fiber_points": int(res.distinct), "positive_dimensional": False,
                "reduced": res.count == res.distinct, "method": "exact-msolve"}
    if res.kind == "positive_dimensional":
        return {**out, "fiber_points": None, "positive_dimensional": True, "method": "exact-msolve"}
    # empty: impossible, theta0 itself is a solution
    raise AssertionError(f"msolve found no solution although theta0 solves the system (prime {prime})")


def slice_rank(model: Model, gauge: Gauge, prime: int, seed: int) -> tuple[int, int]:
    """``(free parameters, rank over GF(p) of their Jacobian at a random slice point)``.

    The same rank as :func:`slice_jacobian_rank`, without building the polynomial system.

    Example
    -------
    >>> from neurovar.pipeline.models import build_model
    >>> from neurovar.pipeline.algebra.gauge import choose_gauge
    >>> m = build_model({"model": "mlp", "widths": [2, 3, 1], "activation": "x^3"})
    >>> slice_rank(m, choose_gauge(m), 1073741827, 0)   # 6 free, dim V = 4: a 2-dim fiber in the slice
    (6, 4)
    """
    F = PrimeField(prime)
    rng = np.random.default_rng([seed, prime, 0x5A1CE])
    theta0 = model.random_parameters(F, rng)
    for k, v in gauge.fixed.items():
        theta0[k] = v % prime
    free = np.array([k for k in range(model.num_params) if k not in gauge.fixed], dtype=np.int64)
    X = unisolvent_points(model, F, rng)
    J = model.jacobian(theta0, X, F)
    return len(free), (F.rank(np.ascontiguousarray(J[:, free])) if len(free) else 0)


