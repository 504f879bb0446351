"""Linear independence of activated polynomials against classical results.

* Distinct binary linear forms: l_1^r, ..., l_k^r are independent exactly when
  r >= k - 1 (they live in the (r+1)-dimensional space of binary r-forms, and
  k <= r+1 distinct points give a non-zero Vandermonde determinant); the rank is
  min(k, r + 1).
* The Pythagorean identity (x^2-y^2)^2 + (2xy)^2 = (x^2+y^2)^2: a dependence at
  r = 2 with certificate (1, 1, -1); for r >= 3 three pairwise coprime binary
  forms cannot satisfy a p^r + b q^r = c w^r (Mason--Stothers), so every
  triple of binary quadratics is independent from r = 3 on.
* Two non-proportional polynomials always have independent powers (unique
  factorisation: p^r = c q^r forces p = c' q).
"""

from __future__ import annotations

import itertools
import json
import math

import pytest
import sympy

from neurovar.pipeline.algebra.tuple_families import parse_family
from neurovar.pipeline.cells import make_cell, run_cell
from neurovar.pipeline.compute.independence import independence, prop16_bound
from neurovar.pipeline.compute.independence_threshold import independence_threshold
from neurovar.pipeline.errors import SpecError

X, Y = sympy.symbols("x y")


def sympy_relation_is_zero(tuple_text: str, certificate, s) -> bool:
    """sum c_i s(p_i) expanded by sympy (an independent check of the certificate)."""
    polys = [sympy.sympify(p.replace("^", "**"), locals={"x": X, "y": Y}) for p in tuple_text.split(";")]
    total = sum(sympy.Rational(c) * s(p) for c, p in zip(certificate, polys))
    return sympy.expand(total) == 0


# --- Prop. 16's bound ---------------------------------------------------------------

def test_prop16_bound_values():
    # 6(k-1)^2 - 6(k-1) + 1 by hand: k=2: 6-6+1, k=3: 24-12+1, k=4: 54-18+1, k=5: 96-24+1
    assert [prop16_bound(k) for k in (2, 3, 4, 5)] == [1, 13, 37, 73]


# --- binary linear forms: independent iff r >= k-1 -------------------------------------

@pytest.mark.parametrize("k", range(2, 9))
def test_binary_linear_forms_threshold_is_k_minus_1(k):
    out = independence_threshold(family=f"binary_linear:k={k},coef=2", max_r=k + 3)
    # every tuple of the family has threshold exactly k-1 (independent for r = k-1 .. k+3)
    assert out["min_r"] == k - 1
    assert out["min_r_histogram"] == {str(max(k - 1, 1)): out["tuples_tested"]}
    assert out["dependent_r"] == list(range(1, k - 1))
    # each certificate is a verified relation among the r-th powers (checked again with sympy)
    for r, cert in out["certificates"].items():
        assert sympy_relation_is_zero(out["worst_tuple"], cert, lambda p, r=int(r): p**r)
    assert out["exceeds_bound"] is False


def test_binary_linear_family_counts():
    # primitive (a, b) in [-2, 2]^2 up to sign: x, y, x+-y, x+-2y, 2x+-y -> 8 classes; k = 8 takes all of them
    fam = parse_family("binary_linear:k=8,coef=2")
    assert fam.pool_size(True) == 8
    assert independence_threshold(family="binary_linear:k=8,coef=2", max_r=8)["tuples_tested"] == 1


@pytest.mark.parametrize("r", range(1, 7))
def test_rank_of_powers_of_five_linear_forms_is_min_k_r_plus_1(r):
    out = independence("x; y; x + y; x - y; x + 2*y", f"x^{r}")
    assert out["rank"] == min(5, r + 1)
    assert out["independent"] is (r >= 4)
    if out["certificate"] is not None:
        assert sympy_relation_is_zero("x; y; x + y; x - y; x + 2*y", out["certificate"], lambda p: p**r)
        assert len(out["kernel_basis"]) == 5 - min(5, r + 1)


# --- the Pythagorean identity ---------------------------------------------------------

PYTH = "x^2 - y^2; 2*x*y; x^2 + y^2"


def test_pythagorean_identity_by_hand():
    assert sympy.expand((X**2 - Y**2) ** 2 + (2 * X * Y) ** 2 - (X**2 + Y**2) ** 2) == 0


