"""The conjecture registry on catalogs built by running real cells.

Expected values are the theorems' own formulas (Alexander--Hirschowitz's
exceptional list, the rank-variety dimension q(d0+dL-q), Prop. 16's bound
6(k-1)^2-6(k-1)+1, the talk's ED degree tables), never numbers taken from the
computation under test. Violations are produced by changing one value of a
real row in a copy of the catalog.
"""

from __future__ import annotations

import shutil
from math import comb

import pandas as pd
import pytest

from neurovar.catalog import store
from neurovar.catalog.analysis import defect_table, rerun_command
from neurovar.catalog.conjectures import (AH_SPORADIC, ATTENTION_HYPERSURFACE, REGISTRY, ah_dimension, ah_exceptional,
                                 check_catalog, evaluate, prop16_bound)
from neurovar.pipeline.cells import make_cell, run_cell
from neurovar.pipeline.compute import computations
from neurovar.pipeline.grid import load_grid

AH_GRID = "grids/alexander_hirschowitz.yaml"


def _write(root, computation, cells):
    recs = [run_cell(c) for c in cells]
    assert all(r["status"] == "ok" for r in recs), [r["error"] for r in recs if r["status"] != "ok"]
    store.write_records(recs, computation, root)
    return recs


def _mlp(widths, activation, **kw):
    return {"model": "mlp", "widths": list(widths), "activation": activation, **kw}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalog")
    _write(root, "dimension", load_grid(AH_GRID).cells())
    _write(root, "dimension", [
        make_cell("dimension", {"model": "linear", "widths": w}) for w in ([2, 1, 2], [3, 2, 4], [4, 2, 3, 5])
    ] + [make_cell("dimension", {"model": "linear", "widths": [3, 2, 4], "bias": True})] + [
        make_cell("dimension", _mlp(w, a)) for w, a in (([2, 2, 2, 1], "x^3"), ([3, 3, 3, 1], "x^3"),
                                                       ([3, 3, 3, 1], "x^2"), ([2, 1, 2, 1], "x^3"))
    ])
    pythag = "x^2 - y^2; 2*x*y; x^2 + y^2"
    _write(root, "independence", [
        make_cell("independence", None, {"polys": pythag, "activation": a}) for a in ("x^2", "x^14", "generic:14")
    ])
    _write(root, "independence-threshold", [
        make_cell("independence-threshold", None, {"polys": "x; y", "max_r": 4, "activation_kind": kind})
        for kind in ("monomial", "generic")
    ])
    _write(root, "edd", [
        make_cell("edd", None, {"equations": ATTENTION_HYPERSURFACE, "weights": w}) for w in ("generic", "psd:2")
    ])
    return root


def _inject(src, dst, computation, match, **changes):
    """Copy the catalog and rewrite one real row with ``changes`` (same cell key: the newer write wins)."""
    shutil.copytree(src, dst)
    df = store.load(computation, dst)
    hit = df[df.apply(match, axis=1)]
    assert len(hit) == 1
    rec = {k: (None if not isinstance(v, (list, dict)) and pd.isna(v) else v) for k, v in hit.iloc[0].to_dict().items()}
    rec.update(changes)
    store.write_records([rec], computation, dst)
    return rec["cell_key"]


def test_alexander_hirschowitz_supported_on_every_cell(catalog):
    df = store.load("dimension", catalog)
    v = evaluate(REGISTRY["alexander-hirschowitz"], df)
    shallow = df["widths"].map(lambda w: len(w) == 3 and w[-1] == 1) & df["model"].eq("mlp")
    assert v.counts == {"supports": 240, "violates": 0, "outside": 0, "not_applicable": len(df) - 240, "broken": 0}
    assert int(shallow.sum()) == 240


