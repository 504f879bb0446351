"""``bias`` for every model that declares the families of its real image (:meth:`Model.bias_strata`).

A model that overrides ``bias_strata`` (the polynomial CNN with filters ``(2, 2)``
and one-layer lightning attention with ``d = 2`` do) gets the certified route of
:mod:`.bias_param` with no code here naming it:

1. each declared family (``smooth``: the gauge chart; ``sparse: ...``: sparse
   subnetworks outside the chart; ``boundary``: where the parametrization's
   differential drops rank, the boundary of the real image) is solved once at a
   generic complex target and certified complete (:func:`~.bias_param.solve_stratum`);
2. every sample's target ``u`` is reached by one straight-line parameter homotopy
   per solution, all samples in one vectorised call, and the endpoints are
   certified at ``u`` (:func:`~.bias_param.carry`);
3. the model's derivation (its ``bias_strata`` docstring) says that the global
   minimiser over the closure of the real image is a real critical point on one
   of the families (or the zero function, a family without parameters), so the
   least certified real critical value is the global minimum and the family
   attaining it is the sample's stratum.

Strata: ``zero-loss`` (the least loss is 0, relative ``1e-12``), else the family
attaining the minimum; ties go to the family with fewer parameters (the
lower-dimensional stratum). ``ramification`` needs a degenerate ``Q``
(``dataset_size`` at most ``dim M``), which has positive-dimensional critical sets
and no certified route here: it is always 0, and reported so.

Data as in :func:`.bias_strata.metric`: Gaussian targets ``u ~ N(0, Q^{-1})`` for
``weights`` (``bombieri`` where the coordinates are coefficients of forms:
Kostlan forms), or a dataset whose ``Q = A^T A`` (every output row of every input)
is invertible. A sample is ``certified`` when every family's set is complete at its
``u``; otherwise it counts as ``uncertified`` with the reason, in ``counts`` too: a stratum is only
ever a certified one (``fractions`` are over all samples, so they still add up to 1).

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> from neurovar.pipeline.compute.bias import BiasParams
>>> m = build_model({"model": "cnn", "filters": [2, 2], "activation": "x"})
>>> r = bias_arch(m, BiasParams(samples=20, weights="diag:1,1/2,1"), seed=0)
>>> r["strata_solutions"]["smooth"], r["certified"]   # two roots to swap; every sample certified
(2, 20)
>>> r["counts"]["zero-loss"] + r["counts"]["boundary"]  # real roots: fitted; else a double root
20
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache

import numpy as np

from ..errors import SpecError
from .bias_param import RTOL, Stratum, carry, solve_stratum, strata_outputs

#: samples per vectorised homotopy (memory: samples x solutions x unknowns x ...)
CHUNK = 200
#: a zero loss, relative to ``||u||_Q^2``: a squared distance, so ``1e-12`` is a distance of ``1e-6 |u|`` (certified
#: critical points are accurate far below it; a Gaussian target that close to a proper variety is a ``1e-6`` event)
ZERO_RTOL = 1e-12
#: solves per family before its set is left uncertified (each from a new random start pair)
ATTEMPTS = 3


def declared(model) -> bool:
    """Whether the model's class declares :meth:`Model.bias_strata` (it may still refuse a size)."""
    from ..models.base import Model

    return type(model).bias_strata is not Model.bias_strata


def arch_strata(model) -> list[Stratum]:
    """The declared families as :class:`~.bias_param.Stratum` (raises :class:`SpecError` for sizes without a route)."""
    fams = model.bias_strata()
    if fams is None:
        raise SpecError("model.model", "bias has no certified route for this model: use model mlp with widths "
                        "(1, k, 1), k <= 3, or (2, 2, 1); model cnn with filters 2,2; or model attention with d 2")
    return [Stratum(label, list(names), list(ys), desc) for label, names, ys, desc in fams]


