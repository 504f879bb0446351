"""Registry entries about fibers of MLPs: identifiability (Prop. 16 and the generic-activation conjecture).

>>> identifiability_degree_bound([2, 2, 1])
37
"""

from __future__ import annotations

from neurovar.pipeline.papers import prop16_bound

from .analysis import declares, model_of
from .registry import Conjecture, Outcome, _get, _is_monomial_mlp, _widths, register


def identifiability_degree_bound(widths) -> int:
    """The ``r`` above which Prop. 16 forces identifiability: ``prop16_bound(2 max hidden width)``.

    Two parameters with the same function give, in each output, ``sum a_i p_i^r = sum b_j q_j^r``
    with at most ``2 d_i`` powers of pairwise non-proportional polynomials (after merging
    proportional pairs); Prop. 16 makes them independent once ``r > prop16_bound(2 d_i)``,
    so the neurons agree up to permutation and scaling, layer by layer.

    >>> identifiability_degree_bound([2, 2, 1]), identifiability_degree_bound([3, 1, 1])
    (37, 1)
    """
    return prop16_bound(2 * max(widths[1:-1]))


def _fiber_outcome(row, known: str) -> Outcome | str:
    """Whether a fiber row shows only the known symmetries (``known`` names them)."""
    oks = _get(row, "only_known_symmetries")
    if oks is None:
        return "the fiber count is unknown for this gauge"
    return Outcome(bool(oks), f"{_get(row, 'expected_fiber_points')} points ({known})",
                   f"{_get(row, 'fiber_points')} points, fiber dim {_get(row, 'fiber_dimension')}")


def _check_identifiability_monomial(row):
    m = _is_monomial_mlp(row)
    if isinstance(m, str):
        return m
    w, r = m
    if len(w) < 3:
        return "no hidden layer"
    if min(w[:-2]) < 2:
        return "a layer of width 1 before the last hidden layer (its successors are proportional)"
    bound = identifiability_degree_bound(w)
    if r <= bound:
        return f"r = {r} <= {bound}: below the proven range"
    return _fiber_outcome(row, "permutations and scalings")


register(Conjecture(
    name="identifiability-monomial",
    statement=("For s = x^r with r large, the generic fiber of theta -> f_theta of an MLP (no bias) is exactly "
               "the permutations and scalings of hidden neurons. Checked for r > 6(2m-1)^2 - 6(2m-1) + 1, "
               "m the largest hidden width, and d_0, ..., d_(L-2) >= 2."),
    source=("Finkel-Rodriguez-Wu-Yahl, Activation degree thresholds and expressiveness of polynomial neural "
            "networks (2024/25), via their Prop. 16; talk slide 'Identifiability'"),
    computation="fiber",
    kind="theorem",
    check=_check_identifiability_monomial,
    threshold={"along": "r", "by": ["widths"], "predicate": "identifiable"},
    notes=("The applicability bound is derived from Prop. 16 (see identifiability_degree_bound); below it the "
           "statement is not proven and such rows are not applicable. d_0 = 1 makes every neuron a multiple of "
           "a power of x, and a width-one hidden layer followed by another makes its successors proportional: "
           "both are excluded."),
))


def _check_identifiability_generic(row):
    if not declares(row, "dense_layered"):
        return f"model {row.get('model')} is not a dense layered network"
    if row.get("activation_kind") != "generic":
        return f"activation {row.get('activation')} is not generic:r"
    if bool(_get(row, "bias", False)):
        return "affine layers (bias)"
    w = _widths(row)
    if w is None or len(w) < 3:
        return "no hidden layer"
    if w[0] < 2:
        return "one input variable"
    model = model_of(row)
    if model is None:
        return "the row's model cannot be rebuilt"
    nparams, amb = model.num_params, model.ambient_dimension
    if nparams > amb:
        return f"{nparams} parameters > dim V = {amb}: r is too small for finite fibers"
    return _fiber_outcome(row, "permutations only")


register(Conjecture(
    name="identifiability-generic",
    statement=("For a generic activation s of degree r (large), the generic fiber of an MLP consists only of "
               "the permutations of hidden neurons (prod d_i! points). Checked wherever #params <= dim V."),
    source="Talk 'algebraic neural network theory', slide 'Identifiability' (Conjecture, generic sigma)",
    computation="fiber",
    kind="conjecture",
    check=_check_identifiability_generic,
    threshold={"along": "r", "by": ["widths"], "predicate": "identifiable"},
    notes=("The conjecture is asymptotic in r and names no threshold; rows with more parameters than dim V "
           "cannot have finite fibers and are not applicable. A violation at small r may only say that the "
           "threshold lies above that r."),
))


__all__ = ["identifiability_degree_bound"]
