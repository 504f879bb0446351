"""Deep lightning self-attention (``attention --layers L``): every computation, flag, axis and column."""

from __future__ import annotations

import json

import pytest

import neurovar
from neurovar.pipeline.grid import GridSpec


def att(d, d_out, n, layers, t=2):
    return neurovar.models.Attention(d=d, d_out=d_out, n=n, t=t, layers=layers)


def declared(d, n, layers):
    """Per layer GL(n) x C* (fiber of (K, Q) -> K^T Q plus the scaling), and GL(d) between layers."""
    q = min(n, d)
    return layers * (2 * n * d - q * (2 * d - q) + 1) + (layers - 1) * d * d


@pytest.mark.parametrize("d,d_out,n,layers", [(2, 1, 2, 2), (1, 1, 1, 2), (2, 1, 1, 2), (2, 2, 2, 2), (1, 1, 1, 3),
                                               (2, 1, 3, 2)])
def test_fiber_dimension_is_the_symmetry_dimension(d, d_out, n, layers):
    m = att(d, d_out, n, layers)
    r = neurovar.dimension(m)
    assert m.symmetry_dimension == declared(d, n, layers)
    assert r["fiber_dimension"] == declared(d, n, layers)
    assert r["dimension"] == m.num_params - declared(d, n, layers)


@pytest.mark.parametrize("d,d_out,n,points", [(2, 1, 2, 1), (2, 1, 1, 6), (2, 2, 1, 2), (1, 1, 1, 1)])
def test_fiber_counts_in_the_gauge(d, d_out, n, points):
    """Two layers. n = 1 makes X_1 = a w rank one, so layer 2 is (v.a)(k.a)(q.a)|w|^2 w for d_out = 1:
    the three rows permute (S_3, 6 points); for d_out = 2 only k and q swap (2 points); d = 1 is scalar."""
    r = neurovar.fiber(att(d, d_out, n, 2))
    assert r["fiber_dimension"] == r["symmetry_dimension"]
    assert r["fiber_points"] == r["expected_fiber_points"] == points and r["only_known_symmetries"] is True


def test_numerical_fiber_finds_the_six_points():
    # monodromy finds and certifies the six points; the trace test does not settle this system, so the
    # completeness certificate is the exact count agreeing (msolve: 6), never the stall alone
    r = neurovar.fiber(att(2, 1, 1, 2), method="both", time_limit=20)
    assert r["fiber_points"] == r["fiber_points_numerical"] == r["numerical_certified"] == 6
    assert r["completeness"] == "exact-agrees" and r["counts_agree"] is True


def test_edd_of_the_line():
    # d = 1: f = c x1 (x1^2 + x2^2)^4 (x1, x2) up to the parameter product c: a line through 0, ED degree 1
    r = neurovar.edd(att(1, 1, 1, 2))
    assert r["edd"] == 1 and r["fiber_size"] == 1


@pytest.mark.parametrize("computation,key,value", [("dimension", "dimension", 1), ("fiber", "fiber_points", 1),
                                                    ("edd", "edd", 1)])
def test_cli(cli, computation, key, value):
    p = cli("compute", computation, "--model", "attention", "--d", "1", "--d-out", "1", "--n", "1", "--t", "2",
            "--layers", "2", "--json")
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    assert rec["status"] == "ok" and rec["layers"] == 2 and rec[key] == value


def test_bad_layers_exits_2_naming_the_flag(cli):
    p = cli("compute", "dimension", "--model", "attention", "--d", "2", "--d-out", "1", "--n", "2", "--layers", "0")
    assert p.returncode == 2 and "--layers" in p.stderr and p.stdout == ""


def test_grid_axis_and_catalog_column(tmp_path):
    from neurovar.catalog import store
    from neurovar.pipeline.cells import run_cell

    spec = GridSpec.from_mapping({"name": "deep", "computations": ["dimension"], "model": "attention",
                                  "axes": {"d": [2], "d_out": [1], "n": [2], "layers": [1, 2]}})
    store.write_records([run_cell(c) for c in spec.cells()], "dimension", tmp_path)
    df = store.load("dimension", tmp_path)
    assert dict(zip(df["layers"].astype(int), df["dimension"].astype(int))) == {1: 5, 2: 8}


def test_two_layer_quotient_parametrization_is_birational():
    """n = 1, d = 2, two layers: the second layer's rows enter through S = sym(k^T q) only.

    At a point of the ``auto`` gauge and at S = sym(k^T q) of its rows the images agree (a^T k^T q a = a^T S a),
    dy has full rank 8 (exactly), and a generic fiber is one point (msolve over GF(p)), where the gauge's has the
    two points of the swap of k and q (test_fiber_counts_in_the_gauge)."""
    import flint
    from fractions import Fraction as Fr

    from neurovar.pipeline.algebra import msolve
    from neurovar.pipeline.compute.edd_numerical_param import full_rank_parametrization
    from neurovar.pipeline.models.base import Model

    m = att(2, 2, 1, 2)
    names, ys = m.parametrization()
    gnames, gys = Model.parametrization(m)  # the auto gauge: rows k = (1, k22), q = (q21, q22) of layer 2
    assert names[:5] == gnames[:5] and names[5:] == ["S2_1_1", "S2_1_2", "S2_2_2"]
    g = dict(K1_1_2=Fr(2, 3), Q1_1_2=Fr(-5, 7), V2_1_2=Fr(3), V2_2_1=Fr(1, 2), V2_2_2=Fr(-4), K2_1_2=Fr(5, 3),
             Q2_1_1=Fr(7, 2), Q2_1_2=Fr(-1, 3))
    k22, q21, q22 = g["K2_1_2"], g["Q2_1_1"], g["Q2_1_2"]
    s = dict(g, S2_1_1=q21, S2_1_2=(q22 + k22 * q21) / 2, S2_2_2=k22 * q22)  # sym((1, k22)^T (q21, q22))
    q = lambda v: flint.fmpq(v.numerator, v.denominator)  # noqa: E731
    assert [y(*[q(s[n]) for n in names]) for y in ys] == [y(*[q(g[n]) for n in gnames]) for y in gys]
    assert full_rank_parametrization(names, ys)[2] == 8
    assert max(y.total_degree() for y in ys) == 8 < max(y.total_degree() for y in gys) == 9
    th0 = [flint.fmpq(v) for v in (2, -3, 5, 1, -2, 3, 7, -1)]
    fib = msolve.solve([y - y(*th0) for y in ys if not y.is_zero()], names, timeout=120)
    assert (fib.kind, fib.distinct) == ("finite", 1)
