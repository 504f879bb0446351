"""The package layout: one ``neurovar`` namespace over the top-level folders."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"pipeline": "neurovar.pipeline", "catalog": "neurovar.catalog", "flows": "neurovar.flows"}


def test_every_package_folder_is_installed_under_neurovar():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    found = {"neurovar"}
    for folder, name in FOLDERS.items():
        assert conf["package-dir"][name] == folder
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *rel)))
    assert listed == found


def test_no_module_imports_the_bare_folder_names():
    # ``import pipeline`` would load a second copy of every module (two Cell classes, two registries)
    bare = re.compile(r"^\s*(?:>>> )?(?:from|import) (?:pipeline|catalog|flows)\b", re.M)
    offenders = []
    for folder in ("neurovar", *FOLDERS, "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for m in bare.finditer(path.read_text()):
                offenders.append(f"{path.relative_to(ROOT)}: {m.group(0).strip()}")
    assert offenders == []


def test_public_api_from_a_clean_interpreter(tmp_path):
    # outside the checkout, as a user's notebook would run it
    code = ("import neurovar; m = neurovar.models.MLP(widths=(3, 5, 1), activation='x^4'); "
            "r = neurovar.dimension(m); print(r['dimension'], r['expected_dimension'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # plane quartics as sums of 5 fourth powers: the Alexander-Hirschowitz exception (14, not 15)
    assert out.stdout.split() == ["14", "15"]


MAX_LINES = 450


def _modules():
    for folder in ("pipeline", "catalog", "flows", "neurovar"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_every_module_is_below_450_lines():
    # modules with one job: in particular the three largest stay below the limit
    sizes = sorted(((len(p.read_text().splitlines()), str(p.relative_to(ROOT))) for p in _modules()), reverse=True)
    assert sizes[0][0] < MAX_LINES, sizes[:3]


def _imports_of(path: Path, modules: dict) -> set[str]:
    """The modules of ``pipeline`` that ``path`` imports (at any depth, including imports inside functions)."""
    import ast

    rel = path.relative_to(ROOT).with_suffix("").parts
    name = ".".join(rel[:-1] if rel[-1] == "__init__" else rel)
    package = name if rel[-1] == "__init__" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = (node.module or "").removeprefix("neurovar.")
            targets = [f"{mod}.{a.name}" for a in node.names] + [mod]
        elif isinstance(node, ast.Import):
            targets = [a.name.removeprefix("neurovar.") for a in node.names]
        for t in targets:
            if t in modules:
                out.add(t)
                break
    out.discard(name)
    return out


def _pipeline_graph() -> dict[str, set[str]]:
    files = {}
    for p in (ROOT / "pipeline").rglob("*.py"):
        rel = p.relative_to(ROOT).with_suffix("").parts
        files[".".join(rel[:-1] if rel[-1] == "__init__" else rel)] = p
    return {name: _imports_of(p, files) for name, p in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    color, stack, found = {}, [], []

    def visit(u):
        color[u] = 1
        stack.append(u)
        for v in sorted(graph[u]):
            if color.get(v) == 1:
                found.append(stack[stack.index(v):] + [v])
            elif v not in color:
                visit(v)
        stack.pop()
        color[u] = 2

    for u in sorted(graph):
        if u not in color:
            visit(u)
    return found


def test_no_import_cycles_inside_pipeline():
    graph = _pipeline_graph()
    assert len(graph) > 40 and "pipeline.models.base" in graph["pipeline.models.mlp"]
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]
