"""Exact dimensions against theorems: rank varieties, Alexander--Hirschowitz, KTB."""

from math import comb

import numpy as np
import pytest

from neurovar.pipeline.algebra.field import MERSENNE61
from neurovar.pipeline.compute.dimension import dimension
from neurovar.pipeline.models import build_model


def dim_of(spec, **kw):
    return dimension(build_model(spec), **kw)


# --- linear networks: determinantal varieties, dim = q (d0 + dL - q) -----------
LINEAR_WIDTHS = [
    (2, 1, 2), (3, 2, 4), (4, 2, 4), (5, 3, 2), (3, 3, 3), (4, 1, 1, 5),
    (6, 4, 5, 3), (2, 5, 2), (5, 2, 6, 5), (3, 4, 2, 6), (7, 3, 7), (1, 3, 4),
]


@pytest.mark.parametrize("widths", LINEAR_WIDTHS)
def test_linear_network_is_rank_variety(widths):
    q = min(widths)
    d0, dL = widths[0], widths[-1]
    r = dim_of({"model": "linear", "widths": list(widths)})
    assert r["dimension"] == q * (d0 + dL - q)
    assert r["defect"] == 0


def test_affine_linear_network_adds_constant_term():
    r = dim_of({"model": "linear", "widths": [3, 1, 3], "bias": True})
    assert r["dimension"] == 1 * (3 + 3 - 1) + 3


# --- shallow monomial networks (n, k, 1), s = x^d: secant varieties of Veronese ---
# Alexander--Hirschowitz: dim sigma_k(v_d(P^{n-1})) (affine cone) = min(kn, binom(n+d-1, d))
# except d = 2 (2 <= k <= n-1) and (n, d, k) in {(3,4,5), (4,4,9), (5,4,14), (5,3,7)}.
AH_EXCEPTIONS = {(3, 4, 5): 14, (4, 4, 9): 34, (5, 4, 14): 69, (5, 3, 7): 34}


def ah_dimension(n, k, d):
    return min(k * n, comb(n + d - 1, d))


def non_exceptional_triples():
    out = []
    for n in range(2, 6):
        for d in range(3, 7):
            for k in range(1, 9):
                if (n, d, k) in AH_EXCEPTIONS:
                    continue
                if comb(n + d - 1, d) > 130:
                    continue
                out.append((n, k, d))
    return out


TRIPLES = non_exceptional_triples()


def test_enough_triples():
    assert len(TRIPLES) >= 30


@pytest.mark.parametrize("n,k,d", TRIPLES)
def test_alexander_hirschowitz_non_exceptional(n, k, d):
    r = dim_of({"model": "mlp", "widths": [n, k, 1], "activation": f"x^{d}"}, float_check=False)
    assert r["dimension"] == ah_dimension(n, k, d)
    assert r["expected_dimension"] == ah_dimension(n, k, d)


@pytest.mark.parametrize("n,d,k", sorted(AH_EXCEPTIONS))
def test_alexander_hirschowitz_exceptions_have_defect_one(n, d, k):
    r = dim_of({"model": "mlp", "widths": [n, k, 1], "activation": f"x^{d}"}, float_check=False)
    assert r["dimension"] == AH_EXCEPTIONS[(n, d, k)] == ah_dimension(n, k, d) - 1
    assert r["defect"] == 1


@pytest.mark.parametrize("n,k", [(3, 2), (4, 2), (4, 3), (5, 3)])
def test_quadrics_are_symmetric_matrices_of_rank_k(n, k):
    # sums of k squares of linear forms = symmetric n x n matrices of rank <= k
    r = dim_of({"model": "mlp", "widths": [n, k, 1], "activation": "x^2"})
    assert r["dimension"] == k * n - k * (k - 1) // 2


def test_talk_examples():
    sq = dim_of({"model": "mlp", "widths": [2, 2, 1], "activation": "x^2"})
    assert (sq["dimension"], sq["filling"]) == (3, True)
    cube = dim_of({"model": "mlp", "widths": [2, 2, 1], "activation": "x^3"})
    assert (cube["dimension"], cube["ambient_dimension"], cube["filling"]) == (4, 4, True)


def ktb_expected(widths, r):
    """Kileel--Trager--Bruna 2019: min(dL + sum_{i<L} (d_i - 1) d_{i+1}, dL binom(d0 + D - 1, D))."""
    L = len(widths) - 1
    D = r ** (L - 1)
    params = widths[-1] + sum((widths[i] - 1) * widths[i + 1] for i in range(L))
    return min(params, widths[-1] * comb(widths[0] + D - 1, D))


