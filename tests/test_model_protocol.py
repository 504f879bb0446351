"""The model protocol: computations and catalog checks see models only through it."""

from __future__ import annotations

import ast
from pathlib import Path

import flint
import numpy as np
import pytest

from neurovar.pipeline.algebra.field import FloatField, ObjectRing, PrimeField
from neurovar.pipeline.algebra.gauge import group_elements, symmetry_orbit
from neurovar.pipeline.models import MODELS, build_model

REPO = ROOT = Path(__file__).resolve().parents[1]
#: Folders whose code must be model-generic.
GENERIC = ["pipeline/compute", "pipeline/numeric", "pipeline/problems", "pipeline/algebra", "catalog"]
#: Modules of pipeline/models/ that are not a model (importable from generic code).
NOT_MODELS = {"base", "activation", "layered"}

#: Every registered model's own examples (:meth:`Model.examples`): a new model is tested with no edit here.
EXAMPLES = [spec for _, cls in MODELS.values() for spec in cls.examples()]


def test_every_registered_model_declares_examples_that_build():
    for name, (_, cls) in MODELS.items():
        specs = cls.examples()
        assert specs, f"model {name} declares no examples (Model.examples)"
        assert all(build_model(s).name == name for s in specs)


def _offenders(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = set(MODELS)
    model_modules = {p.stem for p in (REPO / "pipeline/models").glob("*.py")} - NOT_MODELS - {"__init__"}
    classes = {cls.__name__ for _, cls in MODELS.values()} | {spec.__name__ for spec, _ in MODELS.values()}
    out = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Compare):
            subs = list(ast.walk(node))
            about_model = any((isinstance(x, ast.Name) and "model" in x.id)
                              or (isinstance(x, ast.Attribute) and "model" in x.attr)
                              or (isinstance(x, ast.Constant) and x.value == "model") for x in subs)
            for sub in subs:
                if about_model and isinstance(sub, ast.Constant) and sub.value in names:
                    out.append(f"{where}: compares a model with the name {sub.value!r}")
        if isinstance(node, ast.Attribute) and node.attr == "name":
            base = node.value
            tail = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
            if "model" in tail:
                out.append(f"{where}: reads {tail}.name")
        if isinstance(node, ast.Attribute) and node.attr in ("layers", "polynomial_forward"):
            out.append(f"{where}: reaches into a model's internals ({node.attr})")
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            parts = mod.split(".")
            if "models" in parts:
                i = parts.index("models")
                if i + 1 < len(parts) and parts[i + 1] in model_modules:
                    out.append(f"{where}: imports the model module {mod}")
                if i + 1 == len(parts):
                    out += [f"{where}: imports the model class {a.name}" for a in node.names if a.name in classes]
    return out


def test_no_generic_module_names_a_model_or_imports_one():
    offenders = []
    for folder in GENERIC:
        for path in sorted((ROOT / folder).rglob("*.py")):
            offenders += _offenders(path)
    assert offenders == []


