"""Activation-degree thresholds for linear independence: the smallest ``r`` that works.

For a tuple ``p_1, ..., p_k`` and each ``r = 1, ..., max_r`` this decides
whether ``s_r(p_1), ..., s_r(p_k)`` are linearly independent, where ``s_r`` is
``x^r`` (``activation_kind = monomial``, Prop. 16 of Finkel--Rodriguez--Wu--Yahl)
or the ``generic:r`` activation drawn from the cell's seed (the talk's
conjecture). ``min_r`` is the smallest ``r`` from which the tuple stays
independent up to ``max_r`` (``None`` when it is dependent at ``max_r``); Prop. 16
guarantees ``min_r <= 6(k-1)^2 - 6(k-1) + 2`` (``bound + 1``).

For a family (one shard of it per cell) the result is the maximum of ``min_r``
over the family's tuples, the tuple attaining it (``worst_tuple``, its
``dependent_r`` and certificates), the number of tuples tested and the
histogram of ``min_r``.

Exactness (see :mod:`pipeline.compute.independence`): independence at ``r`` is
certified by a non-zero minor mod a prime of the values at random points,
computed for every tuple and every ``r`` at once from the values
``p_i(a_j)`` (``p^r = p^(r-1) * p`` entrywise). Each dependence that decides a
``min_r`` is confirmed over ``Q`` by exact expansion and a rational kernel
vector that is checked by expanding ``sum c_i s_r(p_i) = 0``; the powers
``p_i^r`` are cached and reused across ``r``. Every reported dependent ``r`` and
certificate is exact.

Example
-------
>>> t = independence_threshold("x^2 - y^2; 2*x*y; x^2 + y^2", max_r=10)
>>> t["dependent_r"], t["min_r"], t["certificates"]
([2], 3, {'2': ['1', '1', '-1']})
>>> independence_threshold(family="binary_linear:k=4,coef=2", max_r=6)["min_r"]
3
"""

from __future__ import annotations

from dataclasses import dataclass

import math
from functools import lru_cache
from fractions import Fraction
from typing import Sequence

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from ..algebra.tuple_families import parse_family
from ..algebra.tuples import TupleBatch, parse_tuple, tuple_text
from ..algebra.field import PrimeField
from ..models.activation import Activation
from .independence import (
    METHOD,
    SCREEN_PRIME,
    FamilyFields,
    activate_mod_p,
    certificate_text,
    exact_rank,
    evaluation_points,
    full_rank_mask,
    prop16_bound,
    rational_kernel,
    validate_family,
    validate_polys,
    values_mod_p,
)

VERSION = "1"
ACTIVATION_KINDS = ("monomial", "generic")
MAX_R = 1000


@lru_cache(maxsize=4096)
def activation_coeffs(kind: str, r: int, seed: int) -> tuple[Fraction, ...]:
    """Coefficients of ``x^r`` or of ``generic:r`` (drawn from ``seed``)."""
    return Activation.parse(f"x^{r}" if kind == "monomial" else f"generic:{r}", seed).coeffs


class ActivatedTuple:
    """``s(p_1), ..., s(p_k)`` expanded exactly, with the powers ``p_i^j`` cached across ``r``."""

    def __init__(self, polys: Sequence):
        self.polys = list(polys)
        self.powers = [{1: p} for p in self.polys]

    def power(self, i: int, j: int):
        cache = self.powers[i]
        if j not in cache:
            if j == 0:
                cache[0] = self.polys[i].context().constant(1)
            elif j - 1 in cache:
                cache[j] = cache[j - 1] * self.polys[i]
            else:
                cache[j] = self.polys[i] ** j
        return cache[j]

    def activated(self, coeffs: Sequence[Fraction]) -> list:
        import flint

        out = []
        for i in range(len(self.polys)):
            acc = None
            for j, c in enumerate(coeffs):
                if c == 0:
                    continue
                term = self.power(i, j) * flint.fmpq(c.numerator, c.denominator)
                acc = term if acc is None else acc + term
            out.append(acc)
        return out

    def kernel(self, coeffs: Sequence[Fraction]) -> tuple[int, list[list[Fraction]]]:
        return rational_kernel(self.activated(coeffs))


def screen_all_r(batch: TupleBatch, kind: str, max_r: int, seed: int, F: PrimeField, values=None) -> np.ndarray:
    """``(T, max_r)`` bool: tuple ``t`` certified independent at ``r = column + 1`` (mod ``p``).

    The activation is applied to the values of the pool's polynomials once per
    ``r`` (``p^r = p^(r-1) * p`` for monomials), then gathered into the tuples.
    """
    T, k = batch.tuples.shape
    if values is None:
        values = values_mod_p(batch.pool, evaluation_points(batch.ctx.nvars(), k, seed, F), F)
    out = np.zeros((T, max_r), dtype=bool)
    power = values
    for r in range(1, max_r + 1):
        if kind == "monomial":
            if r > 1:
                power = F.mul(power, values)
            S = power
        else:
            S = activate_mod_p(activation_coeffs(kind, r, seed), values, F)
        out[:, r - 1] = full_rank_mask(S[batch.tuples], F)
    return out


