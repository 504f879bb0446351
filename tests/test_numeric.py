"""Tests of the numerical algebraic geometry engine against values from theory and from msolve."""

from __future__ import annotations

import math
from fractions import Fraction

import flint
import numpy as np
import pytest

from neurovar.pipeline.algebra import msolve
from neurovar.pipeline.numeric import (System, certify, ed_degree_generic_hypersurface, ed_lagrange_family,
                              monodromy_solve, random_complex_hypersurface, random_hypersurface, track,
                              waring_family)

ATTENTION = ("y1^2*y6^2 + y4^2*y3^2 + y1*y3*y5^2 + y2^2*y4*y6 - 2*y1*y4*y3*y6 - y2*y1*y6*y5"
             " - y2*y4*y3*y5")
ATTENTION_VARS = [f"y{i}" for i in range(1, 7)]


def generic_pd_matrix(n: int, seed: int) -> list[list[int]]:
    """A random integer positive definite matrix ``A^T A + I``."""
    A = np.random.default_rng(seed).integers(-3, 4, size=(n, n))
    return (A.T @ A + np.eye(n, dtype=np.int64)).tolist()


# ---------------------------------------------------------------------------- System


def test_system_jacobian_matches_hand_computation_and_finite_differences():
    S = System.from_text("x^3*y - a*y^2 + 2; x*y - b", ["x", "y"], ["a", "b"])
    x = np.array([[1.5 - 0.5j, 0.25 + 1j]])
    p = np.array([[2.0 + 1j, -1.0]])
    F, Jx, Jp = S.jacobian(x, p)
    X, Y = x[0]
    a, b = p[0]
    assert np.allclose(F[0], [X**3 * Y - a * Y**2 + 2, X * Y - b])
    assert np.allclose(Jx[0], [[3 * X**2 * Y, X**3 - 2 * a * Y], [Y, X]])
    assert np.allclose(Jp[0], [[-Y**2, 0], [0, -1]])
    # a random dense system: the Jacobian is the derivative (central differences)
    rng = np.random.default_rng(0)
    T = System.from_text(random_hypersurface(3, 4, seed=3).replace("x", "z") + "; z1*z2*z3 - z1^4 + 3",
                         ["z1", "z2", "z3"])
    z = rng.normal(size=(5, 3)) + 1j * rng.normal(size=(5, 3))
    _, J, _ = T.jacobian(z)
    h = 1e-6
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        fd = (T.evaluate(z + e) - T.evaluate(z - e)) / (2 * h)
        assert np.allclose(J[:, :, j], fd, rtol=1e-6, atol=1e-6)


def test_system_rejects_bad_shapes_and_clashing_names():
    with pytest.raises(ValueError, match="distinct names"):
        System([{(1, 0): 1}], ["x"], ["x"])
    with pytest.raises(ValueError, match="expected 2"):
        System([{(1,): 1}], ["x"], ["a"])


# ---------------------------------------------------------------------------- tracker


def test_track_regular_singular_and_infinite_endpoints():
    S = System.from_text("x^2 - a", ["x"], ["a"])
    R = track(S, [[1.0], [-1.0]], p0=[1.0], p1=[4.0], gamma=None, seed=0)
    assert R.status.tolist() == ["regular", "regular"]
    assert np.allclose(np.sort(R.solutions.real.ravel()), [-2, 2], atol=1e-12)
    # x^3 = a -> a = 0: a triple root, winding number 3 (Cauchy endgame)
    C = System.from_text("x^3 - a", ["x"], ["a"])
    starts = np.exp(2j * np.pi * np.arange(3) / 3)[:, None]
    R = track(C, starts, p0=[1.0], p1=[0.0], gamma=None, seed=1)
    assert R.status.tolist() == ["singular"] * 3
    assert R.winding.tolist() == [3, 3, 3]
    assert np.abs(R.solutions).max() < 1e-6
    # a x = 1 with a -> 0: the solution 1/a goes to infinity
    L = System.from_text("a*x - 1", ["x"], ["a"])
    R = track(L, [[1.0]], p0=[1.0], p1=[0.0], gamma=None, seed=2)
    assert R.status.tolist() == ["at_infinity"]


