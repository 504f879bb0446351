"""The polyhedral start (Huber--Sturmfels): binomial systems solved by hand, one path per solution.

Hand computations: ``x^3 y = 1, x y^3 = 1`` gives ``y = x^{-3}`` and ``x^8 = 1`` (8 roots,
``|det [[3, 1], [1, 3]]| = 8``); ``x^2 = -1, y^3 = 8`` gives ``x = +-i`` and the three cube roots of 8.
Published: cyclic-5 has 70 solutions (Bjorck--Froberg), its mixed volume.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurovar.pipeline.numeric.bkk import bkk_cells, supports_of
from neurovar.pipeline.numeric.coeff_monodromy import LOOP_OPTIONS, coefficient_family
from neurovar.pipeline.numeric.orbits import _Orbits
from neurovar.pipeline.numeric.polyhedral import binomial_solutions, cell_start, polyhedral_solutions
from neurovar.pipeline.numeric.solve import cyclic, parse_square_system, solve


def _as_set(Y):
    return sorted((round(z.real, 9), round(z.imag, 9)) for row in Y for z in row)


def test_binomial_x3y_xy3():
    Y = binomial_solutions([[3, 1], [1, 3]], [1.0, 1.0])
    w = np.exp(2j * np.pi * np.arange(8) / 8)
    expected = np.stack([w, w ** -3], axis=1)
    assert len(Y) == 8
    assert _as_set(Y) == _as_set(expected)


def test_binomial_diagonal():
    Y = binomial_solutions([[2, 0], [0, 3]], [-1.0, 8.0])
    expected = [(x, 2 * np.exp(2j * np.pi * k / 3)) for x in (1j, -1j) for k in range(3)]
    assert _as_set(Y) == _as_set(np.array(expected))


def test_singular_exponents_refused():
    with pytest.raises(ValueError):
        binomial_solutions([[1, 2], [2, 4]], [1.0, 1.0])


def _generic_member(eqs, xs, seed=3):
    F = parse_square_system(eqs, xs)
    cells, with_origin = bkk_cells(supports_of(F))
    G, target, *_ = coefficient_family(F, with_origin)
    rng = np.random.default_rng(seed)
    c = (rng.normal(size=len(target)) + 1j * rng.normal(size=len(target))) / np.sqrt(2)
    return G, c, cells


def _distinct(G, X):
    S = _Orbits(G.n_variables, 1e-6, 1, None)
    S.add(X)
    return S.sols.points


def test_cell_exponents_vanish_exactly_on_the_cell():
    G, c, cells = _generic_member(["x^3*y - 1", "x*y^3 - 1"], ["x", "y"])
    assert cells.volume == 8 and len(cells.cells) == 1
    n = G.n_variables
    order = np.argsort([int(np.flatnonzero(np.asarray(e[n:]))[0]) for _, e, _ in G.terms])
    exps = [tuple(G.terms[k][1][:n]) for k in order]
    eq = [G.terms[k][0] for k in order]
    Y, e = cell_start(cells.cells[0], cells.normals[0], cells.lifts, exps, eq, c)
    assert len(Y) == 8  # each equation has two monomials, both on the cell: every exponent is 0
    assert np.all(e == 0)


def test_two_generic_conics_four_paths_four_solutions():
    conic = "a*x^2 + b*x*y + y^2 + x - y + 1"
    G, c, cells = _generic_member([conic.replace("a", "2").replace("b", "3"), conic.replace("a", "5").replace("b", "-1")],
                                  ["x", "y"])
    assert cells.volume == 4  # Bezout: two conics
    X, info = polyhedral_solutions(G, c, cells, LOOP_OPTIONS)
    assert info["polyhedral_paths"] == 4
    D = _distinct(G, X)
    assert len(D) == 4
    assert np.abs(G.evaluate(D, c)).max() < 1e-9


def test_cyclic5_polyhedral_start_gives_70():
    G, c, cells = _generic_member(*cyclic(5))
    X, info = polyhedral_solutions(G, c, cells, LOOP_OPTIONS)
    assert info["polyhedral_paths"] == 70  # one path per solution: the cells' volumes add up to 70
    D = _distinct(G, X)
    assert len(D) == 70
    assert np.abs(G.evaluate(D, c)).max() < 1e-8


def test_solve_cyclic5_by_the_polyhedral_start():
    r = solve(*cyclic(5))
    assert (r.count, r.completeness, r.method) == (70, "bkk-bound", "bkk")
    assert r.paths["polyhedral_paths"] == 70 and r.paths["total"] == 70
