"""The numerical (monodromy) fiber count against theorems and against msolve.

- Sylvester's pentahedral theorem (1851; Clebsch 1861): a general cubic surface,
  i.e. a general quaternary cubic form, is a sum of 5 cubes of linear forms in
  exactly one way. The network (4, 5, 1) with activation x^3 fills the
  20-dimensional space of quaternary cubics with 20 free parameters after the
  incoming gauge, so its generic fiber has 5! * 1 = 120 points. msolve does not
  finish this system in 10 minutes here (bench/bench_numerical.py); monodromy
  must reach 120 by its stall criterion, with no target given.
- Sylvester (binary forms): a general binary form of degree 2k - 1 has a unique
  decomposition into k powers of linear forms: (2,2,1) x^3 -> 2! points,
  (2,3,1) x^5 -> 3! points; method both must agree with msolve.
- Over-determined systems (more coefficients than free parameters) are squared
  up; the fiber is what satisfies the full system, and the squared-up
  solutions come in whole fibers (their number is a multiple of the fiber size).
"""

import json
from math import factorial

import numpy as np
import pytest

from neurovar.pipeline.algebra.gauge import choose_gauge, symmetry_orbit
from neurovar.pipeline.compute.fiber import fiber
from neurovar.pipeline.algebra.singular import singular_executable
from neurovar.pipeline.models import build_model
from neurovar.pipeline.problems.fiber import coefficient_polynomials, network_fiber_family, numerical_fiber

#: small fiber systems are counted by Singular when it is installed, else by msolve
EXACT_ROUTE = "exact-singular" if singular_executable() else "exact-msolve"


def mlp(widths, activation, bias=False):
    return build_model({"model": "mlp", "widths": list(widths), "activation": activation, "bias": bias})


def test_pentahedral_cubic_surface_fiber_by_the_stall_criterion(cli):
    res = cli("compute", "fiber", "--model", "mlp", "--widths", "4,5,1", "--activation", "x^3",
              "--method", "numerical", "--json")
    assert res.returncode == 0, res.stderr
    rec = json.loads(res.stdout)
    assert rec["num_unknowns"] == 20 and rec["num_equations"] == 20
    # one orbit of S_5, tracked as one representative, the action proven free: 120 = 5! * 1 points
    assert rec["orbits"] == 1 and rec["group_order"] == factorial(5)
    assert rec["fiber_points_numerical"] == rec["numerical_certified"] == 120
    # a count only with a completeness certificate; otherwise a lower bound
    if rec["completeness"] == "trace-test":
        assert rec["fiber_points"] == 120 and rec["method_used"] == "numerical-monodromy"
    else:
        assert rec["fiber_points"] is None and rec["method_used"] == "numerical-lower-bound"
    assert rec["expected_fiber_points"] == 120  # 5! permutations (Sylvester)


def test_pentahedral_fiber_without_the_symmetry_group():
    # the same count when every point is tracked (no group action): the 120 come from monodromy
    r = numerical_fiber(mlp((4, 5, 1), "x^3"), seed=0, use_symmetries=False, time_limit=120)
    assert r["stop_reason"] == "stalled"
    assert r["count"] == r["certified"] == 120
    assert r["orbits"] == 120  # each point its own orbit
    # and the 120 are the 5! orderings of one decomposition: the same 5 summands (a_j, w_j) in
    # 120 different orders (free parameters: W1[:, 1:] row by row, then W2)
    X = r["solutions"]
    k = 5
    summ = np.concatenate([X[:, :3 * k].reshape(-1, k, 3), X[:, 3 * k:, None]], axis=2)  # (120, 5, 4)
    orders = set()
    for S in summ:
        perm = tuple(int(np.argmin(np.abs(summ[0] - s).max(axis=1))) for s in S)
        assert np.allclose(S, summ[0][list(perm)], atol=1e-8)
        orders.add(perm)
    assert len(orders) == 120 and all(sorted(o) == list(range(k)) for o in orders)


