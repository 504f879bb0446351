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

``weights`` (see :mod:`pipeline.algebra.weights`): ``identity``, ``generic``,
``psd:k``, ``diag:...``, ``file:PATH``, ``data``/``data:N`` (``Q = A^T A``, rows of
``A`` the model's feature vectors of ``N`` random inputs: ``t * d_out`` rows per
input for attention, ``dL`` per input for linear networks).

The recipe and its outputs are in :mod:`pipeline.algebra.edd_system`.

Example
-------
>>> r = edd(None, EddParams(equations="x^2 + y^2 - 1", weights="diag:4,1"))
>>> r["edd"], r["primes_agree"]
(4, True)
"""

from __future__ import annotations

import itertools
import json
import time
from fractions import Fraction

import flint
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..algebra import msolve
from ..algebra.edd_system import RANDOM_COEFF, _det, critical_set, random_point
from ..algebra.field import MSOLVE_PRIMES
from ..algebra.parser import PolynomialSyntaxError, parse_system, polynomial_context
from ..algebra.weights import kernel_basis, parse_weights, weight_matrix
from ..errors import SpecError

VERSION = "1"
#: Entries of random inputs for data weights are integers in [-RANDOM_INPUT, RANDOM_INPUT].
RANDOM_INPUT = 1000
METHODS = ("exact", "exact-implicit", "exact-parametric")

ATTENTION_HYPERSURFACE = (
    "y1^2*y6^2 + y4^2*y3^2 + y1*y3*y5^2 + y2^2*y4*y6 - 2*y1*y4*y3*y6 - y2*y1*y6*y5 - y2*y4*y3*y5"
)


class EddParams(BaseModel):
    """Options of the ``edd`` computation (CLI flags and grid axes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    equations: str | None = Field(None, description='implicit equations "f1; f2" (instead of a model)')
    variables: str | None = Field(None, description='"y1,y2,...": coordinate order (default: order of appearance)')
    weights: str = Field("identity", description="identity | generic | psd:k | diag:a,b,.. | data | data:N | file:PATH")
    dataset_size: int | None = Field(None, description="number of random inputs for weights=data")
    method: str = Field("exact", description="exact (implicit when known) | exact-implicit | exact-parametric")
    confirm: bool = Field(True, description="repeat the count modulo a second prime")
    real: bool = Field(True, description="count real critical points over Q (slower)")

    @field_validator("equations")
    @classmethod
    def _equations(cls, v):
        if v is not None:
            try:
                parse_system(v)
            except PolynomialSyntaxError as e:
                raise ValueError(f"{e}; write e.g. \"x^2 + y^2 - 1; x - y\"") from None
        return v

    @field_validator("variables")
    @classmethod
    def _variables(cls, v):
        if v is not None:
            names = [s.strip() for s in v.split(",")]
            if not all(n.isidentifier() for n in names) or len(set(names)) != len(names):
                raise ValueError(f"give distinct names separated by commas, e.g. y1,y2,y3; got {v!r}")
        return v

    @field_validator("weights")
    @classmethod
    def _weights(cls, v):
        parse_weights(v)
        return v

    @field_validator("dataset_size")
    @classmethod
    def _size(cls, v):
        if v is not None and v < 1:
            raise ValueError(f"must be a positive number of inputs, got {v}")
        return v

    @field_validator("method")
    @classmethod
    def _method(cls, v):
        if v not in METHODS:
            raise ValueError(f"choose one of {', '.join(METHODS)}, got {v!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        kind, arg = parse_weights(self.weights)
        if self.dataset_size is not None and kind != "data":
            raise ValueError("dataset_size is only used with weights=data: drop it or set weights to data")
        if kind == "data" and arg is not None and self.dataset_size is not None and arg != self.dataset_size:
            raise ValueError(f"weights data:{arg} and dataset_size {self.dataset_size} disagree: give one of them")
        if kind == "data" and arg is None and self.dataset_size is None:
            raise ValueError("weights=data needs dataset_size (or write weights as data:N)")
        if self.variables is not None and self.equations is None:
            raise ValueError("variables only applies to equations: drop it or give equations")
        return self


# ----------------------------------------------------------------------------- models as varieties
class _Variety:
    """Coordinates, features for data weights, and implicit equations or a parametrization."""

    names: list[str]
    equations: list | None = None  # fmpq_mpolys in `names`
    codim: int | None = None

    def features(self, N: int, rng) -> list[list[Fraction]]:  # pragma: no cover - interface
        raise NotImplementedError

    def parametrization(self):  # -> (param names, list of polys y_i(theta)) or None
        return None


class _Implicit(_Variety):
    def __init__(self, params: EddParams):
        names = [s.strip() for s in params.variables.split(",")] if params.variables else None
        try:
            ctx, polys = parse_system(params.equations, names)
        except PolynomialSyntaxError as e:
            raise SpecError("equations", str(e)) from None
        self.names = list(ctx.names())
        self.equations = polys


class _LinearVariety(_Variety):
    def __init__(self, model):
        if model.bias:
            raise SpecError("model.bias", "edd supports linear networks without bias: set bias false")
        w = model.widths
        self.rows, self.cols, self.q = w[-1], w[0], min(w)
        self.names = [f"w{i}_{j}" for i in range(1, self.rows + 1) for j in range(1, self.cols + 1)]
        if self.q >= min(self.rows, self.cols):
            raise SpecError("model.widths", f"the network fills all {self.rows}x{self.cols} matrices "
                            "(no bottleneck): give a hidden width smaller than the input and output widths")
        ctx = polynomial_context(self.names)
        g = ctx.gens()
        W = [[g[i * self.cols + j] for j in range(self.cols)] for i in range(self.rows)]
        r = self.q + 1
        self.equations = [_det([[W[i][j] for j in cs] for i in rs])
                          for rs in itertools.combinations(range(self.rows), r)
                          for cs in itertools.combinations(range(self.cols), r)]
        self.codim = (self.rows - self.q) * (self.cols - self.q)

    def features(self, N, rng):
        A = rng.integers(-RANDOM_INPUT, RANDOM_INPUT + 1, size=(N, self.cols))
        rows = []
        for a in A:
            for o in range(self.rows):
                row = [Fraction(0)] * (self.rows * self.cols)
                for j in range(self.cols):
                    row[o * self.cols + j] = Fraction(int(a[j]))
                rows.append(row)
        return rows


class _AttentionVariety(_Variety):
    def __init__(self, model, method: str):
        self.d, self.do, self.n, self.t = model.d, model.d_out, model.n, model.t
        d = self.d
        if self.n < d:
            raise SpecError("model.n", f"edd supports attention with n >= d (here n={self.n}, d={d}): set n >= {d}")
        if self.t < 2:
            raise SpecError("model.t", "edd needs t >= 2 tokens (then the virtual weights are identifiable)")
        self.pairs = [(c, a) for c in range(d) for a in range(c, d)]
        self.index = [(o, b, ca) for o in range(self.do) for b in range(d) for ca in self.pairs]
        self.names = [f"y{i + 1}" for i in range(len(self.index))]
        if d == 2 and self.do == 1 and method != "exact-parametric":
            _, self.equations = parse_system(ATTENTION_HYPERSURFACE, self.names)
            self.codim = 1

    def features(self, N, rng):
        rows = []
        for _ in range(N):
            X = rng.integers(-RANDOM_INPUT, RANDOM_INPUT + 1, size=(self.d, self.t))
            G = X @ X.T
            for o2 in range(self.do):
                for j in range(self.t):
                    rows.append([Fraction(int(G[c, a] * X[b, j])) if o == o2 else Fraction(0)
                                 for (o, b, (c, a)) in self.index])
        return rows

    def parametrization(self):
        d, do = self.d, self.do
        pnames = [f"v{o}_{c}" for o in range(do) for c in range(d)][1:] + [f"m{a}_{b}" for a in range(d) for b in range(d)]
        ctx = flint.fmpq_mpoly_ctx.get(tuple(pnames), "degrevlex")
        g = dict(zip(pnames, ctx.gens()))
        V = [[ctx.constant(1) if (o, c) == (0, 0) else g[f"v{o}_{c}"] for c in range(d)] for o in range(do)]
        M = [[g[f"m{a}_{b}"] for b in range(d)] for a in range(d)]
        ys = []
        for (o, b, (c, a)) in self.index:
            ys.append(V[o][c] * M[c][b] if c == a else V[o][c] * M[a][b] + V[o][a] * M[c][b])
        return pnames, ys


def variety_of(model, params: EddParams) -> _Variety:
    if model is None:
        return _Implicit(params)
    if model.name == "linear":
        return _LinearVariety(model)
    if model.name == "attention":
        return _AttentionVariety(model, params.method)
    raise SpecError("model", f"edd supports the models linear and attention (and equations), not {model.name!r}")


# ----------------------------------------------------------------------------- parametric
def parametric_critical_points(pnames, ys, Q, u, seed=0, prime=MSOLVE_PRIMES[0], timeout=None) -> dict:
    """Critical points in parameter space, counted by image (divided by the generic fiber size).

    Unknowns ``theta`` (gauge-fixed), ``s``, ``t``; equations
    ``J^T Q (y(theta) - u) = 0``, ``s det(C^T J) = 1`` (``J`` of full rank),
    ``t (w . Q (y - u)) = 1`` (positive loss). Zero loss: ``Q (y - u) = 0``.
    The generic fiber size is the number of solutions of ``y(theta) = y(theta_0)``
    with ``J`` of full rank, at a random ``theta_0``.
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
    CJ = [[sum((int(C[i, a]) * J[i][b] for i in range(n)), ctx.constant(0)) for b in range(P)] for a in range(P)]
    rank_ok = s * _det(CJ) - 1
    q = lambda v: flint.fmpq(Fraction(v).numerator, Fraction(v).denominator)  # noqa: E731
    res = [sum((q(Q[i][k]) * (Y[k] - q(u[k])) for k in range(n)), ctx.constant(0)) for i in range(n)]
    grad = [sum((J[i][b] * res[i] for i in range(n)), ctx.constant(0)) for b in range(P)]
    w = rng.integers(-RANDOM_COEFF, RANDOM_COEFF + 1, size=n)
    positive = grad + [rank_ok, t * sum((int(w[i]) * res[i] for i in range(n)), ctx.constant(0)) - 1]
    theta0 = rng.integers(-50, 51, size=P)
    y0 = [_eval(y, theta0) for y in ys]
    fiber_sys = [Y[i] - q(y0[i]) for i in range(n)] + [rank_ok, t]
    t0 = time.perf_counter()
    fib = msolve.solve(fiber_sys, names, characteristic=prime, timeout=timeout)
    if fib.kind != "finite":
        raise SpecError("method", "the gauge-fixed parametrization has positive-dimensional fibers; "
                        "use the implicit equations (method exact-implicit)")
    pos = msolve.solve(positive, names, characteristic=prime, timeout=timeout)
    k = len(kernel_basis(Q))
    zero_count = 0
    zero_kind = "empty"
    if k:
        rows = _independent_rows(Q)
        zero = [res[i] for i in rows] + [rank_ok, t]
        z = msolve.solve(zero, names, characteristic=prime, timeout=timeout)
        zero_kind = z.kind
        zero_count = z.distinct if z.kind == "finite" else None
    f = fib.distinct
    return {
        "fiber_size": f,
        "positive_loss_points": pos.distinct // f if pos.kind == "finite" else None,
        "positive_loss_kind": pos.kind,
        "zero_loss_kind": zero_kind,
        "zero_loss_points": (zero_count // f) if zero_count is not None else None,
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


# ----------------------------------------------------------------------------- the computation
def edd(model=None, params: EddParams | None = None, seed: int = 0) -> dict:
    """ED degree and critical-point structure; see the module docstring."""
    params = params or EddParams()
    if (model is None) == (params.equations is None):
        raise SpecError("equations", "give exactly one of --equations (implicit) or --model")
    var = variety_of(model, params)
    n = len(var.names)
    try:
        Q = weight_matrix(params.weights, n, seed=seed, dataset_size=params.dataset_size, features=var.features)
    except ValueError as e:
        raise SpecError("weights", str(e)) from None
    u = random_point(n, seed)
    t0 = time.perf_counter()
    use_param = var.equations is None or params.method == "exact-parametric"
    if params.method == "exact-implicit" and var.equations is None:
        raise SpecError("method", "no implicit equations are known for this model: use method exact or exact-parametric")
    if use_param:
        pnames, ys = var.parametrization()
        r1 = parametric_critical_points(pnames, ys, Q, u, seed, MSOLVE_PRIMES[0])
        agree = None
        if params.confirm:
            r2 = parametric_critical_points(pnames, ys, Q, u, seed, MSOLVE_PRIMES[1])
            agree = all(r1[k] == r2[k] for k in ("fiber_size", "positive_loss_points", "zero_loss_points"))
        pos, zl = r1["positive_loss_points"], r1["zero_loss_points"]
        posdim = []
        if r1["positive_loss_kind"] == "positive_dimensional":
            posdim.append({"dimension": None, "degree": None, "zero_loss": False, "components_over_Q": None})
        if r1["zero_loss_kind"] == "positive_dimensional":
            posdim.append({"dimension": None, "degree": None, "zero_loss": True, "components_over_Q": None})
        out = {
            "edd": None if pos is None else pos + (zl or 0),
            "positive_loss_points": pos, "zero_loss_points": zl or 0,
            "positive_dimensional": posdim, "real_critical_points": None, "prime": MSOLVE_PRIMES[0],
            "primes_agree": agree if r1["divisible"] else False,
            "solver_seconds": r1["seconds"] + (r2["seconds"] if params.confirm else 0.0),
            "codimension": None, "kernel_dimension": len(kernel_basis(Q)), "fiber_size": r1["fiber_size"],
            "method": "exact-parametric-modp",
        }
    else:
        out = critical_set(var.equations, Q, u, seed=seed, confirm=params.confirm, real=params.real,
                           codim=var.codim)
        out.pop("total_seconds")
        out.update(fiber_size=None, method="exact-implicit-modp")
    out["variables"] = ",".join(var.names)
    out["cell_seconds"] = time.perf_counter() - t0
    return out


def _run(model, params, seed):
    out = edd(model, params, seed)
    out["positive_dimensional"] = json.loads(json.dumps(out["positive_dimensional"]))
    return out


from . import Computation  # noqa: E402

COMPUTATION = Computation(
    name="edd",
    version=VERSION,
    run=_run,
    params=EddParams,
    needs_model=None,
    models=("linear", "attention"),
    description="ED degree: critical points of ||x - u||_Q^2 on M_reg (saturated Lagrange systems, msolve mod p)",
    outputs={
        "edd": "int",
        "positive_loss_points": "int",
        "zero_loss_points": "int",
        "positive_dimensional": "json",
        "real_critical_points": "int",
        "prime": "int",
        "primes_agree": "bool",
        "method": "str",
        "solver_seconds": "float",
        "cell_seconds": "float",
        "codimension": "int",
        "kernel_dimension": "int",
        "fiber_size": "int",
        "variables": "str",
    },
    cost=lambda model, params: 5.0,
)
