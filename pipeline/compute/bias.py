"""The implicit bias of data: where the global minimiser of the loss lands on the real neuromanifold.

For a shallow network ``f(x) = sum_i a_i s(w_i x)`` (widths ``(1, k, 1)``, no
bias, activation ``s`` of degree ``r``) and data, the loss is

    L(a, w) = || G(w) a - t ||^2,

with ``G(w)[j, i] = s(w_i a_j)`` and ``t`` the labels of ``dataset_size``
random inputs ``a_j`` (this is ``||c_f - A^+ B||^2_Q`` with ``Q = A^T A``, the
rows of ``A`` the monomial vectors of the inputs: a degenerate ``Q`` when
``dataset_size <= r``), or, without a dataset, ``G(w)[j, i] = c_j w_i^j`` and
``t`` a Gaussian vector of coefficients (``Q = I``). The output weights ``a``
enter linearly, so the *global* minimum over ``(a, w)`` is the minimum over
``w`` of the variable-projection loss ``l(w) = ||t||^2 - ||proj_{span G(w)} t||^2``,
the infimum over the closure of the real image (``w_i -> +-infinity``
included).

Two inputs
----------
Widths ``(2, 2, 1)`` go to :mod:`.bias_strata`: the network, one neuron and the
merging-neuron limit are each solved once at a generic complex target and carried
to every sample by a parameter homotopy (:mod:`.bias_param`), with Gaussian targets
``u ~ N(0, Q^{-1})`` for ``weights`` (``bombieri``: Kostlan forms) or datasets of at
least ``dim V`` points. Datasets on other dense networks without bias of at most 10
parameters ((2, 2, 1) and (3, 2, 1) with any polynomial activation, depth 3 such as
(2, 2, 2, 1)) go to :mod:`.bias_data`: the data-value map, zero loss certified by a
Krawczyk witness on the real fibre. Other models are refused before running (exit 2)
with the routes that exist.

Search and certificate
----------------------
``l`` is evaluated on a grid in ``phi_i = arctan w_i`` over ``[-pi/2, pi/2]^k``
(the end points are the limits ``w_i -> +-infinity``) and the best grid
points are refined by Nelder--Mead in ``phi``: a numerical method, the
fallback and a cross-check. The certificates are exact (data rounded to
rationals with denominator ``2^10``):

- ``k = 1``: the critical points of ``l`` are the real roots of the exact
  polynomial ``P(w) = (g.t) [ (g'.t)(g.g) - (g.t)(g'.g) ]`` (``g = G(w)``),
  isolated by FLINT's certified complex root finder; ``l`` at each of them and
  at infinity gives the global minimum.
- ``k = 2``: every real critical point of ``l`` on the torus ``(R u infinity)^2``
  (the closure of the real image: confluent limits on the diagonal, ``w_i ->
  infinity`` on the circles at infinity) by msolve's exact real root isolation
  (:mod:`.bias_exact`), plus the exact one-neuron minimum: the lower-dimensional
  strata are compared by value.

A sample is ``certified`` when its minimum comes from one of these complete
sets of real critical points; ``search_disagreements`` counts the certified
samples where the grid search had missed the global minimum (the exact answer
is kept). Samples msolve cannot settle (a positive-dimensional critical set
without a proven zero loss, or a timeout) and every sample for ``k = 3`` keep
the grid search's answer and are counted as ``uncertified``.

Strata of the minimiser
-----------------------
``zero-loss``        ``l = 0`` (to ``1e-10`` relative): ``(ker Q + u) meets M``.
``boundary``         the infimum is only approached: some ``|w_i| -> infinity``,
                     or two neurons merge with output weights of opposite sign
                     growing without bound (the limit ``x s'(w x)``); a point of
                     the boundary of the real image, not attained.
``sparse: ...``      a sparse subnetwork attains the minimum: ``neuron removed``
                     (``a_i = 0``, or two equal ``w_i`` acting as one neuron) or
                     ``zero W1`` (``w_i = 0``: the neuron is a constant).
``ramification``     ``dim ker Q >= dim V - dim M`` (the talk's case 2:
                     ``dataset_size <= dim M``, the exact rank), the minimiser
                     is none of the above and it is a critical point of the
                     projection to the data values (the ``N x 2k`` Jacobian of
                     ``theta -> (f(a_j))_j`` drops rank, checked in floating
                     point): the talk's bias towards ``Ram``.
``smooth``           every other case: a smooth interior point.

Only one stratum is counted per sample, the lowest-dimensional one that attains the
minimum for ``k = 2`` (a single neuron, certified by the exact ``k = 1``
computation, is preferred when it ties). A dead neuron with a free output
weight ``a`` is never a strict global minimiser away from zero loss: moving
``a`` off zero changes the loss by ``-2 a <s(w x), residual>`` to first order,
which is non-zero for some ``w`` unless the residual is orthogonal to every
``s(w x)`` (then it vanishes: these span all of ``V`` for a generic ``s``). So
``sparse_attains`` also counts the samples where a sparse subnetwork is *among*
the global minimisers, which happens with positive probability exactly in the
zero-loss case of a degenerate ``Q`` (one neuron already interpolates a small
dataset).

Outputs: ``fractions`` per stratum with their 95 % Wilson intervals,
``samples``, ``certified`` and ``uncertified`` counts, ``counts`` per stratum.
A cell is deterministic given its seed; cells of one grid with different seeds
are independent and pool by adding counts.

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> r = bias(build_model({"model": "mlp", "widths": [1, 1, 1], "activation": "generic:3"}),
...          BiasParams(samples=20, dataset_size=1), seed=0)
>>> r["counts"]["zero-loss"], r["certified"]
(20, 20)
"""

