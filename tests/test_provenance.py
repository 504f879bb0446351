"""Provenance: a row's fingerprint covers exactly the code and the solvers that can change its value.

One test per clause of the rule in :mod:`neurovar.pipeline.provenance`, then the whole catalog
(quickstart + fiber + EDD grids) against three edits of a copy of the source tree, and what
``--recompute-stale`` says an upgrade changed. Old catalogs: ``test_old_catalogs.py``.
"""

import ast
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from neurovar.catalog import store
from neurovar.catalog.rerun import changes_lines, upgrade_changes
from neurovar.pipeline import provenance
from neurovar.pipeline.cells import base_record, make_cell, run_cell
from neurovar.pipeline.grid import load_grid
from tests.conftest import neurovar_cmd

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ clause (1): the computation's closure
def test_a_computation_covers_its_own_closure_and_no_other_computation():
    files = provenance.source_files("dimension", "mlp")
    for f in ("compute/dimension.py", "compute/__init__.py", "algebra/field.py", "errors.py"):
        assert f in files
    assert "compute/edd.py" not in files and "compute/fiber.py" not in files
    edd = provenance.source_files("edd", "mlp")
    assert "compute/edd.py" in edd and "algebra/msolve.py" in edd
    # the record builder copies values and computes none: it does not enter
    assert "cells.py" not in files and "cells.py" not in edd
    rec = run_cell(make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]}))
    assert rec["code_fingerprint"] == provenance.code_fingerprint("dimension", "linear")
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


# ------------------------------------------------------------------ clause (2): the cell's own model
def test_a_cell_covers_its_own_model_module_and_never_the_other_models():
    mlp = provenance.source_files("dimension", "mlp")
    cnn = provenance.source_files("dimension", "cnn")
    assert "models/mlp.py" in mlp and "models/cnn.py" not in mlp and "models/attention.py" not in mlp
    assert "models/cnn.py" in cnn and "models/mlp.py" not in cnn
    # linear is built on the MLP (it imports it): its closure has both
    assert {"models/linear.py", "models/mlp.py"} <= set(provenance.source_files("dimension", "linear"))
    # a computation without a model: no model module at all
    ind = provenance.source_files("independence")
    assert not {"models/mlp.py", "models/cnn.py", "models/linear.py"} & set(ind)
    assert provenance.code_fingerprint("dimension", "mlp") != provenance.code_fingerprint("dimension", "cnn")


