"""Fibers of ``theta -> f_theta`` and identifiability: how many parameters give one function.

For a random parameter point ``theta0`` the fiber ``{theta : f_theta = f_theta0}``
is studied in two ways.

**Dimension.** ``fiber_dimension = #params - rank J`` with ``J`` the exact
Jacobian of the parameterization (:func:`pipeline.compute.dimension.exact_rank`,
mod ``2^61 - 1``), compared with ``symmetry_dimension``, the dimension of the
known symmetry group (one scaling per hidden neuron for ``x^r``, ``GL(d_i)`` for
linear networks, none for other activations).

**Number of points.** The continuous symmetries are fixed by a gauge (an
affine slice, :mod:`pipeline.algebra.gauge`, where the residual finite group
is derived) and the isolated solutions of ``f_theta = f_theta0`` in the slice
are counted exactly over the algebraic closure of ``GF(p)``, ``p < 2^31``, with
Singular or msolve (below). The equations are not the coefficient identities themselves (that would
need the symbolic expansion of ``f_theta`` in the inputs) but the equivalent
point identities

    f_theta(x_j) = f_theta0(x_j),   j = 1..N,

at ``N`` = (number of monomials of ``V``) random points ``x_j in GF(p)^{d0}``,
with ``theta`` symbolic (python-flint ``nmod_mpoly`` in the free parameters)
and the ``x_j`` numeric. The points are checked to be *unisolvent* (the
monomial evaluation matrix has full rank over ``GF(p)``), so
``g(x_j) = 0 for all j`` iff ``g = 0`` for every ``g in V``: the system has
exactly the same solutions over the algebraic closure as the coefficient
identities. Every equation is checked to vanish at ``theta0``.

When the fiber is only the known symmetries, the count is
``expected_fiber_points = prod_i d_i! * |R|`` (``|R|`` the residual group of the
gauge; 1 for linear networks, whose permutations lie in ``GL``). If the Jacobian
of the free parameters in the slice is rank-deficient at ``theta0``, every
component of the generic fiber in the slice is positive-dimensional (all
components of a generic fiber of a dominant map have the same dimension), so
``fiber_points`` is null, ``positive_dimensional`` is true, and msolve is not
run (``method = "exact-modp-jacobian"``).

**The exact route.** Small systems (at most 12 unknowns and at most 720
expected points, :func:`pipeline.compute.fiber_system.choose_solver`) go to
Singular when it is installed: both primes in one process, a standard basis,
``vdim`` and a radicality certificate (the minimal polynomial of a random
linear form has degree ``vdim`` and is square-free,
:mod:`pipeline.algebra.singular`); ``method = "exact-singular"``. An
uncertified count, a Singular failure, a larger system or a machine without
Singular goes to msolve (``exact-msolve``), whose rational parametrization
gives the distinct count itself. ``NEUROVAR_SINGULAR=off`` turns the Singular
route off. On the ``(2, 4, 1)`` network with ``x^7`` (24 points) this is the
difference between about 1.5 s (msolve retries its parametrization in eight
variable orders per prime) and a few hundredths of a second per cell.

A count mod ``p`` at a random point equals the count over ``C`` for a generic
point except with small probability; ``confirm`` repeats the count with a
second prime and a fresh point (``primes_agree``).

**Numerical method** (``method="numerical"`` or ``"both"``): the fiber over
``f_theta0`` for a random complex ``theta0`` in the slice, found by monodromy
(:mod:`pipeline.problems.fiber`: coefficient identities, squared up by a random
integer matrix when there are more coefficients than free parameters, the
known permutation symmetries as a group action, Krawczyk certification). It
reaches sizes where Gröbner bases do not finish (the ``(4, 5, 1)`` cubic
network: 20 unknowns, 120 points). The positive-dimensional case is decided
first by the exact slice Jacobian rank mod ``p``. Outputs:

``fiber_points``            a trusted count or null: msolve's count (``exact``,
                            and ``both`` when msolve finished), or the monodromy
                            count when it passes the trust rule
                            (:mod:`pipeline.numeric.trust`: every orbit
                            representative Krawczyk-certified, proven distinct
                            orbits, the group proven free on them, and the
                            trace test passed). A stalled monodromy alone is
                            never a count.
``fiber_points_numerical``  what monodromy found: ``orbits * group_order``
                            points (distinct, passing the full system).
``numerical_certified``     of those, certified points (certified
                            representatives times ``|G|`` when the action is
                            proven free).
``completeness``            ``trace-test``, ``exact-agrees`` (a certified set of
                            msolve's size, in ``both``) or ``none`` (a lower
                            bound).
``orbits``, ``group_order`` orbits of the neuron permutations found (one
                            tracked representative each; the group is never
                            enumerated for one hidden layer) and ``|G|``.
``numerical_stop_reason``   what stopped monodromy (``stalled``,
                            ``time_limit``, ...), then the trust rule's reason.
``counts_agree``            ``both``: msolve's count equals the numerical count
                            (false when the numerical one is only a lower bound).
``method``                  where ``fiber_points`` comes from: ``exact-singular``,
                            ``exact-msolve``,
                            ``exact-modp-jacobian`` (positive-dimensional or
                            nothing free), ``numerical-monodromy`` (trusted), or
                            ``numerical-lower-bound`` (then ``fiber_points`` is
                            null and ``fiber_points_numerical`` is a lower bound).

In ``both`` the numerical run does not stop at msolve's count: it is an
independent second opinion (when msolve times out, a trusted monodromy count
becomes ``fiber_points``).

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> r = fiber(build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^3"}))
>>> r["fiber_points"], r["expected_fiber_points"], r["only_known_symmetries"]
(2, 2, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..algebra.field import MSOLVE_PRIMES
from ..algebra.gauge import choose_gauge
from ..models.base import Model, monomial_exponents
from .dimension import exact_rank
from .renamed import renamed
from .fiber_numerical import _exact_agrees, _numerical, _numerical_fields, _numerical_record
from .fiber_system import (SOLVERS, FiberSystem, count_fiber_points, count_fiber_points_many, fiber_system,
                           slice_jacobian_rank, slice_rank, unisolvent_points)

VERSION = "3"
METHODS = ("exact", "numerical", "both")


def fiber(
    model: Model,
    seed: int = 0,
    gauge: str = "auto",
    confirm: bool = True,
    timeout_solver: float | None = None,
    primes=MSOLVE_PRIMES[:2],
    method: str = "exact",
    time_limit: float | None = None,
    stall_loops: int = 5,
    solver: str = "auto",
    distribute: str | None = None,
    numerical_time_limit: float | None = None,
) -> dict:
    """Dimension and number of points of the generic fiber of ``model``; see the module docstring.

    Parameters
    ----------
    model : Model
        An MLP or linear network.
    seed : int
        Draws ``theta0`` and the input points (and the Jacobian point for ``fiber_dimension``).
    gauge : str
        ``auto`` (``incoming`` for ``x^r``, ``gl`` for linear, none otherwise),
        ``incoming``, ``outgoing``, ``gl`` or ``none``; see :mod:`pipeline.algebra.gauge`.
    confirm : bool
        Repeat the count with the second prime of ``primes`` and a fresh ``theta0``.
    timeout_solver : float, optional
        Seconds for each msolve call (Singular: per system counted); on expiry ``status`` is ``"timeout"``.
    method : str
        ``exact`` (msolve), ``numerical`` (monodromy) or ``both``; see the module docstring.
    time_limit : float, optional
        Seconds for the numerical count (monodromy, certificates, trace test;
        default :data:`~pipeline.numeric.budget.DEFAULT_TIME_LIMIT`); a count
        the limit cut is a lower bound. ``numerical_time_limit`` is its old name.
    distribute : str, optional
        ``auto``, ``always`` or ``never``: spread large monodromy rounds over
        the current Dask cluster (:mod:`pipeline.numeric.distribute`).
    stall_loops : int
        Monodromy's stall criterion (complete loops without a new point).
    solver : str
        The exact route: ``auto`` (Singular for small systems when installed,
        else msolve), ``singular`` or ``msolve``; see
        :func:`pipeline.compute.fiber_system.choose_solver`.

    Returns
    -------
    dict
        ``fiber_dimension``, ``symmetry_dimension``, ``fiber_points``,
        ``positive_dimensional``, ``expected_fiber_points``,
        ``only_known_symmetries``, ``reduced``, ``gauge_kind``,
        ``residual_symmetries``, ``num_unknowns``, ``num_equations``, ``prime``,
        ``primes_agree``, ``second_prime_points``, ``method``,
        ``solver_seconds``, ``fiber_points_numerical``, ``numerical_certified``,
        ``numerical_stop_reason``, ``numerical_seconds``, ``counts_agree`` and ``status``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if numerical_time_limit is not None:  # the old name (pipeline.compute.renamed)
        time_limit = renamed({"numerical_time_limit": numerical_time_limit, "time_limit": time_limit},
                             FiberParams.RENAMED)["time_limit"]
    g = choose_gauge(model, gauge)
    fiber_dim = model.num_params - exact_rank(model, seed)
    sym = model.symmetry_dimension
    expected = g.expected_points
    num = None
    if method in ("numerical", "both"):
        num = _numerical(model, g, seed, time_limit, stall_loops, primes[0], distribute)
    if method == "numerical":
        return _numerical_record(model, g, fiber_dim, sym, expected, num, primes[0])
    counted = count_fiber_points_many(model, g, list(primes[:2] if confirm else primes[:1]), seed, timeout_solver,
                                      solver)
    first = counted[0]
    known = None
    if expected is not None and not first["timed_out"]:
        known = first["fiber_points"] == expected and fiber_dim == sym
    out = {
        "fiber_dimension": fiber_dim,
        "symmetry_dimension": sym,
        "fiber_points": first["fiber_points"],
        "positive_dimensional": first["positive_dimensional"],
        "expected_fiber_points": expected,
        "only_known_symmetries": known,
        "reduced": first["reduced"],
        "gauge_kind": g.kind,
        "residual_symmetries": g.residual_order,
        "num_unknowns": first["num_unknowns"],
        "num_equations": first["num_equations"],
        "prime": primes[0],
        "primes_agree": None,
        "second_prime_points": None,
        "method": first["method"],
        "solver_seconds": first["solver_seconds"],
        "status": "timeout" if first["timed_out"] else "ok",
    }
    if first["timed_out"]:
        out["error"] = (f"{_solver_name(first)} ran out of its time limit timeout_solver={timeout_solver:g} s "
                        f"on prime {primes[0]} (killed)")
    if len(counted) > 1 and not first["timed_out"]:
        second = counted[1]
        out["solver_seconds"] += second["solver_seconds"]
        if second["timed_out"]:
            out["status"] = "timeout"
            out["error"] = (f"{_solver_name(second)} ran out of its time limit timeout_solver={timeout_solver:g} s "
                            f"on the confirming prime {primes[1]} (killed)")
        else:
            out["second_prime_points"] = second["fiber_points"]
            out["primes_agree"] = (second["fiber_points"], second["positive_dimensional"]) == (
                first["fiber_points"], first["positive_dimensional"])
    if num is not None and "count" in num and not first["timed_out"]:
        _exact_agrees(num, first["fiber_points"])
    out.update(_numerical_fields(num))
    if num is not None and "count" in num:
        if first["timed_out"]:
            if num["trusted"]:
                out.update(fiber_points=num["fiber_points"], positive_dimensional=False,
                           method="numerical-monodromy", status="ok")
                if expected is not None:
                    out["only_known_symmetries"] = num["fiber_points"] == expected and fiber_dim == sym
            else:
                out["method"] = "numerical-lower-bound"
        elif first["fiber_points"] is not None:
            # a count agrees only when it is one; a lower bound never agrees
            out["counts_agree"] = first["fiber_points"] == num["fiber_points"] if num["trusted"] else False
    elif num is not None and not first["timed_out"]:
        # both methods decide positive-dimensionality (numerical: the exact slice Jacobian rank)
        out["counts_agree"] = bool(num["positive_dimensional"]) == bool(first["positive_dimensional"])
    return out