from __future__ import annotations

from dataclasses import dataclass

from fractions import Fraction

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import SpecError
from ..stats import wilson_interval
from .bias_arch import bias_arch, check_arch, declared
from .bias_exact import ExactMinimum, exact_two_neuron
from .bias_search import Problem, certified_one_neuron, confluent_boundary, search
from .bias_data import bias_data
from .bias_strata import bias_shallow, check_route, shallow_route

VERSION = "1"
STRATA = ("smooth", "zero-loss", "boundary", "ramification", "sparse: neuron removed", "sparse: zero W1")
W_INF = 1e3  # |w| beyond this is the limit at infinity
RTOL = 1e-10


class BiasParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    samples: int = Field(200, description="number of data samples (u, or datasets)")
    dataset_size: int | None = Field(None, description="points in each random dataset (default: Gaussian u, Q = I)")
    grid: int = Field(0, description="grid points per parameter (0: 1001 for k = 1, 101 for k = 2, 31 for k = 3)")
    weights: str = Field("identity", description="Q of Gaussian targets u ~ N(0, Q^-1) without a dataset: identity, "
                         "bombieri (Kostlan forms), generic, diag:a,b,..; widths (d0 >= 2, k, 1), CNN and attention only")

    @field_validator("weights")
    @classmethod
    def _weights(cls, v):
        from ..algebra.weights import parse_weights

        kind, _ = parse_weights(v)
        if kind in ("data", "psd", "file"):
            raise ValueError(f"{v!r} is not a Gaussian target's Q: use identity, bombieri, generic or diag:..; "
                             "for data set dataset_size")
        return v

    @field_validator("samples")
    @classmethod
    def _samples(cls, v):
        if v < 1:
            raise ValueError(f"must be at least 1 sample, got {v}")
        return v

    @field_validator("dataset_size")
    @classmethod
    def _ds(cls, v):
        if v is not None and v < 1:
            raise ValueError(f"a dataset needs at least 1 point, got {v}; omit it for Gaussian data with Q = I")
        return v


def check(model, params: BiasParams) -> None:
    """The model and options have a certified route (raises :class:`SpecError` naming the field and the fix)."""
    net = model.declares("dense_layered")
    if net is not None and len(net.widths) == 3 and net.widths[0] == 1:
        _check_model(model)
        if params.weights != "identity":
            raise SpecError("params.weights", "widths (1, k, 1) use Q = I or a dataset: drop weights")
        return
    if declared(model):  # the model declares the families of its real image (CNN, attention)
        return check_arch(model, params.weights, params.dataset_size)
    check_route(model, params.weights, params.dataset_size)


def _check_model(model) -> int:
    net = model.declares("dense_layered")
    if net is None or len(net.widths) != 3 or net.widths[0] != 1 or net.widths[2] != 1:
        got = list(net.widths) if net is not None else "no declared dense layered network"
        raise SpecError("model.widths", f"bias supports shallow networks (1, k, 1); got {got}")
    if net.bias:
        raise SpecError("model.bias", "bias supports networks without bias: set bias false")
    k = net.widths[1]
    if k > 3:
        raise SpecError("model.widths", f"bias supports hidden widths k <= 3 (a grid over k parameters), got {k}")
    return k


def _classify(prob: Problem, w: np.ndarray, a: np.ndarray, loss: float, degenerate: bool) -> str:
    if loss <= RTOL * max(prob.nt, 1e-300):
        return "zero-loss"
    if np.any(np.abs(w) > W_INF):
        return "boundary"
    k = len(w)
    amax = np.nanmax(np.abs(a)) if np.all(np.isfinite(a)) else np.inf
    for i in range(k):
        for j in range(i + 1, k):
            if abs(w[i] - w[j]) < 1e-4 * (1 + abs(w[i])):
                if abs(a[i] + a[j]) * 1e3 < abs(a[i]) + abs(a[j]) and abs(a[i]) > 1e3 * max(1.0, abs(a[i] + a[j])):
                    return "boundary"
                return "sparse: neuron removed"
    scale = max(amax, 1e-300)
    if np.any(np.abs(a) < 1e-7 * scale):
        return "sparse: neuron removed"
    if np.any(np.abs(w) < 1e-5):
        return "sparse: zero W1"
    if degenerate and _projection_critical(prob, w, a):
        return "ramification"
    return "smooth"


