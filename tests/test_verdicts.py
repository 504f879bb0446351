"""Registry kinds and honest verdicts: counterexample vs outside the range vs a broken check."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from neurovar.catalog import store
from neurovar.catalog.conjectures import REGISTRY, Conjecture, Outcome, evaluate
from neurovar.pipeline.grid import load_grid
from neurovar.pipeline.runner import run_cells

ROOT = Path(__file__).resolve().parents[1]


def test_kinds_need_their_evidence():
    with pytest.raises(ValueError, match="citation"):
        Conjecture(name="t", statement="s", source=" ", computation="dimension", kind="theorem", check=lambda r: None)
    with pytest.raises(ValueError, match="proof sketch"):
        Conjecture(name="d", statement="s", source="ours", computation="dimension", kind="derived",
                   check=lambda r: None)
    # our own bound from Prop. 16 is registered as derived, with its proof sketch
    mono = REGISTRY["identifiability-monomial"]
    assert mono.kind == "derived" and "Prop. 16" in mono.proof
    assert REGISTRY["alexander-hirschowitz"].kind == "theorem" and "Alexander" in REGISTRY["alexander-hirschowitz"].source


def test_a_check_that_raises_is_broken_not_not_applicable():
    def check(row):
        return Outcome(int(row["dimension"]) == 3, "3", str(row["dimension"]))

    c = Conjecture(name="needs-dimension", statement="s", source="a citation", computation="dimension",
                   kind="theorem", check=check)
    df = pd.DataFrame([{"status": "ok", "computation": "dimension", "dimension": 3, "cell_key": "a"},
                       {"status": "ok", "computation": "dimension", "dimension": None, "cell_key": "b"}])
    v = evaluate(c, df)
    assert v.counts == {"supports": 1, "violates": 0, "outside": 0, "not_applicable": 0, "broken": 1}
    assert v.status == "broken" and v.broken["_reason"].iloc[0].startswith("the check raised ValueError: cannot convert float NaN")


def test_neurovar_check_exits_1_on_a_broken_check(tmp_path):
    from neurovar.pipeline.cells import make_cell, run_cell

    store.write_records([run_cell(make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]}))], "dimension",
                        tmp_path)
    script = (
        "import sys\n"
        "from neurovar.catalog.conjectures import Conjecture, register\n"
        "register(Conjecture(name='broken-one', statement='s', source='a citation', computation='dimension',\n"
        "                    kind='theorem', check=lambda row: row['no_such_column']))\n"
        "from neurovar.flows.cli import main\n"
        f"main(['check', '--results', {str(tmp_path)!r}, '--name', 'broken-one'])\n")
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 1, p.stdout + p.stderr
    out = " ".join(p.stdout.split())
    assert "broken check on cell" in out and "KeyError" in out and "not applicable" not in out


@pytest.fixture(scope="module")
def shipped_generic_fibers(tmp_path_factory):
    """The shipped identifiability grid's cells with a generic activation and no bias, computed."""
    spec = load_grid(ROOT / "grids" / "fiber_identifiability.yaml")
    cells = [c for c in spec.cells() if c.model["activation"].startswith("generic:") and not c.model["bias"]]
    root = tmp_path_factory.mktemp("fibers")
    store.write_records(run_cells(cells), "fiber", root)
    return root


def test_identifiability_generic_at_r2_is_outside_the_range_not_a_counterexample(cli, shipped_generic_fibers):
    df = store.load("fiber", shipped_generic_fibers)
    v = evaluate(REGISTRY["identifiability-generic"], df)
    outside = {tuple(w) for w in v.outside["widths"]}
    # the quadratic cells without bias where 2 <= d_1 <= d_0 and d_2 = 1: positive-dimensional fibers are forced
    assert outside == {(2, 2, 1), (3, 2, 1), (2, 2, 1, 1)}
    assert v.outside["positive_dimensional"].all() and (v.outside["r"] == 2).all()
    assert len(v.violates) == 0 and v.status != "counterexample"
    # above r = 2 every applicable cell shows only the d_1! permutations
    assert len(v.supports) >= 10 and (v.supports["r"] > 2).all()
    assert (v.supports["fiber_points"] == v.supports["expected_fiber_points"]).all()
    p = cli("check", "--results", shipped_generic_fibers, "--name", "identifiability-generic")
    assert p.returncode == 0, p.stdout + p.stderr
    out = " ".join(p.stdout.split())
    assert "counterexample" not in out.replace("not counterexamples", "")
    assert "outside the statement's range" in out and "the threshold lies above 2" in out
