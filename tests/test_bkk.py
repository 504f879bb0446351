"""The BKK bound (mixed volumes) against published values and hand computations, and the BKK start.

Published: the mixed volume of cyclic-n is its number of solutions, 70 for
n = 5, 156 for n = 6 and 924 for n = 7 (Bjorck--Froberg; PHCpack prints these
mixed volumes too); katsura-n has 2^n solutions, equal to its Bezout number, so the mixed
volume of its supports with the origin added is 2^n.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurovar.pipeline.numeric.bkk import bkk_bound, mixed_cells, mixed_volume, supports_of, torus_only
from neurovar.pipeline.numeric.solve import cyclic, katsura, parse_square_system, solve


def _supports(eqs_vars):
    return supports_of(parse_square_system(*eqs_vars))


@pytest.mark.parametrize("n, published", [(3, 6), (5, 70), (6, 156), (7, 924)])
def test_cyclic_mixed_volume_is_the_published_count(n, published):
    A = _supports(cyclic(n))
    assert torus_only(A)  # x_1 ... x_n = 1: no zero coordinate
    assert bkk_bound(A) == (published, False)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_katsura_bound_with_the_origin_is_2_to_the_n(n):
    A = _supports(katsura(n))
    assert not torus_only(A)  # (1, 0, ..., 0) is a solution
    assert bkk_bound(A) == (2 ** n, True)


def test_hand_examples():
    # two generic conics: 4 (= Bezout)
    conic = [(2, 0), (1, 1), (0, 2), (1, 0), (0, 1), (0, 0)]
    assert mixed_volume([conic, conic]) == 4
    # x^3 y = 1, x y^3 = 1: y = +-x, x^4 = +-1: 8 roots, while Bezout gives 16; MV = |det [[3, 1], [1, 3]]|
    assert mixed_volume([[(3, 1), (0, 0)], [(1, 3), (0, 0)]]) == 8
    # x y = 1, x^2 y = 2: x = 2, y = 1/2 only; Bezout 6
    assert mixed_volume([[(1, 1), (0, 0)], [(2, 1), (0, 0)]]) == 1
    # x + y = 1, x y = 1: 2 points (= Bezout); x = a, y = b: 1
    assert mixed_volume([[(1, 0), (0, 1), (0, 0)], [(1, 1), (0, 0)]]) == 2
    assert mixed_volume([[(1, 0), (0, 0)], [(0, 1), (0, 0)]]) == 1


def test_the_mixed_volume_does_not_depend_on_the_lifting():
    A = _supports(cyclic(5))
    runs = [mixed_cells(A, seed=s) for s in range(3)]
    assert {r.volume for r in runs} == {70}
    # a cell's volume is |det| of its edge directions, and the cells' volumes add up to the mixed volume
    for r in runs:
        assert sum(round(abs(np.linalg.det(np.array([np.subtract(b, a) for a, b in c])))) for c in r.cells) == 70


def test_sparse_system_solved_from_its_bkk_bound():
    r = solve(["x^3*y - 1", "x*y^3 - 1"], ["x", "y"])
    assert r.method == "bkk" and r.paths["bkk"] == 8 and r.paths["bezout"] == 16
    assert r.count == r.certified == 8 and r.completeness == "bkk-bound", r.reason
    X = r.solutions
    assert np.allclose(X[:, 0] ** 3 * X[:, 1], 1) and np.allclose(X[:, 0] ** 4, np.where(
        np.isclose(X[:, 1], X[:, 0]), 1, -1))
    assert r.real == 2  # (1, 1) and (-1, -1)


def test_bkk_start_on_a_system_with_zero_coordinates():
    # x^2 + y^2 = 1, x y = 0 (forced method bkk): (+-1, 0), (0, +-1): 4 = MV with the origin added
    r = solve(["x^2 + y^2 - 1", "x*y"], ["x", "y"], method="bkk")
    assert r.paths["bkk"] == 4 and r.count == r.certified == r.real == 4 and r.completeness == "bkk-bound"


def test_auto_keeps_total_degree_when_the_bound_is_bezouts():
    # x y = 1, x + y = 3: every solution in the torus, but the BKK bound 2 is the Bezout number 2;
    # x + 1/x = 3 has two real roots (3 +- sqrt 5) / 2
    r = solve(["x*y - 1", "x + y - 3"], ["x", "y"])
    assert r.method == "total-degree" and r.count == r.real == 2 and r.completeness == "total-degree"
    assert sorted(np.round(r.solutions[:, 0].real, 6)) == sorted(np.round([(3 - 5 ** 0.5) / 2, (3 + 5 ** 0.5) / 2], 6))


def test_the_linear_program_budget():
    from neurovar.pipeline.numeric.bkk import WorkLimit

    A = [np.vstack([a, np.zeros((1, 4), dtype=np.int64)]) for a in _supports(katsura(3))]
    assert mixed_cells(A).lps > 1
    with pytest.raises(WorkLimit):
        mixed_cells(A, max_lps=1)