def _solver_name(counted: dict) -> str:
    return "Singular" if counted["method"] == "exact-singular" else "msolve"


# --- the registered computation ---------------------------------------------------

class FiberParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    method: str = Field("exact", description="exact (Singular or msolve over GF(p)), numerical (monodromy) or both")
    gauge: str = Field("auto", description="auto, incoming, outgoing (x^r), gl (linear), none")
    confirm: bool = Field(True, description="repeat the count with a second prime and point")
    timeout_solver: float | None = Field(None, description="seconds allowed to each solver call (Singular: per system)")
    time_limit: float | None = Field(
        None, description="seconds for the numerical count (numerical/both; default 600); a count the limit cuts "
                          "is a lower bound (old name: numerical_time_limit)")
    distribute: str = Field("auto", description="auto | always | never: large monodromy rounds as tasks on the "
                                                "workers of the current Dask cluster (same answer either way)")
    stall_loops: int = Field(5, description="monodromy stops after this many complete loops without a new point")

    @field_validator("method")
    @classmethod
    def _method(cls, v):
        if v not in METHODS:
            raise ValueError(f"must be one of {', '.join(METHODS)}, got {v!r}")
        return v

    @field_validator("stall_loops")
    @classmethod
    def _stall(cls, v):
        if v < 1:
            raise ValueError(f"must be at least 1 (5 is the default), got {v}")
        return v

    @field_validator("distribute")
    @classmethod
    def _distribute(cls, v):
        from ..numeric.distribute import MODES

        if v not in MODES:
            raise ValueError(f"must be one of {', '.join(MODES)}, got {v!r}")
        return v

    @field_validator("gauge")
    @classmethod
    def _gauge(cls, v):
        from ..models import gauge_names

        if v not in gauge_names():
            raise ValueError(f"must be one of {', '.join(gauge_names())}, got {v!r}")
        return v

    RENAMED: ClassVar[dict[str, str]] = {"numerical_time_limit": "time_limit"}  # old names (compute.renamed)

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data):
        return renamed(data, cls.RENAMED)

    @field_validator("timeout_solver", "time_limit")
    @classmethod
    def _timeout(cls, v):
        if v is not None and v <= 0:
            raise ValueError(f"must be a positive number of seconds, got {v}")
        return v