def test_run_time_discovery_of_a_package_adds_no_module(tmp_path, monkeypatch):
    """A models package found by pkgutil at run time: only what a module imports enters."""
    root = tmp_path / "pipeline"
    discover = "import pkgutil\nfor info in pkgutil.iter_modules(__path__):\n    pass\n"
    files = {"__init__.py": "", "models/__init__.py": discover + "from .base import Model\n",
             "models/base.py": "class Model:\n    pass\n", "models/mlp.py": "from .base import Model\n",
             "models/cnn.py": "from ..algebra import field\n", "algebra/__init__.py": "", "algebra/field.py": "",
             "compute/__init__.py": discover, "compute/dimension.py": "from ..models.base import Model\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.setattr(provenance, "PIPELINE_DIR", root)
    got, _ = provenance._closure(root / "compute" / "dimension.py")
    assert {p.relative_to(root).as_posix() for p in got} == {
        "__init__.py", "compute/__init__.py", "compute/dimension.py", "models/__init__.py", "models/base.py"}
    got, _ = provenance._closure(root / "models" / "mlp.py")
    assert {p.relative_to(root).as_posix() for p in got} == {"__init__.py", "models/__init__.py", "models/base.py",
                                                             "models/mlp.py"}


# ------------------------------------------------------------------ the syntax tree, not the bytes
def test_docstrings_and_comments_do_not_change_the_hash_a_formula_does():
    src = ('"""Module."""\nX = 1  # one\n\n\nclass A:\n    """Doc."""\n    y: int = 2\n    """The y."""\n\n'
           '    def f(self, n):\n        """Square."""\n        return n * n\n')
    prose = ('"""Another module text."""\n# a comment\nX = 1\nclass A:\n    """Other."""\n    y: int = 2\n'
             '    def f(self, n):\n        return n*n  # the square\n')
    assert provenance.syntax_hash(src) == provenance.syntax_hash(prose)
    assert provenance.syntax_hash(src) != provenance.syntax_hash(src.replace("n * n", "n * n * n"))
    assert provenance.syntax_hash(src) != provenance.syntax_hash(src.replace("X = 1", "X = 2"))
    # a function whose body is only a docstring keeps a body (pass): still hashed, still distinct
    assert provenance.syntax_hash('def g():\n    """Doc."""\n') == provenance.syntax_hash("def g():\n    pass\n")


def test_the_hash_is_the_same_on_python_versions_that_add_empty_fields():
    """3.12 gives every function ``type_params=[]`` and ``ast.dump`` shows it; 3.13 omits empty fields.
    The hash reads neither: a node with an extra empty field hashes as before."""
    src = "def f(x):\n    return x * x\n"
    tree = ast.parse(src)
    fn = tree.body[0]

    class FunctionDef(ast.FunctionDef):  # the 3.12 node: one more field, empty
        _fields = (*ast.FunctionDef._fields, "type_params")

    newer = FunctionDef(**{f: getattr(fn, f) for f in ast.FunctionDef._fields}, type_params=[])
    assert ast.dump(ast.Module(body=[newer], type_ignores=[])) != ast.dump(tree)  # what ast.dump would do
    assert provenance._tree_hash(ast.Module(body=[newer], type_ignores=[])) == provenance.syntax_hash(src)


# ------------------------------------------------------------------ clause (3): solvers the cell used
def test_the_solvers_a_cell_ran_enter_its_fingerprint_and_only_those():
    edd = make_cell("edd", {"model": "mlp", "widths": [2, 1, 1], "activation": "x^2", "bias": False},
                    {"weights": "bombieri", "method": "exact"})
    rec = run_cell(edd)
    assert rec["status"] == "ok" and rec["edd"] == 2  # (2,1,1) x^d with Bombieri weights: d critical points
    used = json.loads(rec["versions"])["solvers"]
    assert list(used) == ["msolve"] and re.fullmatch(r"\d+(\.\d+)+", used["msolve"])
    code = provenance.code_fingerprint("edd", "mlp")
    assert rec["code_fingerprint"] == provenance.row_fingerprint(code, used) != code
    assert rec["code_fingerprint"] in provenance.current_fingerprints("edd", "mlp")
    # a dimension cell runs no external program: its fingerprint is its code alone
    dim = run_cell(make_cell("dimension", {"model": "mlp", "widths": [2, 2, 1], "activation": "x^2"}))
    assert "solvers" not in json.loads(dim["versions"]) and dim["code_fingerprint"] == provenance.code_fingerprint(
        "dimension", "mlp")
    # python-flint is imported by the fields every model uses: its version is in the code part
    assert provenance._parts("dimension", "mlp")[1] is True


def test_a_python_flint_upgrade_changes_the_code_part_of_every_key_that_imports_it(monkeypatch):
    from importlib.metadata import version

    def cell():  # a cell's key is fixed when it is made: make it again under each version
        return make_cell("dimension", {"model": "mlp", "widths": [2, 2, 1], "activation": "x^2"})

    before, key = provenance.code_fingerprint("dimension", "mlp"), cell().key
    assert provenance.solver_version("python-flint") == version("python-flint")
    real = provenance.solver_version
    monkeypatch.setattr(provenance, "solver_version", lambda n: "99.0" if n == "python-flint" else real(n))
    provenance.clear_caches()
    try:
        assert provenance.code_fingerprint("dimension", "mlp") != before and cell().key != key
    finally:
        monkeypatch.undo()
        provenance.clear_caches()
    assert provenance.code_fingerprint("dimension", "mlp") == before and cell().key == key


def test_a_solver_upgrade_makes_exactly_its_rows_stale_and_a_rerun_finds_them(tmp_path, monkeypatch):
    edd = run_cell(make_cell("edd", {"model": "mlp", "widths": [2, 1, 1], "activation": "x^3", "bias": False},
                             {"weights": "bombieri", "method": "exact"}))
    dim = run_cell(make_cell("dimension", {"model": "mlp", "widths": [2, 2, 1], "activation": "x^2"}))
    store.write_records([edd], "edd", tmp_path)
    store.write_records([dim], "dimension", tmp_path)
    assert len(store.stale("edd", tmp_path)) == 0 and edd["cell_key"] in store.keys("edd", tmp_path)
    real = provenance.solver_version
    monkeypatch.setattr(provenance, "solver_version", lambda n: "99.0" if n == "msolve" else real(n))
    provenance.clear_caches()
    try:
        # the code is the same (same key), msolve is not: the row is stale, and not counted as done
        assert list(store.stale("edd", tmp_path)["cell_key"]) == [edd["cell_key"]]
        assert edd["cell_key"] not in store.keys("edd", tmp_path)
        assert [c.key for c in store.stale_cells("edd", tmp_path)] == [edd["cell_key"]]
        assert len(store.stale("dimension", tmp_path)) == 0
    finally:
        monkeypatch.undo()
        provenance.clear_caches()


# ------------------------------------------------------------------ the whole catalog against three edits
FIBER_GRID = "name: fibers\ncomputations: [fiber]\nmodel: cnn\naxes:\n  filters: [[3, 2], [2, 2, 2]]\n" \
             "  activation: ['x', 'x^2']\n  seed: [0]\n"
FIBER_MLP_GRID = "name: fibers-mlp\ncomputations: [fiber]\nmodel: mlp\naxes:\n  widths: [[2, 2, 1]]\n" \
                 "  activation: ['x^2']\n  bias: [false]\n  seed: [0]\n"
EDD_GRID = "name: edds\ncomputations: [edd]\nmodel: mlp\naxes:\n  widths: [[2, 1, 1]]\n" \
           "  activation: ['x^2', 'x^3']\n  bias: [false]\n  weights: ['bombieri']\n  method: ['exact']\n  seed: [0]\n"


def _copy_tree(dst: Path) -> Path:
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(".git", "results", "__pycache__", ".pytest_cache",
                                                             "*.egg-info", ".venv", "report", "fixtures"))
    return dst


