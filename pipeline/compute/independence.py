"""Linear independence of activated polynomials ``s(p_1), ..., s(p_k)``.

Finkel--Rodriguez--Wu--Yahl (Prop. 16): pairwise non-proportional
``p_1, ..., p_k`` have linearly independent powers ``p_1^r, ..., p_k^r`` once
``r > 6(k-1)^2 - 6(k-1) + 1``; the talk conjectures the same for a generic
activation ``s`` of large degree and non-constant, pairwise distinct ``p_i``.
This computation decides independence for one activation exactly.

How the answer is obtained (both directions exact):

* **Independent** -- certified by a non-zero ``k x k`` minor of the evaluation
  matrix ``[s(p_i)(a_j)]`` at ``k`` random integer points ``a_j``, computed
  modulo the prime ``p = 2147483629``. A minor that is non-zero mod ``p`` is non-zero over
  ``Q``, and the evaluation matrix is the coefficient matrix times the monomial
  evaluation matrix, so the coefficient matrix has rank ``k``. No polynomial
  is expanded.
* **Dependent** (or the minor vanished by bad luck, probability ``<= deg/p``) --
  ``s(p_i)`` are expanded exactly with python-flint (``fmpq_mpoly``, Horner),
  the ``(#monomials) x k`` coefficient matrix is row-reduced over ``Q``
  (``fmpq_mat.rref``), which gives the exact rank and a basis of the rational
  kernel; each kernel vector ``c`` is checked by expanding ``sum c_i s(p_i)``
  to the zero polynomial before it is returned. ``certificate`` is the first
  basis vector, scaled to coprime integers with a positive first entry.

Example
-------
>>> r = independence("x^2 - y^2; 2*x*y; x^2 + y^2", "x^2")
>>> r["independent"], r["rank"], r["certificate"]
(False, 2, ['1', '1', '-1'])
>>> independence("x^2 - y^2; 2*x*y; x^2 + y^2", "x^3")["independent"]
True
"""

from __future__ import annotations

from dataclasses import dataclass

import math
from fractions import Fraction
from typing import Iterable, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ..algebra.tuple_families import parse_family
from ..algebra.tuples import TupleBatch, TupleFamily, parse_tuple
from ..algebra.field import MSOLVE_PRIMES, PrimeField
from ..models.activation import Activation
from ..algebra.relations import (activate, certificate_text, coefficient_matrix, exact_rank, is_relation,
                                  primitive_integer_vector, rational_kernel)
from ..papers import prop16_bound  # noqa: F401 - re-exported

VERSION = "1"
METHOD = "modp-evaluation-minor+exact-rational-kernel"
#: Prime of the screening. Its size only affects speed: a minor that is non-zero
#: mod any prime is non-zero over Q, and every zero minor is decided over Q.
#: Below 2^31 a product is one machine multiply (about 5x faster than 2^61-1).
SCREEN_PRIME = MSOLVE_PRIMES[-1]


# ---------------------------------------------------------------------------
# modular screening: values at random points, batched rank test
# ---------------------------------------------------------------------------


def evaluation_points(nvars: int, npoints: int, seed: int, F: PrimeField) -> np.ndarray:
    """``npoints`` random points of ``GF(p)^nvars`` drawn from ``seed`` (integers in ``[0, p)``)."""
    rng = np.random.default_rng([seed, 0x1D3])
    return F.random((npoints, max(nvars, 1)), rng)


def values_mod_p(polys: Sequence, points: np.ndarray, F: PrimeField) -> np.ndarray:
    """``[p_i(a_j)] mod p`` as a ``(len(polys), len(points))`` uint64 array."""
    monos: dict[tuple, int] = {}
    dicts = [p.to_dict() for p in polys]
    for d in dicts:
        for e in d:
            monos.setdefault(e, len(monos))
    P = F.p
    C = np.zeros((len(polys), max(len(monos), 1)), dtype=np.uint64)
    for i, d in enumerate(dicts):
        for e, c in d.items():
            num, den = int(c.p), int(c.q)
            if den % P == 0:
                raise ValueError(f"a coefficient's denominator {den} is divisible by the prime {P}")
            C[i, monos[e]] = (num % P) * pow(den, -1, P) % P
    nvars = points.shape[1]
    Mon = np.zeros((max(len(monos), 1), len(points)), dtype=np.uint64)
    for e, m in monos.items():
        col = F.add(F.zeros(len(points)), F.const(1))
        for v, ev in enumerate(e[:nvars]):
            if ev:
                col = F.mul(col, F.pow(points[:, v], ev))
        Mon[m] = col
    return F.matmul(C, Mon)


def activate_mod_p(coeffs: Sequence[Fraction], V: np.ndarray, F: PrimeField) -> np.ndarray:
    """``s(V)`` entrywise, ``s = sum coeffs[j] x^j``."""
    if sum(1 for c in coeffs if c != 0) == 1:
        out = F.pow(V, len(coeffs) - 1)
        return out if coeffs[-1] == 1 else F.mul(out, F.const(coeffs[-1]))
    return F.polyval([F.const(c) for c in coeffs], V)


