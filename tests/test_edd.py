"""ED degrees against hand computations, theorems and the attention slides."""

from __future__ import annotations

import itertools
import json
from math import comb

import numpy as np
import pytest

from neurovar.pipeline.compute.edd import EddParams, edd
from neurovar.pipeline.papers import ATTENTION_HYPERSURFACE
from neurovar.pipeline.errors import SpecError
from neurovar.pipeline.models import build_model

ATTENTION = {"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 2}


def run(model=None, **kw):
    kw.setdefault("real", False)
    seed = kw.pop("seed", 0)
    return edd(build_model(model) if model else None, EddParams(**kw), seed=seed)


def test_circle_identity_two_real_points():
    r = run(equations="x^2 + y^2 - 1", variables="x,y", weights="identity", real=True)
    assert (r["edd"], r["real_critical_points"], r["primes_agree"]) == (2, 2, True)


def test_circle_with_diag_4_1_has_four(tmp_path):
    # Q = diag(4,1): 4(x-u1) = l x, y-u2 = l y on x^2+y^2 = 1 is a quartic in l: 4 points
    assert run(equations="x^2 + y^2 - 1", weights="diag:4,1")["edd"] == 4
    f = tmp_path / "Q.txt"
    f.write_text("# Q = diag(4, 1)\n4 0\n0 1\n")
    assert run(equations="x^2 + y^2 - 1", weights=f"file:{f}")["edd"] == 4


@pytest.mark.parametrize("n, d", [(2, 2), (2, 3), (3, 2), (2, 4), (3, 3)])
def test_generic_hypersurface_formula(n, d):
    # Draisma et al., ED degree of a general affine hypersurface: d * sum_{i<n} (d-1)^i
    rng = np.random.default_rng([n, d])
    names = [f"x{i}" for i in range(n)]
    terms = []
    for e in itertools.product(range(d + 1), repeat=n):
        if sum(e) <= d:
            mono = "*".join(f"{v}^{k}" for v, k in zip(names, e) if k) or "1"
            terms.append(f"{int(rng.integers(1, 100))}*{mono}")
    r = run(equations=" + ".join(terms), variables=",".join(names))
    assert r["edd"] == d * sum((d - 1) ** i for i in range(n))
    assert r["primes_agree"] is True


@pytest.mark.parametrize("widths", [(2, 1, 2), (3, 1, 2), (3, 1, 3), (3, 2, 3), (4, 2, 3)])
def test_eckart_young_rank_varieties(widths):
    # m x n matrices of rank <= r, identity weights: binom(min(m, n), r) critical points (Eckart-Young)
    r = run({"model": "linear", "widths": list(widths)})
    m, rank, n = widths[-1], min(widths), widths[0]
    assert r["edd"] == comb(min(m, n), rank)
    assert r["codimension"] == (m - rank) * (n - rank)


def test_attention_hypersurface_generic_Q():
    r = run(equations=ATTENTION_HYPERSURFACE, weights="generic")
    assert (r["edd"], r["zero_loss_points"], r["positive_dimensional"]) == (14, 0, [])


@pytest.mark.parametrize(
    "k, points, zero_loss_points, parts",
    [
        (0, 14, 0, []),
        (1, 14, 4, []),  # 10 on the ramification locus + 4 = (K+u) ∩ M (a line meets a quartic)
        (2, 4, 0, [(1, 4, True)]),  # 4 points + a plane quartic curve of zero-loss points
        (3, 0, 0, [(2, 4, True)]),  # a surface
        (4, 0, 0, [(3, 4, True)]),
        (5, 0, 0, [(4, 4, True)]),
    ],
)
def test_attention_hypersurface_degenerate_Q_table(k, points, zero_loss_points, parts):
    r = run(equations=ATTENTION_HYPERSURFACE, weights=f"psd:{k}")
    assert r["kernel_dimension"] == k
    assert (r["edd"], r["zero_loss_points"]) == (points, zero_loss_points)
    assert [(p["dimension"], p["degree"], p["zero_loss"]) for p in r["positive_dimensional"]] == parts
    assert r["primes_agree"] is True


@pytest.mark.parametrize("weights", ["generic", "data:3", "data:4"])
def test_attention_model_parametric_agrees_with_implicit(weights):
    imp = run(ATTENTION, weights=weights)
    par = run(ATTENTION, weights=weights, method="exact-parametric")
    assert imp["method"] == "exact-implicit-modp" and par["method"] == "exact-parametric-modp"
    assert imp["edd"] == par["edd"] == 14
    assert par["fiber_size"] == 1  # (V, M) with V[0,0] = 1 is generically one-to-one


def test_attention_model_two_inputs_gives_curves():
    r = run(ATTENTION, weights="data", dataset_size=2, real=True)
    assert r["kernel_dimension"] == 2  # rank Q = 2 |S| = 4
    assert r["edd"] is None  # the positive-loss part is a curve
    parts = {p["zero_loss"]: p for p in r["positive_dimensional"]}
    assert (parts[False]["dimension"], parts[False]["degree"]) == (1, 2)
    assert (parts[True]["dimension"], parts[True]["degree"]) == (1, 2)
    par = run(ATTENTION, weights="data", dataset_size=2, method="exact-parametric")
    assert sorted(p["zero_loss"] for p in par["positive_dimensional"]) == [False, True]


def test_attention_model_one_input_gives_a_threefold():
    r = run(ATTENTION, weights="data:1")
    assert r["kernel_dimension"] == 4 and r["edd"] == 0
    assert [(p["dimension"], p["zero_loss"]) for p in r["positive_dimensional"]] == [(3, True)]


def test_validation_names_the_field():
    with pytest.raises(SpecError, match="exactly one"):
        run(ATTENTION, equations="x^2 - 1")
    with pytest.raises(SpecError, match="exactly one"):
        run()
    with pytest.raises(ValueError, match="dataset_size"):
        EddParams(equations="x - 1", dataset_size=3)
    with pytest.raises(ValueError, match="dataset_size"):
        EddParams(equations="x - 1", weights="data")
    with pytest.raises(ValueError, match="psd:k"):
        EddParams(equations="x - 1", weights="spd")
    with pytest.raises(ValueError, match="x\\^2"):
        EddParams(equations="x**2 - 1")
    with pytest.raises(ValueError, match="method"):
        EddParams(equations="x - 1", method="numeric")
    with pytest.raises(SpecError, match="diag"):
        run(equations="x^2 + y^2 - 1", weights="diag:1,2,3")


def test_cli_equations(cli):
    res = cli("compute", "edd", "--equations", "x^2+y^2-1", "--variables", "x,y", "--weights", "identity", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    rec = out[0] if isinstance(out, list) else out
    assert rec["edd"] == 2 and rec["real_critical_points"] == 2


def test_cli_attention_data(cli):
    res = cli("compute", "edd", "--model", "attention", "--d", "2", "--d-out", "1", "--n", "2", "--t", "2",
              "--weights", "data", "--dataset-size", "2", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    rec = out[0] if isinstance(out, list) else out
    parts = rec["positive_dimensional"]
    parts = json.loads(parts) if isinstance(parts, str) else parts
    assert sorted((p["dimension"], p["degree"]) for p in parts) == [(1, 2), (1, 2)]


def test_cli_bad_weights_exit_2(cli):
    res = cli("compute", "edd", "--equations", "x^2+y^2-1", "--weights", "spd")
    assert res.returncode == 2 and "weights" in (res.stderr + res.stdout)


# --------------------------------------------------------------------------- curves over C: lines or conics
@pytest.mark.parametrize(
    "equations, lines, span, components",
    [
        ("x^2 + y^2 - 1; z", 0, 2, 1),  # an irreducible conic in the plane z = 0
        ("x^2 - 2*y^2; z - 1", 2, 2, 2),  # x = ±sqrt(2) y: two lines conjugate over Q(sqrt 2), meeting at (0,0,1)
        ("x^2 - 2; y - x*z", 2, 3, 2),  # (±sqrt 2, ±sqrt(2) t, t): two skew conjugate lines, span 3
        ("x^2 - x; x*z; x*y - y; y*z", 2, 3, 2),  # (x, y) ∩ (x - 1, z): the z-axis and a skew line
        ("x - 2*y + 1; z + y - 3", 1, 1, 1),  # a line
    ],
)
def test_curve_components_on_hand_made_curves(equations, lines, span, components):
    from neurovar.pipeline.algebra.edd_system import curve_components
    from neurovar.pipeline.algebra.msolve import ideal_dimension_degree
    from neurovar.pipeline.algebra.parser import parse_system

    ctx, f = parse_system(equations, ["x", "y", "z"])
    dim, degree = ideal_dimension_degree(f, ["x", "y", "z"])
    assert dim == 1
    c = curve_components(f, ["x", "y", "z"], 3, degree)
    assert (c["lines"], c["linear_span"], c["components_over_C"]) == (lines, span, components)
    assert c["linear_span_upper"] == span  # these ideals are radical: the linear forms in them are all of them


@pytest.mark.parametrize("seed", [0, 1])
def test_attention_two_inputs_is_a_conic_and_two_skew_lines(seed):
    # The slides' dataset table, |S| = 2 (k = 2): "a curve and two lines". The zero-loss part
    # (ker Q + u) ∩ M is an irreducible conic; the positive-loss part, degree 2 and irreducible over Q,
    # is two complex conjugate lines, skew (their span is a 3-space, which no conic has).
    r = run(ATTENTION, weights="data:2", real=True, seed=seed)
    parts = {p["zero_loss"]: p for p in r["positive_dimensional"]}
    conic, lines = parts[True], parts[False]
    assert (conic["dimension"], conic["degree"], conic["lines"], conic["components_over_C"]) == (1, 2, 0, 1)
    assert conic["linear_span"] == 2
    assert (lines["dimension"], lines["degree"], lines["lines"], lines["components_over_C"]) == (1, 2, 2, 2)
    assert lines["linear_span"] == 3 and lines["components_over_Q"] == [2]


# --------------------------------------------------------------------------- numerical second opinion (monodromy)
def signed_hypersurface(n, d, seed=0):
    """A dense polynomial of degree <= d in x0..x{n-1} with random nonzero integer coefficients in [-9, 9]."""
    rng = np.random.default_rng([seed, n, d])
    names = [f"x{i}" for i in range(n)]
    terms = []
    for e in itertools.product(range(d + 1), repeat=n):
        if sum(e) <= d:
            c = int(rng.integers(1, 10)) * int(rng.choice([-1, 1]))
            terms.append(f"({c})*" + ("*".join(f"{v}^{k}" for v, k in zip(names, e) if k) or "1"))
    return " + ".join(terms), ",".join(names)


@pytest.mark.parametrize("weights, count", [("identity", 2), ("diag:4,1", 4)])
def test_numerical_circle_agrees_with_exact(weights, count):
    # the circle: 2 critical points for the Euclidean distance, 4 for diag(4, 1) (a quartic in l)
    r = run(equations="x^2 + y^2 - 1", variables="x,y", weights=weights, method="both", real=True)
    assert (r["edd"], r["edd_numerical"], r["numerical_certified"], r["counts_agree"]) == (count, count, count, True)
    assert r["numerical_stop_reason"].startswith("stalled") and r["completeness"] == "trace-test"
    assert r["numerical_real_points"] == r["real_critical_points"]  # msolve's real roots at the same rational u
    assert r["method"] == "exact-implicit-modp+numerical-monodromy"


@pytest.mark.parametrize("n, d", [(2, 2), (2, 3), (3, 2), (2, 4), (3, 3)])
def test_numerical_generic_hypersurface_formula(n, d):
    # Draisma et al.: a general hypersurface of degree d in C^n has ED degree d * sum_{i<n} (d-1)^i
    equations, variables = signed_hypersurface(n, d)
    r = run(equations=equations, variables=variables, method="both", real=True)
    expected = d * sum((d - 1) ** i for i in range(n))
    assert r["edd"] == r["edd_numerical"] == r["numerical_certified"] == expected
    assert r["counts_agree"] is True and r["completeness"] in ("trace-test", "exact-agrees")
    assert r["numerical_real_points"] == r["real_critical_points"]


@pytest.mark.parametrize("seed", [1, 2])
def test_numerical_attention_hypersurface_14_and_real_points(seed):
    r = run(equations=ATTENTION_HYPERSURFACE, weights="generic", method="both", real=True, seed=seed)
    assert (r["edd"], r["edd_numerical"], r["numerical_certified"]) == (14, 14, 14)
    assert r["numerical_real_points"] == r["real_critical_points"]  # certified real boxes vs msolve over Q


def test_numerical_only_counts_when_monodromy_stalled():
    r = run(equations="x^2 + y^2 - 1", weights="diag:4,1", method="numerical", real=True)
    assert (r["edd"], r["method"], r["numerical_certified"], r["real_critical_points"]) == (4, "numerical-monodromy", 4, 2)
    assert r["primes_agree"] is None and r["counts_agree"] is None
    # stopped by the clock before any loop: the count is a lower bound and edd stays null
    r = run(equations="x^2 + y^2 - 1", weights="diag:4,1", method="numerical", time_limit=1e-9)
    assert r["edd"] is None and r["completeness"] == "none" and r["method"] == "numerical-lower-bound"
    assert "lower bound" in r["numerical_stop_reason"] and r["edd_numerical"] >= 1


def test_numerical_models_of_codimension_two_and_four():
    # binary cubics that are cubes (2, 1, 1) with x^3, generic weights: 3d - 2 = 7 (polar degrees 3 + 4)
    r = run({"model": "mlp", "widths": [2, 1, 1], "activation": "x^3"}, weights="generic", method="both", real=True)
    assert (r["edd"], r["edd_numerical"], r["numerical_certified"]) == (7, 7, 7)
    assert r["numerical_real_points"] == r["real_critical_points"]
    # 3 x 3 matrices of rank <= 1 (codimension 4), Euclidean weights: Eckart-Young, 3 singular triples
    r = run({"model": "linear", "widths": [3, 1, 3]}, method="numerical", real=True)
    assert (r["edd"], r["real_critical_points"], r["codimension"]) == (3, 3, 4)


def test_numerical_singular_Q_gives_no_count():
    # psd:2 on the attention hypersurface: 4 points and a plane quartic curve of zero-loss points
    r = run(equations=ATTENTION_HYPERSURFACE, weights="psd:2", method="both")
    assert r["edd"] == 4 and r["positive_dimensional"]
    assert r["edd_numerical"] is None and r["counts_agree"] is None
    assert "singular" in r["numerical_stop_reason"]
    r = run(equations=ATTENTION_HYPERSURFACE, weights="psd:2", method="numerical")
    assert r["edd"] is None and "no count" in r["numerical_stop_reason"]


def test_numerical_validation():
    with pytest.raises(ValueError, match="time_limit"):
        EddParams(equations="x - 1", time_limit=5)
    with pytest.raises(ValueError, match="seconds"):
        EddParams(equations="x - 1", method="numerical", time_limit=0)
    # implicit equations of codimension 2 are accepted: the unit circle in the plane z = 0 of C^3,
    # ED degree 2 (critical points +-(u1, u2, 0)/|(u1, u2)|)
    r = run(equations="x^2 + y^2 + z^2 - 1; z", method="both", real=False)
    assert r["edd"] == 2 and r["edd_numerical"] == 2 and r["counts_agree"] is True


def test_cli_method_both(cli):
    res = cli("compute", "edd", "--equations", "x^2+y^2-1", "--variables", "x,y", "--weights", "diag:4,1",
              "--method", "both", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    rec = out[0] if isinstance(out, list) else out
    assert (rec["edd"], rec["edd_numerical"], rec["counts_agree"]) == (4, 4, True)
    assert rec["numerical_real_points"] == rec["real_critical_points"]
