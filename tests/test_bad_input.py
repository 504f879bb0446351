"""Bad input exits 2 with one line naming the flag and writes nothing.

Each case is one of the holes a review found: input that passed validation and
then became an error row (exit 1), a traceback, or a silent empty answer.
"""

import os

import pytest

from neurovar.pipeline.cells import failed_record, make_cell
from neurovar.pipeline.compute import Computation, NoParams, RESERVED_COLUMNS, get_computation


def _one_line_naming(p, flag):
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), p.stderr
    assert flag in lines[0]
    assert "Traceback" not in p.stderr and p.stdout == ""


def _tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else None


@pytest.mark.parametrize("args, flag", [
    # implicit equations have no inputs to draw a dataset from
    (["--equations", "x^2+y^2-1", "--weights", "data:3"], "--weights"),
    (["--equations", "x^2+y^2-1", "--weights", "data", "--dataset-size", "3"], "--weights"),
])
def test_compute_edd_holes_exit_2(cli, tmp_path, args, flag):
    p = cli("compute", "edd", *args, "--json", cwd=tmp_path)
    _one_line_naming(p, flag)
    assert _tree(tmp_path) == []


@pytest.mark.parametrize("axes, flag", [
    ('  equations: ["x^2 + y^2 - 1"]\n  weights: ["data:3"]\n', "weights"),
])
def test_grid_with_an_edd_hole_exits_2_before_writing(cli, tmp_path, axes, flag):
    grid = tmp_path / "g.yaml"
    grid.write_text("name: g\ncomputations: [edd]\naxes:\n" + axes)
    results = tmp_path / "results"
    for extra in ([], ["--dry-run"]):
        p = cli("run", grid, "--results", results, *extra)
        assert p.returncode == 2, (p.stdout, p.stderr)
        assert flag in p.stderr and "Traceback" not in p.stderr
        assert not results.exists()


@pytest.mark.parametrize("dry", [False, True])
def test_run_results_is_a_file_exits_2(cli, tmp_path, dry):
    f = tmp_path / "results.txt"
    f.write_text("not a catalog\n")
    p = cli("run", "grids/quickstart.yaml", "--results", f, *(["--dry-run"] if dry else []),
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    _one_line_naming(p, "--results")
    assert "is a file" in p.stderr
    assert f.read_text() == "not a catalog\n" and _tree(tmp_path) == ["results.txt"]


@pytest.mark.parametrize("command", [["catalog", "ls"], ["catalog", "stale"], ["catalog", "show", "dimension"],
                                     ["check"], ["report"]])
def test_missing_catalog_exits_2(cli, tmp_path, command):
    missing = tmp_path / "DOES_NOT_EXIST"
    p = cli(*command, "--results", missing)
    _one_line_naming(p, "--results")
    assert "no catalog" in p.stderr
    assert not missing.exists()


def test_output_named_like_an_input_gets_its_own_column():
    # edd's output 'method' (the method actually used) must not overwrite the option 'method'
    edd = get_computation("edd")
    assert edd.output_columns()["method"] == "method_used"
    assert get_computation("dimension").output_columns()["prime"] == "prime_used"
    cell = make_cell("edd", None, {"equations": "x^2 + y^2 - 1", "method": "exact"})
    rec = failed_record(cell, "error", "boom", 0.0)
    assert rec["method"] == "exact" and rec["method_used"] is None
    assert '"method": "exact"' in rec["cell_spec"]


@pytest.mark.parametrize("bad", sorted(RESERVED_COLUMNS & {"status", "seed", "cell_key"}))
def test_output_named_like_a_provenance_column_is_refused(bad):
    comp = Computation(name="broken", version="1", run=lambda m, p, s: {}, outputs={bad: "int"}, params=NoParams,
                       needs_model=False)
    with pytest.raises(ValueError, match="collide"):
        comp.check_columns()


@pytest.mark.parametrize("args, flag, says", [
    # the equations use y, the variables name x only
    (["edd", "--equations", "x^2+y^2-1", "--variables", "x", "--weights", "identity"], "--equations",
     "unknown variable 'y'"),
    # two variables, one diagonal weight
    (["edd", "--equations", "x^2+y^2-1", "--variables", "x,y", "--weights", "diag:4"], "--weights", "give 2 entries"),
    # bias has certified routes for (1, k, 1), (2, 2, 1) x^3 and datasets on networks of at most 10
    # parameters: the rest is refused when the cell is made, not inside the computation, with what would work
    (["bias", "--model", "mlp", "--widths", "4,3,1", "--activation", "x^3", "--samples", "50"], "--widths",
     "(1, k, 1)"),
    (["bias", "--model", "mlp", "--widths", "2,2,1", "--activation", "generic:3", "--samples", "50"],
     "--dataset-size", "set dataset_size"),
    # a model's own limits for edd (attention's equations need n >= d), refused when the cell is made
    (["edd", "--model", "attention", "--d", "2", "--d-out", "1", "--n", "1"], "--n", "n >= d"),
    # raised inside the computation (no implicit equations are known for x^2 + x): still exit 2
    (["edd", "--model", "mlp", "--widths", "2,1,1", "--activation", "x^2+x", "--method", "exact-implicit"],
     "--method", "no implicit equations"),
])
def test_compute_spec_errors_exit_2_with_one_line(cli, tmp_path, args, flag, says):
    p = cli("compute", *args, cwd=tmp_path, timeout=120)
    _one_line_naming(p, flag)
    assert says in p.stderr
    assert _tree(tmp_path) == []


def test_spec_error_inside_a_computation_is_recorded_as_such():
    from neurovar.pipeline.cells import run_cell, spec_error_of

    cell = make_cell("edd", {"model": "mlp", "widths": [2, 1, 1], "activation": "x^2+x"}, {"method": "exact-implicit"})
    rec = run_cell(cell)
    err = spec_error_of(rec)
    assert rec["status"] == "error" and err is not None
    assert err.field == "method" and "no implicit equations" in err.message
    assert "Traceback" not in rec["error"]


@pytest.mark.parametrize("dry", [False, True])
def test_grid_axis_value_a_computation_refuses_is_named_at_planning(cli, tmp_path, dry):
    # bias has no certified route for (4, 3, 1): the second widths value is refused before anything runs
    grid = tmp_path / "g.yaml"
    grid.write_text("name: g\ncomputations: [bias]\nmodel: mlp\naxes:\n"
                    "  widths: [[1, 2, 1], [4, 3, 1]]\n  activation: [\"x^3\"]\n  samples: [5]\n  seed: [0, 1]\n")
    results = tmp_path / "results"
    p = cli("run", grid, "--results", results, *(["--dry-run"] if dry else []), timeout=120)
    _one_line_naming(p, "grid.axes.widths[1]")
    assert "[4, 3, 1]" in p.stderr and "(1, k, 1)" in p.stderr
    assert not results.exists()