def span_dimension_bound(polys: Sequence, coeffs: Sequence[Fraction]) -> int:
    """An upper bound for ``dim span(s(p_1), ..., s(p_k))`` without expanding anything.

    ``s(p) = sum_j c_j p^j`` lies in the polynomials of degree ``<= r * max deg p_i``
    in the variables that occur; if all ``p_i`` are homogeneous of one degree
    ``d``, in the sum of the degree-``j d`` parts over the ``j`` with ``c_j != 0``.
    When the bound is below ``k`` the tuple is dependent: no kernel is needed
    to know it.
    """
    used = sorted({v for p in polys for e in p.monoms() for v, ev in enumerate(e) if ev})
    n = len(used)
    degs = {sum(e) for p in polys for e in p.monoms()}
    js = [j for j, c in enumerate(coeffs) if c != 0]
    if len(degs) == 1:
        (d,) = degs
        return sum(math.comb(m + n - 1, n - 1) if n else 1 for m in {j * d for j in js})
    return math.comb(max(js) * max(degs) + n, n)


def tuple_threshold(polys, kind: str, max_r: int, seed: int, candidates: Sequence[int], all_r: bool):
    """Exact dependent ``r`` among ``candidates`` (those not certified independent mod ``p``).

    With ``all_r`` every candidate is decided, with a verified certificate
    (``dependent_r`` and ``certificates``); otherwise only until the largest
    truly dependent ``r`` is found (by a dimension count or the exact rank over
    ``Q``), which is all ``min_r`` needs. Returns ``(min_r, dependent_r, certificates)``.
    """
    at = ActivatedTuple(polys)
    k = len(polys)
    dependent: list[int] = []
    certs: dict[str, list[str]] = {}
    for r in sorted(candidates, reverse=True):
        coeffs = activation_coeffs(kind, r, seed)
        if all_r:
            rank, basis = at.kernel(coeffs)
            if rank < k:
                dependent.append(r)
                certs[str(r)] = certificate_text(basis[0])
        elif span_dimension_bound(polys, coeffs) < k or exact_rank(at.activated(coeffs)) < k:
            dependent.append(r)
            break
    dependent.sort()
    top = max(dependent, default=0)
    min_r = None if top == max_r else top + 1
    return min_r, dependent, {str(r): certs[str(r)] for r in dependent if str(r) in certs}


def independence_threshold(
    polys: str | None = None,
    max_r: int = 20,
    activation_kind: str = "monomial",
    family: str | None = None,
    shard: int = 0,
    num_shards: int = 1,
    seed: int = 0,
    prime: int = SCREEN_PRIME,
) -> dict:
    """Dependent activation degrees and the threshold ``min_r`` of a tuple or a family shard.

    Returns
    -------
    dict
        ``k``, ``dependent_r`` (of the tuple, or of the family's worst tuple),
        ``min_r`` (the family's maximum; ``None`` if some tuple is dependent at
        ``max_r``), ``certificates`` (``{r: kernel vector}`` for ``dependent_r``),
        ``worst_tuple``, ``tuples_tested``, ``min_r_histogram``
        (``{min_r: count}``, key ``">max_r"`` for unreached; an empty shard
        has ``tuples_tested = 0`` and ``min_r = 1``), ``bound``
        (Prop. 16), ``exceeds_bound`` (a dependence at some ``r > bound``),
        ``method``, ``prime``.
    """
    if activation_kind not in ACTIVATION_KINDS:
        raise ValueError(f"activation_kind must be one of {ACTIVATION_KINDS}")
    scaling = activation_kind == "monomial"
    F = PrimeField(prime)
    if (polys is None) == (family is None):
        raise ValueError("give exactly one of polys and family")
    if polys is not None:
        ctx, ps = parse_tuple(polys, scaling)
        batches = [TupleBatch(ctx, ps, np.arange(len(ps))[None, :])]
        k = len(ps)
    else:
        fam = parse_family(family)
        fam.validate(scaling)
        batches = fam.batches(shard, num_shards, scaling, seed)
        k = fam.k

    def rank_key(m):  # order of badness: unreached beats every finite min_r
        return max_r + 1 if m is None else m

    tested = 0
    histogram: dict[str, int] = {}
    worst = None  # (min_r, polys)
    values_cache: dict[int, np.ndarray] = {}
    for batch in batches:
        key = id(batch.pool)
        if key not in values_cache:
            values_cache.clear()
            values_cache[key] = values_mod_p(batch.pool, evaluation_points(batch.ctx.nvars(), k, seed, F), F)
        ok = screen_all_r(batch, activation_kind, max_r, seed, F, values_cache[key])
        tested += len(ok)
        # tuples independent at every r: min_r = 1
        clean = ok.all(axis=1)
        if clean.any():
            histogram["1"] = histogram.get("1", 0) + int(clean.sum())
            if worst is None:
                worst = (1, batch.polys(int(np.flatnonzero(clean)[0])), [])
        for t in np.flatnonzero(~clean):
            cands = [int(r) + 1 for r in np.flatnonzero(~ok[t])]
            m, _, _ = tuple_threshold(batch.polys(t), activation_kind, max_r, seed, cands, all_r=False)
            label = str(m) if m is not None else f">{max_r}"
            histogram[label] = histogram.get(label, 0) + 1
            if worst is None or rank_key(m) > rank_key(worst[0]):
                worst = (m, batch.polys(t), cands)
    if worst is None:  # an empty shard: vacuously independent from r = 1 on
        return {
            "k": k, "dependent_r": [], "min_r": 1, "certificates": {}, "worst_tuple": None,
            "tuples_tested": 0, "min_r_histogram": {}, "bound": prop16_bound(k), "exceeds_bound": False,
            "method": METHOD, "prime": prime,
        }
    min_r, dependent_r, certs = tuple_threshold(worst[1], activation_kind, max_r, seed, worst[2], all_r=True)
    bound = prop16_bound(k)
    return {
        "k": k,
        "dependent_r": dependent_r,
        "min_r": min_r,
        "certificates": certs,
        "worst_tuple": tuple_text(worst[1]),
        "tuples_tested": tested,
        "min_r_histogram": dict(sorted(histogram.items(), key=lambda kv: (kv[0].startswith(">"), int(kv[0].lstrip(">"))))),
        "bound": bound,
        "exceeds_bound": bool(max(dependent_r, default=0) > bound),
        "method": METHOD,
        "prime": prime,
    }


