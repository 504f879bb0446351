"""Sparse subnetworks and Sing(M): a hand-derived hypersurface and the MLP / CNN cases."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp

from neurovar.pipeline.compute.singularities import singularities
from neurovar.pipeline.models import build_model


def _hankel_equation():
    """For the MLP (1, 2, 1) with s(z) = sum_k c_k z^k (degree 4), f(x) = sum_k c_k m_k x^k with
    m_k = a1 w1^k + a2 w2^k: the moments of two atoms, so M = {det H(f_k / c_k) = 0} with H the
    3 x 3 Hankel matrix (a cubic hypersurface in V = R[x]_{<=4}); its gradient vanishes exactly where
    all 2 x 2 minors of H vanish (rank H <= 1)."""
    m = sp.symbols("m0:5")
    H = sp.Matrix([[m[0], m[1], m[2]], [m[1], m[2], m[3]], [m[2], m[3], m[4]]])
    return m, H.det()


def test_hand_derived_hypersurface_decides_dead_neuron_singular_and_zero_edge_smooth():
    model = build_model({"model": "mlp", "widths": [1, 2, 1], "activation": "generic:4"})
    m, F = _hankel_equation()
    grad = [sp.diff(F, v) for v in m]

    def moments(a1, w1, a2, w2):
        return {m[k]: Fraction(a1) * Fraction(w1) ** k + Fraction(a2) * Fraction(w2) ** k for k in range(5)}

    # the whole network: F vanishes on M (checked at a point), M is a hypersurface: dim 4 in dim V = 5
    assert F.subs(moments(3, 2, -5, 7)) == 0
    # neuron 2 removed (a2 = 0): every partial derivative vanishes -> singular point
    assert all(g.subs(moments(3, 2, 0, 11)) == 0 for g in grad)
    # W1[0,0] = 0 (w1 = 0): f = a1 c0 + a2 s(w2 x), a rank-2 Hankel matrix -> gradient non-zero -> smooth
    assert any(g.subs(moments(3, 0, -5, 7)) != 0 for g in grad)

    r = singularities(model, seed=0)
    assert (r["dimension"], r["ambient_dimension"]) == (4, 5)
    assert r["equations_degree"] == 3 and r["equations_count"] == 1  # the Hankel cubic, interpolated mod p
    rows = {s["zeroed"]: s for s in r["subnetworks"]}
    assert rows["neuron 1.1 removed"]["singular"] is True and rows["neuron 1.1 removed"]["image_dim"] == 2
    assert rows["zero W1[0,0]"]["singular"] is False and rows["zero W1[0,0]"]["image_dim"] == 3
    assert rows["zero W1[0,0]"]["method"].startswith("equations")
    # a dead neuron is a critical point of the parametrisation whose critical data fill V
    dead = rows["neuron 1.1 removed"]
    assert dead["critical"] and dead["cell_can_be_full"] and dead["normal_cone_dim"] == 3
    assert r["confirmed"]
    # the converse: Sing(M) = V(F, grad F) is one surface (rank-1 Hankel: the cone over the rational
    # normal quartic), and it lies on the image of the one-neuron subnetwork
    conv = r["converse"]
    assert conv is not None and conv["holds"]
    assert [c["dimension"] for c in conv["components"]] == [2]
    assert conv["components"][0]["on_subnetworks"] == ["neuron 1.1 removed"]


@pytest.mark.parametrize("widths", [[2, 2, 1], [3, 2, 1]])
def test_mlp_generic_cubic_every_subnetwork_classified_and_removed_neurons_singular(widths):
    model = build_model({"model": "mlp", "widths": widths, "activation": "generic:3"})
    r = singularities(model, seed=1)
    assert r["confirmed"]
    full = r["subnetworks"][0]
    assert full["zeroed_params"] == [] and full["singular"] is False and full["image_dim"] == r["dimension"]
    # Kileel-Trager-Bruna / identifiability: dim M = #params for these widths with a generic cubic
    assert r["dimension"] == model.num_params
    for s in r["subnetworks"]:
        if "removed" in s["zeroed"]:
            # the theorem: a removed neuron gives singular points (here proven by the tangent span)
            assert s["singular"] is True and s["method"] == "tangent-span", s
        elif s["image_dim"] >= 2:
            # zeroed edges of living neurons: smooth points, proven by the equations of M
            assert s["singular"] is False, s
    assert r["num_undecided"] == 0
    assert r["num_subnetworks"] == {2: 14, 3: 44}[widths[0]]
    # the constants (W1 = 0, both output weights live): f = c0 (a1 + a2) is also f for a1 = 0 and any
    # incoming weights of neuron 1, so T_p M contains s(w.x) for every w, i.e. all of V: singular
    const = next(s for s in r["subnetworks"] if s["zeroed_labels"] == [f"W1[{i},{j}]" for i in range(2)
                                                                        for j in range(widths[0])])
    assert const["image_dim"] == 1 and const["singular"] is True, const
    if widths == [3, 2, 1]:  # the 2000-monomial cap leaves the equations of degree 4 out: the fibre decides
        assert const["method"].startswith("tangent-span over fibre points")
        assert const["tangent_span_dim"] > r["dimension"]


def test_small_polynomial_cnn_classified():
    model = build_model({"model": "cnn", "filters": [2, 2], "activation": "generic:3"})
    r = singularities(model, seed=0)
    assert r["confirmed"] and r["num_undecided"] == 0
    rows = {s["zeroed"]: s for s in r["subnetworks"]}
    # mirror images (reverse the input) share their verdicts
    assert rows["zero w1[0], w2[1]"]["singular"] == rows["zero w1[1], w2[0]"]["singular"] is True
    assert rows["zero w1[0], w2[0]"]["singular"] == rows["zero w1[1], w2[1]"]["singular"] is False
    # CNN filters have no free coordinates: a zero tap is never a critical point with a full cell
    assert all(not s["cell_can_be_full"] for s in r["subnetworks"] if 0 < s["image_dim"] < r["dimension"])


def test_registry_reads_singularities_rows():
    import pandas as pd

    from neurovar.catalog.conjectures import REGISTRY, evaluate
    from neurovar.pipeline.cells import make_cell, run_cell

    rows = [run_cell(make_cell("singularities", {"model": "mlp", "widths": [1, 2, 1], "activation": a}))
            for a in ("generic:4", "generic:3")]
    v = evaluate(REGISTRY["singularities-sparse-subnetworks-mlp"], pd.DataFrame(rows))
    # generic:4 is a hypersurface with singular removed neurons; generic:3 fills V (not applicable)
    assert (len(v.supports), len(v.violates), len(v.not_applicable)) == (1, 0, 1)


def test_any_model_through_the_protocol_attention_hypersurface():
    """Lightning self-attention (d = 2, d' = 1, t = 2, n = 2): M is the quartic hypersurface of the talk
    (dim 5 in V = R^6). Its singular locus is one 4-dimensional component, the image of the
    subnetworks where one of the n = 2 rows of K and Q is zero (the product K^T Q drops to rank 1)."""
    model = build_model({"model": "attention", "d": 2, "d_out": 1, "t": 2, "n": 2})
    r = singularities(model, seed=0, max_zeroed=2)
    assert (r["dimension"], r["ambient_dimension"]) == (5, 6)
    assert r["equations_degree"] == 4 and r["equations_count"] == 1  # the slide's quartic, mod p
    assert r["confirmed"] and r["num_undecided"] == 0
    assert r["subnetworks"][0]["singular"] is False
    conv = r["converse"]
    assert conv["holds"] and [c["dimension"] for c in conv["components"]] == [4]
    assert "zero K[0,0], K[0,1], Q[0,0], Q[0,1]" in conv["components"][0]["on_subnetworks"]
