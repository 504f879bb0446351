"""Every computation on every model where the mathematics defines it, checked against the papers."""

from __future__ import annotations

from math import factorial

import pytest

import neurovar
from neurovar.catalog.conjectures import REGISTRY
from neurovar.pipeline.cells import make_cell, run_cell


def cnn(filters, act="x", strides=None, bias=False):
    return neurovar.models.CNN(filters=filters, activation=act, strides=strides, bias=bias)


def _multinomial(parts):
    out = factorial(sum(parts))
    for p in parts:
        out //= factorial(p)
    return out


@pytest.mark.parametrize("filters", [(3, 2), (2, 2, 2), (3, 3), (2, 3, 2)])
def test_linear_cnn_fibers_are_the_root_distributions(filters):
    """Kohn-Merkh-Montufar-Trager: stride 1 multiplies the filters as polynomials, so modulo the L - 1
    scalings a generic fiber has multinomial(sum(k_l - 1); k_1 - 1, ...) points."""
    r = neurovar.fiber(cnn(filters))
    assert r["fiber_dimension"] == r["symmetry_dimension"] == len(filters) - 1
    assert r["fiber_points"] == _multinomial([k - 1 for k in filters]) and r["primes_agree"] is True
    assert REGISTRY["cnn-linear-fiber"].check({**r, "model": "cnn", "filters": list(filters), "strides": None,
                                               "activation": "x", "activation_kind": "linear"}).holds


@pytest.mark.parametrize("filters,strides,act", [((3, 2), None, "x^2"), ((3, 2), None, "x^3"), ((2, 2, 2), None, "x^2"),
                                                 ((2, 2), (2, 1), "x^2"), ((2, 2), (2, 1), "x")])
def test_cnn_fibers_are_finite_modulo_scalings(filters, strides, act):
    """Shahverdi-Marchetti-Kohn: x^r CNNs are identifiable up to rescaling the filters (one point in the
    gauge); a stride equal to the first filter size makes the linear CNN a Kronecker product, also one point."""
    r = neurovar.fiber(cnn(filters, act, strides))
    assert r["fiber_dimension"] == len(filters) - 1 and r["fiber_points"] == 1
    assert r["only_known_symmetries"] is True


@pytest.mark.parametrize("filters,strides", [((2, 2), (2, 1)), ((2, 3), (2, 1)), ((3, 2), (3, 1))])
def test_cnn_ed_degree_is_eckart_young_for_kronecker_strides(filters, strides):
    """Filters (k1, k2), strides (k1, 1): the end-to-end filter is w2 (x) w1, a k2 x k1 matrix of rank one;
    the Frobenius ED degree of rank-one matrices is min(k1, k2) (Eckart-Young)."""
    rec = run_cell(make_cell("edd", {"model": "cnn", "filters": list(filters), "strides": list(strides),
                                     "activation": "x"}))
    assert rec["status"] == "ok" and rec["edd"] == min(filters) and rec["primes_agree"] is True
    assert REGISTRY["cnn-linear-stride-edd"].check({**rec, "activation_kind": "linear"}).holds


def test_cnn_edd_with_monomial_activation():
    # f = v0 (w0 x0 + w1 x1)^2 + v1 (w0 x1 + w1 x2)^2: the parametric route, fiber size 1 (identifiable)
    r = neurovar.edd(cnn((2, 2), "x^2"))
    assert r["fiber_size"] == 1 and r["primes_agree"] is True and r["edd"] == r["positive_loss_points"] > 0


@pytest.mark.parametrize("d,d_out,n,points", [(2, 1, 2, 1), (3, 1, 2, 1), (2, 2, 3, 1), (2, 2, 1, 1), (2, 1, 1, 2),
                                               (3, 1, 1, 2)])
def test_attention_fiber_dimension_is_its_symmetry_dimension(d, d_out, n, points):
    """Henry-Marchetti-Kohn: the fiber is the GL(n) x C* orbit, of dimension 2nd - q(2d - q) + 1, and the
    gauge slice meets it once (twice for d_out = n = 1, where V and K can be swapped)."""
    m = neurovar.models.Attention(d=d, d_out=d_out, n=n, t=2)
    q = min(n, d)
    r = neurovar.fiber(m)
    assert r["fiber_dimension"] == r["symmetry_dimension"] == 2 * n * d - q * (2 * d - q) + 1
    assert r["fiber_points"] == r["expected_fiber_points"] == points and r["only_known_symmetries"] is True
    assert REGISTRY["attention-identifiability"].check({**r, **m.record()}).holds  # a catalog row: record + spec


def test_attention_numerical_fiber_agrees():
    r = neurovar.fiber(neurovar.models.Attention(d=2, d_out=1, n=2, t=2), method="both")
    assert r["fiber_points"] == r["fiber_points_numerical"] == 1 and r["counts_agree"] is True


@pytest.mark.parametrize("act,bias", [("x^2", True), ("x^3 + 2*x", True), ("generic:3", False), ("generic:3", True)])
def test_mlp_with_bias_and_generic_activations_fiber_and_edd(act, bias):
    m = neurovar.models.MLP(widths=(2, 2, 1), activation=act, bias=bias)
    r = neurovar.fiber(m)
    assert r["fiber_dimension"] == r["symmetry_dimension"] or r["positive_dimensional"]
    if act == "generic:3" and not bias:  # 6 parameters in V of dimension 10 (degree <= 3): only the swap
        assert r["fiber_dimension"] == 0 and r["fiber_points"] == r["expected_fiber_points"] == 2
    if r["symmetry_dimension"] == 0 and bias:  # every cubic with bias is odd after a shift: (Z/2)^2 and the swap
        assert r["fiber_points"] == r["expected_fiber_points"] == 2 * 4
    e = neurovar.edd(neurovar.models.MLP(widths=(2, 1, 1), activation=act, bias=bias))
    assert e["edd"] is not None and e["edd"] >= 1 and e["primes_agree"] is True
