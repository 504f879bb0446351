"""The exact route of ``fiber``: the point identities in a gauge slice, their Jacobian rank, msolve's count.

See :mod:`pipeline.compute.fiber` for the mathematics (unisolvent points, the
positive-dimensional test, the count over the algebraic closure of ``GF(p)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

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

#: ``solver`` values: ``auto`` (Singular for small systems when installed, else msolve), or one of them.
SOLVERS = ("auto", "singular", "msolve")
#: The auto route sends a system to Singular when it has at most this many unknowns ...
SINGULAR_MAX_UNKNOWNS = 12
#: ... and the expected count (the known symmetries, or the Bezout bound of the slice) is at most this.
SINGULAR_MAX_POINTS = 720


def size_estimate(model: Model, gauge: Gauge, n: int, degrees: Sequence[int]) -> int:
    """The auto route's size estimate: the expected count, or the Bezout bound when none is known.

    ``gauge.expected_points`` (the known symmetries: the count when the fiber is
    generic) when the gauge knows it; otherwise the product of the ``n`` largest
    equation degrees, a bound on the isolated solutions of ``n`` unknowns.
    """
    if gauge.expected_points is not None:
        return int(gauge.expected_points)
    bound = 1
    for d in sorted(degrees, reverse=True)[:n]:
        bound *= max(1, int(d))
    return bound


def choose_solver(model: Model, gauge: Gauge, n: int, degrees: Sequence[int], solver: str = "auto") -> str:
    """``singular`` or ``msolve`` for a system of ``n`` unknowns (see :data:`SOLVERS`).

    ``auto`` picks Singular when it is installed, ``n <= SINGULAR_MAX_UNKNOWNS``
    and :func:`size_estimate` ``<= SINGULAR_MAX_POINTS``: there its standard
    basis and count take milliseconds, against msolve's 0.1 s per
    parametrization attempt. Larger systems go to msolve (F4, faster on big
    bases). ``singular`` when Singular is missing falls back to msolve.
    """
    from ..algebra.singular import singular_executable

    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
    if solver == "msolve" or singular_executable() is None:
        return "msolve"
    if solver == "singular":
        return "singular"
    small = n <= SINGULAR_MAX_UNKNOWNS and size_estimate(model, gauge, n, degrees) <= SINGULAR_MAX_POINTS
    return "singular" if small else "msolve"


def _base(S: FiberSystem, model: Model) -> dict:
    n = len(S.free)
    return {
        "num_unknowns": n,
        "num_equations": len(S.polys),
        "slice_fiber_dimension": n - slice_jacobian_rank(model, S),
        "solver_seconds": 0.0,
        "reduced": None,
        "timed_out": False,
    }


def _decided_without_solver(out: dict) -> dict | None:
    if out["num_unknowns"] == 0:  # nothing free: the slice is the point theta0
        return {**out, "fiber_points": 1, "positive_dimensional": False, "reduced": True,
                "method": "exact-modp-jacobian"}
    if out["slice_fiber_dimension"] > 0:
        return {**out, "fiber_points": None, "positive_dimensional": True, "method": "exact-modp-jacobian"}
    return None


def _msolve_count(S: FiberSystem, out: dict, timeout: float | None) -> dict:
    from ..algebra import msolve

    try:
        res = msolve.solve(S.polys, S.variables, characteristic=S.prime, timeout=timeout)
    except msolve.MsolveTimeout:
        return {**out, "fiber_points": None, "positive_dimensional": None, "method": "exact-msolve",
                "solver_seconds": out["solver_seconds"] + float(timeout or 0.0), "timed_out": True}
    out = {**out, "solver_seconds": out["solver_seconds"] + float(res.seconds), "method": "exact-msolve"}
    if res.kind == "finite":
        return {**out, "fiber_points": int(res.distinct), "positive_dimensional": False,
                "reduced": res.count == res.distinct}
    if res.kind == "positive_dimensional":
        return {**out, "fiber_points": None, "positive_dimensional": True}
    # empty: impossible, theta0 itself is a solution
    raise AssertionError(f"msolve found no solution although theta0 solves the system (prime {S.prime})")


def count_fiber_points_many(model: Model, gauge: Gauge, primes: Sequence[int], seed: int,
                            timeout: float | None = None, solver: str = "auto") -> list[dict]:
    """:func:`count_fiber_points` for several primes; the Singular route counts them all in one process.

    A Singular count is used only when certified (``deg mu = vdim`` and ``mu``
    square-free, see :mod:`pipeline.algebra.singular`; ``method =
    "exact-singular"``); an uncertified count, or a Singular failure, falls back
    to msolve on the same system (``method = "exact-msolve"``). On a Singular
    timeout every system still open is timed out (the time limit of the process
    is ``timeout`` times their number). On msolve, once a prime runs out of time
    the later primes are reported timed out without being tried.
    """
    from ..algebra import singular

    systems, outs = [], []
    for p in primes:
        rng = np.random.default_rng([seed, p, 0xF1BE])
        S = fiber_system(model, gauge, p, rng)
        systems.append(S)
        out = _base(S, model)
        outs.append(_decided_without_solver(out) or out)
    open_ = [i for i, o in enumerate(outs) if "fiber_points" not in o]
    if not open_:
        return outs
    S0 = systems[open_[0]]
    degrees = [g.total_degree() for g in S0.polys]
    route = choose_solver(model, gauge, len(S0.free), degrees, solver)
    if route == "singular":
        batch = [(systems[i].polys, systems[i].variables, systems[i].prime) for i in open_]
        limit = None if timeout is None else timeout * len(open_)
        try:
            counts = singular.count_solutions(batch, timeout=limit, seed=seed)
        except singular.SingularTimeout:
            for i in open_:
                outs[i] = {**outs[i], "fiber_points": None, "positive_dimensional": None, "method": "exact-singular",
                           "solver_seconds": float(timeout or 0.0), "timed_out": True}
            return outs
        except singular.SingularError:
            counts = [None] * len(open_)
        share = counts[0].seconds / len(open_) if counts[0] is not None else 0.0
        for i, c in zip(open_, counts):
            if c is None or not c.certified:
                outs[i] = {**outs[i], "solver_seconds": share}
                continue
            if c.kind == "empty":
                raise AssertionError(f"Singular found no solution although theta0 solves the system "
                                     f"(prime {systems[i].prime})")
            finite = c.kind == "finite"
            outs[i] = {**outs[i], "fiber_points": c.distinct if finite else None, "positive_dimensional": not finite,
                       "reduced": True if finite else None, "method": "exact-singular", "solver_seconds": share}
    ran_out = False
    for i in open_:
        if "fiber_points" in outs[i]:
            continue
        if ran_out:  # an earlier prime ran out of time: the later ones are not tried
            outs[i] = {**outs[i], "fiber_points": None, "positive_dimensional": None, "method": "exact-msolve",
                       "timed_out": True}
            continue
        outs[i] = _msolve_count(systems[i], outs[i], timeout)
        ran_out = outs[i]["timed_out"]
    return outs


def count_fiber_points(model: Model, gauge: Gauge, prime: int, seed: int, timeout: float | None = None,
                       solver: str = "auto") -> dict:
    """Count ``fiber(theta0) ∩ slice`` over the algebraic closure of ``GF(prime)``.

    Returns a dict with ``fiber_points`` (distinct solutions; None when
    positive-dimensional or timed out), ``positive_dimensional``, ``reduced``
    (every solution simple: the count with multiplicity equals the distinct
    count), ``slice_fiber_dimension`` (free parameters minus the rank of their
    Jacobian at ``theta0``), ``num_unknowns``, ``num_equations``,
    ``solver_seconds``, ``method`` (``exact-singular``, ``exact-msolve`` or
    ``exact-modp-jacobian``) and ``timed_out``. ``solver`` picks the route
    (:func:`choose_solver`).

    Example
    -------
    >>> from neurovar.pipeline.models import build_model
    >>> from neurovar.pipeline.algebra.gauge import choose_gauge
    >>> m = build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^3"})
    >>> count_fiber_points(m, choose_gauge(m), 1073741827, seed=0)["fiber_points"]  # Sylvester: 2! * 1
    2
    >>> count_fiber_points(m, choose_gauge(m), 1073741827, seed=0, solver="msolve")["method"]
    'exact-msolve'
    """
    return count_fiber_points_many(model, gauge, [prime], seed, timeout, solver)[0]


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