def test_the_check_finds_what_it_forbids(tmp_path):
    # the test above can fail: a module with each forbidden pattern is caught
    bad = tmp_path / "bad.py"
    bad.write_text("from ..models.mlp import MLP\nfrom ..models import CNN\n"
                   "def f(model, row):\n    return model.name == 'x' or row['model'] == 'mlp' or model.layers\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = _offenders(bad)
    finally:
        ROOT = saved
    kinds = " ".join(found)
    assert "models.mlp" in kinds and "CNN" in kinds and "model.name" in kinds and "'mlp'" in kinds \
        and "layers" in kinds


def _id(spec):
    return "-".join(str(v) for v in spec.values())


@pytest.mark.parametrize("spec", EXAMPLES, ids=_id)
def test_forward_agrees_over_every_ring(spec):
    """One forward pass: GF(p), floats, and symbolic parameters evaluated at the same point agree."""
    m = build_model(spec, seed=3)
    p = 1073741827
    F = PrimeField(p)
    rng = np.random.default_rng(0)
    theta_i = rng.integers(-5, 6, size=m.num_params)
    X_i = rng.integers(-3, 4, size=(2, m.input_dim))
    exact = m.forward(F.asarray(theta_i.tolist()), F.asarray(X_i.tolist()), F)
    floats = m.forward(theta_i.astype(float), X_i.astype(float), FloatField())
    assert [int(v) for v in exact.ravel()] == [int(round(v)) % p for v in floats.ravel()]
    # symbolic parameters (python-flint polynomials over Q), numeric inputs
    ctx = flint.fmpq_mpoly_ctx.get(tuple(f"t{i}" for i in range(m.num_params)), "lex")
    theta_s = np.empty(m.num_params, dtype=object)
    for i, g in enumerate(ctx.gens()):
        theta_s[i] = g
    sym = m.forward(theta_s, np.array(X_i.tolist(), dtype=object), ObjectRing.over_context(ctx))
    vals = [flint.fmpq(int(v)) for v in theta_i]
    assert [int(s(*vals)) if hasattr(s, "context") else int(s) for s in sym.ravel()] == \
        [int(round(v)) for v in floats.ravel()]


@pytest.mark.parametrize("spec", EXAMPLES, ids=_id)
def test_declared_sizes_and_coefficients(spec):
    m = build_model(spec, seed=3)
    assert sum(int(np.prod(s)) for _, s in m.param_shapes) == m.num_params
    assert len(m.coordinate_names()) == m.ambient_dimension
    # the coefficient map, evaluated at an integer point, reproduces f_theta through the features
    rng = np.random.default_rng(1)
    theta = rng.integers(-4, 5, size=m.num_params)
    ctx = flint.fmpq_mpoly_ctx.get(tuple(f"t{i}" for i in range(m.num_params)), "lex")
    th = np.empty(m.num_params, dtype=object)
    for i, g in enumerate(ctx.gens()):
        th[i] = g
    c = [int(y(*[flint.fmpq(int(v)) for v in theta])) for y in m.coefficients(th)]
    x = rng.integers(-3, 4, size=m.feature_input_shape)
    A = m.features([int(v) for v in np.ravel(x)])
    f = m.forward(theta.astype(float), x.reshape(1, -1).astype(float), FloatField())[0]
    assert [sum(int(a) * ci for a, ci in zip(row, c)) for row in A] == [int(round(v)) for v in f]


@pytest.mark.parametrize("spec", EXAMPLES, ids=_id)
def test_default_jacobian_by_interpolation_is_the_exact_jacobian(spec):
    """The protocol's default Jacobian (interpolation in each coordinate) equals each model's own."""
    from neurovar.pipeline.models.base import Model

    m = build_model(spec, seed=3)
    F = PrimeField()
    rng = np.random.default_rng(2)
    theta, X = m.random_parameters(F, rng), F.random((3, m.input_dim), rng)
    assert np.array_equal(Model.jacobian(m, theta, X, F), m.jacobian(theta, X, F))


def test_finite_group_of_the_mlp_is_the_neuron_permutations():
    m = build_model({"model": "mlp", "widths": [2, 3, 2, 1], "activation": "x^3"})
    sym = m.symmetries()
    assert sym.continuous_dimension == 5 and sym.group_order == 3 * 2 * 2
    assert len(group_elements(sym.generators, m.num_params)) == 12
    # every element preserves f_theta
    F = FloatField(np.complex128)
    rng = np.random.default_rng(0)
    theta, X = F.random(m.num_params, rng), F.random((4, 2), rng)
    for g in group_elements(sym.generators, m.num_params):
        assert np.allclose(m.forward(g(theta), X, F), m.forward(theta, X, F))


@pytest.mark.parametrize("spec", EXAMPLES, ids=_id)
def test_every_element_of_the_declared_finite_group_preserves_the_function(spec):
    """The declared generators are symmetries of ``theta -> f_theta`` (every element of the group they
    generate), and the group's order modulo the continuous one is at most the number of its elements."""
    m = build_model(spec, seed=3)
    sym = m.symmetries()
    elements = group_elements(sym.generators, m.num_params)
    assert 1 <= sym.group_order and (not sym.generators or sym.group_order <= len(elements))
    F = FloatField(np.complex128)
    rng = np.random.default_rng(0)
    theta, X = F.random(m.num_params, rng), F.random((4, m.input_dim), rng)
    for g in elements:
        assert np.allclose(m.forward(g(theta), X, F), m.forward(theta, X, F))


def _gauged(spec) -> bool:
    """A complete slice whose residual group is generated by declared maps (the odd-after-a-shift MLP's
    sign flips act on the biases by affine maps, declared only as an order)."""
    g = build_model(spec).gauge("auto")
    return g.complete and (g.residual_order == 1 or g.project is not None)


@pytest.mark.parametrize("spec", [s for s in EXAMPLES if _gauged(s)], ids=_id)
def test_gauge_slices_have_the_codimension_of_the_continuous_group(spec):
    m = build_model(spec)
    g = m.gauge("auto")
    assert len(g.fixed) == m.symmetries().continuous_dimension
    theta = np.random.default_rng(0).normal(size=m.num_params).astype(complex)
    O = symmetry_orbit(m, g, m.gauge("auto").project(theta)[0] if g.project else theta)
    assert O.shape[0] == g.expected_points


def test_outputs_are_typed_schemas_and_the_parquet_schema_follows():
    import dataclasses

    import pyarrow as pa

    from neurovar.catalog import store
    from neurovar.pipeline.compute import computations

    arrow = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string(),
             "list<int>": pa.list_(pa.int64()), "json": pa.string()}
    for comp in computations().values():
        assert dataclasses.is_dataclass(comp.schema), comp.name
        names = [f.name for f in dataclasses.fields(comp.schema)]
        assert names == list(comp.outputs)
        sch = store.schema(comp.name)
        columns = comp.output_columns()  # an output named like an input is stored as <name>_used
        for name, kind in comp.outputs.items():
            assert sch.field(columns[name]).type == arrow[kind], (comp.name, name)
    assert computations()["edd"].outputs["positive_dimensional"] == "json"
    assert computations()["independence-threshold"].outputs["dependent_r"] == "list<int>"