def _run(model: Model, params: FiberParams, seed: int) -> dict:
    return fiber(model, seed=seed, gauge=params.gauge, confirm=params.confirm, timeout_solver=params.timeout_solver,
                 method=params.method, time_limit=params.time_limit,
                 stall_loops=params.stall_loops, distribute=params.distribute)


def _cost(model, params) -> float:
    return 0.05 * (2 if params.confirm else 1) * max(1, model.num_params) ** 1.5 / 10


@dataclass
class FiberOutputs:
    """The output columns of ``fiber`` (the Parquet schema is derived from it)."""

    fiber_dimension: int | None = None
    symmetry_dimension: int | None = None
    fiber_points: int | None = None
    positive_dimensional: bool | None = None
    expected_fiber_points: int | None = None
    only_known_symmetries: bool | None = None
    reduced: bool | None = None
    gauge_kind: str | None = None
    residual_symmetries: int | None = None
    num_unknowns: int | None = None
    num_equations: int | None = None
    prime: int | None = None
    primes_agree: bool | None = None
    second_prime_points: int | None = None
    method: str | None = None
    solver_seconds: float | None = None
    fiber_points_numerical: int | None = None
    numerical_certified: int | None = None
    numerical_stop_reason: str | None = None
    numerical_seconds: float | None = None
    counts_agree: bool | None = None
    completeness: str | None = None
    orbits: int | None = None
    group_order: int | None = None
    #: which of the numerical count's fast paths the model's declarations allowed (block-group, ...)
    fast_paths: str | None = None


from . import Computation  # noqa: E402

COMPUTATION = Computation(
    name="fiber",
    version=VERSION,
    run=_run,
    params=FiberParams,
    description="generic fiber of theta -> f_theta: dimension and number of points after a gauge "
                "(Singular or msolve over GF(p), monodromy, or both)",
    outputs=FiberOutputs,
    cost=_cost,
)

__all__ = ["COMPUTATION", "FiberParams", "FiberSystem", "count_fiber_points", "fiber", "fiber_system",
           "monomial_exponents", "slice_jacobian_rank", "slice_rank", "unisolvent_points"]
