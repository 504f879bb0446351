"""ED degrees of polynomial MLPs against theorems: secants of Veronese cones, Eckart-Young, hand derivations.

Coordinates are the monomial coefficients ``c_alpha`` of the network's output.
``weights: bombieri`` is ``diag(1 / multinomial(d; alpha))``, the Bombieri-Weyl
(invariant) inner product; on quadratic forms ``x^T S x`` it is the Frobenius norm
of ``S`` (``c_ii = S_ii``, ``c_ij = 2 S_ij``: ``c_ij^2 / 2 = 2 S_ij^2``).
"""

from __future__ import annotations

from math import comb

import pytest

from neurovar.pipeline.compute.edd import EddParams, edd
from neurovar.pipeline.errors import SpecError
from neurovar.pipeline.models import build_model


def run(widths, activation, seed=0, bias=False, **kw):
    kw.setdefault("real", False)
    model = build_model({"model": "mlp", "widths": list(widths), "activation": activation, "bias": bias})
    return edd(model, EddParams(**kw), seed=seed)


def generic_edd_of_veronese(n: int, d: int) -> int:
    """Generic ED degree of the cone over nu_d(P^(n-1)) (Draisma-Horobet-Ottaviani-Sturmfels-Thomas, Thm 5.8:
    sum_i (-1)^i (2^(m+1-i) - 1) deg c_i(X) h^(m-i), X = P^m, m = n - 1, h = d H, c_i = binom(n, i) H^i)."""
    m = n - 1
    return sum((-1) ** i * (2 ** (m + 1 - i) - 1) * comb(n, i) * d ** (m - i) for i in range(m + 1))


@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_rational_normal_curve_cone_bombieri_d_generic_3d_minus_2(d):
    # (2, 1, 1) with x^d: binary forms v (a x + b y)^d, the cone over the rational normal curve.
    # Bombieri-Weyl weights: d critical points (eigenvectors of a binary symmetric tensor);
    # generic weights: 3d - 2, the sum of the polar degrees d + (2d - 2).
    for method in ("exact-implicit", "exact-parametric"):
        bw = run((2, 1, 1), f"x^{d}", weights="bombieri", method=method)
        gen = run((2, 1, 1), f"x^{d}", weights="generic", method=method)
        assert (bw["edd"], gen["edd"]) == (d, 3 * d - 2)
        assert bw["primes_agree"] is True and gen["primes_agree"] is True
    assert generic_edd_of_veronese(2, d) == 3 * d - 2


@pytest.mark.parametrize("n, d", [(3, 2), (3, 3), (3, 4), (4, 2)])
def test_veronese_cone_eigenvector_count_and_generic(n, d):
    # (n, 1, 1) with x^d: d-th powers of linear forms. Bombieri-Weyl: the number of eigenvectors of a
    # general symmetric tensor, ((d-1)^n - 1) / (d - 2) (Cartwright-Sturmfels; n for d = 2).
    eig = n if d == 2 else ((d - 1) ** n - 1) // (d - 2)
    r = run((n, 1, 1), f"x^{d}", weights="bombieri")
    assert r["edd"] == eig and r["primes_agree"] is True
    assert run((n, 1, 1), f"x^{d}", weights="generic")["edd"] == generic_edd_of_veronese(n, d)


@pytest.mark.parametrize("n, k", [(3, 1), (3, 2), (4, 1), (4, 2), (4, 3)])
def test_quadrics_eckart_young_for_symmetric_matrices(n, k):
    # (n, k, 1) with x^2: x^T S x, S symmetric of rank <= k. Frobenius norm on S (= bombieri on c):
    # binom(n, k) critical points, the rank-k truncations of the spectral decomposition.
    r = run((n, k, 1), "x^2", weights="bombieri")
    assert r["edd"] == comb(n, k) and r["primes_agree"] is True


def test_quadrics_generic_weights_ed_duality():
    # rank <= 1 and rank <= n - 1 symmetric matrices are projectively dual (Veronese / determinant):
    # their generic ED degrees agree (DHOST, Thm 5.2), 13 for n = 3 and 40 for n = 4.
    assert run((3, 1, 1), "x^2", weights="generic")["edd"] == run((3, 2, 1), "x^2", weights="generic")["edd"] == 13
    assert run((4, 3, 1), "x^2", weights="generic")["edd"] == generic_edd_of_veronese(4, 2) == 40


@pytest.mark.parametrize("weights", ["bombieri", "generic"])
def test_binary_quartics_of_rank_two_parametric_agrees_with_implicit(weights):
    # (2, 2, 1) with x^4: the Hankel-determinant hypersurface sigma_2(RNC_4). In parameter space the
    # gauge W1[a, 0] = 1 leaves the 2! neuron permutations: the fiber has 2 points, every critical
    # point of M has 2 critical parameters, and the count by image equals the implicit count.
    imp = run((2, 2, 1), "x^4", weights=weights, method="exact-implicit")
    par = run((2, 2, 1), "x^4", weights=weights, method="exact-parametric")
    assert imp["codimension"] == 1
    assert par["edd"] == imp["edd"] and par["primes_agree"] is True
    assert par["fiber_size"] == 2 and par["parameter_points"] == 2 * par["edd"]