def test_pythagorean_dependence_at_r2_with_certificate():
    out = independence(PYTH, "x^2")
    assert out["independent"] is False and out["rank"] == 2
    assert out["certificate"] == ["1", "1", "-1"]
    assert out["r"] == 2 and out["bound"] == 13


def test_pythagorean_threshold_independent_from_3_to_30():
    out = independence_threshold(PYTH, max_r=30)
    assert out["dependent_r"] == [2]
    assert out["min_r"] == 3
    assert out["certificates"] == {"2": ["1", "1", "-1"]}
    for r in (1, 3, 4, 7, 30):
        assert independence(PYTH, f"x^{r}")["independent"] is True


def test_rational_coefficients_give_rational_certificates():
    # p = (x^2 - y^2)/2, q = x*y, w = (x^2 + y^2)/2: p^2 + q^2 - w^2 = 0
    out = independence("0.5*x^2 - 0.5*y^2; x*y; 0.5*x^2 + 0.5*y^2", "x^2")
    assert out["certificate"] == ["1", "1", "-1"]
    out = independence("x^2 - y^2; x*y; x^2 + y^2", "x^2")  # 1*(x^2-y^2)^2 + 4*(xy)^2 - (x^2+y^2)^2 = 0
    assert out["certificate"] == ["1", "4", "-1"]


def test_generic_activation_breaks_the_pythagorean_relation():
    # s = a + b t + c t^2: the only relation among the squares, (1, 1, -1), would also need
    # p1 + p2 - p3 = 2xy - 2y^2 = 0 and a(1 + 1 - 1) = 0, which fail: independent.
    out = independence(PYTH, "generic:2", seed=3)
    assert out["independent"] is True and out["rank"] == 3
    # an explicit non-monomial activation: s(t) = t^2 + t (same argument, b = 1, a = 0)
    assert independence(PYTH, "x^2 + x")["independent"] is True


def test_even_activation_sees_p_and_minus_p_as_equal():
    # s(t) = t^2 + 1 is even: s(x) = s(-x), a dependence (1, -1) that a generic s would not have
    out = independence("x; -x", "x^2 + 1")
    assert out["independent"] is False and out["certificate"] == ["1", "-1"]


# --- two polynomials: always independent (unique factorisation) -------------------------

def test_two_non_proportional_polynomials_never_dependent():
    out = independence_threshold(family="random:nvars=2,deg=2,coef=3,count=2,tuples=40", max_r=12, seed=1)
    assert out["tuples_tested"] == 40
    assert out["min_r_histogram"] == {"1": 40} and out["min_r"] == 1


# --- exhaustive: triples of binary quadratics with coefficients in {-1, 0, 1} -------------

BINARY_QUADRATIC_TRIPLES = "box:nvars=2,deg=2,k=3,coef=1,homogeneous=1"


def _brute_force_orbits():
    """Orbits of triples of binary quadratics (a x^2 + b xy + c y^2, a, b, c in {-1, 0, 1}) under
    scaling of each form, permutation of the triple, x <-> y and x -> -x, counted naively."""
    def normal(v):
        first = next(c for c in v if c)
        return tuple(c * (1 if first > 0 else -1) for c in v)

    forms = sorted({normal(v) for v in itertools.product((-1, 0, 1), repeat=3) if any(v)})
    moves = [lambda v: v, lambda v: (v[2], v[1], v[0]), lambda v: (v[0], -v[1], v[2]),
             lambda v: (v[2], -v[1], v[0])]
    orbits = set()
    for triple in itertools.combinations(forms, 3):
        orbits.add(min(tuple(sorted(normal(g(v)) for v in triple)) for g in moves))
    return forms, orbits


def test_exhaustive_binary_quadratics_no_dependence_from_r3_on():
    out = independence_threshold(family=BINARY_QUADRATIC_TRIPLES, max_r=15)
    forms, orbits = _brute_force_orbits()
    assert len(forms) == 13 and math.comb(13, 3) == 286
    assert out["tuples_tested"] == len(orbits)  # each orbit exactly once
    # Mason--Stothers: nothing is dependent at any r >= 3; r = 2 dependences do occur
    assert out["min_r"] == 3
    assert set(out["min_r_histogram"]) <= {"1", "2", "3"}
    assert out["min_r_histogram"]["3"] >= 1
    assert sum(out["min_r_histogram"].values()) == out["tuples_tested"]
    assert out["dependent_r"] == [2]