def test_defective_cells_of_the_ah_grid_are_exactly_the_exceptions(catalog):
    df = store.load("dimension", catalog)
    grid = df[df["widths"].map(lambda w: len(w) == 3 and w[-1] == 1) & df["model"].eq("mlp")]
    found = {(int(n), int(k), int(d)) for n, k, d in defect_table(grid)[["n", "k", "d"]].itertuples(index=False)}
    # the theorem's list, restricted to the grid n = 2..5, k = 1..15, d = 2..5
    expected = {(n, k, 2) for n in range(2, 6) for k in range(2, n)} | {(n, k, d) for n, d, k in AH_SPORADIC}
    assert found == expected
    assert len(expected) == 10
    # and the dimensions are the theorem's: (5, 3, 1) with x^2 is kn - binom(k, 2) = 12, defect 3
    row = grid[grid["widths"].map(lambda w: w == [5, 3, 1]) & grid["activation"].eq("x^2")].iloc[0]
    assert (row["dimension"], row["defect"]) == (15 - comb(3, 2), 3)


def test_a_wrong_dimension_is_reported_as_a_probable_bug_with_its_key(catalog, tmp_path, cli):
    bad = tmp_path / "bad"
    key = _inject(catalog, bad, "dimension",
                  lambda r: r["widths"] == [3, 4, 1] and r["activation"] == "x^4", dimension=11)
    v = evaluate(REGISTRY["alexander-hirschowitz"], store.load("dimension", bad))
    assert list(v.violates["cell_key"]) == [key]
    (item,) = v.violations()
    assert item["expected"] == f"dim {ah_dimension(3, 4, 4)}" == "dim 12" and item["observed"] == "dim 11"
    assert "probable bug" in item["meaning"]
    assert item["rerun"].startswith("neurovar compute dimension --model mlp --widths 3,4,1")
    res = cli("check", "--results", bad)
    assert res.returncode == 1, res.stdout + res.stderr
    assert key in res.stdout and "probable bug" in res.stdout
    clean = cli("check", "--results", catalog)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert cli("check", "--results", tmp_path / "missing").returncode == 2


def test_linear_rank_variety(catalog):
    v = evaluate(REGISTRY["linear-rank-variety"], store.load("dimension", catalog))
    got = {(tuple(r["widths"]), bool(r["bias"])): r["dimension"] for _, r in v.supports.iterrows()}
    # q (d0 + dL - q), plus dL with bias
    assert got == {((2, 1, 2), False): 3, ((3, 2, 4), False): 2 * 5, ((4, 2, 3, 5), False): 2 * 7,
                   ((3, 2, 4), True): 10 + 4}
    assert len(v.violates) == 0


def test_ktb_expected_dimension_applies_to_deep_cubic_networks_only(catalog, tmp_path):
    c = REGISTRY["ktb-expected-dimension"]
    v = evaluate(c, store.load("dimension", catalog))
    supported = {(tuple(r["widths"]), r["activation"]) for _, r in v.supports.iterrows()}
    assert supported == {((2, 2, 2, 1), "x^3"), ((3, 3, 3, 1), "x^3")}
    na = {(tuple(r["widths"]), r["activation"]): r["_reason"] for _, r in v.not_applicable.iterrows()}
    assert na[((3, 3, 3, 1), "x^2")].startswith("r = 2")
    assert "bottleneck" in na[((2, 1, 2, 1), "x^3")]
    assert na[((3, 5, 1), "x^4")].startswith("depth <= 2")
    # (3, 3, 3, 1), x^3: 1 + 2*3 + 2*3 + 2*1 = 15 parameters modulo scalings, dim V = binom(3 + 9 - 1, 9) = 55
    row = v.supports[v.supports["widths"].map(lambda w: w == [3, 3, 3, 1])].iloc[0]
    assert row["dimension"] == 15
    # a conjecture violated is a candidate counterexample, with the command that reproduces the cell
    bad = tmp_path / "bad"
    key = _inject(catalog, bad, "dimension", lambda r: r["widths"] == [3, 3, 3, 1] and r["activation"] == "x^3",
                  dimension=14)
    (item,) = evaluate(c, store.load("dimension", bad)).violations()
    assert item["cell_key"] == key and item["meaning"] == "candidate counterexample"
    assert item["rerun"] == rerun_command(store.load("dimension", catalog).set_index("cell_key").loc[key]
                                          .to_dict() | {"cell_key": key})


