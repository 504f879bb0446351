"""``neurovar verify``: recompute catalog rows with another seed and prime, on a real Dask cluster."""

import json
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from neurovar.catalog import store
from neurovar.flows.verify import compare, compared_outputs, verification_cell
from neurovar.pipeline.cells import make_cell, run_cell

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_verification_cell_changes_seed_and_prime_and_keeps_the_question():
    row = run_cell(make_cell("dimension", {"model": "mlp", "widths": [3, 5, 1], "activation": "x^4"}))
    cell = verification_cell(row)
    assert cell.seed == row["seed"] + 7919
    assert (row["prime"], cell.params["prime"]) == (2**61 - 1, 2**31 - 1)
    assert cell.model == json.loads(row["cell_spec"])["model"]
    rec = run_cell(cell)
    # (3, 5, 1) with x^4 is an Alexander-Hirschowitz exception: 14, not min(15, 15), at either prime
    assert rec["dimension"] == row["dimension"] == 14 and rec["prime_used"] == 2**31 - 1
    assert compare(row, rec)["agree"] is True
    # a random family's seed picks the tuples tested: it is kept
    ind = {"computation": "independence", "cell_spec": json.dumps(
        {"computation": "independence", "model": None, "seed": 3,
         "params": {"family": "random:nvars=2,deg=3,coef=3,count=2,tuples=10", "activation": "x^2"}})}
    assert verification_cell(ind).seed == 3


def test_compare_flags_a_wrong_dimension_and_not_a_missing_count():
    row = run_cell(make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]}))
    assert row["dimension"] == 3  # rank-1 2x2 matrices: q (d0 + dL - q) = 1 * 3
    bad = {**row, "dimension": 4}
    c = compare(bad, run_cell(verification_cell(row)))
    assert c["agree"] is False and c["differences"] == {"dimension": (4, 3)}
    failed = {**row, "status": "timeout", "error": "exceeded timeout_s=1"}
    assert compare(row, failed)["agree"] is None
    assert "dimension" in compared_outputs("dimension") and "float_gap" not in compared_outputs("dimension")


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    import subprocess

    from tests.conftest import neurovar_cmd

    results = tmp_path_factory.mktemp("verify") / "results"
    p = subprocess.run(neurovar_cmd() + ["run", "grids/quickstart.yaml", "--results", str(results), "--workers", "2"],
                       capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    return results


@pytest.mark.slow
def test_verify_sample_20_on_quickstart_agrees(cli, quickstart):
    p = cli("verify", "--results", quickstart, "--sample", "20", "--workers", "2", timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith(("agree ", "DISAGREE ", "inconclusive "))]
    assert len(lines) == 20 and all(ln.startswith("agree ") for ln in lines)
    assert "20 agreements, 0 disagreements, 0 inconclusive" in " ".join(p.stdout.split())
    # each agreement names a row of the catalog, recomputed with seed 0 + 7919 and the other prime
    keys = set(store.load("dimension", quickstart)["cell_key"])
    assert {ln.split()[1] for ln in lines} <= keys
    assert all("seed=7919" in ln and "prime=2147483647" in ln for ln in lines)


def _hand_edit(results, key, column, value):
    for f in store.part_files("dimension", results):
        t = pq.read_table(f)
        df = t.to_pandas()
        if key in set(df["cell_key"]):
            df.loc[df["cell_key"] == key, column] = value
            pq.write_table(pa.Table.from_pandas(df, schema=t.schema, preserve_index=False), f)
            return
    raise AssertionError(f"no row {key}")


@pytest.mark.slow
def test_verify_reports_a_hand_edited_dimension_and_exits_1(cli, quickstart, tmp_path):
    results = tmp_path / "edited"
    shutil.copytree(quickstart, results)
    df = store.load("dimension", results)
    # (3, 5, 1) with x^4: dimension 14 (Alexander-Hirschowitz); write 15 by hand
    (key,) = df[df["widths"].map(lambda w: w == [3, 5, 1]) & df["activation"].eq("x^4")]["cell_key"]
    _hand_edit(results, key, "dimension", 15)
    assert store.load("dimension", results).set_index("cell_key").loc[key, "dimension"] == 15
    p = cli("verify", "--results", results, "--where", f"cell_key={key}", "--workers", "1", timeout=900)
    assert p.returncode == 1, p.stdout + p.stderr
    out = " ".join(p.stdout.split())
    assert f"DISAGREE {key}" in out and "dimension: catalog 15, recomputed 14" in out
    assert "0 agreements, 1 disagreements" in out
    # and among every row of the catalog it is the only disagreement
    p = cli("verify", "--results", results, "--sample", "90", "--workers", "2", timeout=900)
    assert p.returncode == 1
    bad = [ln for ln in p.stdout.splitlines() if ln.startswith("DISAGREE")]
    assert len(bad) == 1 and key in bad[0]
    assert "89 agreements, 1 disagreements" in " ".join(p.stdout.split())


def test_verify_bad_flags_exit_2(cli, tmp_path):
    p = cli("verify", "--results", tmp_path / "none")
    assert p.returncode == 2 and "--results" in p.stderr
    (tmp_path / "c").mkdir()
    p = cli("verify", "--results", tmp_path / "c", "--sample", "0")
    assert p.returncode == 2 and "--sample" in p.stderr
