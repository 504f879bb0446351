"""Registry entries for the talk's second half: singularities are sparse subnetworks, boundary and
singular points as global minimisers, and the bias towards the ramification locus.

They read the ``singularities`` and ``bias`` computations and register themselves on import
(:mod:`catalog.conjectures` imports this module).
"""

from __future__ import annotations

import json

from .analysis import declares
from .registry import Conjecture, Outcome, register

_RAZOR = ("V. Shahverdi, G. L. Marchetti, K. Kohn, Learning on a razor's edge: the singularity bias of "
          "polynomial neural networks, ICLR 2026 (arXiv:2505.11846)")


def _json(v):
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return None
    return v


def _subnetworks(row) -> list[dict] | None:
    subs = _json(row.get("subnetworks"))
    return subs if isinstance(subs, list) else None


def _generic_activation(row) -> bool:
    act = str(row.get("activation") or "")
    return act.startswith("generic:") and int(act.split(":")[1]) >= 3


def _removed_neurons_outcome(row, subs) -> Outcome:
    removed = [s for s in subs if "removed" in s.get("zeroed", "")]
    bad = [s["zeroed"] for s in removed if s.get("singular") is not True]
    full = next((s for s in subs if not s.get("zeroed_params")), None)
    ok = not bad and (full is None or full.get("singular") is not True)
    return Outcome(ok, "every removed neuron singular; generic points not singular",
                   f"{len(removed) - len(bad)}/{len(removed)} removed-neuron images singular"
                   + (f"; not: {bad[:3]}" if bad else "") + f"; {row.get('num_undecided')} undecided")


def _check_sing_mlp(row):
    if not declares(row, "dense_layered"):
        return "not a dense layered network (MLP)"
    if not _generic_activation(row):
        return "activation is not generic of degree >= 3"
    if row.get("bias"):
        return "with bias (outside the paper's setting)"
    subs = _subnetworks(row)
    if subs is None:
        return "no subnetworks recorded"
    if row.get("dimension") == row.get("ambient_dimension"):
        return "M fills V: no singular points at all"
    return _removed_neurons_outcome(row, subs)


def _check_sing_cnn(row):
    if not declares(row, "convolutional"):
        return "not a convolutional network"
    if not _generic_activation(row):
        return "activation is not generic of degree >= 3"
    subs = _subnetworks(row)
    if subs is None:
        return "no subnetworks recorded"
    dim = row.get("dimension")
    full = next((s for s in subs if not s.get("zeroed_params")), None)
    biased = [s["zeroed"] for s in subs if s.get("zeroed_params") and 0 < s.get("image_dim", 0) < dim
              and s.get("cell_can_be_full")]
    ok = (full is None or full.get("singular") is not True) and not biased
    return Outcome(ok, "generic points smooth; no zeroed tap is critical for a positive-measure set of data",
                   f"{row.get('num_singular')} singular subnetwork images; critical with full cells: {biased[:3]}")


def _check_sing_other(row):
    if (declares(row, "dense_layered") and _generic_activation(row) and not row.get("bias")) or \
            (declares(row, "convolutional") and _generic_activation(row)):
        return "covered by the theorem entries"
    subs = _subnetworks(row)
    if subs is None:
        return "no subnetworks recorded"
    if row.get("dimension") == row.get("ambient_dimension"):
        return "M fills V"
    return _removed_neurons_outcome(row, subs)


register(Conjecture(
    name="singularities-sparse-subnetworks-mlp",
    statement=("MLP with a generic polynomial activation of large degree (no bias), M != V: the image of a "
               "subnetwork with a removed hidden neuron lies in Sing(M), generic points of M are smooth, and the "
               "singularities arise from sparse subnetworks (checked: every removed-neuron row is proven singular)."),
    source=_RAZOR + " (singularities of MLP neuromanifolds from subnetworks)",
    computation="singularities", kind="theorem", check=_check_sing_mlp,
    notes="Degree >= 3 is used as 'large'; the check reads the tangent-span / equation certificates.",
))
register(Conjecture(
    name="singularities-sparse-subnetworks-cnn",
    statement=("CNN with a generic polynomial activation: the singular points are images of sparse subnetworks "
               "(zeroed filter taps), and, unlike MLPs, they are not critical points of the loss for a "
               "positive-measure set of data (no zeroed tap has a full-dimensional critical cell)."),
    source=_RAZOR + " (complete characterisation for CNNs; 'the bias does not arise')",
    computation="singularities", kind="theorem", check=_check_sing_cnn,
))
register(Conjecture(
    name="singularities-sparse-subnetworks",
    statement=("Conjecture (talk): the singularities of neuromanifolds are sparse subnetworks; checked outside the "
               "proven cases as 'every removed-neuron image is singular and generic points are smooth'."),
    source="K. Kohn, Algebraic neural network theory (talk), 'Conjecture: singularities of neuromanifolds are "
           "sparse subnetworks'",
    computation="singularities", kind="conjecture", check=_check_sing_other,
))


def _bias_counts(row) -> dict | None:
    c = _json(row.get("counts"))
    return c if isinstance(c, dict) else None


def _check_boundary_minima(row):
    counts = _bias_counts(row)
    if counts is None:
        return "no counts recorded"
    if row.get("case2"):
        return "dim ker Q >= n - d: the zero-loss set and Ram decide (see bias-towards-ram)"
    act = str(row.get("activation") or "")
    if row.get("hidden") == 1 and act.startswith("generic:"):
        return "one neuron with a generic activation: the real image's closure adds only a limit at infinity"
    from neurovar.pipeline.stats import wilson_interval

    n = int(row.get("samples") or 0)
    special = counts.get("boundary", 0) + counts.get("sparse: neuron removed", 0) + counts.get("sparse: zero W1", 0)
    lo, hi = wilson_interval(special, n) if n else (0.0, 1.0)
    return Outcome(lo > 0, "boundary or sparse/singular minimisers with positive probability (interval excludes 0)",
                   f"{special}/{n} boundary or sparse, 95% interval [{lo:.3f}, {hi:.3f}]")


register(Conjecture(
    name="boundary-singular-global-minima",
    statement=("Relative boundary points and singular points of the real neuromanifold are global minimisers of "
               "||u - f|| with positive probability over the data u (implicit bias towards the boundary and "
               "Sing(M))."),
    source="K. Kohn, Algebraic neural network theory (talk): Voronoi cells; 'points in dM are global minima with "
           "positive probability on data u'; the cusp y^2 + x^3 = 0",
    computation="bias", kind="conjecture", check=_check_boundary_minima,
))


def _check_ram(row):
    counts = _bias_counts(row)
    if counts is None:
        return "no counts recorded"
    if not row.get("case2"):
        return "dim ker Q < n - d (case 1) or Q = I"
    other = counts.get("smooth", 0)
    return Outcome(other == 0, "every minimiser is zero-loss, on Ram(pi|M), or a boundary/sparse limit",
                   f"{counts.get('zero-loss', 0)} zero-loss, {counts.get('ramification', 0)} on Ram, "
                   f"{other} smooth non-critical")


register(Conjecture(
    name="bias-towards-ram",
    statement=("If k = dim ker Q >= n - d, the critical points of ||x - u||_Q^2 on M are the zero-loss points "
               "(K + u) meets M and finitely many points on the ramification locus of pi: R^n -> K^perp restricted "
               "to M; so the global minimiser is zero-loss or on Ram (a bias depending only on K)."),
    source="K. Kohn, Algebraic neural network theory (talk), 'Case 2: Let k >= n - d ... Induced bias towards Ram'",
    computation="bias", kind="theorem", check=_check_ram,
))

