"""Thresholds, derived columns and rerun commands on catalogs of real cells.

Expected thresholds come from the Alexander--Hirschowitz theorem: (n, k, 1) with
x^d fills C[x]_d from k = ceil(binom(n+d-1, d) / n), one neuron later at the
exceptional cases.
"""

from __future__ import annotations

import json
from math import ceil, comb

import pytest

from neurovar.catalog import store
from neurovar.catalog.analysis import derive, edd_equals, rerun_command, thresholds
from neurovar.catalog.conjectures import ah_exceptional
from neurovar.pipeline.cells import make_cell, run_cell
from neurovar.pipeline.grid import load_grid


@pytest.fixture(scope="module")
def ah(tmp_path_factory):
    root = tmp_path_factory.mktemp("ah")
    store.write_records([run_cell(c) for c in load_grid("grids/alexander_hirschowitz.yaml").cells()], "dimension", root)
    return derive(store.load("dimension", root))


def test_derived_columns(ah):
    row = ah[ah["widths"].map(lambda w: w == [5, 14, 1]) & ah["activation"].eq("x^4")].iloc[0]
    assert (row["r"], row["input_dim"], row["hidden"], row["depth"], row["activation_kind"]) == (4, 5, 14, 2, "monomial")


def test_filling_threshold_along_hidden_width_is_the_ah_count(ah):
    t = thresholds(ah, along="hidden", by=["input_dim", "r"], predicate="filling")
    assert len(t) == 16
    for row in t.itertuples():
        n, d = row.input_dim, row.r
        k = ceil(comb(n + d - 1, d) / n)
        if d == 2:
            k = n  # kn - binom(k, 2) reaches binom(n+1, 2) at k = n
        elif ah_exceptional(n, k, d):
            k += 1  # (3,5,4), (4,9,4), (5,14,4), (5,7,3): one neuron short of filling
        if k > 15:  # beyond the grid's widths: never fills there
            assert str(row.threshold) == "<NA>" and row.holds == [], (n, d)
        else:
            assert row.threshold == k, (n, d)
        assert row.monotone


def test_non_defective_threshold_flags_the_non_monotone_groups(ah):
    t = thresholds(ah, along="r", by=["input_dim", "hidden"], predicate="non_defective")
    bad = {(r.input_dim, r.hidden): (r.threshold, r.holds) for r in t.itertuples() if not r.monotone}
    # non-defective at d = 2, defective at the sporadic d, non-defective above
    assert bad == {(3, 5): (5, [2, 3, 5]), (4, 9): (5, [2, 3, 5]), (5, 14): (5, [2, 3, 5]), (5, 7): (4, [2, 4, 5])}
    quad = t[(t["input_dim"] == 5) & (t["hidden"] == 3)].iloc[0]
    assert (quad["threshold"], quad["monotone"]) == (3, True)  # only d = 2 is defective (2 <= k <= n-1)


def test_threshold_missing_when_the_predicate_fails_at_the_largest_value(ah):
    sub = ah[(ah["input_dim"] == 3) & (ah["r"] == 5)]
    t = thresholds(sub, along="hidden", by=["input_dim"], predicate="filling")
    assert t.iloc[0]["threshold"] == 7  # binom(7, 5) = 21 = 3 * 7
    t2 = thresholds(sub[sub["hidden"] <= 6], along="hidden", by=["input_dim"], predicate="filling")
    assert str(t2.iloc[0]["threshold"]) == "<NA>"
    assert bool(t2.iloc[0]["monotone"]) and t2.iloc[0]["holds"] == []


def test_thresholds_reject_unknown_columns(ah):
    with pytest.raises(KeyError, match="derive"):
        thresholds(ah, along="q", by=["hidden"])
    with pytest.raises(ValueError, match="predicate"):
        thresholds(ah, along="r", by=["hidden"], predicate="smooth")


def test_edd_equals_on_a_real_cell():
    rec = run_cell(make_cell("edd", None, {"equations": "x^2 + y^2 - 1", "weights": "diag:4,1"}))
    import pandas as pd

    df = pd.DataFrame([rec])
    assert edd_equals(4)(df).tolist() == [True]  # the ellipse-weighted circle: EDD 4 (talk)
    assert edd_equals(2)(df).tolist() == [False]


def test_rerun_command_reproduces_the_cell(ah, cli):
    row = ah[ah["widths"].map(lambda w: w == [5, 7, 1]) & ah["activation"].eq("x^3")].iloc[0].to_dict()
    cmd = rerun_command(row)
    import shlex

    args = shlex.split(cmd)
    assert args[:3] == ["neurovar", "compute", "dimension"]
    res = cli(*args[1:], "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["cell_key"] == row["cell_key"]
    assert out["dimension"] == 34  # (5, 7, 1) with x^3: defect 1 (Alexander-Hirschowitz)