def _exact_stratum(prob: Problem, E, l_one: float, degenerate: bool) -> str:
    """The stratum of the certified global minimiser of :func:`~.bias_exact.exact_two_neuron`."""
    if E.loss <= RTOL * max(prob.nt, 1e-300):
        return "zero-loss"
    if l_one <= E.loss + 1e-9 * max(prob.nt, 1e-300):
        return "sparse: neuron removed"  # one neuron attains it (the exact k = 1 minimum)
    if E.where in ("infinity", "diagonal"):
        return "boundary"  # a confluent limit or w -> infinity: approached, not attained
    w = np.array(E.w)
    _, a = prob.loss(w[None, :], coefficients=True)
    return _classify(prob, w, a[0], E.loss, degenerate)


def _projection_critical(prob: Problem, w: np.ndarray, a: np.ndarray) -> bool:
    """Whether ``theta = (a, w)`` is a critical point of ``theta -> (f(a_j))_j`` onto the data space:
    the ``N x 2k`` Jacobian ``[s(w_i a_j), a_i a_j s'(w_i a_j)]`` has rank below ``N`` (floating point,
    relative singular value ``1e-6``). In coefficient space (no dataset) it never is."""
    if prob.inputs is None:
        return False
    dc = np.polynomial.polynomial.polyder(prob.c)
    z = w[None, :] * prob.inputs[:, None]
    J = np.concatenate([np.polynomial.polynomial.polyval(z, prob.c),
                        a[None, :] * prob.inputs[:, None] * np.polynomial.polynomial.polyval(z, dc)], axis=1)
    sv = np.linalg.svd(J, compute_uv=False)
    N = len(prob.inputs)
    return len(sv) < N or sv[N - 1] <= 1e-6 * sv[0]