class ThresholdParams(FamilyFields):
    activation_kind: str = Field("monomial", description="monomial (s = x^r) or generic (s = generic:r) for each r")
    max_r: int = Field(20, description="test r = 1, ..., max_r")
    polys: str | None = Field(None, description="the polynomials p1; p2; ... (or give --family)")
    family: str | None = Field(
        None,
        validate_default=True,
        description="random:..., binary_linear:k=..,coef=.., box:nvars=..,deg=..,k=..,coef=.. or file:PATH",
    )

    @field_validator("activation_kind")
    @classmethod
    def _kind(cls, kind):
        if kind not in ACTIVATION_KINDS:
            raise ValueError(f"must be monomial or generic, got {kind!r}")
        return kind

    @field_validator("max_r")
    @classmethod
    def _max_r(cls, r):
        if not 1 <= r <= MAX_R:
            raise ValueError(f"must be between 1 and {MAX_R}, got {r}")
        return r

    @field_validator("polys")
    @classmethod
    def _polys(cls, polys, info: ValidationInfo):
        return validate_polys(polys, info.data.get("activation_kind", "monomial") == "monomial")

    @field_validator("family")
    @classmethod
    def _family(cls, family, info: ValidationInfo):
        kind = info.data.get("activation_kind")
        return validate_family(family, info, None if kind is None else kind == "monomial")


def _run(model, params: ThresholdParams, seed: int) -> dict:
    return independence_threshold(
        params.polys, params.max_r, params.activation_kind, params.family, params.shard, params.num_shards, seed
    )


def _cost(model, params) -> float:
    if params.family is None:
        return 1e-3 * params.max_r
    try:
        fam = parse_family(params.family)
        n = getattr(fam, "num_tuples", None) or math.comb(fam.pool_size(params.activation_kind == "monomial"), fam.k)
        return 1e-3 + 2e-6 * n * params.max_r / params.num_shards
    except Exception:
        return 0.05


@dataclass
class ThresholdOutputs:
    """The output columns of ``independence-threshold`` (the Parquet schema is derived from it)."""

    k: int | None = None
    dependent_r: list[int] | None = None
    min_r: int | None = None
    certificates: list | dict | None = None
    worst_tuple: str | None = None
    tuples_tested: int | None = None
    min_r_histogram: list | dict | None = None
    bound: int | None = None
    exceeds_bound: bool | None = None
    method: str | None = None
    prime: int | None = None


from . import Computation  # noqa: E402

COMPUTATION = Computation(
    name="independence-threshold",
    version=VERSION,
    run=_run,
    params=ThresholdParams,
    needs_model=False,
    description="smallest activation degree r from which s_r(p_1..p_k) stay independent (tuple or family shard)",
    outputs=ThresholdOutputs,
    cost=_cost,
)