@pytest.mark.parametrize("widths,r", [((4, 6, 6, 6, 1), 3), ((3, 4, 4, 2), 3), ((2, 3, 3, 1), 4), ((3, 3, 2, 2), 2)])
def test_deep_monomial_networks_expected_dimension(widths, r):
    res = dim_of({"model": "mlp", "widths": list(widths), "activation": f"x^{r}"}, float_check=False)
    assert res["expected_dimension"] == ktb_expected(widths, r)
    if widths == (4, 6, 6, 6, 1):
        # degree 27 in 4 variables: far too large to expand symbolically
        assert res["dimension"] == 84 and res["ambient_dimension"] == comb(30, 27)


@pytest.mark.parametrize(
    "spec",
    [
        {"model": "mlp", "widths": [3, 5, 1], "activation": "x^4"},
        {"model": "mlp", "widths": [2, 3, 2, 1], "activation": "generic:3", "bias": True},
        {"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 2},
        {"model": "cnn", "filters": [3, 2, 2], "activation": "x^2"},
    ],
)
def test_dimension_invariant_under_seed_and_prime(spec):
    base = dim_of(spec, float_check=False)["dimension"]
    assert dim_of(spec, seed=11, float_check=False)["dimension"] == base
    assert dim_of(spec, seed=3, prime=1073741827, float_check=False)["dimension"] == base


@pytest.mark.parametrize(
    "spec",
    [
        {"model": "mlp", "widths": [2, 2, 1], "activation": "x^2"},
        {"model": "mlp", "widths": [3, 5, 1], "activation": "x^4"},
        {"model": "linear", "widths": [4, 2, 3]},
        {"model": "cnn", "filters": [3, 2]},
        {"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 2},
    ],
)
def test_float_cross_check_agrees_on_small_cases(spec):
    r = dim_of(spec)
    assert r["float_rank_agrees"] is True
    assert r["prime"] == MERSENNE61


def test_attention_hypersurface_dimension():
    # pairs of binary quadrics sharing a linear factor: a hypersurface in R^6
    r = dim_of({"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 2})
    assert (r["dimension"], r["ambient_dimension"]) == (5, 6)


def test_linear_cnn_fills_the_filter_space():
    # stride 1: end-to-end filter = product of the layer filters (KMMT 2022), length sum(k) - L + 1
    r = dim_of({"model": "cnn", "filters": [3, 2, 2]})
    assert r["dimension"] == 3 + 2 + 2 - 3 + 1


@pytest.mark.parametrize("spec", [
    {"model": "mlp", "widths": [3, 5, 1], "activation": "x^4"},
    {"model": "cnn", "filters": [3, 2, 2], "activation": "x^2"},
    {"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 2},
])
def test_small_and_large_backends_agree(spec, monkeypatch):
    import neurovar.pipeline.compute.dimension as D

    small = D.exact_rank(build_model(spec))
    monkeypatch.setattr(D, "SMALL_JACOBIAN", 0)
    assert D.exact_rank(build_model(spec)) == small


@pytest.mark.parametrize("widths", [(2, 3, 1), (3, 2, 2, 1), (2, 4, 1)])
def test_quadratic_with_bias_is_a_shifted_square(widths):
    # a z^2 + b z + c = a (z + b/2a)^2 + const: with biases the network is the x^2 network with bias,
    # so both have the same neurovariety and the same scaling symmetries
    shifted = dim_of({"model": "mlp", "widths": list(widths), "activation": "3*x^2 + 2*x - 5", "bias": True})
    square = dim_of({"model": "mlp", "widths": list(widths), "activation": "x^2", "bias": True})
    assert shifted["dimension"] == square["dimension"]
    assert shifted["symmetry_dimension"] == square["symmetry_dimension"] == sum(widths[1:-1])
    assert shifted["expected_dimension"] == square["expected_dimension"]


@pytest.mark.parametrize("spec", [
    {"model": "mlp", "widths": [2, 3, 2], "activation": "x^3"},
    {"model": "mlp", "widths": [3, 4, 3], "activation": "x^2", "bias": True},
    {"model": "linear", "widths": [4, 2, 3]},
    {"model": "cnn", "input_dim": 7, "filters": [3, 2], "activation": "x^2"},
])
def test_seeded_reverse_pass_equals_combined_full_jacobian(spec):
    """The one-pass Jacobian seeded with cotangents C equals C applied to the rows of the full one."""
    from neurovar.pipeline.algebra.field import PrimeField
    from neurovar.pipeline.models import build_model
    from neurovar.pipeline.models.base import Model

    model = build_model(spec)
    F = PrimeField()
    rng = np.random.default_rng(11)
    theta = model.random_parameters(F, rng)
    X = F.random((5, model.input_dim), rng)
    C = F.random((5, model.output_dim), rng)
    assert model.output_dim > 1
    want = Model.combined_jacobian(model, theta, X, C, F)  # full Jacobian, then combination
    got = model.combined_jacobian(theta, X, C, F)
    assert got.shape == (5, model.num_params)
    assert (np.asarray(got, dtype=object) == np.asarray(want, dtype=object)).all()