def full_rank_mask(S: np.ndarray, F: PrimeField) -> np.ndarray:
    """For a batch ``S`` of shape ``(T, k, N)``, ``N >= k``: which matrices have rank ``k`` mod ``p``.

    Fraction-free row elimination, vectorised over the batch: row ``i`` takes
    its first non-zero entry as pivot and is subtracted from the rows below
    (each scaled by the pivot, which keeps the rank). A row with no pivot means
    rank ``< k``.
    """
    A = np.array(S, dtype=np.uint64, copy=True)
    T, k, N = A.shape
    ok = np.ones(T, dtype=bool)
    rows = np.arange(T)
    small = F.p < 2**31
    P = np.uint64(F.p)
    for i in range(k):
        nz = A[:, i, :] != 0
        ok &= nz.any(axis=1)
        if i == k - 1:
            break
        j = np.argmax(nz, axis=1)
        piv = A[rows, i, j]  # (T,)
        factor = A[rows, i + 1 :, j]  # (T, k-i-1): the entries below the pivot
        if small:  # piv*a + (p-f)*b < 2^63: one reduction per entry
            A[:, i + 1 :, :] = (piv[:, None, None] * A[:, i + 1 :, :] + (P - factor)[:, :, None] * A[:, i : i + 1, :]) % P
        else:
            A[:, i + 1 :, :] = F.sub(F.mul(piv[:, None, None], A[:, i + 1 :, :]), F.mul(factor[:, :, None], A[:, i : i + 1, :]))
    return ok


# ---------------------------------------------------------------------------
# the computation
# ---------------------------------------------------------------------------


def screen(batch: TupleBatch, coeffs: Sequence[Fraction], seed: int, F: PrimeField, values=None) -> np.ndarray:
    """``True`` where ``s(p_1), ..., s(p_k)`` of a tuple is certified independent mod ``p``."""
    k = batch.tuples.shape[1]
    if values is None:
        points = evaluation_points(batch.ctx.nvars(), k, seed, F)
        values = values_mod_p(batch.pool, points, F)
    S = activate_mod_p(coeffs, values, F)[batch.tuples]  # (T, k, N)
    return full_rank_mask(S, F)


def decide(polys: Sequence, coeffs: Sequence[Fraction]) -> tuple[int, list[list[Fraction]]]:
    """Exact rank and verified rational kernel of ``s(p_1), ..., s(p_k)``."""
    return rational_kernel([activate(coeffs, p) for p in polys])


def independence(
    polys: str | None = None,
    activation: str = "x^2",
    family: str | TupleFamily | None = None,
    shard: int = 0,
    num_shards: int = 1,
    seed: int = 0,
    prime: int = SCREEN_PRIME,
) -> dict:
    """Decide whether ``s(p_1), ..., s(p_k)`` are linearly independent over ``Q``.

    Parameters
    ----------
    polys : str
        ``"p1; p2; ..."`` (safe parser, any variables). Or give ``family``.
    activation : str
        ``x^r``, ``generic:r`` (drawn from ``seed``) or a polynomial in ``x``.
    family : str, optional
        A family spelling (see :mod:`pipeline.algebra.tuples`); with
        ``shard``/``num_shards`` the cell tests one shard of it.

    Returns
    -------
    dict
        ``k``, ``rank`` (exact; for a family the smallest), ``independent``
        (for a family: all tuples), ``certificate`` (a verified rational kernel
        vector or None), ``kernel_basis``, ``r``, ``bound`` (Prop. 16),
        ``tuples_tested``, ``dependent_tuples``, ``dependent_tuple``,
        ``method``, ``prime``.
    """
    s = Activation.parse(activation, seed)
    coeffs = s.coeffs
    scaling = s.is_monomial
    F = PrimeField(prime)
    if (polys is None) == (family is None):
        raise ValueError("give exactly one of polys and family")
    if polys is not None:
        ctx, ps = parse_tuple(polys, scaling)
        batches: Iterable[TupleBatch] = [TupleBatch(ctx, ps, np.arange(len(ps))[None, :])]
        k = len(ps)
    else:
        fam = parse_family(family) if isinstance(family, str) else family
        fam.validate(scaling)
        batches = fam.batches(shard, num_shards, scaling, seed)
        k = fam.k
    tested = dependent = 0
    min_rank = k
    first = None  # (text, basis)
    for batch in batches:
        ok = screen(batch, coeffs, seed, F)
        tested += len(ok)
        for t in np.flatnonzero(~ok):
            rank, basis = decide(batch.polys(t), coeffs)
            if rank < k:
                dependent += 1
                min_rank = min(min_rank, rank)
                if first is None:
                    first = (batch.text(t), basis)
    basis = first[1] if first else None
    return {
        "k": k,
        "rank": min_rank if tested else None,
        "independent": dependent == 0,
        "certificate": certificate_text(basis[0]) if basis else None,
        "kernel_basis": [certificate_text(v) for v in basis] if basis else None,
        "r": s.degree,
        "bound": prop16_bound(k),
        "tuples_tested": tested,
        "dependent_tuples": dependent,
        "dependent_tuple": first[0] if first else None,
        "method": METHOD,
        "prime": prime,
    }


