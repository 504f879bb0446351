"""Every model on the numerical fiber's paths: the certified count against the exact count (msolve/Singular).

For each model the problem layer builds the fiber system from the model's
declarations alone; the numerical count is ``orbits x group_order`` (the group
never enumerated) and must equal the exact count over GF(p) of the same gauge
slice, with the trace test as the certificate of completeness. The exact
counts are the declared finite group's orders where the fiber is only the
known symmetries: ``m!`` neuron permutations of a residual block, the swap of
the rows ``V`` and ``K`` of single-row attention (``v X X^T k^T`` is symmetric in
``v, k``), and none for a convolutional network with activation ``x^r``, ``r >= 2``
(Shahverdi, Marchetti, Kohn: identifiable up to rescaling the filters; the
proof by induction on the depth is in :meth:`pipeline.models.cnn.CNN.symmetries`).
A linear CNN has a finite group, the exchanges of equal filters (below).
"""

from math import factorial

import pytest

from neurovar.pipeline.compute.fiber import fiber
from neurovar.pipeline.models import build_model

CASES = [
    ({"model": "resnet", "widths": [2, 2], "blocks": 1, "activation": "x^2"}, factorial(2), "block-group"),
    ({"model": "resnet", "widths": [3, 3], "blocks": 1, "activation": "x^2"}, factorial(3), "block-group"),
    ({"model": "attention", "d": 2, "d_out": 1, "n": 1, "t": 2}, 2, "block-group"),
    ({"model": "attention", "d": 3, "d_out": 1, "n": 1, "t": 2}, 2, "block-group"),
    ({"model": "cnn", "filters": [2, 2], "activation": "x^2"}, 1, "none"),
    ({"model": "cnn", "filters": [3, 2], "activation": "x^3"}, 1, "none"),
    ({"model": "cnn", "filters": [2, 2, 2], "activation": "x^2"}, 1, "none"),  # depth 3: the induction's step
]


@pytest.mark.parametrize("spec, order, path", CASES, ids=lambda v: str(v) if isinstance(v, int) else None)
def test_numerical_orbits_times_group_order_is_the_exact_count(spec, order, path):
    r = fiber(build_model(spec), method="both", time_limit=300)
    assert r["positive_dimensional"] is False and r["status"] == "ok"
    assert r["group_order"] == order and r["fast_paths"].split(",")[0] == path
    assert r["orbits"] * r["group_order"] == r["fiber_points_numerical"] == r["fiber_points"]  # exact: msolve
    assert r["fiber_points"] == order and r["only_known_symmetries"] is True
    assert r["completeness"] == "trace-test" and r["counts_agree"] is True


def _multinomial(parts):
    out = factorial(sum(parts))
    for p in parts:
        out //= factorial(p)
    return out


# A linear CNN without bias computes the convolution with P(z) = prod_l w_l(z^(S_(l-1))), S the product of
# the earlier strides (Kohn-Merkh-Montufar-Trager). With stride 1 a generic P has sum(k_l - 1) distinct roots
# and the fiber modulo the scalings is their distributions over the layers: multinomial(k_1 - 1, ...) points.
# Exchanging the filters of two layers of equal size (and equal S) keeps P: the finite group is the product
# of S_m over the classes of m equal filters (pipeline.models.cnn.CNN.symmetries), acting freely.
LINEAR_CNN = [
    # (2, 2, 3): roots 1 + 1 + 2 = 4, 4!/(1! 1! 2!) = 12 points; layers 1, 2 exchangeable: |G| = 2, 6 orbits
    ({"model": "cnn", "filters": [2, 2, 3], "activation": "x"}, _multinomial([1, 1, 2]), 2, "block-group"),
    # (3, 2, 2): the same 12 points; the gauge leaves layer 1 free so that the slice keeps the exchange
    ({"model": "cnn", "filters": [3, 2, 2], "activation": "x"}, _multinomial([2, 1, 1]), 2, "block-group"),
    # (2, 2, 2): 3! = 6 points, all the exchanges: |G| = 3! = 6, one orbit (the last layer's filter is
    # exchanged too, so the slice cannot keep the layout: the group is enumerated and its orbits sorted)
    ({"model": "cnn", "filters": [2, 2, 2], "activation": "x"}, _multinomial([1, 1, 1]), 6, "enumerated-group"),
    # (3, 2): no two filters of one size: |G| = 1, the 3 points are 3 orbits (which root goes to w2)
    ({"model": "cnn", "filters": [3, 2], "activation": "x"}, _multinomial([2, 1]), 1, "none"),
    # strides (1, 2, 1), filters (2, 2, 2): P = w1(z) w2(z) w3(z^2); w3 takes the one pair of opposite roots
    # of a generic P in the image, w1 and w2 the other two roots in either order: 2 points, |G| = 2 (layers
    # 1 and 2; layer 3 sits at S = 2 and is the gauge's free layer), one orbit
    ({"model": "cnn", "filters": [2, 2, 2], "strides": [1, 2, 1], "activation": "x"}, 2, 2, "block-group"),
]


@pytest.mark.parametrize("spec, points, order, path", LINEAR_CNN, ids=lambda v: str(v) if isinstance(v, int) else None)
def test_linear_cnn_fiber_is_the_root_distributions_in_orbits_of_equal_filter_exchanges(spec, points, order, path):
    m = build_model(spec)
    assert m.symmetries().group_order == order  # declared, derived above by hand
    r = fiber(m, method="both", time_limit=300)
    assert r["status"] == "ok" and r["positive_dimensional"] is False
    assert r["fiber_points"] == points  # exact: msolve/Singular over GF(p)
    assert r["group_order"] == order and r["orbits"] == points // order
    assert r["orbits"] * r["group_order"] == r["fiber_points_numerical"] == r["fiber_points"]
    assert r["completeness"] == "trace-test" and r["fast_paths"].split(",")[0] == path
    assert r["only_known_symmetries"] is (points == order)
