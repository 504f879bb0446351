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

The recipe and its outputs are in :mod:`pipeline.algebra.edd_system`.

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

import json
import math
import time
from fractions import Fraction

import flint
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..algebra import msolve
from ..algebra.edd_system import RANDOM_COEFF, _det, critical_set, random_point
from ..algebra.field import MSOLVE_PRIMES
from ..algebra.parser import PolynomialSyntaxError, parse_system
from ..algebra.weights import kernel_basis, parse_weights, weight_matrix
from ..errors import SpecError

VERSION = "4"
#: ``method: exact`` uses implicit equations up to this codimension, parameter space above it.
MAX_IMPLICIT_CODIM = 4
#: Entries of random inputs for data weights are integers in [-RANDOM_INPUT, RANDOM_INPUT].
RANDOM_INPUT = 1000
METHODS = ("exact", "exact-implicit", "exact-parametric", "numerical", "both")



class EddParams(BaseModel):
    """Options of the ``edd`` computation (CLI flags and grid axes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    equations: str | None = Field(None, description='implicit equations "f1; f2" (instead of a model)')
    variables: str | None = Field(None, description='"y1,y2,...": coordinate order (default: order of appearance)')
    weights: str = Field("identity", description="identity | generic | psd:k | diag:a,b,.. | data | data:N | "
                                                 "bombieri | file:PATH")
    dataset_size: int | None = Field(None, description="number of random inputs for weights=data")
    method: str = Field("exact", description="exact (implicit when known) | exact-implicit | exact-parametric | "
                                             "numerical (monodromy) | both (exact and numerical, compared)")
    confirm: bool = Field(True, description="repeat the count modulo a second prime")
    real: bool = Field(True, description="count real critical points over Q (slower)")
    time_limit: float | None = Field(None, description="seconds for the numerical monodromy (then its count is a "
                                                       "lower bound and edd is left null)")

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

    @field_validator("time_limit")
    @classmethod
    def _time_limit(cls, v):
        if v is not None and not v > 0:
            raise ValueError(f"must be a positive number of seconds, got {v}")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        if self.time_limit is not None and self.method not in ("numerical", "both"):
            raise ValueError("time_limit applies to the numerical method: set method numerical or both, or drop it")
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

    def sample_point(self, rng) -> np.ndarray:
        """A random complex point of ``M``: the parametrization at random complex parameters."""
        if getattr(self, "_param_system", None) is None:
            from ..numeric import System

            par = self.parametrization()
            if par is None:
                raise SpecError("method", "no parametrization is known to sample points of this variety")
            pnames, ys = par
            self._param_system = System.from_mpolys(ys, pnames)
        S = self._param_system
        theta = rng.normal(size=S.n_variables) + 1j * rng.normal(size=S.n_variables)
        return S.evaluate(theta[None, :])[0]


class _Implicit(_Variety):
    def __init__(self, params: EddParams):
        names = [s.strip() for s in params.variables.split(",")] if params.variables else None
        try:
            ctx, polys = parse_system(params.equations, names)
        except PolynomialSyntaxError as e:
            raise SpecError("equations", str(e)) from None
        self.names = list(ctx.names())
        self.equations = polys


class _ModelVariety(_Variety):
    """The neurovariety of a model in the coordinates of its ambient space ``V``.

    Everything comes from the model protocol (:mod:`pipeline.models.base`):
    ``coordinate_names``, ``implicit_equations`` (used up to
    :data:`MAX_IMPLICIT_CODIM` under ``exact`` unless the model prefers them),
    ``features`` (data weights), ``bombieri_weights`` and the gauge-fixed
    ``parametrization``.
    """

    def __init__(self, model, method: str):
        self.model = model
        self.names = model.coordinate_names()
        self.equations, self.codim = None, None
        if method != "exact-parametric":
            known = model.implicit_equations(self.names)
            if known is not None:
                eqs, codim, preferred = known
                if preferred or method != "exact" or codim <= MAX_IMPLICIT_CODIM:
                    self.equations, self.codim = eqs, codim

    def features(self, N, rng):
        rows = []
        for _ in range(N):
            x = rng.integers(-RANDOM_INPUT, RANDOM_INPUT + 1, size=self.model.feature_input_shape)
            rows += self.model.features([int(v) for v in np.ravel(x)])
        return rows

    def bombieri(self):
        return self.model.bombieri_weights()

    def parametrization(self):
        return self.model.parametrization()


def variety_of(model, params: EddParams, method: str | None = None) -> _Variety:
    """The variety of ``model`` (or of ``params.equations``); ``method`` (default ``params.method``) decides
    whether implicit equations are used (``exact-parametric``: none; ``exact``: up to :data:`MAX_IMPLICIT_CODIM`)."""
    method = method or params.method
    if model is None:
        return _Implicit(params)
    return _ModelVariety(model, method)


# ----------------------------------------------------------------------------- parametric
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
    CJ = [[sum((int(C[i, a]) * J[i][b] for i in range(n)), ctx.constant(0)) for b in range(P)] for a in range(P)]
    rank_ok = s * _det(CJ) - 1
    q = lambda v: flint.fmpq(Fraction(v).numerator, Fraction(v).denominator)  # noqa: E731
    res = [sum((q(Q[i][k]) * (Y[k] - q(u[k])) for k in range(n)), ctx.constant(0)) for i in range(n)]
    grad = [sum((J[i][b] * res[i] for i in range(n)), ctx.constant(0)) for b in range(P)]
    w = rng.integers(-RANDOM_COEFF, RANDOM_COEFF + 1, size=n)
    positive = grad + [rank_ok, t * sum((int(w[i]) * res[i] for i in range(n)), ctx.constant(0)) - 1]
    theta0 = rng.integers(-50, 51, size=P)
    y0 = [_eval(y, theta0) for y in ys]
    point = [flint.fmpq(int(v)) for v in theta0]
    J0 = flint.fmpq_mat(n, P, [y.derivative(b)(*point) if P else 0 for y in ys for b in range(P)])
    if J0.rank() < P:
        raise SpecError("method", f"the gauge-fixed parametrization has rank {J0.rank()} < {P} parameters "
                        "(positive-dimensional fibers: more parameters than the dimension of the neurovariety); "
                        "use implicit equations (method exact or exact-implicit) or a smaller network")
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


# ----------------------------------------------------------------------------- numerical (monodromy)
#: Tracker tolerances for the single homotopy from the monodromy base point to the rational data ``u``:
#: ``u`` has entries up to ~10^4, so endpoints are large and badly scaled in the original coordinates;
#: they are judged by Krawczyk certificates in rescaled coordinates instead (:func:`_certify_at_data`).
_REAL_STEP = dict(infinity_threshold=1e20, singular_condition=1e30)


def _qmpoly(v) -> flint.fmpq:
    v = Fraction(v)
    return flint.fmpq(v.numerator, v.denominator)


def _lagrange_system(G: list, names: list[str], Q):
    """``G = 0``, ``Q (x - u) = sum_j l_j grad G_j``: unknowns ``x, l_1..l_c``, parameters ``u``.

    The square Lagrange system of :mod:`pipeline.algebra.edd_system` without the
    saturating unknowns ``s, t`` (monodromy never leaves the component of the
    start pair, a smooth point of ``M`` with ``l != 0``).
    """
    from ..numeric import System

    n, c = len(names), len(G)
    lams = [f"l{j + 1}_" for j in range(c)]
    us = [f"u{i + 1}_" for i in range(n)]
    ctx = flint.fmpq_mpoly_ctx.get(tuple(names + lams + us), "degrevlex")
    g = ctx.gens()
    X, L, U = g[:n], g[n: n + c], g[n + c:]
    Gl = [f.compose(*X, ctx=ctx) for f in G]
    polys = list(Gl)
    for i in range(n):
        e = ctx.constant(0)
        for k in range(n):
            if Q[i][k]:
                e = e + _qmpoly(Q[i][k]) * (X[k] - U[k])
        for j in range(c):
            e = e - L[j] * Gl[j].derivative(i)
        polys.append(e)
    return System.from_mpolys(polys, names + lams, us)


def _normalized(f):
    """``f`` divided by its largest coefficient (multipliers of size ~1 in the Lagrange system)."""
    N = max(abs(Fraction(int(c.p), int(c.q))) for c in f.coeffs())
    return f * flint.fmpq(N.denominator, N.numerator)


def _scaled(G: list, s: int) -> tuple[list, list[Fraction]]:
    """``G_j(s x) / N_j`` (``N_j`` the largest coefficient) and the ``N_j``."""
    out, norms = [], []
    for f in G:
        ctx = f.context()
        fs = f.compose(*[flint.fmpq(s) * x for x in ctx.gens()], ctx=ctx)
        N = max(abs(Fraction(int(c.p), int(c.q))) for c in fs.coeffs())
        out.append(fs * flint.fmpq(N.denominator, N.numerator))
        norms.append(N)
    return out, norms


def _certify_at_data(G, names, Q, X, u) -> tuple[int, int]:
    """Certified distinct and certified real solutions among ``X`` (``(x, l)`` rows) at the data ``u``.

    Each solution is certified in coordinates ``x = s x'`` with ``s`` a power of
    two near ``|x|``: ``G_j(s x') / N_j = 0``, ``Q (x' - u/s) = sum l'_j grad'``,
    ``l'_j = l_j N_j / s^2`` (a real rescaling: real solutions stay real, and a
    Krawczyk box in ``x'`` is one in ``x``). Boxes of different scales are
    compared in ``x`` and counted once if they overlap.
    """
    from ..numeric import certify

    n, c = len(names), len(G)
    scales = [2 ** int(round(math.log2(max(1.0, float(np.abs(x[:n]).max()))))) for x in X]
    accepted: list[tuple[np.ndarray, float]] = []
    n_real = 0
    for s in sorted(set(scales)):
        rows = [x for x, si in zip(X, scales) if si == s]
        Gs, N = _scaled(G, s)
        S = _lagrange_system(Gs, names, Q)
        Y = np.array(rows, dtype=np.complex128)
        Y[:, :n] /= s
        for j in range(c):
            Y[:, n + j] *= float(N[j]) / s ** 2
        C = certify(S, Y, [Fraction(v) / s for v in u])
        for k in np.flatnonzero(C.distinct):
            centre, radius = C.centers[k, :n] * s, float(C.radii[k]) * s
            if all(np.abs(centre - c0).max() > radius + r0 for c0, r0 in accepted):
                accepted.append((centre, radius))
                n_real += bool(C.real[k])
    return len(accepted), n_real


class _Start:
    """Start pairs ``(x0, l0), u0``: a random complex point ``x0`` of ``M``, ``u0 = x0 - Q^-1 sum l0_j grad G_j``."""

    def __init__(self, var: "_Variety", G, Q, names):
        from ..numeric import System

        self.var, self.n, self.c = var, len(names), len(G)
        self.Gsys = System.from_mpolys(G, names)
        self.Qinv = np.linalg.inv(np.array([[float(q) for q in row] for row in Q]))

    def __call__(self, rng):
        for _ in range(20):
            x0 = self.var.sample_point(rng)
            _, J, _ = self.Gsys.jacobian(x0[None, :])
            J = J[0]  # c x n
            sv = np.linalg.svd(J, compute_uv=False)
            if sv[-1] < 1e-8 * sv[0]:
                continue  # not a smooth point of V(G)
            l0 = rng.normal(size=self.c) + 1j * rng.normal(size=self.c)
            return np.r_[x0, l0], x0 - self.Qinv @ (J.T @ l0)
        raise RuntimeError("no smooth point of the variety found at random parameters")


def numerical_critical_points(var: "_Variety", Q, u, seed: int = 0, real: bool = True,
                              target_count: int | None = None, time_limit: float | None = None) -> dict:
    """Critical points of ``||x - u||_Q^2`` on ``M_reg`` by monodromy (floating point, certified).

    The Lagrange system ``G = 0``, ``Q (x - u) = sum_j l_j grad G_j`` (``G`` the
    hypersurface's equation, via :func:`pipeline.numeric.ed_lagrange_family`, or
    ``c = codim M`` random rational combinations of a model's equations) is
    solved over a random complex data point ``u0`` by
    :func:`pipeline.numeric.monodromy_solve`, starting from a point ``x0`` of
    ``M`` chosen first (``u0 = x0 - Q^{-1} sum l0_j grad G_j(x0)``). With
    ``real``, the solutions are tracked to the rational data ``u`` (the exact
    method's) and certified there; the real ones are counted.

    Returns
    -------
    dict
        ``edd_numerical`` (monodromy count), ``numerical_certified`` (Krawczyk-certified
        distinct solutions at ``u0``), ``numerical_real_points`` (certified real at ``u``;
        None unless all were certified there), ``numerical_stop_reason``, ``numerical_seconds``.
    """
    from ..numeric import TrackerOptions, ed_lagrange_family, track

    t0 = time.perf_counter()
    names = list(var.names)
    k = len(kernel_basis(Q))
    if k:
        return _numerical_none(f"no count: Q is singular (kernel dimension {k}); the numerical method needs an "
                               "invertible Q (positive definite weights), as the zero-loss points "
                               "(u + ker Q) ∩ M and positive-dimensional critical sets are not tracked", t0)
    scale = max(abs(q) for row in Q for q in row)
    Qn = [[q / scale for q in row] for row in Q]  # same critical points, entries of size 1
    if var.equations is None:
        raise SpecError("method", "numerical needs implicit equations of M (hypersurfaces given by equations, "
                        "linear networks, attention with d = 2, d_out = 1, shallow monomial mlps with known "
                        "secant equations); none are known for this model: use method exact")
    if len(var.equations) == 1:
        G = [_normalized(var.equations[0])]
        fam = ed_lagrange_family(G[0], names, Q=Qn, saturate=True)
        system, start = fam.system, fam.start_pair
    else:
        rng = np.random.default_rng([seed, 6161])
        F = var.equations
        sampler = var
        if isinstance(var, _Implicit):
            sampler = _EquationSampler(F, names)
        c = var.codim if var.codim is not None else sampler.codimension(rng)
        if len(F) == c:
            G = list(F)
        else:
            A = rng.integers(-RANDOM_COEFF, RANDOM_COEFF + 1, size=(c, len(F)))
            G = [sum((int(A[j, i]) * F[i] for i in range(len(F))), F[0].context().constant(0)) for j in range(c)]
        G = [_normalized(g) for g in G]
        system, start = _lagrange_system(G, names, Qn), _Start(sampler, G, Qn, names)
    from ..numeric.count import certified_count
    from ..numeric.system import System as _System

    filt = None
    if len(G) < len(var.equations):  # squared up: keep the critical points that lie on M
        Fsys = _System.from_mpolys([_normalized(f) for f in var.equations], names)
        nn = len(names)

        filt = lambda X: (np.abs(Fsys.evaluate(X[:, :nn])).max(axis=1)  # noqa: E731
                          <= 1e-8 * (1 + np.abs(X[:, :nn]).max(axis=1)) ** 4)

    C = certified_count(system, start_pair=start, seed=seed, target_count=target_count, time_limit=time_limit,
                        filter=filt)
    R = C.monodromy
    stop = R.stop_reason
    if stop == "target_count":
        stop = "target_count (the exact count was given as the target: a stop, not a certificate)"
    stop = f"{stop}; {C.reason}"
    real_pts = None
    sols = C.solutions
    if real and len(sols) and C.certified == len(sols):
        # real points from certified numerics at the real data u; a failure here never touches the count
        T = track(system, sols, R.parameters, np.array([complex(v) for v in u]), gamma=None, seed=seed,
                  options=TrackerOptions(**_REAL_STEP))
        distinct, n_real = _certify_at_data(G, names, Qn, T.solutions[T.regular], u)
        if distinct == len(sols):
            real_pts = n_real
        else:
            stop += f"; real points not counted: {distinct} of {len(sols)} solutions certified at the data u"
    return {"edd_numerical": C.orbits, "numerical_certified": C.certified, "numerical_real_points": real_pts,
            "numerical_stop_reason": stop, "numerical_seconds": time.perf_counter() - t0,
            "completeness": C.completeness, "edd_trusted": C.count}


class _EquationSampler:
    """Random points of ``V(F)`` for implicit equations of any codimension (Gauss-Newton projection).

    A random complex point is moved onto ``F = 0`` by minimum-norm Newton steps
    (the pseudo-inverse of the ``len(F) x n`` Jacobian); the codimension is the
    numerical rank of the Jacobian there (the landing point is a smooth point of
    a top-dimensional component with probability one when ``V(F)`` is
    irreducible).
    """

    def __init__(self, F, names):
        from ..numeric.system import System as _System

        self.F = _System.from_mpolys(list(F), names)

    def sample_point(self, rng):
        n = self.F.n_variables
        for _ in range(20):
            x = (rng.normal(size=n) + 1j * rng.normal(size=n)) / np.sqrt(2)
            for _ in range(60):
                Fx, J, _ = self.F.jacobian(x[None, :])
                dx = -np.linalg.pinv(J[0], rcond=1e-12) @ Fx[0]
                x = x + dx
                if np.abs(dx).max() < 1e-14 * (1 + np.abs(x).max()):
                    break
            if np.abs(self.F.evaluate(x[None, :])).max() < 1e-10 * (1 + np.abs(x).max()) ** 4 and \
                    np.abs(x).max() > 1e-6:
                return x
        raise SpecError("equations", "no point of the variety was found by Newton projection from random points")

    def codimension(self, rng) -> int:
        x = self.sample_point(rng)
        _, J, _ = self.F.jacobian(x[None, :])
        sv = np.linalg.svd(J[0], compute_uv=False)
        return int((sv > 1e-8 * sv[0]).sum())


#: Outputs of the numerical method (null with ``method: exact``).
NUMERICAL_OUTPUTS = ("edd_numerical", "numerical_certified", "numerical_real_points", "numerical_stop_reason",
                     "numerical_seconds", "counts_agree", "completeness")


def _numerical_none(reason: str, t0: float) -> dict:
    return {"edd_numerical": None, "numerical_certified": None, "numerical_real_points": None,
            "numerical_stop_reason": reason, "numerical_seconds": time.perf_counter() - t0, "completeness": "none",
            "edd_trusted": None}


# ----------------------------------------------------------------------------- the computation
def _exact(var: _Variety, Q, u, params: EddParams, seed: int, method: str) -> dict:
    use_param = var.equations is None or method == "exact-parametric"
    if method == "exact-implicit" and var.equations is None:
        raise SpecError("method", "no implicit equations are known for this model: use method exact or exact-parametric")
    if use_param:
        pnames, ys = var.parametrization()
        r1 = parametric_critical_points(pnames, ys, Q, u, seed, MSOLVE_PRIMES[0])
        agree = None
        if params.confirm:
            r2 = parametric_critical_points(pnames, ys, Q, u, seed, MSOLVE_PRIMES[1])
            agree = all(r1[k] == r2[k] for k in ("fiber_size", "positive_loss_points", "zero_loss_points",
                                                   "parameter_points"))
        pos, zl = r1["positive_loss_points"], r1["zero_loss_points"]
        posdim = []
        if r1["positive_loss_kind"] == "positive_dimensional":
            posdim.append({"dimension": None, "degree": None, "zero_loss": False, "components_over_Q": None,
                           "components_over_C": None, "lines": None, "linear_span": None})
        if r1["zero_loss_kind"] == "positive_dimensional":
            posdim.append({"dimension": None, "degree": None, "zero_loss": True, "components_over_Q": None,
                           "components_over_C": None, "lines": None, "linear_span": None})
        return {
            "edd": None if pos is None else pos + (zl or 0),
            "positive_loss_points": pos, "zero_loss_points": zl or 0,
            "positive_dimensional": posdim, "real_critical_points": None, "prime": MSOLVE_PRIMES[0],
            "primes_agree": agree,
            "solver_seconds": r1["seconds"] + (r2["seconds"] if params.confirm else 0.0),
            "codimension": None, "kernel_dimension": len(kernel_basis(Q)), "fiber_size": r1["fiber_size"],
            "parameter_points": r1["parameter_points"],
            "method": "exact-parametric-modp",
        }
    out = critical_set(var.equations, Q, u, seed=seed, confirm=params.confirm, real=params.real, codim=var.codim)
    out.pop("total_seconds")
    out.update(fiber_size=None, parameter_points=None, method="exact-implicit-modp")
    return out


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
        num = numerical_critical_points(var_n, Q, u, seed=seed, real=params.real, time_limit=params.time_limit)
        if out is not None and out["edd"] is None and num["edd_numerical"] is None:
            num["numerical_stop_reason"] += "; the exact critical set has positive-dimensional parts"
    trusted = num.pop("edd_trusted", None)
    if out is None:  # numerical only: edd is the count only under the trust rule (pipeline.numeric.trust)
        if trusted is None:
            num["numerical_real_points"] = None  # real points of an incomplete set are not a count
        out = {"edd": trusted, "positive_loss_points": None,
               "zero_loss_points": None, "positive_dimensional": None,
               "real_critical_points": num["numerical_real_points"], "prime": None, "primes_agree": None,
               "solver_seconds": num["numerical_seconds"], "codimension": var_n.codim,
               "kernel_dimension": len(kernel_basis(Q)), "fiber_size": None, "parameter_points": None,
               "method": "numerical-monodromy" if trusted is not None else "numerical-lower-bound"}
        num["counts_agree"] = None
    elif method == "both":
        out["method"] += "+numerical-monodromy"
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
        "parameter_points": "int",
        "variables": "str",
        "edd_numerical": "int",
        "numerical_certified": "int",
        "numerical_real_points": "int",
        "numerical_stop_reason": "str",
        "numerical_seconds": "float",
        "counts_agree": "bool",
        "completeness": "str",
    },
    cost=lambda model, params: 5.0,
)
