"""ED degree: critical points of ``||x - u||_Q^2`` on a neurovariety, exactly over GF(p).

The variety ``M`` is given by implicit equations (``equations``, parsed by the
safe parser) or by a model:

* ``linear`` (widths ``d0..dL``, no bias): ``M`` = ``dL x d0`` matrices of rank
  ``<= q = min(widths)``, the ``(q+1)``-minors (coordinates: the entries of ``W``,
  row-major).
* ``attention`` with ``n >= d``: coordinates ``y[o, b, {c<=a}] `` of the
  virtual-weight tensor, ``f_{o,j}(X) = sum y[o,b,ca] (X X^T)_{ca} X_{bj}``. For
  ``d = 2, d_out = 1`` (``y1..y6``) ``M`` is the hypersurface of pairs of binary
  quadrics with a common factor, the resultant on the slides
  ``y1^2 y6^2 + y4^2 y3^2 + y1 y3 y5^2 + y2^2 y4 y6 - 2 y1 y4 y3 y6 - y2 y1 y6 y5 - y2 y4 y3 y5``.
  Otherwise (or with ``method: exact-parametric``) critical points are computed in
  parameter space ``(V, M = K^T Q)`` with the gauge ``V[0,0] = 1``, rank-deficient
  points removed by saturation, and counts divided by the generic fiber size.

* ``mlp`` (polynomial networks, :class:`_MLPVariety`): coordinates are the
  coefficients ``c_alpha`` of ``f_theta`` in the monomial basis (``c_2_0_1`` is
  the coefficient of ``x1^2 x3``; ``c{o}_...`` for output ``o`` when ``dL > 1``),
  all monomials of degree ``D = r^(L-1)`` (homogeneous networks) or ``<= D``.
  Implicit equations are used for shallow monomial networks ``(n, k, 1)`` with
  ``x^d``, whose neurovariety is the ``k``-th secant of the Veronese cone, in
  the symmetric-tensor coordinates ``y_alpha = c_alpha / multinomial(d; alpha)``:
  ``k = 1``: the 2-minors of the catalecticant ``Cat(1, d-1)`` (``d``-th powers);
  ``n = 2, 2k <= d``: the ``(k+1)``-minors of the Hankel matrix ``Cat(k, d-k)``;
  ``d = 2, k < n``: the ``(k+1)``-minors of the symmetric matrix ``S`` of
  ``x^T S x`` (``S_ii = c_ii``, ``S_ij = c_ij / 2``). ``exact`` takes them when
  the codimension is at most :data:`MAX_IMPLICIT_CODIM` (the Lagrange system
  grows with it) and works in parameter space otherwise. Parameter space:
  ``W_l[a, 0] = 1`` for every hidden neuron of a monomial network (this fixes
  the scalings ``W_l[a, :] t, W_{l+1}[:, a] t^-r`` completely: the residual
  group is the permutations of hidden neurons, ``prod d_l!`` points, which the
  computed ``fiber_size`` confirms); no gauge for other activations. A linear
  activation ``x`` is the ``linear`` model.

``weights`` (see :mod:`pipeline.algebra.weights`): ``identity``, ``generic``,
``psd:k``, ``diag:...``, ``file:PATH``, ``data``/``data:N`` (``Q = A^T A``, rows of
``A`` the model's feature vectors of ``N`` random inputs: ``t * d_out`` rows per
input for attention, ``dL`` per input for linear networks and mlps, whose rows
are the monomial vectors ``v_D(a)`` placed in the block of output ``o``), and
``bombieri`` for mlps (Bombieri-Weyl: Frobenius for quadrics, eigenvector counts
for powers).

Parameter space counts are made by image: a random linear form ``z = l(c(theta))``
is adjoined and the other unknowns eliminated (msolve's elimination Gröbner
basis); the distinct roots of the univariate generator in ``z`` are the distinct
critical points of ``M``. ``parameter_points`` (distinct critical parameters)
and ``fiber_size`` (points of a generic fiber) are reported beside it.

The recipe and its outputs are in :mod:`pipeline.algebra.edd_system`. Real critical
points (``real``, the default) are decided from certified complex ones when they can
be (:mod:`.edd_real`; ``method`` ends ``+real-krawczyk``), else counted over Q.

``method: numerical`` is the floating-point second opinion
(:func:`numerical_critical_points`, :mod:`pipeline.numeric`): monodromy over the
data ``u`` from a start pair built so that a chosen point ``x0`` of ``M`` is
critical, Krawczyk certificates, and the real critical points at the exact
method's rational ``u``. It needs implicit equations and an invertible ``Q``;
singular ``Q`` gives no count (null, with the reason in
``numerical_stop_reason``). ``method: both`` runs ``exact`` and ``numerical`` and
reports ``counts_agree``. Outputs of the numerical method: ``edd_numerical``,
``numerical_certified``, ``numerical_real_points``, ``numerical_stop_reason``,
``numerical_seconds``, ``counts_agree`` (null under ``exact``).

Example
-------
>>> r = edd(None, EddParams(equations="x^2 + y^2 - 1", weights="diag:4,1"))
>>> r["edd"], r["primes_agree"]
(4, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import json
import time

from ..algebra.edd_system import random_point
from ..algebra.weights import kernel_basis, parse_weights, weight_matrix
from ..errors import SpecError
from .edd_implicit import exact_implicit
from .edd_numerical import NUMERICAL_OUTPUTS, numerical_critical_points
from .edd_params import MAX_IMPLICIT_CODIM, METHODS, RANDOM_INPUT, EddParams
from .edd_parametric import exact_parametric, parametric_critical_points
from .edd_varieties import _Implicit, _Variety, variety_of

VERSION = "4"

# ----------------------------------------------------------------------------- the computation
def _exact(var: _Variety, Q, u, params: EddParams, seed: int, method: str) -> dict:
    use_param = var.equations is None or method == "exact-parametric"
    if method == "exact-implicit" and var.equations is None:
        raise SpecError("method", "no implicit equations are known for this model: use method exact or exact-parametric")
    if use_param:
        return exact_parametric(var, Q, u, params.confirm, seed)
    # under method both the numerical route certifies real points itself: the exact route counts them over Q
    return exact_implicit(var, Q, u, params.confirm, params.real, seed, krawczyk=params.method != "both")


def edd(model=None, params: EddParams | None = None, seed: int = 0) -> dict:
    """ED degree and critical-point structure; see the module docstring.

    ``method: numerical`` counts by monodromy (:func:`numerical_critical_points`):
    ``edd`` is that count only under the trust rule of :mod:`pipeline.numeric.trust`
    (every solution Krawczyk-certified and distinct, and the trace test passed:
    ``completeness = trace-test``); else null, ``method`` is
    ``numerical-lower-bound`` and ``numerical_stop_reason`` says why. The real
    count never nulls a certified complex count.
    ``method: both`` runs ``exact`` and ``numerical`` on the same ``Q`` and ``u``;
    ``edd`` is the exact count and ``counts_agree`` compares the two.

    Example
    -------
    >>> r = edd(None, EddParams(equations="x^2 + y^2 - 1", weights="diag:4,1", method="both"))
    >>> r["edd"], r["edd_numerical"], r["counts_agree"], r["numerical_real_points"] == r["real_critical_points"]
    (4, 4, True, True)
    """
    params = params or EddParams()
    if (model is None) == (params.equations is None):
        raise SpecError("equations", "give exactly one of --equations (implicit) or --model")
    method = params.method
    exact_method = "exact" if method in ("both", "numerical") else method
    var = variety_of(model, params, exact_method)
    n = len(var.names)
    try:
        Q = weight_matrix(params.weights, n, seed=seed, dataset_size=params.dataset_size, features=var.features,
                          bombieri=var.bombieri() if hasattr(var, "bombieri") else None)
    except ValueError as e:
        raise SpecError("weights", str(e)) from None
    u = random_point(n, seed)
    t0 = time.perf_counter()
    out = _exact(var, Q, u, params, seed, exact_method) if method != "numerical" else None
    num = {k: None for k in NUMERICAL_OUTPUTS}
    if method in ("numerical", "both"):
        var_n = var if model is None else variety_of(model, params, "exact-implicit")
        num = numerical_critical_points(var_n, Q, u, seed=seed, real=params.real, time_limit=params.time_limit,
                                        distribute=params.distribute)
        if out is not None and out["edd"] is None and num["edd_numerical"] is None:
            num["numerical_stop_reason"] += "; the exact critical set has positive-dimensional parts"
    trusted = num.pop("edd_trusted", None)
    parametric = num.pop("numerical_route", None) == "parametric"
    if out is None:  # numerical only: edd is the count only under the trust rule (pipeline.numeric.trust)
        if trusted is None:
            num["numerical_real_points"] = None  # real points of an incomplete set are not a count
        out = {"edd": trusted, "positive_loss_points": None,
               "zero_loss_points": None, "positive_dimensional": None,
               "real_critical_points": num["numerical_real_points"], "prime": None, "primes_agree": None,
               "solver_seconds": num["numerical_seconds"], "codimension": var_n.codim,
               "kernel_dimension": len(kernel_basis(Q)), "fiber_size": None, "parameter_points": None,
               "method": ("numerical-monodromy" + ("-parametric" if parametric else "")
                          if trusted is not None else "numerical-lower-bound")}
        num["counts_agree"] = None
    elif method == "both":
        out["method"] += "+numerical-monodromy" + ("-parametric" if parametric else "")
        found = num["edd_numerical"]
        if (trusted is None and out["edd"] is not None and found == out["edd"]
                and num["numerical_certified"] == found):
            num["completeness"] = "exact-agrees"  # a certified set of the exact size
            trusted = found
        # a lower bound never agrees: only a count can; real points only of a complete set
        if trusted is None:
            num["numerical_real_points"] = None
        num["counts_agree"] = (None if out["edd"] is None or found is None
                               else trusted is not None and out["edd"] == trusted)
    out.update(num)
    out["variables"] = ",".join(var.names)
    out["cell_seconds"] = time.perf_counter() - t0
    return out


def _check(model, params: EddParams) -> None:
    """What a cell must satisfy before it runs: equations or a model, equations in the given
    variables, and weights that fit the number of coordinates (raises :class:`SpecError`)."""
    if (model is None) == (params.equations is None):
        raise SpecError("equations", "give exactly one of --equations (implicit) or --model")
    names = _Implicit(params).names if model is None else None
    if model is not None and params.method != "exact-parametric":
        model.implicit_equations(model.coordinate_names())  # a model's own limits for edd (e.g. attention n >= d)
    kind, _ = parse_weights(params.weights)
    if kind not in ("diag", "psd", "file", "bombieri") or (kind == "bombieri" and model is not None):
        return
    n = len(names if model is None else model.coordinate_names())
    try:
        weight_matrix(params.weights, n)
    except ValueError as e:
        raise SpecError("weights", str(e)) from None


def _run(model, params, seed):
    out = edd(model, params, seed)
    out["positive_dimensional"] = json.loads(json.dumps(out["positive_dimensional"]))
    return out


@dataclass
class EddOutputs:
    """The output columns of ``edd`` (the Parquet schema is derived from it)."""

    edd: int | None = None
    positive_loss_points: int | None = None
    zero_loss_points: int | None = None
    positive_dimensional: list | dict | None = None
    real_critical_points: int | None = None
    prime: int | None = None
    primes_agree: bool | None = None
    method: str | None = None
    solver_seconds: float | None = None
    cell_seconds: float | None = None
    codimension: int | None = None
    kernel_dimension: int | None = None
    fiber_size: int | None = None
    parameter_points: int | None = None
    variables: str | None = None
    edd_numerical: int | None = None
    numerical_certified: int | None = None
    numerical_real_points: int | None = None
    numerical_stop_reason: str | None = None
    numerical_seconds: float | None = None
    counts_agree: bool | None = None
    completeness: str | None = None


from . import Computation  # noqa: E402

COMPUTATION = Computation(
    name="edd",
    version=VERSION,
    run=_run,
    params=EddParams,
    needs_model=None,
    description="ED degree: critical points of ||x - u||_Q^2 on M_reg (saturated Lagrange systems, msolve mod p)",
    outputs=EddOutputs,
    cost=lambda model, params: 5.0,
    check=_check,
)


__all__ = ["COMPUTATION", "EddParams", "MAX_IMPLICIT_CODIM", "METHODS", "RANDOM_INPUT", "edd",
           "numerical_critical_points", "parametric_critical_points", "variety_of"]
