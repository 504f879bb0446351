"""The trace test, the trust rule and orbits without enumeration.

- ED degree of a generic hypersurface of degree d in C^n: d * sum_{i<n} (d-1)^i
  (Draisma-Horobet-Ottaviani-Sturmfels-Thomas, Cor. 2.10): 4 for a plane conic
  (the ellipse), 8 for a quadric in C^4, 21 for a cubic surface. The unit circle
  has ED degree 2 (its critical points are +-u/|u|).
- The trace test must pass on the complete set and fail when one solution is
  removed (Leykin-Rodriguez-Sottile).
- Orbits of S_k permuting blocks are identified by canonical forms; the group is
  never enumerated and |G| = k! is a Python int.
"""

from math import factorial

import numpy as np
import pytest

from neurovar.pipeline.numeric.count import certified_count
from neurovar.pipeline.numeric.families import (ed_degree_generic_hypersurface, ed_lagrange_family,
                                                random_hypersurface)
from neurovar.pipeline.numeric.monodromy import monodromy_solve
from neurovar.pipeline.numeric.symmetry import BlockPermutationGroup
from neurovar.pipeline.numeric.trace import trace_test
from neurovar.pipeline.numeric.trust import verdict


@pytest.mark.parametrize("f, names, expected", [
    ("x^2 + y^2 - 1", ["x", "y"], 2),
    ("x^2 + 4*y^2 - 1", ["x", "y"], 4),
    (random_hypersurface(4, 2, seed=3), ["x1", "x2", "x3", "x4"], ed_degree_generic_hypersurface(4, 2)),
])
def test_trace_test_passes_on_complete_and_fails_on_incomplete_sets(f, names, expected):
    fam = ed_lagrange_family(f, names)
    R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=1)
    assert R.count == expected
    T = trace_test(fam.system, R.solutions, R.parameters, seed=1)
    assert T.passed is True and T.residual <= T.tolerance
    for drop in (0, expected - 1):
        W = np.delete(R.solutions, drop, axis=0)
        T2 = trace_test(fam.system, W, R.parameters, seed=1)
        assert T2.passed is False and T2.residual > 1e3 * T2.tolerance


