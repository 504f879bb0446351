"""Real critical points decided from certified complex ones (pipeline.compute.edd_real), not by a second solve.

Checks: the real count equals msolve's real root isolation over Q on the same system (an
independent exact count), and hand-checkable cases: the ED problem of the ellipse
x^2 + 4 y^2 = 1 has 4 real critical points for data inside its evolute, the astroid
(x)^(2/3) + (y/2)^(2/3) = (3/4)^(2/3), and 2 outside it.
"""

from fractions import Fraction as Fr

import pytest

from neurovar.pipeline.algebra.edd_system import critical_set, random_point
from neurovar.pipeline.algebra.weights import weight_matrix
from neurovar.pipeline.compute.edd import EddParams, edd
from neurovar.pipeline.compute.edd_real import certified_real_points
from neurovar.pipeline.compute.edd_varieties import variety_of
from neurovar.pipeline.models import build_model

I2 = [[Fr(1), Fr(0)], [Fr(0), Fr(1)]]


def inside_astroid(u) -> bool:
    return abs(float(u[0])) ** (2 / 3) + abs(float(u[1]) / 2) ** (2 / 3) < 0.75 ** (2 / 3)


@pytest.mark.parametrize("u", [(Fr(1, 7), Fr(1, 5)), (Fr(2), Fr(3)), (Fr(-1, 3), Fr(1, 9)), (Fr(5, 4), Fr(-1, 2))])
def test_ellipse_real_points_inside_and_outside_the_evolute(u):
    var = variety_of(None, EddParams(equations="x^2 + 4*y^2 - 1"))
    n_real, why = certified_real_points(var, I2, list(u), edd=4)
    assert why == "certified" and n_real == (4 if inside_astroid(u) else 2)


def test_the_edd_cell_decides_real_points_from_krawczyk_boxes():
    r = edd(None, EddParams(equations="x^2 + 4*y^2 - 1", weights="identity"), seed=0)
    assert r["edd"] == 4 and r["method"] == "exact-implicit-modp+real-krawczyk"
    u = random_point(2, 0)
    assert r["real_critical_points"] == (4 if inside_astroid(u) else 2)


ATTENTION = {"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 2}


@pytest.mark.parametrize("spec, weights, seed, count", [
    (ATTENTION, "generic", 0, 14), (ATTENTION, "generic", 1, 14),
    # identity weights: 6 critical points, fewer than the 14 of the generic (u0, W0) the paths start from
    (ATTENTION, "identity", 1, 6),
    # 3 x 2 matrices of rank <= 1 (codimension 2, three 2-minors squared up to two): Eckart-Young, 2
    ({"model": "linear", "widths": [2, 1, 3]}, "identity", 1, 2)])
def test_real_points_agree_with_msolve_over_Q(spec, weights, seed, count):
    model = build_model(spec)
    r = edd(model, EddParams(weights=weights), seed=seed)
    assert r["edd"] == count and r["method"] == "exact-implicit-modp+real-krawczyk"
    var = variety_of(model, EddParams(weights=weights), "exact")
    Q = weight_matrix(weights, len(var.names), seed=seed, features=var.features)
    over_q = critical_set(var.equations, Q, random_point(len(var.names), seed), seed=seed, confirm=False, real=True,
                          codim=var.codim)
    assert r["real_critical_points"] == over_q["real_critical_points"]


def test_a_singular_Q_falls_back_to_the_count_over_Q():
    # psd weights have a kernel: zero-loss points, no Krawczyk route; the count over Q is made as before
    r = edd(None, EddParams(equations="x^2 + 4*y^2 - 1", weights="psd:1"), seed=0)
    assert r["method"] == "exact-implicit-modp"
    assert certified_real_points(variety_of(None, EddParams(equations="x - y")), [[1, 1], [1, 1]], [1, 2], 1)[0] is None
