"""Grid specs: expansion, and malformed files rejected with the YAML path, exit 2, nothing written."""

from pathlib import Path

import pytest

from neurovar.pipeline.errors import SpecError
from neurovar.pipeline.grid import GridSpec, load_grid

REPO = Path(__file__).resolve().parents[1]


def test_quickstart_expands_to_the_product_of_its_axes():
    spec = load_grid(REPO / "grids" / "quickstart.yaml")
    cells = spec.cells()
    # 3 input dims x 5 hidden x 2 depths x 3 activations, minus ambient > 3000 (none here)
    assert len(cells) == 3 * 5 * 2 * 3
    assert {tuple(c.model["widths"]) for c in cells} >= {(2, 2, 1), (4, 6, 6, 1)}
    assert len({c.key for c in cells}) == len(cells)


def test_generators_and_constraints():
    spec = GridSpec.from_mapping({
        "name": "g", "computations": ["dimension"], "model": "mlp", "equal_hidden": False,
        "axes": {"input_dim": [2], "hidden": [2, 3], "depth": [3], "output_dim": [1], "activation": ["x^2"]},
        "constraints": {"max_params": 16},
    })
    widths = [c.model["widths"] for c in spec.cells()]
    # all hidden combinations (2,2),(2,3),(3,2),(3,3); params 4+4+2=10, 4+6+3=13, 6+6+2=14, 6+9+3=18 > 16
    assert widths == [[2, 2, 2, 1], [2, 2, 3, 1], [2, 3, 2, 1]]


def test_seed_axis_and_explicit_widths():
    spec = GridSpec.from_mapping({"name": "g", "computations": "dimension", "model": "linear",
                                  "axes": {"widths": [[2, 1, 2], [3, 2, 3]], "seed": [0, 1]}})
    cells = spec.cells()
    assert [(c.model["widths"], c.seed) for c in cells] == [([2, 1, 2], 0), ([2, 1, 2], 1), ([3, 2, 3], 0), ([3, 2, 3], 1)]