def _cli(tree: Path, *args, timeout=900):
    env = {**os.environ, "PYTHONPATH": str(tree), "NEUROVAR_CACHE_DIR": str(tree / ".cache")}
    return subprocess.run(neurovar_cmd() + [str(a) for a in args], capture_output=True, text=True, cwd=tree,
                          env=env, timeout=timeout)


def _stale(tree: Path, results: Path) -> dict[str, int]:
    p = _cli(tree, "catalog", "stale", "--results", results, "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    return {c: len(keys) for c, keys in json.loads(p.stdout).items()}


def _edit(path: Path, old: str, new: str) -> None:
    src = path.read_text()
    assert src.count(old) == 1, old
    path.write_text(src.replace(old, new))


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    """The quickstart grid, a fiber grid (CNNs and an MLP) and an EDD grid, computed by this code."""
    root = tmp_path_factory.mktemp("catalog") / "results"
    grids = tmp_path_factory.mktemp("grids")
    specs = [ROOT / "grids" / "quickstart.yaml"]
    for name, text in (("fiber.yaml", FIBER_GRID), ("fiber_mlp.yaml", FIBER_MLP_GRID), ("edd.yaml", EDD_GRID)):
        (grids / name).write_text(text)
        specs.append(grids / name)
    for spec in specs:
        g = load_grid(spec)
        for comp in g.computations:
            recs = [run_cell(c) for c in g.cells() if c.computation == comp]
            assert {r["status"] for r in recs} == {"ok"}
            store.write_records(recs, comp, root)
    return root


@pytest.mark.slow
def test_new_model_and_prose_stale_nothing_a_cnn_formula_stales_only_the_cnn_rows(catalog, tmp_path):
    rows = {c: len(store.load(c, catalog)) for c in ("dimension", "fiber", "edd")}
    assert rows == {"dimension": 90, "fiber": 5, "edd": 2}
    tree = _copy_tree(tmp_path / "tree")
    assert _stale(tree, catalog) == {"dimension": 0, "edd": 0, "fiber": 0}

    # 1. a one-file model added to pipeline/models/ (the registry finds it; no row depends on it)
    linear = (tree / "pipeline" / "models" / "linear.py").read_text()
    (tree / "pipeline" / "models" / "affine.py").write_text(
        linear.replace('"linear"', '"affine"').replace("LinearSpec", "AffineSpec").replace("class Linear(", "class Affine("))
    p = _cli(tree, "compute", "dimension", "--model", "affine", "--widths", "2,1,2", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["dimension"] == 3, p.stderr  # 2x2 rank <= 1
    assert _stale(tree, catalog) == {"dimension": 0, "edd": 0, "fiber": 0}

    # 2. prose in pipeline/models/mlp.py: the module docstring, a method's docstring, a comment
    mlp = tree / "pipeline" / "models" / "mlp.py"
    src = mlp.read_text()
    mlp.write_text('"""Fully connected networks (reworded)."""\n# a new comment\n' + src.split('"""', 2)[2])
    _edit(mlp, "    def expected_dimension(self) -> int:\n", "    def expected_dimension(self) -> int:  # see KTB\n")
    assert _stale(tree, catalog) == {"dimension": 0, "edd": 0, "fiber": 0}

    # 3. a formula in pipeline/models/cnn.py: the CNN scaling torus gets one dimension too many
    # (both returns of CNN.symmetries: without and with the linear CNN's exchanges of equal filters)
    cnn = tree / "pipeline" / "models" / "cnn.py"
    src = cnn.read_text()
    assert src.count("return Symmetries(self.depth - 1,") == 2
    cnn.write_text(src.replace("return Symmetries(self.depth - 1,", "return Symmetries(self.depth,"))
    assert _stale(tree, catalog) == {"dimension": 0, "edd": 0, "fiber": 4}
    stale = json.loads(_cli(tree, "catalog", "stale", "--results", catalog, "--json").stdout)["fiber"]
    fibers = store.load("fiber", catalog).set_index("cell_key")
    assert set(fibers.loc[stale, "model"]) == {"cnn"} and set(fibers.drop(stale)["model"]) == {"mlp"}
    human = _cli(tree, "catalog", "stale", "--results", catalog)
    assert "fiber: 4 stale row(s)" in human.stdout and "dimension: 0 stale row(s)" in human.stdout

    # --recompute-stale runs them again and says what the edit changed: the symmetry dimension of
    # every CNN (depth - 1 scalings, Kohn-Merkh-Montufar-Trager) is now the depth
    grid = tmp_path / "fiber.yaml"
    grid.write_text(FIBER_GRID)
    p = _cli(tree, "run", grid, "--results", catalog, "--workers", "1", "--recompute-stale", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    ch = summary["stale_changes"]
    assert (ch["recomputed"], ch["identical"], ch["changed"]) == (4, 0, 4)
    sym = [c for c in ch["changes"] if c["column"] == "symmetry_dimension"]
    assert len(sym) == 4
    for c in sym:
        depth = 2 if "filters=[3,2]" in c["cell"] else 3
        assert (c["old"], c["new"]) == (depth - 1, depth)
    assert _stale(tree, catalog) == {"dimension": 0, "edd": 0, "fiber": 0}
    # the same table in the run's _runs row and in the report
    runs = store.load_runs(catalog).set_index("run_id")
    assert json.loads(runs.loc[summary["run_id"], "stale_changes"]) == ch
    rep = _cli(tree, "report", "--results", catalog, "--out", tmp_path / "rep")
    assert rep.returncode == 0, rep.stderr
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "## What the last upgrade changed" in md and "4 stale rows recomputed: 0 identical, 4 changed" in md
    assert md.count("| symmetry_dimension |") == 4


def test_the_change_table_names_each_changed_value(tmp_path):
    """upgrade_changes on a hand-made upgrade: one value changed, one row identical, timings ignored."""
    cells = [make_cell("dimension", {"model": "mlp", "widths": [2, 2, 1], "activation": a}) for a in ("x^2", "x^3")]
    new = [run_cell(c) for c in cells]
    old = [{**r, "cell_key": "old-" + r["cell_key"], "code_fingerprint": "feedfacefeedface", "seconds": 9.0}
           for r in new]
    old[1]["dimension"] = 5  # as if the old release got (2,2,1) x^3 wrong; the true dimension is 4
    store.write_records(old, "dimension", tmp_path)
    before = {"dimension": store.stale("dimension", tmp_path)}
    store.write_records(new, "dimension", tmp_path)
    ch = upgrade_changes(before, tmp_path)
    assert (ch["recomputed"], ch["identical"], ch["changed"]) == (2, 1, 1)
    (c,) = ch["changes"]
    assert (c["column"], c["old"], c["new"], c["cell_key"]) == ("dimension", 5, 4, new[1]["cell_key"])
    lines = changes_lines(ch)
    assert lines[0] == "2 stale rows recomputed: 1 identical, 1 changed"
    assert lines[1].endswith(": dimension 5 -> 4") and "activation=x^3" in lines[1]


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
    mlp.write_text(mlp.read_text() + "\n_SECOND_EDIT = 2  # code, not prose: it stales the rows\n")
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


def test_source_cache_gives_the_same_fingerprints_cold_warm_and_corrupt(tmp_path):
    code = ("from neurovar.pipeline import provenance as p; "
            "print(p.code_fingerprint('edd', 'mlp'), p.code_fingerprint('dimension', 'cnn'), "
            "len(p.source_files('fiber', 'mlp')))")
    env = dict(os.environ, NEUROVAR_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))

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
    assert cold[0] == provenance.code_fingerprint("edd", "mlp")