@pytest.mark.parametrize("d", [2, 3, 4])
def test_one_input_zero_loss_curve_of_degree_d_and_a_line(d):
    # |S| = 1, loss (f(a) - y)^2 on the cone over RNC_d. Zero loss: the hyperplane section f(a) = y,
    # a curve of degree d. Positive loss: f = v l^d is critical iff evaluation at a vanishes on
    # T_f M = l^(d-1) * (linear forms), i.e. l(a) = 0: the line {v l_a^d}.
    r = run((2, 1, 1), f"x^{d}", weights="data:1")
    assert r["kernel_dimension"] == d and r["edd"] is None
    parts = {p["zero_loss"]: p for p in r["positive_dimensional"]}
    assert (parts[True]["dimension"], parts[True]["degree"]) == (1, d)
    line = parts[False]
    assert (line["dimension"], line["degree"], line["lines"], line["linear_span"]) == (1, 1, 1, 1)
    if d == 2:
        assert (parts[True]["lines"], parts[True]["components_over_C"]) == (0, 1)  # an irreducible conic


@pytest.mark.parametrize("d", [2, 3, 4])
def test_two_inputs_d_zero_loss_points_and_two_on_the_ramification_lines(d):
    # |S| = 2: zero loss f(a1) = y1, f(a2) = y2 cuts the degree-d surface in d points; the ramification
    # locus of f -> (f(a1), f(a2)) is the two lines l(a1) = 0, l(a2) = 0, with one critical point each.
    r = run((2, 1, 1), f"x^{d}", weights="data:2")
    assert (r["edd"], r["zero_loss_points"], r["positive_loss_points"]) == (d + 2, d, 2)
    assert r["positive_dimensional"] == [] and r["primes_agree"] is True


def test_deep_and_non_monomial_networks_are_counted_in_parameter_space():
    # no implicit equations: parameter space, both primes agree, and without a monomial gauge
    # the generic fiber is a single point; the count by image matches the distinct parameters.
    for widths, act, bias in [((2, 1, 1, 1), "x^2", False), ((2, 1, 1), "generic:3", False), ((2, 1, 2), "x^2", False)]:
        r = run(widths, act, bias=bias, weights="generic")
        assert r["method"] == "exact-parametric-modp" and r["primes_agree"] is True
        assert r["fiber_size"] == 1 and r["parameter_points"] == r["edd"] > 0
    # (2,1,1,1) with x^2 computes v (w (a x + b y)^2)^2 = c (a x + b y)^4: the cone over RNC_4, generic 3*4-2
    assert run((2, 1, 1, 1), "x^2", weights="generic")["edd"] == 10


def test_errors_name_the_fix():
    with pytest.raises(SpecError, match="fills"):
        run((2, 2, 1), "x^3", weights="generic")  # binary cubics of rank <= 2: all of them
    with pytest.raises(SpecError, match="positive-dimensional fibers"):
        run((3, 2, 2, 1), "x^2", weights="generic", method="exact-parametric")  # O(2) on the last hidden layer
    with pytest.raises(SpecError, match="bombieri"):
        edd(None, EddParams(equations="x^2 + y^2 - 1", weights="bombieri"))
    with pytest.raises(SpecError, match="exact-parametric"):
        run((2, 1, 1), "generic:3", weights="generic", method="exact-implicit")


def test_quadratic_networks_in_the_ldl_slice_agree_with_the_minors():
    # (3, 2, 1) with x^2: symmetric 3 x 3 matrices of rank <= 2. O(2) acts on the parameters; the LDL^T slice
    # (W[1, 0] = 0, unit pivots) is birational, so the parametric route counts it. Bombieri weights are the
    # Frobenius norm: Eckart-Young, binom(3, 2) = 3; generic weights: the 3 x 3 symmetric determinant is the
    # dual of the Veronese surface nu_2(P^2), and a variety and its dual have the same generic ED degree
    # (Draisma-Horobet-Ottaviani-Sturmfels-Thomas, Thm 5.2)
    assert generic_edd_of_veronese(3, 2) == 13
    for weights, expected in (("bombieri", 3), ("generic", generic_edd_of_veronese(3, 2))):
        par = run((3, 2, 1), "x^2", weights=weights, method="exact-parametric", real=False)
        imp = run((3, 2, 1), "x^2", weights=weights, method="exact-implicit", real=False)
        assert par["edd"] == imp["edd"] == expected and par["method"] == "exact-parametric-modp"


def test_linear_activation_is_the_rank_variety():
    # x^1: the linear network, matrices of rank <= 1 in 3 x 3: Eckart-Young binom(3, 1)
    assert run((3, 1, 3), "x", weights="identity")["edd"] == 3


def test_cli_mlp(cli):
    import json

    res = cli("compute", "edd", "--model", "mlp", "--widths", "2,1,1", "--activation", "x^3",
              "--weights", "bombieri", "--no-real", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    rec = out[0] if isinstance(out, list) else out
    assert rec["edd"] == 3 and rec["variables_used"] == "c_3_0,c_2_1,c_1_2,c_0_3"
