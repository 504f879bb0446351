"""Generic fibers of theta -> f_theta against theorems.

- Linear networks: the fiber has dimension ``#params - q (d0 + dL - q)``
  (rank variety, Bruns--Vetter); it equals ``dim prod GL(d_i) = sum d_i^2``
  when the group acts freely and transitively on fibers, and exceeds it when
  a bottleneck before a wider layer adds directions.
- Shallow monomial networks ``(n, k, 1)``, ``s = x^r``: ``f = sum_j c_j (w_j . x)^r``
  is a Waring decomposition. Sylvester: a general binary form of odd degree
  ``2k - 1`` has a unique decomposition into ``k`` powers of linear forms, so
  the fiber (incoming gauge) has ``k!`` points, and ``k! r^k`` with the
  outgoing gauge (``w_j`` up to ``r``-th roots of unity). A general binary
  form of even degree ``2k`` has a one-parameter family of rank-``(k+1)``
  decompositions.
- Known symmetries are solutions of the system: permuting hidden neurons of
  ``theta0`` and rescaling them must solve every equation.
"""

from math import factorial, prod

import numpy as np
import pytest

from neurovar.pipeline.algebra import msolve
from neurovar.pipeline.algebra.field import MSOLVE_PRIMES, PrimeField
from neurovar.pipeline.algebra.gauge import choose_gauge
from neurovar.pipeline.algebra.singular import singular_executable
from neurovar.pipeline.models.mlp import param_offsets
from neurovar.pipeline.compute.fiber import (
    FiberParams,
    count_fiber_points,
    fiber,
    fiber_system,
    monomial_exponents,
    unisolvent_points,
)
from neurovar.pipeline.models import build_model

P0, P1 = MSOLVE_PRIMES[:2]


def mlp(widths, activation, bias=False):
    return build_model({"model": "mlp", "widths": list(widths), "activation": activation, "bias": bias})


def linear(widths, bias=False):
    return build_model({"model": "linear", "widths": list(widths), "bias": bias})


def rank_variety_fiber(widths, bias=False):
    """``#params - dim M`` with ``dim M = q (d0 + dL - q) (+ dL)`` written out from the widths."""
    params = sum(widths[i] * widths[i + 1] + (widths[i + 1] if bias else 0) for i in range(len(widths) - 1))
    q = min(widths)
    dim = q * (widths[0] + widths[-1] - q) + (widths[-1] if bias else 0)
    return params - dim


# --- linear networks ------------------------------------------------------------------

@pytest.mark.parametrize("widths", [(3, 3, 3), (3, 2, 3), (4, 3, 3), (2, 2, 2, 2), (3, 2, 2, 3)])
def test_linear_fiber_is_the_gl_orbit(widths):
    r = fiber(linear(widths))
    gl = sum(d * d for d in widths[1:-1])
    assert r["fiber_dimension"] == rank_variety_fiber(widths) == gl
    assert r["symmetry_dimension"] == gl
    # the GL gauge W_i[:, :d_i] = I is a section: exactly one point
    assert r["gauge_kind"] == "gl"
    assert r["fiber_points"] == 1 and r["expected_fiber_points"] == 1
    assert r["only_known_symmetries"] is True and r["primes_agree"] is True


def test_affine_linear_fiber_is_the_affine_group_orbit():
    r = fiber(linear((3, 2, 3), bias=True))
    assert r["fiber_dimension"] == rank_variety_fiber((3, 2, 3), bias=True) == 2 * 2 + 2
    assert r["fiber_points"] == 1 and r["only_known_symmetries"] is True


@pytest.mark.parametrize("widths, extra", [((3, 1, 2, 3), 1), ((4, 3, 2, 2), 1), ((4, 1, 3, 4), 2)])
def test_linear_bottleneck_makes_the_fiber_larger_than_gl(widths, extra):
    r = fiber(linear(widths), confirm=False)
    gl = sum(d * d for d in widths[1:-1])
    assert r["fiber_dimension"] == rank_variety_fiber(widths)
    assert r["fiber_dimension"] - gl == extra
    assert r["positive_dimensional"] is True and r["fiber_points"] is None
    assert r["only_known_symmetries"] is not True


# --- shallow monomial networks: Waring decompositions ------------------------------------

