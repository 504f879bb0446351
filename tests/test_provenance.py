"""Code fingerprints: rows computed by other code are stale, reruns recompute them."""

import json
import os
import shutil
import subprocess

import pyarrow.dataset as ds
import pytest

from neurovar.catalog import store
from neurovar.pipeline import provenance
from neurovar.pipeline.cells import base_record, make_cell, run_cell
from tests.conftest import neurovar_cmd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_fingerprint_covers_the_imports_of_a_computation_and_nothing_else():
    files = provenance.source_files("dimension")
    # the computation, what it imports (fields, models) and the record builder
    for f in ("compute/dimension.py", "algebra/field.py", "models/mlp.py", "models/base.py", "cells.py"):
        assert f in files
    # other computations' modules are not imported by dimension
    assert "compute/edd.py" not in files and "compute/fiber.py" not in files
    assert "compute/edd.py" in provenance.source_files("edd")
    rec = run_cell(make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]}))
    assert rec["code_fingerprint"] == provenance.code_fingerprint("dimension")
    assert rec["git_revision"] == provenance.git_revision()


def test_file_inputs_are_keyed_by_content(tmp_path):
    f = tmp_path / "Q.txt"
    f.write_text("1 0\n0 1\n")
    spec = {"equations": "x^2 + y^2 - 1", "weights": f"file:{f}"}
    cell = make_cell("edd", None, spec)
    k1 = cell.key
    f.write_text("4 0\n0 1\n")  # same path, other matrix: another cell
    k2 = make_cell("edd", None, spec).key
    assert cell.key == k1  # a cell's key is computed once, when it is planned
    assert base_record(cell)["cell_key"] == k2  # its row is keyed by the content the run read
    f.write_text("1 0\n0 1\n")
    assert k1 != k2 and make_cell("edd", None, spec).key == k1


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


def _copy_tree(dst):
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(".git", "results", "__pycache__", ".pytest_cache",
                                                             "*.egg-info", ".venv", "report"))


def _cli(tree, *args):
    env = {**os.environ, "PYTHONPATH": str(tree)}
    p = subprocess.run(neurovar_cmd() + [str(a) for a in args], capture_output=True, text=True, cwd=tree, env=env,
                       timeout=900)
    return p


def _rows(results):
    return ds.dataset(str(results / "dimension"), format="parquet").to_table().to_pandas()


@pytest.mark.slow
def test_editing_mlp_makes_rows_stale_and_run_recomputes_them(tmp_path):
    tree = tmp_path / "tree"
    _copy_tree(tree)
    which = _cli(tree, "compute", "dimension", "--model", "linear", "--widths", "2,1,2", "--json")
    assert which.returncode == 0, which.stderr
    grid = tmp_path / "g.yaml"
    grid.write_text("name: g\ncomputations: [dimension]\nmodel: mlp\naxes:\n"
                    "  widths: [[3, 2, 2, 1], [2, 2, 1]]\n  activation: ['x^2', 'x^3']\n")
    results = tmp_path / "results"
    p = _cli(tree, "run", grid, "--results", results, "--workers", "1", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1])["computed"] == 4
    before = _rows(results).set_index("cell_key")
    assert json.loads(_cli(tree, "catalog", "stale", "--results", results, "--json").stdout) == {"dimension": []}

    # editing an unrelated module (the plots) makes nothing stale
    plots = tree / "catalog" / "plots.py"
    plots.write_text(plots.read_text() + "\n# an edit of the plots\n")
    assert json.loads(_cli(tree, "catalog", "stale", "--results", results, "--json").stdout) == {"dimension": []}

    # edit a formula the dimension rows depend on: expected_dimension in models/mlp.py
    mlp = tree / "pipeline" / "models" / "mlp.py"
    src = mlp.read_text()
    old = "return min(self.num_params - self.symmetry_dimension, self.ambient_dimension)"
    assert src.count(old) == 1
    mlp.write_text(src.replace(old, "return min(self.num_params - self.symmetry_dimension + 1, self.ambient_dimension)"))
    stale = json.loads(_cli(tree, "catalog", "stale", "--results", results, "--json").stdout)
    assert sorted(stale["dimension"]) == sorted(before.index)
    chk = _cli(tree, "check", "--results", results)
    assert "dimension: ignored 4 row(s), stale: computed by other code" in " ".join(chk.stdout.split())

    # a plain run recomputes them (their cells have new keys) ...
    p = _cli(tree, "run", grid, "--results", results, "--workers", "1", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1])["computed"] == 4
    assert json.loads(_cli(tree, "catalog", "stale", "--results", results, "--json").stdout) == {"dimension": []}
    rows = _rows(results)
    new = rows[~rows["cell_key"].isin(before.index)].copy()
    assert len(rows) == 8 and len(new) == 4 and new["code_fingerprint"].nunique() == 1
    assert set(new["code_fingerprint"]) != set(before["code_fingerprint"])
    # ... with the edited formula: expected dimension one higher wherever it was below dim V
    new["w"] = new["widths"].map(tuple)
    old_rows = {(tuple(r["widths"]), r["activation"]): r for _, r in before.iterrows()}
    for _, r in new.iterrows():
        o = old_rows[(r["w"], r["activation"])]
        want = min(o["expected_dimension"] + 1, o["ambient_dimension"])
        assert r["expected_dimension"] == want and r["dimension"] == o["dimension"]
    # (3, 2, 2, 1) with x^2: 3*2 + 2*2 + 2*1 = 12 params, 2 + 2 hidden scalings: 8, now 9 < dim V = 15
    assert int(new[(new["w"] == (3, 2, 2, 1)) & new["activation"].eq("x^2")]["expected_dimension"].iloc[0]) == 9

    # --recompute-stale: after another edit, a one-cell grid also recomputes the catalog's other stale rows
    mlp.write_text(mlp.read_text() + "\n# a second edit\n")
    one = tmp_path / "one.yaml"
    one.write_text("name: one\ncomputations: [dimension]\nmodel: mlp\naxes:\n  widths: [[2, 2, 1]]\n"
                   "  activation: ['x^2']\n")
    p = _cli(tree, "run", one, "--results", results, "--workers", "1", "--recompute-stale", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1])["computed"] == 4
    assert json.loads(_cli(tree, "catalog", "stale", "--results", results, "--json").stdout) == {"dimension": []}


