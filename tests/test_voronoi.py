"""Voronoi cells of plane curves: the talk's cusp challenge and an arc with two end points."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from neurovar.pipeline.algebra.voronoi import (XY, cell_area, evaluate_xy, monte_carlo, parse_curve, parse_point,
                                               voronoi_boundary, voronoi_report)
from neurovar.pipeline.errors import SpecError

CUSP_BOUNDARY = "128*x^3 - 32*x^2 + 72*x*y^2 + 2*x - 27*y^4 - y^2"


@pytest.fixture(scope="module")
def cusp():
    return parse_curve(equation="y^2 + x^3", param="-t^2, t^3")


def _equidistant_point(y: float) -> np.ndarray:
    """The boundary point of the cusp's cell at height ``y``, by brute force written here:
    bisection in x on the sign of ``min |u - c(t)|^2 - |u|^2`` over the local minima of the
    distance at ``t != 0`` (a fine grid refined by golden-section search; no resultant, no
    polynomial root finding)."""
    ts = np.linspace(-2, 2, 200001)

    def gap(x):
        u = np.array([x, y])
        D = (-ts**2 - x) ** 2 + (ts**3 - y) ** 2
        interior = (D[1:-1] <= D[:-2]) & (D[1:-1] <= D[2:])
        ks = [k + 1 for k in np.flatnonzero(interior) if abs(ts[k + 1]) > 1e-3]
        best = np.inf
        g = (np.sqrt(5) - 1) / 2
        for k in ks:
            a, b = ts[k - 1], ts[k + 1]
            for _ in range(80):
                c, d = b - g * (b - a), a + g * (b - a)
                fc = (-c**2 - x) ** 2 + (c**3 - y) ** 2
                fd = (-d**2 - x) ** 2 + (d**3 - y) ** 2
                a, b = (a, d) if fc < fd else (c, b)
            t = 0.5 * (a + b)
            best = min(best, (-t**2 - x) ** 2 + (t**3 - y) ** 2)
        return best - u @ u  # > 0: the cusp is strictly nearest

    lo, hi = 1.0, -0.5  # lo inside the cell, hi outside
    assert gap(lo) > 0 and gap(hi) < 0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if gap(mid) > 0 else (lo, mid)
    return np.array([0.5 * (lo + hi), y])


def test_cusp_boundary_equation_exact_and_on_independent_points(cusp):
    b = voronoi_boundary(cusp, parse_point("0,0"), box=(-1, 1, -1, 1))
    assert b.kind == "singular"
    assert b.equation_text == CUSP_BOUNDARY
    X, Y = XY.gens()
    R = 128 * X**3 - 32 * X**2 + 72 * X * Y**2 + 2 * X - 27 * Y**4 - Y**2
    assert b.equation == R  # the polynomial itself, over Q
    # the x factor of the resultant is the parameter t = 0 of the cusp itself, not a boundary piece
    assert [f.text for f in b.factors if not f.kept] == ["x"]
    gx = R.derivative("x")
    gy = R.derivative("y")
    for yv in (-0.7, -0.3, 0.15, 0.5, 0.9):
        u = _equidistant_point(yv)
        val = evaluate_xy(R, u)[0]
        grad = np.hypot(evaluate_xy(gx, u)[0], evaluate_xy(gy, u)[0])
        assert abs(val) / grad < 1e-9, (yv, u, val)
        # and a point off the boundary is not on it
        assert abs(evaluate_xy(R, u + [0.05, 0])[0]) / grad > 1e-3


def test_cusp_area_fraction_inside_monte_carlo_interval(cusp):
    q = parse_point("0,0")
    box = (-1, 1, -1, 1)
    rep = voronoi_report(cusp, q, box, samples=100_000, seed=0)
    lo, hi = rep["mc_interval_95"]
    assert rep["samples"] == 100_000
    assert lo <= rep["area_fraction"] <= hi, (rep["area_fraction"], lo, hi)
    assert 0.40 < rep["area_fraction"] < 0.47
    # a second seed agrees as well
    mc = monte_carlo(cusp, q, box, samples=100_000, seed=1)
    assert mc.interval[0] <= rep["area_fraction"] <= mc.interval[1]


def test_arc_with_two_end_points_hand_computed_area():
    """The arc t -> (t, t^2), t in [-1, 1]; at its end point q = (1, 1) the cell is cut by the
    normal line x + 2y = 3 and the bisector x = 0 of the two end points. In the box
    [-2, 3] x [-1, 3] it is {0 < x < 3, (3 - x)/2 < y < 3}: area int_0^3 (3 + x)/2 dx = 27/4."""
    arc = parse_curve(param="t, t^2", interval="-1,1")
    rep = voronoi_report(arc, (Fraction(1), Fraction(1)), (-2, 3, -1, 3), samples=50_000, seed=0)
    assert rep["kind"] == "boundary"
    assert sorted(f["equation"] for f in rep["boundary_factors"]) == ["x", "x + 2*y - 3"]
    assert rep["area"] == pytest.approx(27 / 4, rel=1e-9)
    lo, hi = rep["mc_interval_95"]
    assert lo <= 27 / 4 / 20 <= hi
    # an interior point of the arc is smooth: its cell is a segment of the normal line (area 0)
    b = voronoi_boundary(arc, (Fraction(1, 2), Fraction(1, 4)), box=(-2, 3, -1, 3))
    assert b.kind == "smooth"
    assert cell_area(arc, b, (-2, 3, -1, 3)) == pytest.approx(0.0, abs=1e-6)


def test_bad_curves_name_the_field():
    with pytest.raises(SpecError) as e:
        parse_curve(equation="x^2 + y^2 + z^2 - 1")
    assert e.value.field == "--curve" and "x, y, z" in e.value.message
    with pytest.raises(SpecError) as e:
        parse_curve(param="t, t^2, t^3")
    assert e.value.field == "--param"
    with pytest.raises(SpecError) as e:
        parse_curve(equation="y^2 + x^3", param="t^2, t^3")  # (t^2, t^3) lies on y^2 = x^3, not y^2 = -x^3
    assert e.value.field == "--param"
    with pytest.raises(SpecError) as e:
        voronoi_boundary(parse_curve(param="-t^2, t^3"), parse_point("1,1"))
    assert e.value.field == "--point"


def test_cli_exit_2_for_a_curve_that_is_not_planar(cli, tmp_path):
    r = cli("voronoi", "--curve", "x^2+y^2+z^2-1", "--point", "0,0", cwd=tmp_path, timeout=120)
    assert r.returncode == 2
    assert "--curve" in r.stderr and "x and y" in r.stderr
    r = cli("voronoi", "--param", "-t^2, t^3", "--samples", "0", "--plot", tmp_path / "v.png", cwd=tmp_path,
            timeout=120)
    assert r.returncode == 2 and "--samples" in r.stderr
    assert not list(tmp_path.iterdir())


def test_cli_prints_the_cusp_boundary(cli, tmp_path):
    import json

    r = cli("voronoi", "--curve", "y^2+x^3", "--param", "-t^2, t^3", "--point", "0,0", "--samples", "20000",
            "--plot", tmp_path / "cusp.png", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["boundary_equation"] == CUSP_BOUNDARY
    assert (tmp_path / "cusp.png").stat().st_size > 10_000