def test_exhaustive_r2_dependence_checked_by_hand():
    out = independence_threshold(family=BINARY_QUADRATIC_TRIPLES, max_r=6)
    assert out["worst_tuple"] == "x*y; x^2 - y^2; x^2 + y^2"
    assert out["certificates"]["2"] == ["4", "1", "-1"]
    # by hand: 4 (xy)^2 + (x^2 - y^2)^2 = x^4 + 2 x^2 y^2 + y^4 = (x^2 + y^2)^2
    assert sympy.expand(4 * (X * Y) ** 2 + (X**2 - Y**2) ** 2 - (X**2 + Y**2) ** 2) == 0
    # and the single-activation computation finds the same relation at r = 2 over the whole family
    fam = independence(family=BINARY_QUADRATIC_TRIPLES, activation="x^2")
    assert fam["dependent_tuples"] == 1 and fam["certificate"] == ["4", "1", "-1"]
    assert independence(family=BINARY_QUADRATIC_TRIPLES, activation="x^3")["independent"] is True


def test_shards_partition_the_family():
    whole = independence_threshold(family=BINARY_QUADRATIC_TRIPLES, max_r=6)
    parts = [independence_threshold(family=BINARY_QUADRATIC_TRIPLES, max_r=6, shard=i, num_shards=3) for i in range(3)]
    assert sum(p["tuples_tested"] for p in parts) == whole["tuples_tested"]
    merged: dict[str, int] = {}
    for p in parts:
        for key, n in p["min_r_histogram"].items():
            merged[key] = merged.get(key, 0) + n
    assert merged == whole["min_r_histogram"]
    assert max(p["min_r"] for p in parts) == whole["min_r"]


def test_four_binary_quadratics_non_monotone_dependence():
    # dependent at r = 1 (4 forms in a 3-dim space) and at r = 3, independent at r = 2:
    # 2 y^6 + (x^2 - xy - y^2)^3 - 2 x^6 + (x^2 + xy - y^2)^3 = 0, since with a = x^2 - y^2, b = xy:
    # (a - b)^3 + (a + b)^3 = 2a^3 + 6ab^2 = 2a (a^2 + 3 b^2) = 2 (x^2 - y^2)(x^4 + x^2 y^2 + y^4) = 2 (x^6 - y^6)
    tup = "y^2; x^2 - x*y - y^2; x^2; x^2 + x*y - y^2"
    out = independence_threshold(tup, max_r=12)
    assert out["dependent_r"] == [1, 3] and out["min_r"] == 4
    assert out["certificates"]["3"] == ["2", "1", "-2", "1"]
    assert sympy_relation_is_zero(tup, out["certificates"]["3"], lambda p: p**3)


# --- families: file and random -------------------------------------------------------

def test_file_family(tmp_path):
    f = tmp_path / "tuples.txt"
    f.write_text("# triples\nx; y; x + y\n\nx^2 - y^2; 2*x*y; x^2 + y^2\nx^2; y^2; x*y\n")
    out = independence_threshold(family=f"file:{f}", max_r=10)
    assert out["tuples_tested"] == 3
    assert out["worst_tuple"] == "x^2 - y^2; 2*x*y; x^2 + y^2" and out["min_r"] == 3
    assert out["min_r_histogram"] == {"1": 1, "2": 1, "3": 1}  # x^2, y^2, xy: independent for all r


def test_random_family_is_reproducible_and_shard_independent():
    fam = "random:nvars=2,deg=2,coef=3,count=3,tuples=30"
    a = independence_threshold(family=fam, max_r=8, seed=5)
    b = independence_threshold(family=fam, max_r=8, seed=5)
    assert a == b and a["tuples_tested"] == 30
    parts = [independence_threshold(family=fam, max_r=8, seed=5, shard=i, num_shards=2) for i in range(2)]
    assert sum(p["tuples_tested"] for p in parts) == 30


# --- cells, records and bad input --------------------------------------------------------

def test_cell_record_has_json_certificate():
    rec = run_cell(make_cell("independence", None, {"polys": PYTH, "activation": "x^2"}))
    assert rec["status"] == "ok", rec["error"]
    assert json.loads(json.dumps(rec["certificate"])) == ["1", "1", "-1"]
    rec = run_cell(make_cell("independence-threshold", None, {"family": "binary_linear:k=4,coef=2", "max_r": 6}))
    assert rec["status"] == "ok" and rec["min_r"] == 3 and rec["k"] == 4 and rec["bound"] == 37