def test_track_many_paths_at_once_matches_one_at_a_time():
    # roots of x^5 - c for 40 different c, tracked as one batch with per-path targets
    S = System.from_text("x^5 - c", ["x"], ["c"])
    rng = np.random.default_rng(4)
    targets = rng.normal(size=(40, 1)) + 1j * rng.normal(size=(40, 1))
    starts = np.ones((40, 1), dtype=complex)
    R = track(S, starts, p0=[1.0], p1=targets)
    assert R.regular.all()
    assert np.allclose(R.solutions[:, 0] ** 5, targets[:, 0], atol=1e-10)
    single = track(S, starts[7:8], p0=[1.0], p1=targets[7])
    assert np.allclose(single.solutions[0], R.solutions[7], atol=1e-10)


# ---------------------------------------------------------------------------- certification


def test_certify_counts_distinct_real_and_rejects_non_solutions():
    S = System.from_text("x^2 + y^2 - 1; x - y", ["x", "y"])
    s = math.sqrt(0.5)
    C = certify(S, [[s, s], [s, s], [-s, -s]], p=None)
    assert C.n_certified == 3 and C.n_distinct == 2 and C.n_real == 2
    # x^2 + 1 = 0 has two non-real solutions; 3 is no solution (Newton diverges from far away)
    U = System.from_text("x^2 + 1", ["x"])
    C = certify(U, [[1j], [-1j], [1e9]])
    assert C.certified.tolist() == [True, True, False]
    assert C.n_real == 0 and C.n_nonreal == 2


# ---------------------------------------------------------------------------- ED degrees


def test_ed_degree_of_the_circle():
    # identity Q: the critical points of the distance from u are +-u/|u| (ED degree 2, both real)
    fam = ed_lagrange_family("x^2 + y^2 - 1", ["x", "y"])
    R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=0, real_parameters=[3, 1])
    assert (R.count, R.certified, R.real_count) == (2, 2, 2)
    # Q = diag(4, 1): the circle is an ellipse in the Q-metric, ED degree 4 (DHOST, Example 7.1)
    fam = ed_lagrange_family("x^2 + y^2 - 1", ["x", "y"], Q=[[4, 0], [0, 1]])
    u = [Fraction(1, 5), Fraction(1, 7)]  # inside the evolute: 4 real critical points
    R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=0, real_parameters=u)
    assert (R.count, R.certified) == (4, 4)
    exact = _msolve_real_count(fam, u)
    assert R.real_count == exact == 4


@pytest.mark.parametrize("n,d", [(2, 3), (3, 2), (2, 4), (3, 3)])
def test_ed_degree_of_generic_hypersurfaces(n, d):
    # DHOST Cor. 2.10: a generic hypersurface of degree d in C^n has ED degree d * sum_{i<n} (d-1)^i
    variables = [f"x{i + 1}" for i in range(n)]
    # complex coefficients: a random real hypersurface is often nearly singular (the discriminant
    # has real codimension 1 among real coefficients), which slows monodromy down
    fam = ed_lagrange_family(random_complex_hypersurface(n, d, seed=n * 10 + d), variables)
    R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=1)
    expected = ed_degree_generic_hypersurface(n, d)
    assert R.stop_reason == "stalled"
    assert R.count == expected
    assert R.certified == expected


def _msolve_real_count(fam, u):
    """Real critical points at rational data u by msolve (saturated Lagrange system over Q)."""
    S = fam.system
    ctx = fam.polynomials[0].context()
    names = list(ctx.names())
    subs = {}
    for name, val in zip(S.parameters, u):
        subs[name] = Fraction(val)
    polys = []
    for f in fam.polynomials:
        d = {}
        for e, c in f.to_dict().items():
            coeff = Fraction(int(c.p), int(c.q))
            e = [int(v) for v in e]
            for name, val in subs.items():
                k = names.index(name)
                coeff *= val ** e[k]
                e[k] = 0
            d[tuple(e)] = d.get(tuple(e), 0) + coeff
        polys.append(ctx.from_dict({k: flint.fmpq(v.numerator, v.denominator) for k, v in d.items() if v}))
    unknowns = [v for v in names if v not in subs]
    res = msolve.solve(polys, unknowns, real=True, timeout=120)
    return len(res.real_solutions)