BAD = {
    "unknown top-level key": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {widths: [[2,2,1]]}\nwidht: 3\n", "grid.widht"),
    "unknown axis": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {widths: [[2,2,1]], colour: [1]}\n", "grid.axes.colour"),
    "negative hidden width": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {input_dim: [2], hidden: [2, 3, -1], depth: [2], output_dim: [1]}\n", "grid.axes.hidden[2]"),
    "empty axis": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {widths: []}\n", "grid.axes.widths"),
    "wrong type": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {input_dim: [two], hidden: [2], depth: [2], output_dim: [1]}\n", "grid.axes.input_dim[0]"),
    "bad polynomial": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {widths: [[2,2,1]], activation: ['x^2', 'os.system(1)']}\n", "grid.axes.activation[1]"),
    "unknown computation": ("name: g\ncomputations: [dimension, volume]\nmodel: mlp\naxes: {widths: [[2,2,1]]}\n", "grid.computations[1]"),
    "unknown model": ("name: g\ncomputations: [dimension]\nmodel: transformer\naxes: {widths: [[2,2,1]]}\n", "grid.model"),
    "zero in explicit widths": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {widths: [[2,2,1], [2,0,1]]}\n", "grid.axes.widths[1]"),
    "missing name": ("computations: [dimension]\nmodel: mlp\naxes: {widths: [[2,2,1]]}\n", "grid.name"),
    "not YAML": ("name: g\ncomputations: [dimension\nmodel: mlp\n", "grid"),
    "incomplete generators": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {input_dim: [2], hidden: [2]}\n", "grid.axes.depth"),
    "negative timeout": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {widths: [[2,2,1]]}\ntimeout_s: -5\n", "grid.timeout_s"),
    "negative seed": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {widths: [[2,2,1]], seed: [-1]}\n", "grid.axes.seed[0]"),
    "not a mapping": ("- just\n- a list\n", "grid"),
    "bad axis in also": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {widths: [[2,2,1]]}\nalso:\n  - model: cnn\n    axes: {filters: [[2,2]], colour: [1]}\n", "grid.also[0].axes.colour"),
    "also not a mapping": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {widths: [[2,2,1]]}\nalso: [cnn]\n", "grid.also[0]"),
    "bad value in also": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {widths: [[2,2,1]]}\nalso:\n  - model: cnn\n    axes: {filters: [[2,-2]]}\n", "grid.also[0].axes.filters[0]"),
    "name in also": ("name: g\ncomputations: [dimension]\nmodel: mlp\naxes: {widths: [[2,2,1]]}\nalso:\n  - {name: h, model: cnn}\n", "grid.also[0].name"),
    "filter longer than input": ("name: g\ncomputations: [dimension]\nmodel: cnn\naxes: {filters: [[3,2]], input_dim: [2]}\n", "grid.axes.filters[0]"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_malformed_spec_exits_2_naming_the_field(kind, tmp_path, cli):
    text, field = BAD[kind]
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    results = tmp_path / "results"
    p = cli("run", spec, "--results", results, cwd=tmp_path)
    assert p.returncode == 2, (kind, p.stdout, p.stderr)
    assert field in p.stderr, (kind, p.stderr)
    assert "Traceback" not in p.stderr
    assert not results.exists()  # nothing written


def test_also_adds_the_cells_of_other_models_to_one_grid():
    # 2 MLP widths x 2 seeds, then 1 CNN filter x 3 activations: 4 + 3 cells, the CNN's with its own timeout
    spec = GridSpec.from_mapping({"name": "g", "computations": ["dimension"], "model": "mlp", "timeout_s": 9,
                                  "axes": {"widths": [[2, 2, 1], [2, 3, 1]], "seed": [0, 1]},
                                  "also": [{"model": "cnn", "timeout_s": 4,
                                            "axes": {"filters": [[2, 2]], "activation": ["x^2", "x^3", "x^4"]}}]})
    cells = spec.cells()
    assert [c.model["model"] for c in cells] == ["mlp"] * 4 + ["cnn"] * 3
    assert [c.timeout_s for c in cells] == [9] * 4 + [4] * 3
    assert len({c.key for c in cells}) == 7


def test_library_error_carries_the_field():
    with pytest.raises(SpecError) as e:
        GridSpec.from_mapping({"name": "g", "computations": ["dimension"], "model": "mlp",
                               "axes": {"input_dim": [2], "hidden": [0], "depth": [2], "output_dim": [1]}})
    assert e.value.field == "grid.axes.hidden[0]"


def test_dry_run_counts_without_writing(tmp_path, cli):
    p = cli("run", REPO / "grids" / "quickstart.yaml", "--dry-run", "--results", tmp_path / "r")
    assert p.returncode == 0, p.stderr
    assert "90 cells" in p.stdout and "90 to run" in p.stdout
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("path", sorted((REPO / "grids").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_grid_loads(path):
    """The grids the README points to are valid specs, each with at least one cell of a known
    computation and model."""
    from neurovar.pipeline.compute import get_computation

    spec = load_grid(path)
    cells = spec.cells()
    assert cells, f"{path.name} expands to no cells"
    for name in spec.computations:
        assert get_computation(name).name == name


@pytest.mark.parametrize("path", sorted((REPO / "grids").glob("*.yaml")), ids=lambda p: p.name)
def test_planned_cells_equal_cells_made_one_by_one(path):
    """The planner validates once per combination of the non-seed axes and hashes each key from a
    template: every cell, and its key, equal what make_cell and cell_key give for it alone."""
    import pickle

    from neurovar.pipeline.cells import cell_key, make_cell

    for c in load_grid(path).cells():
        alone = make_cell(c.computation, c.model, c.params, seed=c.seed, timeout_s=c.timeout_s)
        assert c == alone and c.key == cell_key(alone)
        assert pickle.loads(pickle.dumps(c))._key == c.key  # the key travels with the cell to the worker


def test_a_cell_builds_its_model_once_when_it_runs(monkeypatch):
    from neurovar.pipeline import cells as cells_mod

    built = []
    real = cells_mod.build_model
    monkeypatch.setattr(cells_mod, "build_model", lambda *a, **k: built.append(a) or real(*a, **k))
    cell = cells_mod.make_cell("dimension", {"model": "mlp", "widths": [2, 2, 1], "activation": "x^2"})
    rec = cells_mod.run_cell(pickle_roundtrip(cell))  # as a worker receives it: the model is not shipped
    # (2, 2, 1) with x^2: two squares of linear forms fill the binary quadratics, dimension 3
    assert rec["status"] == "ok" and rec["dimension"] == 3
    assert len(built) == 1


def pickle_roundtrip(obj):
    import pickle

    return pickle.loads(pickle.dumps(obj))
