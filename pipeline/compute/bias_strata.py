"""``bias`` for two-input shallow networks: the strata of the closure of the real image, and the Monte Carlo.

For ``f(x) = a_1 s(w_1 . x) + a_2 s(w_2 . x)`` (widths ``(2, 2, 1)``, no bias) the
closure of the real image of the parameters in ``V`` is the union of three
parametrised families (:func:`shallow_strata`), each in the model's own gauge
``w_i = (1, v_i)`` (a neuron with ``w_i[0] = 0`` is a limit ``v_i -> infinity`` of
the chart, a measure-zero set of minimisers):

``smooth``                  the network itself, ``(v_1, v_2, a_1, a_2)``;
``sparse: neuron removed``  one neuron ``a s(w . x)`` (and the zero function, loss ``||u||_Q^2``);
``boundary``                two neurons merging with output weights ``+-infinity``: the limit
                            ``((a + e) s((w + e d) . x) - a s(w . x)) / e -> b s(w . x) + (d . x) s'(w . x)``
                            with ``w = (1, v)``, ``d = (d_1, d_2)``. For ``s = x^r`` the term ``b s`` is
                            redundant (``(w.x)^{r-1} ((b w + r d) . x)``) and is dropped, so the stratum
                            is ``l_1^{r-1} l_2``: for cubics the binary cubics with a double root.

The minimum over the closure is attained on one of them, at a real critical point
of the loss restricted to it (or at zero), so the least value over the certified
real critical points of the three families is the global infimum; the stratum that
attains it is the sample's stratum (:mod:`.bias_param` computes each family's real
critical points, solving once and carrying the solutions to every sample).
Ties (relative ``1e-9``) go to the attained, lower-dimensional stratum:
``zero-loss``, then ``sparse``, then ``smooth``, then ``boundary``.

Data: without ``dataset_size``, ``u ~ N(0, Q^{-1})`` for the chosen ``weights``
(``bombieri``: the Kostlan distribution on forms, coefficient ``alpha`` with
variance ``multinomial(D; alpha)``; ``identity``: i.i.d. coefficients). With a
dataset of ``N >= dim V`` random inputs (Gaussian, rounded to ``2^-10``) and
Gaussian labels, ``Q = A^T A`` is invertible and the loss is
``||y - u||_Q^2 + const`` with ``u = Q^{-1} A^T t``; a dataset with ``N < dim V``
(degenerate ``Q``) has positive-dimensional critical sets and no certified route
here (:func:`check_route` says what would work).

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> m = build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^3"})
>>> [(s.label, len(s.names)) for s in shallow_strata(m)]
[('smooth', 4), ('sparse: neuron removed', 2), ('boundary', 3)]
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from functools import lru_cache

import numpy as np

from ..errors import SpecError
from .bias_param import RTOL, Stratum, carry, loss_of, solve_stratum, strata_outputs

#: samples per vectorised homotopy (memory: samples x solutions x unknowns x ...)
CHUNK = 250
ROUTE_WIDTHS = ((2, 2, 1),)


def check_route(model, weights: str, dataset_size: int | None) -> None:
    """Raise :class:`SpecError` (naming the field and what would work) when no certified route exists."""
    from .bias_data import check_data_route

    net = model.declares("dense_layered")
    if net is None:
        raise SpecError("model.model", "bias has no certified route for this model: use model mlp with "
                        "widths (1, k, 1), k <= 3, (2, 2, 1), (3, 2, 1) or (2, 2, 2, 1); model cnn with filters "
                        "2,2; or model attention with d 2, d_out 1")
    w = tuple(net.widths)
    if len(w) == 3 and w[0] == 1 and w[2] == 1 and w[1] <= 3:
        return
    if weights != "identity" and dataset_size is not None:
        raise SpecError("params.weights", "weights set Q for Gaussian targets; a dataset sets Q = A^T A: drop one")
    if not shallow_route(model, dataset_size):  # the data-value map (bias_data), or a refusal naming the fix
        return check_data_route(model, dataset_size)
    if net.bias:
        raise SpecError("model.bias", "bias supports networks without bias: set bias false")


def shallow_route(model, dataset_size: int | None) -> bool:
    """Whether the strata of this module apply: (2, 2, 1), x^3, Gaussian targets or ``N >= dim V`` points."""
    net, act = model.declares("dense_layered"), model.activation
    return (net is not None and tuple(net.widths) in ROUTE_WIDTHS and act.is_monomial and act.degree == 3
            and act.coeffs[3] == 1 and (dataset_size is None or dataset_size >= model.ambient_dimension))


def _ctx(names):
    import flint

    return flint.fmpq_mpoly_ctx.get(tuple(names), "degrevlex")


def _coefficients(model, poly, ctx, P):
    """The coordinates in ``V`` (the model's monomial order) of ``poly`` in ``ctx`` = params + inputs."""
    pos = {e: i for i, e in enumerate(model.monomials)}
    pctx = _ctx(ctx.names()[:P])
    ys = [dict() for _ in model.monomials]
    for exps, c in poly.to_dict().items():
        ys[pos[tuple(int(k) for k in exps[P:])]][tuple(int(k) for k in exps[:P])] = c
    return [pctx.from_dict(d) if d else pctx.constant(0) for d in ys]


def _merging(model, drop_b: bool):
    """``b s(w . x) + (d . x) s'(w . x)`` with ``w = (1, v_2, ..)``: names and coordinates."""
    import flint

    d0 = model.input_dim
    names = [f"v{j}_" for j in range(2, d0 + 1)] + ([] if drop_b else ["b_"]) + [f"d{j}_" for j in range(1, d0 + 1)]
    P = len(names)
    ctx = _ctx(names + [f"x{j}_" for j in range(1, d0 + 1)])
    g = ctx.gens()
    x = g[P:]
    z = x[0] + sum((g[j - 2] * x[j - 1] for j in range(2, d0 + 1)), ctx.constant(0))
    dx = sum((g[P - d0 + j] * x[j] for j in range(d0)), ctx.constant(0))
    c = [flint.fmpq(int(q.numerator), int(q.denominator)) for q in model.activation.coeffs]
    s = sum((c[k] * z**k for k in range(len(c))), ctx.constant(0))
    ds = sum((k * c[k] * z ** (k - 1) for k in range(1, len(c))), ctx.constant(0))
    f = dx * ds + (ctx.constant(0) if drop_b else g[d0 - 1] * s)
    return names, _coefficients(model, f, ctx, P)


def shallow_strata(model) -> list[Stratum]:
    """The three families of the module docstring for a ``(d0, 2, 1)`` network."""
    from .bias_param import _rank

    names, ys = model.parametrization()
    out = [Stratum("smooth", names, ys, "the network, gauge w_i[0] = 1")]
    g = model.gauge("auto").fixed
    d0 = model.input_dim
    # flat indices: W1 (2 x d0) row-major, then W2 (1 x 2)
    fixed = dict(g)
    fixed.update({d0 + j: 0 for j in range(1, d0)})
    fixed[2 * d0 + 1] = 0
    n1, y1 = model._parametrization_fixing(fixed)
    out.append(Stratum("sparse: neuron removed", n1, y1, "one neuron a s(w . x)"))
    nb, yb = _merging(model, drop_b=False)
    if _rank(nb, yb, 0) < len(nb):
        nb, yb = _merging(model, drop_b=True)
    out.append(Stratum("boundary", nb, yb, "two neurons merging: b s(w . x) + (d . x) s'(w . x)"))
    return out


@lru_cache(maxsize=8)
def _solved(spec_json: str, weights: str, dataset_size: int | None, seed: int):
    """The strata solved once (cached per process: every cell with the same model and Q reuses them)."""
    import json

    from ..models import build_model

    model = build_model(json.loads(spec_json))
    Q = metric(model, weights, dataset_size, seed)[0]
    return [solve_stratum(s, Q, seed=seed) for s in shallow_strata(model)]


def metric(model, weights: str, dataset_size: int | None, seed: int):
    """``(Q, sampler)``: ``sampler(rng, S)`` gives ``S`` targets ``u`` (rows) and the loss offset of each."""
    from ..algebra.weights import weight_matrix

    n = model.ambient_dimension
    if dataset_size is None:
        Q = weight_matrix(weights, n, seed=seed, bombieri=model.bombieri_weights())
        Qf = np.array([[float(q) for q in row] for row in Q])
        L = np.linalg.cholesky(np.linalg.inv(Qf))

        def sample(rng, S):
            return rng.standard_normal((S, n)) @ L.T, np.zeros(S)

        return Q, sample
    # a fixed dataset per cell (inputs from the seed), Gaussian labels per sample
    rng0 = np.random.default_rng([seed, 0xDA7A])
    X = np.round(rng0.standard_normal((dataset_size, model.input_dim)) * 2**10) / 2**10
    A = [a for row in X for a in model.features([Fraction(v) for v in row])]  # every output of every input
    Q = [[sum((r[i] * r[j] for r in A), Fraction(0)) for j in range(n)] for i in range(n)]
    Af = np.array([[float(v) for v in r] for r in A])
    Qf = Af.T @ Af

    def sample(rng, S):
        t = rng.standard_normal((S, len(A)))
        U = np.linalg.solve(Qf, Af.T @ t.T).T
        off = np.einsum("sn,sn->s", t, t) - np.einsum("si,ij,sj->s", U, Qf, U)
        return U, off

    return Q, sample


STRATA = ("smooth", "zero-loss", "boundary", "ramification", "sparse: neuron removed", "sparse: zero W1")
_PREFER = {"zero-loss": 0, "sparse: neuron removed": 1, "smooth": 2, "boundary": 3}


def classify(mins: dict, zero_loss: float, scale: float) -> str:
    """The stratum of the global minimum from each family's least real critical loss (module docstring)."""
    sm = mins["smooth"]
    if sm is not None and sm <= RTOL * scale:
        return "zero-loss"
    cands = [(v, k) for k, v in mins.items() if v is not None] + [(zero_loss, "sparse: neuron removed")]
    best = min(v for v, _ in cands)
    tied = [k for v, k in cands if v <= best + RTOL * scale]
    return min(tied, key=_PREFER.__getitem__)


def bias_shallow(model, params, seed: int = 0) -> dict:
    """Monte Carlo over data of the stratum of the certified global minimiser (see the module docstring)."""
    import json

    check_route(model, params.weights, params.dataset_size)
    solved = _solved(json.dumps(model.spec.model_dump(mode="json"), sort_keys=True), params.weights,
                     params.dataset_size, seed)
    Q, sample = metric(model, params.weights, params.dataset_size, seed)
    rng = np.random.default_rng([seed, 0xB1A5])
    U, off = sample(rng, params.samples)
    Qf = np.array([[float(q) for q in row] for row in Q])
    counts = {s: 0 for s in STRATA}
    reasons: Counter = Counter()
    certified = 0
    for c0 in range(0, len(U), CHUNK):
        Uc = U[c0:c0 + CHUNK]
        per = {S.stratum.label: carry(S, Uc, Q, seed=seed + c0) for S in solved}
        for i in range(len(Uc)):
            nu = float(Uc[i] @ Qf @ Uc[i])
            mins = {k: v[i].loss for k, v in per.items()}
            stratum = classify(mins, nu, max(nu, 1e-300))
            counts[stratum] += 1
            bad = [v[i].reason or f"{k}: incomplete" for k, v in per.items() if not v[i].complete]
            if bad:
                reasons.update(bad)
            else:
                certified += 1
    return {**strata_outputs(counts, certified, reasons), "hidden": model.widths[1], "route": "parameter homotopy",
            "strata_solutions": {S.stratum.label: S.count for S in solved},
            "strata_complete": {S.stratum.label: S.complete for S in solved}}


__all__ = ["STRATA", "bias_shallow", "check_route", "classify", "loss_of", "metric", "shallow_strata"]