def test_report_and_check_say_how_many_rows_they_left_out(tmp_path, cli):
    from neurovar.catalog.conjectures import check_catalog
    from neurovar.catalog.report import write_report

    cur = run_cell(make_cell("dimension", {"model": "mlp", "widths": [3, 2, 1], "activation": "x^2"}))
    old = {**run_cell(make_cell("dimension", {"model": "mlp", "widths": [3, 3, 1], "activation": "x^2"})),
           "code_fingerprint": "feedfacefeedface", "cell_key": "old-key"}
    store.write_records([cur, old], "dimension", tmp_path)
    why = "stale: computed by other code (fingerprint feedfacefeedface)"
    ah = {v.conjecture.name: v for v in check_catalog(tmp_path)}["alexander-hirschowitz"]
    assert ah.counts["supports"] == 1 and ah.ignored == {why: 1}
    assert {v.conjecture.name: v for v in check_catalog(tmp_path, all_versions=True)}[
        "alexander-hirschowitz"].counts["supports"] == 2
    rep = write_report(tmp_path, tmp_path / "rep")
    md = rep.path.read_text()
    assert f"- `dimension`: 1 rows, {why}" in md and rep.ignored == {"dimension": {why: 1}}
    p = cli("report", "--results", tmp_path, "--out", tmp_path / "rep2")
    assert p.returncode == 0 and f"dimension: ignored 1 row(s), {why}" in " ".join(p.stdout.split())
    p = cli("catalog", "ls", "--results", tmp_path)
    assert p.returncode == 0
    (line,) = [ln for ln in p.stdout.splitlines() if "dimension" in ln]
    # computation, rows, ok, timeout, error, stale, files: the current row counted, the stale one apart
    assert [c.strip() for c in line.split("│")[1:-1]] == ["dimension", "1", "1", "0", "0", "1", "1"]


def test_packages_that_discover_their_modules_depend_on_all_of_them(tmp_path, monkeypatch):
    """A models package found by pkgutil at run time: every model enters the fingerprint; the
    computations registry (compute/) does not make one computation depend on another."""
    root = tmp_path / "pipeline"
    discover = "import pkgutil\nfor info in pkgutil.iter_modules(__path__):\n    pass\n"
    files = {"__init__.py": "", "cells.py": "from .models import build\n",
             "models/__init__.py": discover + "def build():\n    pass\n", "models/mlp.py": "X = 1\n",
             "models/cnn.py": "from ..algebra import field\n", "algebra/__init__.py": "", "algebra/field.py": "",
             "compute/__init__.py": discover, "compute/dimension.py": "from . import Computation\n",
             "compute/edd.py": "from ..algebra.field import F\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.setattr(provenance, "PIPELINE_DIR", root)
    got = {p.relative_to(root).as_posix() for p in provenance._closure(root / "compute" / "dimension.py")}
    assert got == {"__init__.py", "compute/__init__.py", "compute/dimension.py"}
    got = {p.relative_to(root).as_posix() for p in provenance._closure(root / "cells.py")}
    assert got == {"__init__.py", "cells.py", "models/__init__.py", "models/mlp.py", "models/cnn.py",
                   "algebra/__init__.py", "algebra/field.py"}


def test_import_cache_gives_the_same_fingerprints_cold_warm_and_corrupt(tmp_path):
    # the import statements are cached by content hash; the fingerprint may not depend on the cache
    code = ("from neurovar.pipeline import provenance as p; "
            "print(p.code_fingerprint('edd'), p.code_fingerprint('dimension'), len(p.source_files('fiber')))")
    env = dict(os.environ, NEUROVAR_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=ROOT)

    def run():
        out = subprocess.run([os.sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    cold = run()
    cache = tmp_path / "cache" / provenance.IMPORT_CACHE
    assert cache.is_file() and len(json.loads(cache.read_text())) >= int(cold[2])
    assert run() == cold  # warm
    cache.write_text("{not json")
    assert run() == cold  # a corrupt cache is ignored (and rewritten)
    assert cold[0] == provenance.code_fingerprint("edd")