def bias(model, params: BiasParams, seed: int = 0) -> dict:
    """Monte Carlo over data of the stratum of the global minimiser (see the module docstring)."""
    check(model, params)
    if declared(model):
        return bias_arch(model, params, seed)
    if model.widths[0] != 1 or len(model.widths) != 3:
        if shallow_route(model, params.dataset_size):
            return bias_shallow(model, params, seed)
        return bias_data(model, params.dataset_size, params.samples, seed)
    k = _check_model(model)
    act = model.activation
    coeffs = [Fraction(x) for x in act.coeffs]
    r = act.degree
    rng = np.random.default_rng([seed, 0xB1A5])
    # the talk's case 2: k = dim ker Q >= n - d, i.e. dataset_size <= d = dim M (exact rank mod 2^61 - 1;
    # min(2k, r + 1) for a generic s, less for special ones such as x^2 + 1)
    from .dimension import exact_rank

    dim_M = exact_rank(model, seed)
    degenerate = params.dataset_size is not None and params.dataset_size <= dim_M
    counts = {s: 0 for s in STRATA}
    certified = uncertified = 0
    disagreements = sparse_attains = 0
    for _ in range(params.samples):
        if params.dataset_size is None:
            t = rng.standard_normal(r + 1)
            inputs = None
        else:
            inputs = rng.standard_normal(params.dataset_size)
            t = rng.standard_normal(params.dataset_size)
        # round the data to rationals with denominator 2^10 so the certificate works on exact numbers
        tq = [Fraction(int(round(v * 2**10)), 2**10) for v in t]
        iq = None if inputs is None else [Fraction(int(round(v * 2**10)), 2**10) for v in inputs]
        t = np.array([float(v) for v in tq])
        if inputs is not None:
            inputs = np.array([float(v) for v in iq])
        prob = Problem(coeffs, inputs, t)
        w, a, loss = search(prob, k, params.grid, degenerate)
        stratum = _classify(prob, w, a, loss, degenerate)
        counts[stratum] += 1
        if k == 2:
            E = exact_two_neuron(coeffs, iq, tq)
            _, l_one = certified_one_neuron(prob, tq, iq)
            tol = 1e-9 * max(prob.nt, 1e-300)
            if E.kind == "rank-one":  # one datum: the certified one-neuron minimum is the minimum
                E = ExactMinimum(True, "rank-one", l_one, None, "one neuron")
            if E.certified:
                certified += 1
                new = _exact_stratum(prob, E, l_one, degenerate)
                if abs(E.loss - loss) > 1e-6 * max(prob.nt, 1.0):
                    disagreements += 1  # the grid search missed the global minimum (the exact answer wins)
                best = E.loss
            else:
                uncertified += 1  # msolve gave no finite real solution set: the grid search's answer, as such
                l_bd = confluent_boundary(prob)
                best = min(loss, l_one, l_bd)
                new = stratum
                if best > RTOL * max(prob.nt, 1e-300) and stratum != "boundary":
                    if l_one <= best + tol:
                        new = "sparse: neuron removed"
                    elif l_bd <= best + tol and l_bd < loss - tol:
                        new = "boundary"
                    elif stratum == "sparse: neuron removed":
                        new = "smooth"
            if l_one <= best + tol:
                sparse_attains += 1  # one neuron reaches the global minimum (for zero loss: among the minimisers)
            counts[stratum] -= 1
            counts[new] += 1
            stratum = new
        if k == 1:
            wc, lc = certified_one_neuron(prob, tq, iq)
            _, ac = prob.loss(np.array([[wc]]), coefficients=True)
            sc = _classify(prob, np.array([wc]), ac[0], lc, degenerate)
            if sc == stratum and abs(lc - loss) <= 1e-7 * max(prob.nt, 1.0):
                certified += 1
            else:
                disagreements += 1
                counts[stratum] -= 1
                counts[sc] += 1  # the certified answer wins
                certified += 1
        elif k == 3:
            uncertified += 1
    n = params.samples
    fractions = {s: counts[s] / n for s in STRATA}
    intervals = {s: list(wilson_interval(counts[s], n)) for s in STRATA}
    sparse = counts["sparse: neuron removed"] + counts["sparse: zero W1"]
    return {
        "samples": n,
        "counts": counts,
        "fractions": fractions,
        "intervals": intervals,
        "sparse_fraction": sparse / n,
        "sparse_interval": list(wilson_interval(sparse, n)),
        "sparse_attains": sparse_attains,
        "sparse_attains_fraction": sparse_attains / n,
        "sparse_attains_interval": list(wilson_interval(sparse_attains, n)),
        "boundary_fraction": fractions["boundary"],
        "zero_loss_fraction": fractions["zero-loss"],
        "ramification_fraction": fractions["ramification"],
        "smooth_fraction": fractions["smooth"],
        "certified": certified,
        "uncertified": uncertified,
        "certified_share": certified / n,
        "search_disagreements": disagreements,
        "degenerate_q": params.dataset_size is not None and params.dataset_size <= r,
        "case2": degenerate,
        "hidden": k,
        "route": _ONE_INPUT_ROUTES[k],
    }


#: How a one-input network (1, k, 1) is answered (the ``route`` column).
_ONE_INPUT_ROUTES = {1: "one neuron, closed form (exact)",
                     2: "two neurons, critical points by msolve (exact)",
                     3: "grid search (uncertified)"}


def _run(model, params: BiasParams, seed: int) -> dict:
    return bias(model, params, seed)


from . import Computation  # noqa: E402

@dataclass
class BiasOutputs:
    """The output columns of ``bias`` (the Parquet schema is derived from it)."""

    samples: int | None = None
    hidden: int | None = None
    counts: dict | list | None = None
    fractions: dict | list | None = None
    intervals: dict | list | None = None
    sparse_fraction: float | None = None
    sparse_interval: dict | list | None = None
    sparse_attains: int | None = None
    sparse_attains_fraction: float | None = None
    sparse_attains_interval: dict | list | None = None
    boundary_fraction: float | None = None
    zero_loss_fraction: float | None = None
    ramification_fraction: float | None = None
    smooth_fraction: float | None = None
    certified: int | None = None
    uncertified: int | None = None
    search_disagreements: int | None = None
    degenerate_q: bool | None = None
    case2: bool | None = None
    certified_share: float | None = None
    uncertified_reasons: dict | list | None = None
    route: str | None = None
    strata_solutions: dict | list | None = None
    strata_complete: dict | list | None = None


COMPUTATION = Computation(
    name="bias",
    version=VERSION,
    run=_run,
    params=BiasParams,
    description="Monte Carlo over data of the stratum of the global minimiser (shallow networks (1, k, 1) and "
                "(2, 2, 1), CNN and attention cells, certified by exact critical points or one parameter homotopy "
                "per sample; datasets on dense networks of at most 10 parameters, zero loss certified by a witness "
                "on the real fibre)",
    models=None,  # every model; check() refuses those without a certified route, saying what works
    outputs=BiasOutputs,
    cost=lambda model, params: params.samples * (0.02 if getattr(model, "widths", (0, 2))[1] == 1 else 0.1
                                                 if len(getattr(model, "widths", (0, 2, 1))) == 3 else 1.0),
    check=check,
)