@pytest.mark.parametrize(
    "comp,params,field,words",
    [
        ("independence", {"polys": "x^2; exp(x)"}, "polys", "polynomial 2"),
        ("independence", {"polys": "x**2; y"}, "polys", "x^2"),
        ("independence", {"polys": "x^2 + y; 3*x^2 + 3*y; y"}, "polys", "1 (x^2 + y) and 2"),
        ("independence", {"polys": "x; 0"}, "polys", "zero"),
        ("independence", {"polys": "x; y", "activation": "relu"}, "activation", ""),
        ("independence", {}, "family", "polys"),
        ("independence", {"polys": "x; y", "family": "binary_linear:k=2"}, "family", "not both"),
        ("independence-threshold", {"polys": "x; y", "max_r": 0}, "max_r", "between 1"),
        ("independence-threshold", {"family": "cubes:k=3"}, "family", "unknown family kind"),
        ("independence-threshold", {"family": "box:k=3,deg=two"}, "family", "deg=two"),
        ("independence-threshold", {"family": "box:nvars=2,deg=1,k=5,coef=1,homogeneous=1"}, "family", "only 4"),
        ("independence-threshold", {"family": "random:nvars=2,deg=2"}, "family", "count="),
        ("independence-threshold", {"family": "file:/no/such/file"}, "family", "no such file"),
        ("independence-threshold", {"family": "binary_linear:k=3", "shard": 2}, "shard", "num_shards"),
        ("independence-threshold", {"polys": "x; 2", "activation_kind": "generic"}, "polys", "constant"),
        ("independence-threshold", {"polys": "x; y", "activation_kind": "relu"}, "activation_kind", "monomial"),
    ],
)
def test_bad_input_names_the_field(comp, params, field, words):
    with pytest.raises(SpecError) as e:
        make_cell(comp, None, params)
    assert e.value.field.split(".")[-1] == field
    assert words in e.value.message


def test_cli_independence(cli):
    p = cli("compute", "independence", "--polys", "x^2-y^2; 2*x*y; x^2+y^2", "--activation", "x^2", "--json")
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    assert rec["certificate"] == ["1", "1", "-1"] and rec["rank"] == 2
    p = cli("compute", "independence-threshold", "--polys", "x^2-y^2; 2*x*y; x^2+y^2", "--max-r", "20", "--json")
    rec = json.loads(p.stdout)
    assert rec["dependent_r"] == [2] and rec["min_r"] == 3


@pytest.mark.parametrize(
    "args,flag",
    [
        (["--polys", "x^2; 2*x^2"], "--polys"),
        (["--polys", "x; sin(y)"], "--polys"),
        (["--polys", "x; y", "--max-r", "0"], "--max-r"),
        (["--family", "cubes:k=3"], "--family"),
    ],
)
def test_cli_bad_input_exits_2(cli, args, flag):
    p = cli("compute", "independence-threshold", *args, "--json")
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert flag in p.stderr and "Traceback" not in p.stderr


def test_grids_load():
    from pathlib import Path

    from neurovar.pipeline.grid import GridSpec

    for name in ("independence_thresholds", "independence_exhaustive"):
        cells = GridSpec.from_yaml(Path(__file__).parent.parent / "grids" / f"{name}.yaml").cells()
        assert cells and all(c.computation == "independence-threshold" for c in cells)


def test_screening_agrees_with_direct_exact_ranks():
    # the batched mod-p screen plus exact checks must give the same thresholds as expanding
    # p_i^r and taking the exact integer rank for every tuple and every r
    from neurovar.pipeline.compute.independence import exact_rank

    family, max_r = "box:nvars=2,deg=2,k=4,coef=1,homogeneous=1", 8
    hist: dict[str, int] = {}
    for batch in parse_family(family).batches():
        for t in range(len(batch.tuples)):
            ps = batch.polys(t)
            top = max((r for r in range(1, max_r + 1) if exact_rank([p**r for p in ps]) < 4), default=0)
            hist[str(top + 1)] = hist.get(str(top + 1), 0) + 1
    assert independence_threshold(family=family, max_r=max_r)["min_r_histogram"] == dict(sorted(hist.items()))


def test_empty_shard_is_vacuous():
    out = independence_threshold(family="binary_linear:k=2,coef=1", max_r=3, shard=7, num_shards=8)
    assert out["tuples_tested"] == 0 and out["min_r"] == 1 and out["worst_tuple"] is None
