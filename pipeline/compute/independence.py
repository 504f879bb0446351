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

import math
from fractions import Fraction
from typing import Iterable, Sequence

import flint
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ..algebra.families import Family, TupleBatch, parse_family, parse_tuple
from ..algebra.field import MSOLVE_PRIMES, PrimeField
from ..models.activation import Activation
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
# exact expansion and rational kernel
# ---------------------------------------------------------------------------


def _fmpq(c: Fraction) -> flint.fmpq:
    return flint.fmpq(c.numerator, c.denominator)


def activate(coeffs: Sequence[Fraction], p):
    """``s(p) = c_0 + c_1 p + ... + c_r p^r`` expanded exactly (Horner on ``fmpq_mpoly``).

    >>> from neurovar.pipeline.algebra.parser import parse_polynomial
    >>> str(activate([Fraction(1), Fraction(0), Fraction(2)], parse_polynomial("x + y")))
    '2*x^2 + 4*x*y + 2*y^2 + 1'
    """
    ctx = p.context()
    if sum(1 for c in coeffs if c != 0) == 1:
        return p ** (len(coeffs) - 1) * _fmpq(coeffs[-1])
    acc = ctx.constant(_fmpq(coeffs[-1]))
    for c in reversed(coeffs[:-1]):
        acc = acc * p
        if c != 0:
            acc = acc + _fmpq(c)
    return acc


def primitive_integer_vector(v: Sequence) -> list[Fraction]:
    """``v`` (integers or fractions) scaled to coprime integers with a positive first non-zero entry."""
    v = [Fraction(x) for x in v]
    den = math.lcm(*(x.denominator for x in v))
    ints = [int(x * den) for x in v]
    g = math.gcd(*ints) or 1
    first = next((x for x in ints if x), 1)
    sign = 1 if first > 0 else -1
    return [Fraction(sign * x // g) for x in ints]


def coefficient_matrix(fs: Sequence) -> tuple[flint.fmpz_mat, list[int]]:
    """The ``(#monomials) x k`` integer matrix of ``d_i f_i`` and the column scalings ``d_i``.

    Column ``i`` holds the coefficients of ``f_i`` times the lcm ``d_i`` of their
    denominators, so the kernel of the rational matrix is ``{(d_i x_i)}`` for
    ``x`` in the kernel of this one, and the ranks agree.
    """
    k = len(fs)
    dicts = [f.to_dict() for f in fs]
    monos: dict[tuple, int] = {}
    for d in dicts:
        for e in d:
            monos.setdefault(e, len(monos))
    entries = [0] * (max(len(monos), 1) * k)
    dens = []
    for i, d in enumerate(dicts):
        den = math.lcm(*(int(c.q) for c in d.values())) if d else 1
        dens.append(den)
        for e, c in d.items():
            entries[monos[e] * k + i] = int(c.p) * (den // int(c.q))
    return flint.fmpz_mat(max(len(monos), 1), k, entries), dens


def exact_rank(fs: Sequence) -> int:
    """Rank of ``f_1, ..., f_k`` over ``Q`` (exact integer matrix rank)."""
    return coefficient_matrix(fs)[0].rank()


def rational_kernel(fs: Sequence) -> tuple[int, list[list[Fraction]]]:
    """Exact rank of ``f_1, ..., f_k`` over ``Q`` and a basis of ``{c : sum c_i f_i = 0}``.

    Every basis vector is verified by exact expansion; the vectors are
    primitive integer vectors (coprime, first non-zero entry positive).

    >>> from neurovar.pipeline.algebra.parser import parse_system
    >>> _, fs = parse_system("x^2; y^2; x^2 + y^2")
    >>> rational_kernel(fs)
    (2, [[Fraction(1, 1), Fraction(1, 1), Fraction(-1, 1)]])
    """
    k = len(fs)
    A, dens = coefficient_matrix(fs)
    X, nullity = A.nullspace()
    basis = []
    if nullity:
        # the reduced row echelon form of the kernel is canonical (independent of the method)
        K = flint.fmpq_mat(nullity, k, [int(X[i, col]) * dens[i] for col in range(nullity) for i in range(k)])
        R, _ = K.rref()
        for row in range(nullity):
            v = primitive_integer_vector([Fraction(int(R[row, i].p), int(R[row, i].q)) for i in range(k)])
            if not is_relation(v, fs):
                raise ArithmeticError("a kernel vector failed the exact check sum c_i f_i == 0")
            basis.append(v)
    return k - nullity, basis


def is_relation(c: Sequence[Fraction], fs: Sequence) -> bool:
    """``sum c_i f_i == 0``, checked by exact expansion."""
    acc = fs[0].context().constant(0)
    for ci, f in zip(c, fs):
        if ci != 0:
            acc = acc + f * _fmpq(ci)
    return acc.is_zero()


def certificate_text(v: Sequence[Fraction] | None) -> list[str] | None:
    """A kernel vector as JSON-friendly rational strings (``"3"``, ``"-1/2"``)."""
    return None if v is None else [str(x) for x in v]


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
    family: str | Family | None = None,
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
        A family spelling (see :mod:`pipeline.algebra.families`); with
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


from . import Computation  # noqa: E402

COMPUTATION = Computation(
    name="independence",
    version=VERSION,
    run=_run,
    params=IndependenceParams,
    needs_model=False,
    description="exact linear independence of s(p_1), ..., s(p_k) with a verified rational certificate",
    outputs={
        "k": "int",
        "rank": "int",
        "independent": "bool",
        "certificate": "json",
        "kernel_basis": "json",
        "r": "int",
        "bound": "int",
        "tuples_tested": "int",
        "dependent_tuples": "int",
        "dependent_tuple": "str",
        "method": "str",
        "prime": "int",
    },
    cost=_cost,
)