def test_ed_degree_of_the_attention_hypersurface_and_real_points_against_msolve():
    # the degree-4 hypersurface of lightning self-attention (slides): ED degree 14 for generic Q
    Q = generic_pd_matrix(6, seed=5)
    fam = ed_lagrange_family(ATTENTION, ATTENTION_VARS, Q=Q, saturate=True)
    u = [Fraction(v) for v in (1, -2, 3, 1, 2, -1)]
    # the count is certified (Krawczyk and the trace test on the curve's image in y), not a stall
    from neurovar.pipeline.numeric.count import certified_count
    from neurovar.pipeline.numeric.trace import Projection

    C = certified_count(fam.system, start_pair=fam.start_pair, seed=0, image=Projection(7, 6))
    assert (C.count, C.completeness) == (14, "trace-test")
    # the 14 certified solutions, certified again and tracked to the rational data (no further loops)
    R = monodromy_solve(fam.system, C.solutions, C.monodromy.parameters, max_loops=0, real_parameters=u)
    assert R.count == 14
    assert R.certified == 14
    # every solution tracked to the rational data is certified, and those real are certified real
    assert R.real_certification.n_distinct == 14
    assert R.real_certification.n_real + R.real_certification.n_nonreal == 14
    exact = _msolve_real_count(fam, u)
    assert R.real_count == exact


# ---------------------------------------------------------------------------- fibers


def _summands(x, k, n):
    a = x[:k]
    w = np.c_[np.ones(k), x[k:].reshape(k, n - 1)]
    return a, w


def test_fiber_of_the_shallow_cubic_network_in_four_variables_has_120_points():
    # Network (4, 5, 1) with activation x^3: f = sum_{i<=5} a_i (w_i . x)^3 fills the 20-dimensional
    # space of quaternary cubics with 5 * 4 = 20 parameters after the gauge w_i1 = 1. Sylvester's
    # pentahedral theorem (1851; Clebsch 1861): a generic cubic surface is a sum of 5 cubes of linear
    # forms in exactly one way. Hence the generic fiber has 5! * 1 = 120 points (20 unknowns).
    n, d, k = 4, 3, 5
    fam = waring_family(n, d, k)
    assert fam.system.n_variables == 20 and fam.system.n_parameters == 20
    # stop at the predicted count; below, the 120 points are shown to be the 5! orderings of one
    # decomposition, i.e. the whole fiber predicted by the theorem (more loops only cost time)
    R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=0, target_count=120)
    assert R.stop_reason == "target_count"
    assert R.count == math.factorial(k) == 120
    assert R.certified == 120
    # all 120 are orderings of one decomposition: the set of summands is the same for each point
    a0, w0 = _summands(R.solutions[0], k, n)
    for x in R.solutions:
        a, w = _summands(x, k, n)
        perm = [int(np.argmin(np.abs(w0 - wi).sum(axis=1))) for wi in w]
        assert sorted(perm) == list(range(k))
        assert np.allclose(a, a0[perm], atol=1e-8) and np.allclose(w, w0[perm], atol=1e-8)
    # and distinct orderings: 120 distinct permutations
    perms = {tuple(int(np.argmin(np.abs(w0 - wi).sum(axis=1))) for wi in _summands(x, k, n)[1])
             for x in R.solutions}
    assert len(perms) == 120


def test_monodromy_rejects_a_start_that_is_not_a_solution():
    fam = ed_lagrange_family("x^2 + y^2 - 1", ["x", "y"])
    with pytest.raises(ValueError, match="not a solution"):
        monodromy_solve(fam.system, x0=[5.0, 0.0, 1.0], p0=[1.0, 2.0])
    with pytest.raises(ValueError, match="start pair"):
        monodromy_solve(fam.system)


def test_track_loops_monodromy_of_the_square_root():
    """x^2 = a around a = 0: a loop from a = 1 through a = -1 that encircles 0 swaps the two
    square roots, one that does not returns each to itself. For gamma = e^{i t}, t > 0, the
    leg 1 -> -1 passes below 0 and the leg -1 -> 1 above it; with t < 0 on the way back
    both legs pass below."""
    from neurovar.pipeline.numeric.tracker import track_loops

    S = System.from_text("x^2 - a", ["x"], ["a"])
    X = np.array([[1.0 + 0j], [-1.0 + 0j], [1.0 + 0j], [-1.0 + 0j]])
    P1 = np.full((4, 1), -1.0 + 0j)
    up, down = np.exp(0.6j), np.exp(-0.6j)
    G1 = np.array([up, up, up, up])
    G2 = np.array([up, up, down, down])  # first two loops encircle 0, the last two do not
    Y, ok = track_loops(S, X, np.array([1.0 + 0j]), P1, G1, G2)
    assert ok.all()
    assert np.allclose(Y[:, 0], [-1, 1, 1, -1], atol=1e-10)
