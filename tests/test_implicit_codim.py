"""ED degrees of implicit varieties of codimension > 1 from their equations alone (``--equations``, numerical).

Values checked:
- the affine cone over the rational normal curve of degree d has ED degree 3d - 2 in the
  monomial coordinates with unit weights (Draisma, Horobeţ, Ottaviani, Sturmfels, Thomas,
  *The Euclidean distance degree of an algebraic variety*, Example 2.7 / 5.12): 7 for the
  twisted cubic (codimension 2), 10 for the quartic (codimension 3);
- rank-one 2 x 4 matrices (the 2 x 2 minors, codimension 3): ED degree min(2, 4) = 2 (Eckart–Young);
- rank-one 2 x 3 x 3 tensors (the 2 x 2 minors of the three flattenings, codimension 12): ED degree
  15 (Friedland–Ottaviani, *The number of singular vector tuples and uniqueness of best rank-one
  approximation of tensors*: sum over the coefficients of prod ((z_i^hat)^{n_i} - z_i^{n_i}) / (z_i^hat - z_i)).
Each numerical count is compared with the exact route (msolve mod p) where that finishes.
"""

import itertools

import numpy as np
import pytest

from neurovar.pipeline.algebra.msolve_points import jacobian_rank_mod_p, point_mod_p
from neurovar.pipeline.algebra.parser import parse_system
from neurovar.pipeline.compute.edd import EddParams, edd
from neurovar.pipeline.numeric.system import System
from neurovar.pipeline.numeric.witness import witness_point


def rational_normal_curve(d: int) -> tuple[str, str]:
    """The 2 x 2 minors of the Hankel matrix [[x0 .. x_{d-1}], [x1 .. x_d]]."""
    eqs = [f"x{i}*x{j + 1} - x{j}*x{i + 1}" for i, j in itertools.combinations(range(d), 2)]
    return "; ".join(eqs), ",".join(f"x{i}" for i in range(d + 1))


def rank_one_matrices(m: int, n: int) -> tuple[str, str]:
    eqs = [f"a{i}_{k}*a{j}_{l} - a{i}_{l}*a{j}_{k}" for i, j in itertools.combinations(range(m), 2)
           for k, l in itertools.combinations(range(n), 2)]
    return "; ".join(eqs), ",".join(f"a{i}_{k}" for i in range(m) for k in range(n))


def rank_one_tensors(dims) -> tuple[str, str]:
    """The 2 x 2 minors of the flattenings of a tensor with ``dims``."""
    cells = list(itertools.product(*(range(d) for d in dims)))
    name = {c: "t" + "".join(map(str, c)) for c in cells}
    eqs = set()
    for mode in range(len(dims)):
        others = [m for m in range(len(dims)) if m != mode]
        cols = list(itertools.product(*(range(dims[m]) for m in others)))

        def entry(r, c):
            key = [0] * len(dims)
            key[mode] = r
            for m, v in zip(others, c):
                key[m] = v
            return name[tuple(key)]

        for r1, r2 in itertools.combinations(range(dims[mode]), 2):
            for c1, c2 in itertools.combinations(cols, 2):
                eqs.add(f"{entry(r1, c1)}*{entry(r2, c2)} - {entry(r1, c2)}*{entry(r2, c1)}")
    return "; ".join(sorted(eqs)), ",".join(name[c] for c in cells)


@pytest.mark.parametrize("d, codim", [(3, 2), (4, 3)])
def test_dimension_numerical_and_exact_mod_p(d, codim):
    eqs, names = rational_normal_curve(d)
    _, F = parse_system(eqs, names.split(","))
    W = witness_point(System.from_mpolys(F, names.split(",")), np.random.default_rng(1))
    assert (W.codimension, W.dimension) == (codim, 2) and W.gap > 1e8  # the affine cone over a curve
    pt = point_mod_p(F, W.dimension, 1073741827, np.random.default_rng(2))
    assert jacobian_rank_mod_p(F, pt, 1073741827) == codim
    # one hyperplane too few: the section is a curve, no isolated point; one too many: empty
    assert point_mod_p(F, W.dimension + 1, 1073741827, np.random.default_rng(3), attempts=2) is None


@pytest.mark.parametrize("variety, expected", [(rational_normal_curve(3), 7), (rational_normal_curve(4), 10),
                                               (rank_one_matrices(2, 4), 2)])
def test_codimension_2_and_3_agree_with_the_exact_route(variety, expected):
    eqs, names = variety
    r = edd(None, EddParams(equations=eqs, variables=names, weights="identity", method="both"), seed=0)
    assert r["edd"] == expected  # exact, msolve mod p
    assert r["edd_numerical"] == expected and r["completeness"] == "trace-test" and r["counts_agree"] is True
    assert r["numerical_real_points"] == r["real_critical_points"]
    reason = r["numerical_stop_reason"]
    codim = r["codimension"]
    assert f"codimension {codim} (numerical rank" in reason and f": {codim})" in reason  # the exact rank agrees
    assert f"{expected} of {expected} certified solutions satisfy every generator" in reason


def test_a_non_reduced_scheme_is_refused_by_the_exact_rank_check():
    # (minors)^2: the same points, but dF vanishes on them: numerical rank 0 ("dimension 4") is not the
    # dimension 2, and no GF(p)-point is found on 4 hyperplanes: no count, the reason says why
    eqs, names = rational_normal_curve(3)
    squared = "; ".join(f"({e})^2" for e in eqs.split("; "))
    r = edd(None, EddParams(equations=squared, variables=names, weights="identity", method="numerical"), seed=0)
    assert r["edd"] is None and r["completeness"] == "none"
    reason = r["numerical_stop_reason"]
    assert "not confirmed by the exact rank mod p" in reason or "no point of the variety" in reason


@pytest.mark.slow
def test_rank_one_2x3x3_tensors_from_their_minors_give_15_by_the_trace_test():
    eqs, names = rank_one_tensors((2, 3, 3))
    r = edd(None, EddParams(equations=eqs, variables=names, weights="identity", method="numerical", real=False),
            seed=0)
    assert r["codimension"] == 12
    assert r["edd"] == 15 and r["completeness"] == "trace-test" and r["method"] == "numerical-monodromy"
    assert "15 of 15 certified solutions satisfy every generator" in r["numerical_stop_reason"]