def test_prop16_and_its_generic_form(catalog, tmp_path):
    df = store.load("independence", catalog)
    assert prop16_bound(3) == 13
    v = evaluate(REGISTRY["prop16"], df)
    # x^2 gives the Pythagorean dependence (x^2-y^2)^2 + (2xy)^2 = (x^2+y^2)^2, but r = 2 <= 13: not applicable
    assert list(v.supports["activation"]) == ["x^14"] and len(v.violates) == 0
    assert v.not_applicable.set_index("activation").loc["x^2", "_reason"] == "r = 2 <= 13"
    g = evaluate(REGISTRY["prop16-generic"], df)
    assert list(g.supports["activation"]) == ["generic:14"]
    # a dependence above the bound: a theorem -> probable bug; the generic conjecture -> counterexample + certificate
    dep = df[df["activation"] == "x^2"].iloc[0]
    assert dep["certificate"] == ["1", "1", "-1"]
    bad = tmp_path / "bad"
    key = _inject(catalog, bad, "independence", lambda r: r["activation"] == "generic:14", independent=False,
                  rank=2, certificate=dep["certificate"])
    (item,) = evaluate(REGISTRY["prop16-generic"], store.load("independence", bad)).violations()
    assert item["cell_key"] == key and item["certificate"] == ["1", "1", "-1"]
    assert item["meaning"] == "candidate counterexample"
    t = evaluate(REGISTRY["prop16-threshold"], store.load("independence-threshold", catalog))
    assert len(t.supports) == 1 and t.supports.iloc[0]["bound"] == prop16_bound(2) == 1


def test_check_catalog_orders_and_counts(catalog):
    verdicts = {v.conjecture.name: v for v in check_catalog(catalog)}
    assert verdicts["alexander-hirschowitz"].status == "supported"
    assert verdicts["prop16-generic-threshold"].counts["supports"] == 1
    assert all(v.conjecture.kind in ("theorem", "derived", "conjecture") for v in verdicts.values())


def test_attention_ed_degree_tables(catalog, tmp_path):
    df = store.load("edd", catalog)
    g = evaluate(REGISTRY["edd-attention-generic"], df)
    assert list(g.supports["weights"]) == ["generic"]
    p = evaluate(REGISTRY["edd-attention-psd"], df)
    # the talk: k = 2 gives "4 points + a curve"
    (row,) = p.supports.to_dict("records")
    assert row["weights"] == "psd:2" and row["edd"] == 4
    assert [part["dimension"] for part in row["positive_dimensional"]] == [1]
    bad = tmp_path / "bad"
    key = _inject(catalog, bad, "edd", lambda r: r["weights"] == "generic", edd=13)
    v = evaluate(REGISTRY["edd-attention-generic"], store.load("edd", bad))
    assert list(v.violates["cell_key"]) == [key] and v.status == "violated"


def test_ah_formula_matches_the_statement():
    # the four sporadic cases are one below the generic count; d = 2 is kn - binom(k, 2) for 2 <= k <= n-1
    for n, d, k in AH_SPORADIC:
        assert ah_dimension(n, k, d) == min(k * n, comb(n + d - 1, d)) - 1
    assert ah_dimension(6, 4, 2) == 24 - 6 and not ah_exceptional(6, 6, 2)


@pytest.mark.skipif("fiber" not in computations(), reason="the fiber computation is not installed in this tree")
def test_identifiability_entries_on_real_fibers(tmp_path):
    _write(tmp_path, "fiber", [make_cell("fiber", _mlp(w, a)) for w, a in
                              (([2, 2, 1], "x^38"), ([2, 2, 1], "x^3"), ([2, 2, 1], "generic:3"))])
    df = store.load("fiber", tmp_path)
    mono = evaluate(REGISTRY["identifiability-monomial"], df)
    # r = 38 > 6*3^2 - 6*3 + 1 = 37 (Prop. 16 with 2 * 2 summands): 2! permutations, scalings fixed by the gauge
    assert list(mono.supports["activation"]) == ["x^38"]
    assert mono.supports.iloc[0]["fiber_points"] == 2
    assert mono.not_applicable.set_index("activation").loc["x^3", "_reason"].startswith("r = 3 <= 37")
    gen = evaluate(REGISTRY["identifiability-generic"], df)
    assert list(gen.supports["activation"]) == ["generic:3"]
