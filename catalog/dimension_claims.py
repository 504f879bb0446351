"""Registry entries about dimensions: Alexander--Hirschowitz, linear networks, Kileel--Trager--Bruna.

>>> ah_dimension(3, 5, 4)
14
"""

from __future__ import annotations

from math import comb

from neurovar.pipeline.alexander_hirschowitz import AH_SPORADIC, ah_dimension, ah_exceptional  # noqa: F401
from neurovar.pipeline.papers import rank_variety_dimension

from .analysis import class_attribute, declares
from .registry import Conjecture, Outcome, _get, _is_monomial_mlp, _widths, register


def _check_ah(row):
    m = _is_monomial_mlp(row)
    if isinstance(m, str):
        return m
    w, d = m
    if len(w) != 3 or w[-1] != 1:
        return f"widths {w} are not (n, k, 1)"
    n, k = w[0], w[1]
    exp = ah_dimension(n, k, d)
    dim = int(row["dimension"])
    return Outcome(dim == exp, f"dim {exp}" + (" (exceptional)" if ah_exceptional(n, k, d) else ""), f"dim {dim}")


register(Conjecture(
    name="alexander-hirschowitz",
    statement=("For the shallow network (n, k, 1) with s = x^d (d >= 2, no bias) the neurovariety is the k-th "
               "secant of the Veronese variety v_d(P^(n-1)) and dim = min(k n, binom(n+d-1, d)), except "
               "d = 2 with 2 <= k <= n-1 (dim = k n - binom(k, 2)) and (n, d, k) in {(3,4,5), (4,4,9), "
               "(5,4,14), (5,3,7)} (defect 1)."),
    source=("J. Alexander, A. Hirschowitz, Polynomial interpolation in several variables, J. Algebraic Geom. 4 "
            "(1995); for neurovarieties: Kileel-Trager-Bruna, NeurIPS 2019 (shallow case) and Massarenti-Mella, "
            "arXiv:2511.19703"),
    computation="dimension",
    kind="theorem",
    check=_check_ah,
    threshold={"along": "r", "by": ["input_dim", "hidden"], "predicate": "non_defective"},
))


def _check_linear(row):
    model = row.get("model")
    w = _widths(row)
    if w is None:
        return "no widths"
    if not declares(row, "dense_layered"):
        return f"model {model} is not a dense layered network"
    if not (class_attribute(row, "fixed_activation") == "x" or row.get("activation_kind") == "linear" or len(w) == 2):
        return f"model {model} with activation {row.get('activation')} is not linear"
    q = min(w)
    exp = rank_variety_dimension(w, bool(_get(row, "bias", False)))
    dim = int(row["dimension"])
    return Outcome(dim == exp, f"dim {exp} (q = {q})", f"dim {dim}")


register(Conjecture(
    name="linear-rank-variety",
    statement=("A linear network W_L ... W_1 with widths (d0, ..., dL) parameterizes the dL x d0 matrices of "
               "rank <= q = min(d_i), of dimension q (d0 + dL - q); with biases the constant term W_L...b + b_L "
               "is free, adding dL."),
    source=("Trager-Kohn-Bruna, Pure and spurious critical points: a geometric study of linear networks, ICLR 2020, "
            "Sec. 3; Bruns-Vetter, Determinantal rings, Prop. 1.1"),
    computation="dimension",
    kind="theorem",
    check=_check_linear,
))


def ktb_expected_dimension(widths, r: int) -> int:
    """``min(d_L + sum_{i<L} (d_i - 1) d_{i+1}, d_L binom(d_0 + r^(L-1) - 1, r^(L-1)))`` (KTB 2019, Def. 9 / Sec. 3).

    >>> ktb_expected_dimension([3, 5, 5, 1], 3), ktb_expected_dimension([2, 2, 1], 3)
    (35, 4)
    """
    L = len(widths) - 1
    params = widths[-1] + sum((widths[i] - 1) * widths[i + 1] for i in range(L))
    D = r ** (L - 1)
    return min(params, widths[-1] * comb(widths[0] + D - 1, D))


def _check_ktb(row):
    m = _is_monomial_mlp(row)
    if isinstance(m, str):
        return m
    w, r = m
    if len(w) - 1 < 3:
        return "depth <= 2 (shallow networks: the Alexander-Hirschowitz theorem)"
    if r == 2:
        return "r = 2 (quadratic networks have extra symmetries: known defective, see notes)"
    if min(w[1:-1]) == 1:
        return "a width-one bottleneck"
    exp = ktb_expected_dimension(w, r)
    dim = int(row["dimension"])
    return Outcome(dim == exp, f"dim {exp}", f"dim {dim}")


register(Conjecture(
    name="ktb-expected-dimension",
    statement=("A deep monomial network (depth L >= 3, s = x^r, no bias, hidden widths >= 2) has the expected "
               "dimension min(d_L + sum_{i<L} (d_i - 1) d_{i+1}, d_L binom(d_0 + r^(L-1) - 1, r^(L-1))), "
               "checked here for every r >= 3."),
    source=("Kileel-Trager-Bruna, On the expressive power of deep polynomial neural networks, NeurIPS 2019 "
            "(expected dimension, Sec. 3; proven for r above an activation threshold by Finkel-Rodriguez-Wu-Yahl, "
            "Activation degree thresholds and expressiveness of polynomial neural networks, 2024/25)"),
    computation="dimension",
    kind="conjecture",
    check=_check_ktb,
    threshold={"along": "r", "by": ["widths"], "predicate": "non_defective"},
    notes=("Proven only above an activation threshold whose value is not encoded here, so every row is checked "
           "as a conjecture. Excluded: r = 2, where sigma(W1 x) enters only through the quadratic forms "
           "x^T W1^T diag(v) W1 x, whose stabilizers are symmetries the parameter count ignores (already the "
           "shallow case is defective, Alexander-Hirschowitz d = 2; e.g. (3, 3, 3, 1) with x^2 has dim 12 < 15); "
           "width-one bottlenecks, where every later neuron is a polynomial in one scalar (FRWY exclude them); "
           "depth 2, which is the Alexander-Hirschowitz theorem."),
))


__all__ = ["AH_SPORADIC", "ah_dimension", "ah_exceptional", "ktb_expected_dimension"]
