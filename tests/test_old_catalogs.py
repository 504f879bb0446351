"""Old catalogs load: rows written by earlier releases show as stale where their fingerprint differs,
never as an error (the rule is in docs/provenance.md)."""

import json
import re
import shutil
from pathlib import Path

import pytest

from neurovar.catalog import store
from neurovar.pipeline.cells import make_cell, run_cell

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "catalog-v0.1"


def test_old_catalogs_without_fingerprints_load_as_stale(tmp_path):
    rec = run_cell(make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]}))
    old = {k: v for k, v in rec.items() if k not in ("code_fingerprint", "git_revision")}
    old["cell_key"] = "written-by-0.1.0"
    store.write_records([old], "dimension", tmp_path)
    # strip the new columns from the file, as a catalog written before them
    f = store.part_files("dimension", tmp_path)[0]
    import pyarrow.parquet as pq

    t = pq.read_table(f)
    pq.write_table(t.drop_columns(["code_fingerprint", "git_revision"]), f)
    assert "code_fingerprint" not in pq.read_schema(f).names
    assert len(store.load("dimension", tmp_path)) == 0
    assert store.load("dimension", tmp_path).attrs["ignored"] == {
        "stale: written before code fingerprints were recorded": 1}
    allv = store.load("dimension", tmp_path, all_versions=True)
    assert len(allv) == 1 and allv["dimension"].iloc[0] == 3
    (cell,) = store.stale_cells("dimension", tmp_path)
    assert cell.key == rec["cell_key"]  # rebuilt from cell_spec: the current code's key



def test_the_catalog_written_by_0_1_loads_with_its_rows_stale_never_an_error(tmp_path, cli):
    results = tmp_path / "results"
    shutil.copytree(FIXTURE / "results", results)
    from neurovar.pipeline.compute import computations

    assert set(store.present_computations(results)) == set(computations())  # every computation is in it
    for comp in computations():
        allv = store.load(comp, results, all_versions=True)
        assert len(allv) >= 1 and set(allv["status"]) == {"ok"}
        cur = store.load(comp, results)
        # 0.1 hashed the bytes of a wider closure: no row carries today's fingerprint, all are stale
        assert len(cur) == 0 and sum(cur.attrs["ignored"].values()) == len(allv)
        assert len(store.stale(comp, results)) == len(allv)
        # and each is rebuilt as a cell of today's code (its cell_spec), ready to recompute
        assert len(store.stale_cells(comp, results)) == len(allv)
    dim = store.load("dimension", results, all_versions=True)
    # 0.1's values are the mathematics: (2,2,1) and (2,3,1) with x^2 fill the 3 quadratic forms in 2
    # variables; with x^3, 2 neurons give 4 = 2 * 2 of the 4 cubics (Alexander-Hirschowitz)
    got = {(tuple(w), a): d for w, a, d in zip(dim["widths"], dim["activation"], dim["dimension"])}
    assert got == {((2, 2, 1), "x^2"): 3, ((2, 2, 1), "x^3"): 4, ((2, 3, 1), "x^2"): 3, ((2, 3, 1), "x^3"): 4}
    assert set(store.load_runs(results)["status"]) == {"ok"}
    for args in (("catalog", "ls"), ("catalog", "stale"), ("check",), ("catalog", "runs")):
        p = cli(*args, "--results", results)
        assert p.returncode == 0 and "Traceback" not in p.stdout + p.stderr, (args, p.stdout + p.stderr)
    # a plain run plans the 4 cells again (today's keys differ), stale rows are not "done"
    p = cli("run", FIXTURE / "grids" / "dimension.yaml", "--results", results, "--dry-run")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "4 cells, 0 already in" in " ".join(p.stdout.split()) and "4 to run" in " ".join(p.stdout.split())
    p = cli("catalog", "stale", "--results", results, "--json")
    assert {c: len(k) for c, k in json.loads(p.stdout).items()} == {
        "bias": 1, "dimension": 4, "edd": 2, "fiber": 2, "independence": 2, "independence-threshold": 2,
        "singularities": 1}


@pytest.mark.slow
def test_recompute_stale_on_the_0_1_catalog_finds_the_same_values(tmp_path, cli):
    results = tmp_path / "results"
    shutil.copytree(FIXTURE / "results", results)
    p = cli("run", FIXTURE / "grids" / "edd.yaml", "--results", results, "--workers", "1", "--recompute-stale")
    assert p.returncode == 0, p.stdout + p.stderr
    # EDD of the (2,1,1) x^d network with Bombieri weights is d (2 and 3): 0.1 and today agree. The
    # real points of the cubic's cell are now decided by Krawczyk boxes rather than msolve over Q, which
    # its method_used says: the only column the change table may name.
    out = " ".join(p.stdout.split())
    assert "2 stale rows recomputed:" in out
    changed = re.findall(r"\]: (\w+) \S+ -> ", out)
    assert set(changed) <= {"method_used"}, out
    assert list(store.load("edd", results).sort_values("activation")["edd"]) == [2, 3]
