"""The Python examples of the README and docs/ run against a catalog of real cells."""

import re
from pathlib import Path

import pytest

from neurovar.catalog import store
from neurovar.pipeline.cells import run_cell
from neurovar.pipeline.grid import load_grid

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("docs")
    recs = [run_cell(c) for c in load_grid(REPO / "grids" / "quickstart.yaml").cells()]
    store.write_records(recs, "dimension", root / "results")
    return root


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_python_examples_run(doc, catalog_dir, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(catalog_dir)
    blocks = python_blocks(doc)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, f"{doc.name}", "exec"), namespace)  # the project's own documentation
    if doc.name == "README.md":
        assert len(blocks) >= 2
        # the last catalog example is the analysis one: a threshold per (input_dim, hidden, depth) group
        table = namespace["table"]
        assert len(table) == 3 * 5 * 2
        # (3, 2, 1): sums of two squares of linear forms in 3 variables are defective at r = 2
        # (dim 5 < 6, AH's quadric case) and fill from r = 3 on, so the threshold is 3
        row = table[(table.input_dim == 3) & (table.hidden == 2) & (table.depth == 2)].iloc[0]
        assert row["threshold"] == 3
