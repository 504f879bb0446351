"""Allowed import directions between the project's packages, read from the source with ``ast``.

Every ``import`` and ``from ... import`` counts, at module level or inside a
function (a lazy import is still a dependency); docstring examples and imports
for type annotations only (under ``if TYPE_CHECKING:``) do not.

- ``flows`` may import ``pipeline`` and ``catalog``; ``catalog`` may import
  ``pipeline``; ``pipeline`` imports neither.
- ``pipeline.numeric`` is the engine: it imports nothing from ``models``,
  ``compute``, ``problems`` or anything above ``pipeline``'s mathematics.
- ``pipeline.problems`` builds systems from model declarations: not from ``compute``.
- ``pipeline.algebra`` and ``pipeline.models`` import neither ``compute`` nor
  ``problems``; ``algebra`` does not import ``models``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"pipeline": "neurovar.pipeline", "catalog": "neurovar.catalog", "flows": "neurovar.flows"}

#: module prefix -> prefixes it must not import
FORBIDDEN = {
    "neurovar.pipeline": ("neurovar.catalog", "neurovar.flows"),
    "neurovar.catalog": ("neurovar.flows",),
    "neurovar.pipeline.numeric": ("neurovar.pipeline.models", "neurovar.pipeline.compute",
                                  "neurovar.pipeline.problems", "neurovar.pipeline.runner",
                                  "neurovar.pipeline.cells", "neurovar.pipeline.grid"),
    "neurovar.pipeline.problems": ("neurovar.pipeline.compute", "neurovar.pipeline.runner", "neurovar.pipeline.cells"),
    "neurovar.pipeline.algebra": ("neurovar.pipeline.models", "neurovar.pipeline.compute", "neurovar.pipeline.problems"),
    "neurovar.pipeline.models": ("neurovar.pipeline.compute", "neurovar.pipeline.problems"),
}


def module_name(root: Path, path: Path) -> tuple[str, bool]:
    """``(dotted name, is a package)`` of a file under one of the top-level folders."""
    rel = path.relative_to(root)
    name = FOLDERS[rel.parts[0]]
    parts = list(rel.parts[1:])
    pkg = parts[-1] == "__init__.py"
    parts = parts[:-1] if pkg else parts[:-1] + [parts[-1][:-3]]
    return ".".join([name, *parts]), pkg


def imports_of(source: str, module: str, is_package: bool) -> list[str]:
    """The absolute names a module's source imports (relative imports resolved)."""
    out = []
    base = module.split(".") if is_package else module.split(".")[:-1]
    tree = ast.parse(source)
    typing_only = {id(n) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for stmt in node.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[:len(base) - (node.level - 1)]
                mod = ".".join(anchor + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append(mod)
            out += [f"{mod}.{a.name}" for a in node.names]  # ``from . import compute`` names a package
    return out


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path) -> list[str]:
    found = []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            module, pkg = module_name(root, path)
            for imp in imports_of(path.read_text(), module, pkg):
                for src, banned in FORBIDDEN.items():
                    if _within(module, src) and any(_within(imp, b) for b in banned):
                        found.append(f"{path.relative_to(root)} imports {imp}")
    return sorted(set(found))


def test_the_project_keeps_its_import_directions():
    assert violations(ROOT) == []


@pytest.mark.parametrize("line, flagged", [
    ("from ..models.layered import param_offsets", "neurovar.pipeline.models.layered"),
    ("from neurovar.pipeline.models import build_model", "neurovar.pipeline.models"),
    ("def f():\n    from ..problems import fiber\n", "neurovar.pipeline.problems"),
    ("from .. import compute", "neurovar.pipeline.compute"),
])
def test_a_numeric_module_that_imports_a_model_or_a_problem_is_refused(tmp_path, line, flagged):
    (tmp_path / "pipeline" / "numeric").mkdir(parents=True)
    for folder in ("catalog", "flows"):
        (tmp_path / folder).mkdir()
    (tmp_path / "pipeline" / "numeric" / "engine.py").write_text(f"import numpy as np\n{line}\n")
    found = violations(tmp_path)
    assert found and all(f.startswith("pipeline/numeric/engine.py imports ") for f in found)
    assert any(f.endswith(" " + flagged) for f in found)


def test_a_catalog_module_may_import_the_pipeline_but_not_the_flows(tmp_path):
    for folder in ("pipeline", "catalog", "flows"):
        (tmp_path / folder).mkdir()
    (tmp_path / "catalog" / "ok.py").write_text("from neurovar.pipeline.models import MODELS\n")
    (tmp_path / "catalog" / "bad.py").write_text("from ..flows.cli import main\n")
    (tmp_path / "flows" / "ok.py").write_text("from ..catalog import store\nfrom ..pipeline import runner\n")
    assert violations(tmp_path) == ["catalog/bad.py imports neurovar.flows.cli",
                                    "catalog/bad.py imports neurovar.flows.cli.main"]