@pytest.mark.parametrize("k", [2, 3])
def test_sylvester_binary_forms_of_odd_degree_are_identifiable(k):
    r = fiber(mlp((2, k, 1), f"x^{2 * k - 1}"))
    assert r["fiber_dimension"] == r["symmetry_dimension"] == k
    assert r["fiber_points"] == factorial(k)  # k! orderings of the unique decomposition
    assert r["expected_fiber_points"] == factorial(k)
    assert r["only_known_symmetries"] is True
    assert r["reduced"] is True and r["primes_agree"] is True and r["second_prime_points"] == factorial(k)


@pytest.mark.parametrize("k, degree", [(2, 3), (2, 4)])
def test_outgoing_gauge_counts_roots_of_unity(k, degree):
    # c_j = 1 leaves w_j up to an r-th root of unity: k! * r^k points over the algebraic closure
    r = fiber(mlp((2, k, 1), f"x^{degree}"), gauge="outgoing")
    assert r["residual_symmetries"] == degree**k
    assert r["fiber_points"] == factorial(k) * degree**k
    assert r["only_known_symmetries"] is True and r["primes_agree"] is True


def test_binary_cubic_of_rank_three_has_positive_dimensional_fiber():
    # 9 parameters, dim V = 4: the fiber exceeds the 3 scalings by 9 - 4 - 3 = 2
    m = mlp((2, 3, 1), "x^3")
    r = fiber(m)
    assert m.num_params > m.ambient_dimension
    assert r["fiber_dimension"] == m.num_params - m.ambient_dimension == 5
    assert r["symmetry_dimension"] == 3
    assert r["positive_dimensional"] is True and r["fiber_points"] is None
    assert r["only_known_symmetries"] is False
    # msolve agrees on the gauged system itself
    S = fiber_system(m, choose_gauge(m), P0, np.random.default_rng(5))
    assert msolve.solve(S.polys, S.variables, characteristic=P0).kind == "positive_dimensional"


def test_binary_quartic_of_rank_three_has_a_pencil_of_decompositions():
    # Sylvester: a general binary form of degree 2k has a 1-dim family of rank-(k+1) decompositions
    r = fiber(mlp((2, 3, 1), "x^4"), confirm=False)
    assert r["fiber_dimension"] - r["symmetry_dimension"] == 1
    assert r["positive_dimensional"] is True


# --- deep networks ------------------------------------------------------------------

@pytest.mark.parametrize("widths", [(2, 2, 1, 1), (1, 1, 2, 1)])
def test_deep_generic_activation_fiber_is_the_permutations(widths):
    r = fiber(mlp(widths, "generic:3"))
    perms = prod(factorial(d) for d in widths[1:-1])
    assert r["symmetry_dimension"] == 0 and r["fiber_dimension"] == 0
    assert r["gauge_kind"] == "none"
    assert r["fiber_points"] == perms and r["only_known_symmetries"] is True
    assert r["primes_agree"] is True


def test_deep_monomial_fiber_is_permutations_and_scalings():
    r = fiber(mlp((2, 2, 2, 1), "x^3"))
    assert r["fiber_dimension"] == r["symmetry_dimension"] == 4
    assert r["fiber_points"] == factorial(2) * factorial(2)
    assert r["only_known_symmetries"] is True and r["primes_agree"] is True


# --- the count does not depend on the prime or the point -----------------------------------

@pytest.mark.parametrize("spec", [((2, 3, 1), "x^5", False), ((2, 2, 1), "x^4", True), ((2, 2, 1, 1), "generic:3", False)])
def test_counts_agree_on_two_primes_and_two_seeds(spec):
    widths, act, bias = spec
    m = mlp(widths, act, bias)
    counts = {(p, s): count_fiber_points(m, choose_gauge(m), p, seed=s)["fiber_points"] for p in (P0, P1) for s in (0, 1)}
    assert len(set(counts.values())) == 1
    assert set(counts.values()) == {prod(factorial(d) for d in widths[1:-1])}


# --- the system: equivalence and known solutions ----------------------------------------------

def test_points_are_unisolvent_for_the_ambient_space():
    m = mlp((3, 2, 1), "x^3", bias=True)  # inhomogeneous cubics in 3 variables: 20 monomials
    F = PrimeField(P0)
    X = unisolvent_points(m, F, np.random.default_rng(0))
    exps = monomial_exponents(3, 3, homogeneous=False)
    assert len(exps) == m.ambient_dimension == 20 == X.shape[0]
    V = np.array([[int(np.prod([pow(int(x[v]), e[v], P0) for v in range(3)], dtype=object) % P0) for e in exps]
                  for x in X], dtype=np.uint64)
    assert F.rank(V) == 20