# ---------------------------------------------------------------------------
# parameters (shared with independence-threshold)
# ---------------------------------------------------------------------------


def validate_polys(polys, scaling_invariant: bool):
    if polys is None:
        return None
    parse_tuple(polys, scaling_invariant)
    return polys.strip()


def validate_family(family, info: ValidationInfo, scaling_invariant: bool | None):
    data = info.data
    polys = data.get("polys")
    if family is None:
        if polys is None and "polys" in data:
            raise ValueError("give the polynomials with polys (e.g. 'x^2 - y^2; 2*x*y') or a family such as binary_linear:k=3,coef=2")
        if data.get("num_shards", 1) != 1:
            raise ValueError("num_shards > 1 needs a family to split; leave num_shards at 1 for a single tuple")
        return None
    if polys is not None:
        raise ValueError("give either polys or family, not both")
    if not isinstance(family, str):
        raise ValueError("must be a family spelling such as binary_linear:k=3,coef=2")
    fam = parse_family(family)
    if scaling_invariant is not None:
        fam.validate(scaling_invariant)
    return family.strip()


class FamilyFields(BaseModel):
    """Fields shared by the independence computations: a tuple or a family shard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_shards: int = Field(1, description="split the family into this many shards (one per cell)")
    shard: int = Field(0, description="which shard of the family this cell tests, 0..num_shards-1")

    @field_validator("num_shards")
    @classmethod
    def _num_shards(cls, n):
        if n < 1:
            raise ValueError(f"must be at least 1, got {n}")
        return n

    @field_validator("shard")
    @classmethod
    def _shard(cls, i, info: ValidationInfo):
        n = info.data.get("num_shards", 1)
        if not 0 <= i < n:
            raise ValueError(f"must be between 0 and num_shards-1 = {n - 1}, got {i}")
        return i


class IndependenceParams(FamilyFields):
    activation: str = Field("x^2", description="x^r, generic:r or a polynomial in x")
    polys: str | None = Field(None, description="the polynomials p1; p2; ... (or give --family)")
    family: str | None = Field(
        None,
        validate_default=True,
        description="random:..., binary_linear:k=..,coef=.., box:nvars=..,deg=..,k=..,coef=.. or file:PATH",
    )

    @field_validator("activation")
    @classmethod
    def _activation(cls, text):
        Activation.parse(text)
        return text.strip()

    @field_validator("polys")
    @classmethod
    def _polys(cls, polys, info: ValidationInfo):
        act = info.data.get("activation")
        return validate_polys(polys, Activation.parse(act).is_monomial if act else True)

    @field_validator("family")
    @classmethod
    def _family(cls, family, info: ValidationInfo):
        act = info.data.get("activation")
        return validate_family(family, info, Activation.parse(act).is_monomial if act else None)


def _run(model, params: IndependenceParams, seed: int) -> dict:
    return independence(params.polys, params.activation, params.family, params.shard, params.num_shards, seed)


def _cost(model, params) -> float:
    if params.family is None:
        return 1e-3
    try:
        fam = parse_family(params.family)
        n = getattr(fam, "num_tuples", None) or math.comb(fam.pool_size(), fam.k)
        return 1e-3 + 2e-5 * n / params.num_shards
    except Exception:
        return 0.05


@dataclass
class IndependenceOutputs:
    """The output columns of ``independence`` (the Parquet schema is derived from it)."""

    k: int | None = None
    rank: int | None = None
    independent: bool | None = None
    certificate: list | dict | None = None
    kernel_basis: list | dict | None = None
    r: int | None = None
    bound: int | None = None
    tuples_tested: int | None = None
    dependent_tuples: int | None = None
    dependent_tuple: str | None = None
    method: str | None = None
    prime: int | None = None


from . import Computation  # noqa: E402

COMPUTATION = Computation(
    name="independence",
    version=VERSION,
    run=_run,
    params=IndependenceParams,
    needs_model=False,
    description="exact linear independence of s(p_1), ..., s(p_k) with a verified rational certificate",
    outputs=IndependenceOutputs,
    cost=_cost,
)

__all__ = ["COMPUTATION", "IndependenceParams", "activate", "certificate_text", "coefficient_matrix", "exact_rank",
           "independence", "is_relation", "primitive_integer_vector", "prop16_bound", "rational_kernel"]