def check_arch(model, weights: str, dataset_size: int | None, seed: int = 0) -> None:
    """Raise :class:`SpecError` (the field and the fix) unless the route applies to these options."""
    from ..algebra.weights import parse_weights

    arch_strata(model)
    n = model.ambient_dimension
    kind, _ = parse_weights(weights)
    if dataset_size is not None and weights != "identity":
        raise SpecError("params.weights", "weights set Q for Gaussian targets; a dataset sets Q = A^T A: drop one")
    if kind == "bombieri":
        bw = model.bombieri_weights()
        if bw is None or len(bw) != n:
            raise SpecError("params.weights", "this model's coordinates of V are not coefficients of forms, so "
                            "bombieri has no meaning: use identity, generic or diag:a,b,..")
    if kind == "diag":
        from ..algebra.weights import weight_matrix

        try:
            weight_matrix(weights, n)
        except ValueError as e:
            raise SpecError("params.weights", f"{e}; give {n} positive entries") from None
    if dataset_size is not None:
        import flint

        from .bias_strata import metric

        Q = metric(model, weights, dataset_size, seed)[0]
        rank = flint.fmpq_mat(n, n, [flint.fmpq(q.numerator, q.denominator) for row in Q for q in row]).rank()
        if rank < n:
            rows = len(model.features([0] * int(np.prod(model.feature_input_shape))))
            need = -(-n // rows)
            raise SpecError("params.dataset_size", f"a dataset of {dataset_size} inputs gives Q = A^T A of rank {rank} "
                            f"< dim V = {n} (positive-dimensional critical sets, no certified route): use "
                            f"dataset_size >= {need}, or omit it for Gaussian targets")


@lru_cache(maxsize=8)
def _solved(spec_json: str, Q: tuple):
    """The families solved once per process for the model and ``Q``: cells that differ in their seed but have the
    same ``Q`` (Gaussian targets) reuse them. The start is fixed (seed 0, then fresh ones if a certificate fails)."""
    from ..models import build_model

    model = build_model(json.loads(spec_json))
    out = []
    for s in arch_strata(model):
        S = None
        for attempt in range(ATTEMPTS if s.names else 0):  # a failed certificate: a fresh random start
            S = solve_stratum(s, [list(row) for row in Q], seed=1000 * attempt)
            if S.complete:
                break
        out.append(S)
    return out


def solved_strata(model, weights: str = "identity", dataset_size: int | None = None, seed: int = 0):
    """``(families, solved sets)`` for the model and ``Q`` (``None`` for the zero function), cached per process."""
    from .bias_strata import metric

    check_arch(model, weights, dataset_size, seed)
    Q = metric(model, weights, dataset_size, seed)[0]
    return arch_strata(model), _solved(json.dumps(model.spec.model_dump(mode="json"), sort_keys=True),
                                       tuple(tuple(row) for row in Q))


def least(mins: dict, dims: dict, scale: float) -> str:
    """The family attaining the least value (``None``: no real critical point); ties to fewer parameters.

    >>> least({"smooth": 2.0, "boundary": 1.0, "sparse: zero": 5.0}, {"smooth": 3, "boundary": 2, "sparse: zero": 0}, 1)
    'boundary'
    >>> least({"smooth": 1.0, "sparse: a": 1.0 + 1e-12}, {"smooth": 3, "sparse: a": 2}, 1)
    'sparse: a'
    """
    cands = [(v, k) for k, v in mins.items() if v is not None]
    best = min(v for v, _ in cands)
    return min((k for v, k in cands if v <= best + RTOL * scale), key=lambda k: dims[k])


def classify_targets(strata, solved, U, off, Q, seed: int = 0):
    """``(stratum, reasons)`` per row ``u`` of ``U`` (loss offsets ``off``): the family attaining the certified
    global minimum (module docstring); ``reasons`` is empty exactly for a certified sample."""
    Qf = np.array([[float(q) for q in row] for row in Q])
    dims = {s.label: len(s.names) for s in strata}
    out = []
    for c0 in range(0, len(U), CHUNK):
        Uc = U[c0:c0 + CHUNK]
        per = {s.label: carry(S, Uc, Q, seed=seed + c0) for s, S in zip(strata, solved) if S is not None}
        for i in range(len(Uc)):
            nu = float(Uc[i] @ Qf @ Uc[i])
            mins = {s.label: (per[s.label][i].loss if s.names else nu) for s in strata}
            scale = max(nu + off[c0 + i], 1e-300)
            best = min(v for v in mins.values() if v is not None)
            stratum = "zero-loss" if best + off[c0 + i] <= ZERO_RTOL * scale else least(mins, dims, scale)
            out.append((stratum, [v[i].reason or f"{k}: incomplete" for k, v in per.items() if not v[i].complete]))
    return out


def bias_arch(model, params, seed: int = 0) -> dict:
    """Monte Carlo over data of the stratum of the certified global minimiser (see the module docstring)."""
    from .bias_strata import metric

    strata, solved = solved_strata(model, params.weights, params.dataset_size, seed)
    Q, sample = metric(model, params.weights, params.dataset_size, seed)
    U, off = sample(np.random.default_rng([seed, 0xB1A5]), params.samples)
    labels = ["smooth", "zero-loss", "boundary", "ramification"] + [s.label for s in strata if s.label not in
                                                                    ("smooth", "boundary")] + ["uncertified"]
    counts = {s: 0 for s in labels}
    reasons: Counter = Counter()
    certified = 0
    for stratum, bad in classify_targets(strata, solved, U, off, Q, seed):
        counts["uncertified" if bad else stratum] += 1  # an incomplete set gives no certified stratum
        reasons.update(bad)
        certified += not bad
    return {**strata_outputs(counts, certified, reasons), "hidden": None,
            "route": "parameter homotopy (declared strata)",
            "strata_solutions": {s.label: (S.count if S is not None else 1) for s, S in zip(strata, solved)},
            "strata_complete": {s.label: (S.complete if S is not None else True) for s, S in zip(strata, solved)}}


__all__ = ["arch_strata", "bias_arch", "check_arch", "classify_targets", "declared", "solved_strata", "least"]