@pytest.mark.parametrize("widths, activation, points", [((2, 2, 1), "x^3", 2), ((2, 3, 1), "x^5", 6)])
def test_both_methods_agree_with_sylvester(widths, activation, points):
    r = fiber(mlp(widths, activation), method="both", confirm=False)
    assert r["fiber_points"] == points == factorial(widths[1])  # the exact route
    assert r["method"] == EXACT_ROUTE
    assert r["fiber_points_numerical"] == r["numerical_certified"] == points
    assert r["numerical_stop_reason"].startswith("stalled")
    assert r["completeness"] in ("trace-test", "exact-agrees") and r["orbits"] == 1
    assert r["counts_agree"] is True


def test_overdetermined_fiber_is_squared_up_and_filtered():
    # (3, 2, 1), x^3: 6 free parameters, 10 cubic coefficients; fiber 2! (Kruskal/ Sylvester: a
    # general sum of two cubes of ternary linear forms determines them)
    m = mlp((3, 2, 1), "x^3")
    r = numerical_fiber(m, seed=0)
    assert r["squared_up"] is True and r["num_unknowns"] == 6 and r["num_equations"] == 10
    assert r["stop_reason"] == "stalled"
    assert r["count"] == r["certified"] == 2
    assert r["solutions_squared_up"] > r["count"] and r["solutions_squared_up"] % r["count"] == 0
    both = fiber(m, method="both", confirm=False)
    assert both["fiber_points"] == 2 and both["counts_agree"] is True


def test_time_limit_gives_a_lower_bound_never_a_count():
    # deep (2, 2, 2, 1), x^3: its squared-up system has hundreds of solutions; 1 s is not enough
    r = fiber(mlp((2, 2, 2, 1), "x^3"), method="numerical", time_limit=1.0)
    assert r["numerical_stop_reason"].startswith("time_limit")
    assert r["method"] == "numerical-lower-bound" and r["completeness"] == "none"
    assert r["fiber_points"] is None and r["only_known_symmetries"] is None
    # the known symmetries are found at once: at least the 2! * 2! points of theta0's orbit
    assert r["fiber_points_numerical"] >= 4


def test_positive_dimensional_fiber_is_decided_exactly_before_monodromy():
    # binary cubic of rank 3: 6 free parameters, dim V = 4
    r = fiber(mlp((2, 3, 1), "x^3"), method="numerical")
    assert r["positive_dimensional"] is True and r["fiber_points"] is None
    assert r["method"] == "exact-modp-jacobian" and r["fiber_points_numerical"] is None


@pytest.mark.parametrize("widths, gauge, size", [((2, 2, 2, 1), "incoming", 4), ((2, 2, 1), "outgoing", 2 * 3**2)])
def test_symmetry_orbit_points_lie_in_the_slice_and_the_fiber(widths, gauge, size):
    m = mlp(widths, "x^3")
    g = choose_gauge(m, gauge)
    fam = network_fiber_family(m, g, seed=1)
    O = symmetry_orbit(m, g, fam.theta0)
    assert O.shape[0] == size == g.expected_points
    fixed = sorted(g.fixed)
    assert np.allclose(O[:, fixed], [g.fixed[k] for k in fixed])
    assert fam.residual(O[:, fam.free]).max() < 1e-12  # every point has the same f_theta
    # pairwise distinct
    d = np.abs(O[:, None, :] - O[None, :, :]).max(axis=2) + np.eye(len(O))
    assert d.min() > 1e-6


def test_coefficient_polynomials_of_a_shallow_network_are_the_waring_equations():
    # f = a1 (x0 + u x1)^3 + a2 (x0 + v x1)^3: coefficients a1 + a2, 3(a1 u + a2 v), 3(a1 u^2 + a2 v^2), ...
    _, polys, free = coefficient_polynomials(mlp((2, 2, 1), "x^3"), choose_gauge(mlp((2, 2, 1), "x^3")))
    assert list(free) == [1, 3, 4, 5]
    assert [str(p) for p in polys] == ["t2 + t3", "3*t0*t2 + 3*t1*t3", "3*t0^2*t2 + 3*t1^2*t3", "t0^3*t2 + t1^3*t3"]