def _value(system, theta):
    vals = [int(theta[k]) for k in system.free]
    return [int(g(*vals)) for g in system.polys]


@pytest.mark.parametrize("activation, bias", [("generic:3", False), ("generic:3", True), ("x^3", True)])
def test_permuted_and_rescaled_parameters_solve_the_system(activation, bias):
    m = mlp((2, 3, 2, 1), activation, bias)
    gauge = choose_gauge(m, "none")
    S = fiber_system(m, gauge, P0, np.random.default_rng(3))
    widths = m.widths
    offs = param_offsets(widths, bias)
    theta = S.theta0.copy()
    # swap hidden neurons 0 and 2 of layer 1: rows of W_1 (and b_1), columns of W_2
    w1, b1 = offs[0]
    w2, _ = offs[1]
    W1 = theta[w1:w1 + 6].reshape(3, 2).copy()
    theta[w1:w1 + 6] = W1[[2, 1, 0]].ravel()
    if bias:
        theta[b1:b1 + 3] = theta[b1:b1 + 3][[2, 1, 0]]
    W2 = theta[w2:w2 + 6].reshape(2, 3).copy()
    theta[w2:w2 + 6] = W2[:, [2, 1, 0]].ravel()
    assert not np.array_equal(theta, S.theta0)
    assert _value(S, theta) == [0] * len(S.polys)
    # a non-symmetry (perturb one weight) does not solve it
    bad = theta.copy()
    bad[w1] = (int(bad[w1]) + 1) % P0
    assert any(_value(S, bad))
    if activation == "x^3":  # scaling neuron 1 by t, its outgoing weights by t^-3
        t = 5
        sc = theta.copy()
        sc[w1 + 2:w1 + 4] = [int(v) * t % P0 for v in sc[w1 + 2:w1 + 4]]
        sc[b1 + 1] = int(sc[b1 + 1]) * t % P0
        tinv3 = pow(t, -3, P0)
        for row in range(2):
            sc[w2 + row * 3 + 1] = int(sc[w2 + row * 3 + 1]) * tinv3 % P0
        assert _value(S, sc) == [0] * len(S.polys)


# --- options -----------------------------------------------------------------------------

def test_unknown_method_is_refused_with_the_choices():
    # numerical and both are methods now (tests/test_fiber_numeric.py); anything else names the choices
    FiberParams(method="numerical")
    FiberParams(method="both")
    with pytest.raises(ValueError, match="exact, numerical, both"):
        FiberParams(method="homotopy")
    with pytest.raises(ValueError, match="at least 1"):
        FiberParams(stall_loops=0)


def test_gauge_that_does_not_fit_the_activation_is_refused():
    # a generic cubic has no continuous symmetry to fix: the message names the gauges it takes
    with pytest.raises(ValueError, match="does not apply to this model; it takes one of auto, none"):
        choose_gauge(mlp((2, 2, 1), "generic:3"), "incoming")
    with pytest.raises(ValueError, match="d_0 >= d_1"):
        choose_gauge(linear((2, 3, 2)), "gl")


def test_cli_fiber(cli):
    import json

    res = cli("compute", "fiber", "--model", "mlp", "--widths", "2,2,1", "--activation", "x^3", "--json")
    assert res.returncode == 0, res.stderr
    rec = json.loads(res.stdout)
    route = "exact-singular" if singular_executable() else "exact-msolve"  # small systems: Singular when installed
    assert rec["fiber_points"] == 2 and rec["method_used"] == route and rec["prime"] == P0
    bad = cli("compute", "fiber", "--model", "mlp", "--widths", "2,2,1", "--gauge", "sideways")
    assert bad.returncode == 2 and "--gauge" in bad.stderr


def test_cubic_with_bias_has_sign_flips():
    # s(z) = a z^3 + b z^2 + c z + d equals a u^3 + c' u + d' with u = z + b/(3a): odd in u up to a
    # constant, so with biases each hidden neuron can flip sign: 2! * 2^2 points, not 2!
    r = fiber(mlp((2, 2, 1), "generic:3", bias=True))
    assert r["residual_symmetries"] == 4
    assert r["fiber_points"] == factorial(2) * 2**2 == r["expected_fiber_points"]
    assert r["only_known_symmetries"] is True and r["primes_agree"] is True
    # a generic quartic has no such shape: only the permutations
    assert fiber(mlp((2, 2, 1), "generic:4", bias=True))["fiber_points"] == factorial(2)
