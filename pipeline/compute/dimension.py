"""Dimension of a neurovariety: the exact rank of the parameterization's Jacobian.

``dim M`` is the rank of ``d(coefficients of f_theta)/d(theta)`` at a generic
``theta``. Evaluating ``f_theta`` at ``N`` generic input points is injective on
any ``m``-dimensional space of functions once ``N >= m``, so with
``N = min(#params, dim V) + 2`` points the rank of ``d(f_theta(x_j))/d(theta)``
is the same number and no polynomial is ever expanded.

The rank is computed exactly over ``GF(2^61 - 1)`` at a random point
(FLINT's ``nmod_mat``, filled directly from the uint64 array by
:mod:`pipeline.algebra.flint_c`); it equals the generic rank over ``C`` except with
probability at most ``deg/p`` (Schwartz--Zippel). A floating-point SVD rank
of the same Jacobian at a real Gaussian point is reported beside it
(``float_rank``, ``float_gap``) and never overrides the exact value.

Note that ``dim M`` is the complex (Zariski) dimension: the shallow network
``(2, 2, 1)`` with ``x^3`` fills ``C[x, y]_3`` (dimension 4) although its real
image is not all of ``R[x, y]_3`` (``x^3 - 3 x y^2`` is not a sum of two real
cubes of linear forms).

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> r = dimension(build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^2"}))
>>> r["dimension"], r["filling"]
(3, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..algebra.field import MERSENNE61, FloatField, PrimeField, float_rank
from ..models.base import Model

VERSION = "1"
#: Largest Jacobian (entries) for the floating-point cross-check.
FLOAT_CHECK_MAX_ENTRIES = 4_000_000


def evaluation_points(model: Model) -> int:
    """Number of generic input points that make point evaluation injective on the tangent space."""
    return min(model.num_params, model.ambient_dimension) + 2


#: Jacobians with fewer entries than this are formed with Python-int arrays (fewer numpy calls)
SMALL_JACOBIAN = 4096


def exact_rank(model: Model, seed: int = 0, prime: int = MERSENNE61) -> int:
    """Rank of the Jacobian over GF(prime) at a parameter and points drawn from ``seed``.

    With several outputs, each point contributes one row ``c_j . d f_theta(x_j) / d theta``
    for a random ``c_j``: a non-zero tangent vector ``u`` gives the non-zero polynomial
    ``c . u(x)`` in ``(x, c)``, so generic pairs ``(x_j, c_j)`` keep the evaluation
    injective and the rank unchanged, with ``dL`` times fewer rows.
    """
    N = evaluation_points(model)
    small = N * model.num_params < SMALL_JACOBIAN  # the (N, P) matrix ranked (one row per point)
    F = PrimeField(prime, backend="object" if small else "uint64")
    rng = np.random.default_rng([seed, 61])
    theta = model.random_parameters(F, rng)
    X = F.random((N, model.input_dim), rng)
    if model.output_dim > 1:
        c = F.random((N, model.output_dim), rng)
        J = model.combined_jacobian(theta, X, c, F)  # one reverse pass seeded with c
    else:
        J = model.jacobian(theta, X, F)
    return F.rank(J)


def float_jacobian(model: Model, seed: int = 0) -> np.ndarray:
    """The same Jacobian in float64 at a Gaussian parameter and Gaussian points."""
    F = FloatField()
    rng = np.random.default_rng([seed, 64])
    theta = model.random_parameters(F, rng)
    X = F.random((evaluation_points(model), model.input_dim), rng)
    return model.jacobian(theta, X, F)


def dimension(model: Model, seed: int = 0, float_check: bool = True, prime: int = MERSENNE61) -> dict:
    """Exact dimension of the neurovariety of ``model`` and the derived quantities.

    Returns
    -------
    dict
        ``dimension`` (exact), ``expected_dimension``, ``ambient_dimension``,
        ``num_params``, ``symmetry_dimension``, ``fiber_dimension``
        (``num_params - dimension``), ``defect`` (``expected - dimension``),
        ``filling`` (``dimension == ambient_dimension``), ``prime``, ``seed``,
        ``float_rank``, ``float_gap``, ``float_rank_agrees`` (None when skipped),
        ``method``.
    """
    dim = exact_rank(model, seed, prime)
    out = {
        "dimension": dim,
        "expected_dimension": model.expected_dimension,
        "ambient_dimension": model.ambient_dimension,
        "num_params": model.num_params,
        "symmetry_dimension": model.symmetry_dimension,
        "fiber_dimension": model.num_params - dim,
        "defect": model.expected_dimension - dim,
        "filling": dim == model.ambient_dimension,
        "prime": prime,
        "seed": seed,
        "float_rank": None,
        "float_gap": None,
        "float_rank_agrees": None,
        "method": "exact-modp-jacobian",
    }
    if float_check and evaluation_points(model) * model.output_dim * model.num_params <= FLOAT_CHECK_MAX_ENTRIES:
        with np.errstate(all="ignore"):
            J = float_jacobian(model, seed)
            if np.all(np.isfinite(J)):
                r, gap = float_rank(J)
                out.update(float_rank=r, float_gap=gap, float_rank_agrees=(r == dim))
    return out


def _run(model: Model, params, seed: int) -> dict:
    return dimension(model, seed=seed, float_check=params.float_check, prime=params.prime)


class DimensionParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    float_check: bool = Field(True, description="also compute the float SVD rank as a cross-check")
    prime: int = Field(MERSENNE61, description="2^61-1 (default) or a prime below 2^31")

    @field_validator("prime")
    @classmethod
    def _prime(cls, p):
        import flint

        if p != MERSENNE61 and not (2 < p < 2**31 and flint.fmpz(p).is_prime()):
            raise ValueError(f"must be 2305843009213693951 (2^61-1) or a prime below 2^31, got {p}")
        return p


@dataclass
class DimensionOutputs:
    """The output columns of ``dimension`` (the Parquet schema is derived from it)."""

    dimension: int | None = None
    expected_dimension: int | None = None
    ambient_dimension: int | None = None
    num_params: int | None = None
    symmetry_dimension: int | None = None
    fiber_dimension: int | None = None
    defect: int | None = None
    filling: bool | None = None
    prime: int | None = None
    float_rank: int | None = None
    float_gap: float | None = None
    float_rank_agrees: bool | None = None
    method: str | None = None


from . import Computation  # noqa: E402

COMPUTATION = Computation(
    name="dimension",
    version=VERSION,
    run=_run,
    params=DimensionParams,
    description="exact dimension of the neurovariety (Jacobian rank mod 2^61-1)",
    outputs=DimensionOutputs,
    # measured: the 746 x 744 Jacobian of (6, 24, 24, 1) with x^3 and its rank mod p take ~0.2 s
    # on one core
    cost=lambda model, params: 1e-3 + 4e-10 * evaluation_points(model) * model.num_params**2,
)