def test_trace_test_on_the_image_curve_of_the_attention_hypersurface():
    # the talk's ED degree 14 (generic Q): traced in the coordinates y only (Projection), the multiplier's
    # poles stay out of phi; the complete set passes, and fails with one critical point removed
    from neurovar.pipeline.algebra.weights import weight_matrix
    from neurovar.pipeline.compute.edd_params import EddParams
    from neurovar.pipeline.compute.edd_varieties import variety_of
    from neurovar.pipeline.models import build_model
    from neurovar.pipeline.numeric.trace import Projection

    var = variety_of(build_model({"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 2}),
                     EddParams(method="numerical"), "exact-implicit")
    Q = weight_matrix("generic", 6, seed=0)
    top = max(abs(q) for row in Q for q in row)
    fam = ed_lagrange_family(var.equations[0], list(var.names), Q=[[q / top for q in row] for row in Q])
    R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=0)
    assert R.count == 14
    y = Projection(7, 6)
    T = trace_test(fam.system, R.solutions, R.parameters, seed=0, image=y)
    assert T.passed is True and T.residual <= T.tolerance
    T2 = trace_test(fam.system, R.solutions[1:], R.parameters, seed=0, image=y)
    assert T2.passed is False and T2.residual > 1e3 * T2.tolerance


def test_certified_count_of_a_generic_cubic_surface():
    # 21 = 3 (1 + 2 + 4); the trust rule: a count only with completeness trace-test
    fam = ed_lagrange_family(random_hypersurface(3, 3, seed=2), ["x1", "x2", "x3"])
    C = certified_count(fam.system, start_pair=fam.start_pair, seed=1)
    if C.count is None:  # the extra witnesses may need another line: never a wrong count
        assert C.completeness == "none" and C.lower_bound <= 21
    else:
        assert C.count == 21 and C.completeness == "trace-test" and C.certified == 21


def test_trust_rule():
    assert verdict(7, 7, None).count is None  # a stall alone is not a certificate
    assert verdict(7, 6, True).count is None  # one solution not certified distinct
    v = verdict(7, 7, False, trace_reason="residual 0.1")
    assert (v.count, v.lower_bound, v.completeness) == (None, 7, "none")
    assert verdict(8, 8, False, exact=8).completeness == "exact-agrees"
    assert verdict(1, 1, True, group_order=factorial(12), free=False).count is None
    v = verdict(5, 5, True, group_order=factorial(12), free=True)
    assert v.count == 5 * 479001600 and isinstance(v.count, int)


def test_block_group_orbits_freeness_and_distinct_orbits():
    k = 12
    G = BlockPermutationGroup(3 * k, [np.arange(3 * k).reshape(k, 3)])
    assert G.order == factorial(12) == 479001600 and isinstance(G.order, int)
    rng = np.random.default_rng(0)
    x = rng.normal(size=3 * k) + 1j * rng.normal(size=3 * k)
    perm = rng.permutation(k)
    y = x.reshape(k, 3)[perm].ravel()
    assert np.allclose(G.canonical(x), G.canonical(y))
    r = 1e-9
    box = lambda z: (np.r_[z.real, z.imag] - r, np.r_[z.real, z.imag] + r)  # noqa: E731
    lo, hi = box(G.canonical(x)[0])
    assert G.free_on(lo[None], hi[None])[0]
    # two equal blocks: a transposition fixes the point, the action is not free
    z = x.copy()
    z[3:6] = z[0:3]
    lo2, hi2 = box(z)
    assert not G.free_on(lo2[None], hi2[None])[0]
    # the same orbit twice is one orbit; another point is another orbit
    w = rng.normal(size=3 * k) + 0j
    L = np.array([box(G.canonical(x)[0])[0], box(G.canonical(y)[0])[0], box(w)[0]])
    H = L + 2 * r
    assert G.distinct_orbits(L, H, np.ones(3, dtype=bool)).tolist() == [True, False, True]


def test_plane_quintic_fiber_one_orbit_of_7_factorial():
    # (3, 7, 1) with x^5: 21 free parameters, 21 coefficients of a plane quintic; a general plane
    # quintic is a sum of 7 fifth powers in exactly one way (Hilbert, Richmond, Palatini), so the
    # fiber is one free orbit of S_7: 5040 points, found from one tracked representative, and
    # certified complete by the trace test on the sums of the neurons' incoming weights (35 extra
    # witnesses: the poles of those sums along the parameter line)
    from neurovar.pipeline.models import build_model
    from neurovar.pipeline.problems.fiber import numerical_fiber

    m = build_model({"model": "mlp", "widths": [3, 7, 1], "activation": "x^5"})
    r = numerical_fiber(m, seed=0, time_limit=300)
    assert r["orbits"] == 1 and r["group_order"] == factorial(7) and r["free"] is True
    assert r["count"] == r["certified"] == 5040 and isinstance(r["count"], int)
    assert r["fiber_points"] == 5040 and r["completeness"] == "trace-test", r["reason"]


def _pairs_family():
    """Unknowns (a1, b1, a2, b2), S_2 swapping (a1, b1) and (a2, b2), in the symmetric functions
    s1 = a1 + a2, s2 = b1 + b2, s3 = a1 b1 + a2 b2, s4 = a1^2 + a2^2:

        s1^2 = p1,   s2 = p2 s3 + p3,   s3^2 = p4 s1 + p5,   s4 = p6.

    By hand: s1 = ±sqrt(p1), then s3 has 2 values, s2 and s4 follow; (s1, s4) give {a1, a2} and then
    (s2, s3) a linear system for (b1, b2). So 4 orbits of 2 points (8 solutions); the orbits' sums
    (s1, s2) are 4 distinct points, but s1 alone takes 2 values.
    """
    import sympy as sp

    from neurovar.pipeline.numeric.system import System

    a1, b1, a2, b2 = X = sp.symbols("a1 b1 a2 b2")
    P = sp.symbols("p1:7")
    s1, s2, s3, s4 = a1 + a2, b1 + b2, a1 * b1 + a2 * b2, a1**2 + a2**2
    eqs = [s1**2 - P[0], s2 - P[1] * s3 - P[2], s3**2 - P[3] * s1 - P[4], s4 - P[5]]
    polys = [{e: int(c) for e, c in sp.Poly(sp.expand(q), *X, *P).as_dict().items()} for q in eqs]
    S = System(polys, [str(v) for v in X], [str(p) for p in P])
    rng = np.random.default_rng(4)
    x0 = rng.normal(size=4) + 1j * rng.normal(size=4)
    A1, B1, A2, B2 = x0
    v1, v2, v3, v4 = A1 + A2, B1 + B2, A1 * B1 + A2 * B2, A1**2 + A2**2
    p2, p4 = rng.normal(size=2) + 1j * rng.normal(size=2)
    p0 = np.array([v1**2, p2, v2 - p2 * v3, p4, v3**2 - p4 * v1, v4])
    return S, x0, p0, BlockPermutationGroup(4, [np.array([[0, 1], [2, 3]])])


def test_trace_test_on_orbits_fails_with_an_orbit_removed_and_needs_separating_forms():
    from neurovar.pipeline.numeric.trace_forms import LinearImage

    S, x0, p0, G = _pairs_family()
    R = monodromy_solve(S, x0, p0, group=G, seed=0, stall_loops=8)
    assert R.count == 4 and G.order == 2  # 8 solutions, 4 orbits
    # traced: (a1 + a2, b1 + b2) and lam; 7 extra witnesses. The test is random (a line, a slice): a
    # draw whose extra-witness monodromy stalls early fails (seed 0 here: 3 of 7), never passes wrongly,
    # and certified_count then draws again
    passed = [trace_test(S, R.solutions, R.parameters, group=G, seed=s).passed for s in range(10)]
    assert passed.count(True) >= 8 and None not in passed
    for drop in range(4):
        for s in range(2):
            T2 = trace_test(S, np.delete(R.solutions, drop, axis=0), R.parameters, group=G, seed=s)
            assert T2.passed is False and T2.residual > 1e3 * T2.tolerance
    # a1 + a2 alone does not separate the orbits: no verdict, never a pass
    T3 = trace_test(S, R.solutions, R.parameters, group=G, seed=0,
                    image=LinearImage(G.invariant_forms(4)[:, :1]))
    assert T3.passed is None and "one image" in T3.reason


@pytest.mark.parametrize("k", [3, 4])
def test_binary_forms_fiber_certified_with_one_traced_form(k):
    # (2, k, 1) with x^(2k-1): a general binary form of odd degree 2k-1 is a sum of k powers in exactly
    # one way (Sylvester), so the fiber is one free orbit of S_k, k! points. One incoming weight per
    # neuron is free, so the trace test traces a single form (their sum) and lam: points of the image
    # curve are told apart by (y, lam), not by y alone (every extra witness has the same y)
    from neurovar.pipeline.models import build_model
    from neurovar.pipeline.problems.fiber import numerical_fiber

    m = build_model({"model": "mlp", "widths": [2, k, 1], "activation": f"x^{2 * k - 1}"})
    r = numerical_fiber(m, seed=0, time_limit=120)
    assert r["fiber_points"] == factorial(k) and r["orbits"] == 1, r["reason"]
    assert r["completeness"] == "trace-test"


def test_trace_paths_cut_by_the_deadline_are_reported_as_cut():
    # the tracker stops running paths at the deadline; the inconclusive test must say that the time limit
    # stopped them, not that the curve has paths without a simple end (what a cut run of deep attention said)
    from neurovar.pipeline.numeric.budget import deadline
    from neurovar.pipeline.numeric.trace import _pencil_test
    from neurovar.pipeline.numeric.trace_forms import ImageForms, Projection
    from neurovar.pipeline.numeric.tracker import TrackerOptions

    fam = ed_lagrange_family("x^2 + 4*y^2 - 1", ["x", "y"])
    R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=1)
    assert R.count == 4 and trace_test(fam.system, R.solutions, R.parameters, seed=1).passed is True
    rng = np.random.default_rng(0)
    v = rng.normal(size=len(R.parameters)) + 1j * rng.normal(size=len(R.parameters))
    forms = ImageForms(Projection(fam.system.n_variables, 2))
    beta = np.array([0.3 + 0.2j, -0.7 + 0.1j])
    with deadline(0.0):
        res = _pencil_test(fam.system, R.parameters, v, forms, beta, R.solutions,
                           np.zeros((0, fam.system.n_variables + 1)), TrackerOptions(corrector_tol=1e-8), rng, None,
                           lambda: 0.0, 0.0)
    assert res.passed is None and "stopped by the time limit" in res.reason


def test_every_line_tried_is_named_in_the_reason_of_a_failed_count():
    # the ellipse x^2 + 4 y^2 = 1 has ED degree 4 (its vertices); with one vertex left out each of two
    # random lines fails, and the reason of the count names both (a long run's only record of what happened)
    from neurovar.pipeline.numeric.count import _trace

    fam = ed_lagrange_family("x^2 + 4*y^2 - 1", ["x", "y"])
    R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=1)
    assert R.count == 4
    T = _trace(fam.system, R.solutions[1:], R, None, 1, 2, None, None)
    assert T.passed is False and "solutions are missing" in T.reason
    earlier = T.reason.split("[earlier tests: ")[1]
    assert earlier.startswith("line 1: trace not affine-linear") and earlier.count("line ") == 1
