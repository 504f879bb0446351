"""Draw the documentation's figures from computed cells (run: ``python docs/gen_figures.py``).

* ``docs/img/quickstart-defect.png``: the defect of every one-hidden-layer network of
  ``grids/quickstart.yaml`` (the README's picture);
* ``docs/img/tutorial-defect.png``: the defect of the tutorial's grid ``docs/tutorial.md``
  (``waring.yaml``), the plot ``neurovar report`` draws for it.

Both are drawn by :func:`neurovar.catalog.plots.defect_heatmaps` from cells computed here with
:func:`neurovar.pipeline.cells.run_cell` (exact ranks: the pictures are the same on every machine).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from neurovar.catalog.plots import defect_heatmaps
from neurovar.pipeline.cells import run_cell
from neurovar.pipeline.grid import load_grid

REPO = Path(__file__).resolve().parents[1]
IMG = REPO / "docs" / "img"

def page_file(page: Path, name: str) -> str:
    """The code block of ``page`` titled ``name`` (```yaml title="waring.yaml"```)."""
    import re

    m = re.search(r'```\w+ title="' + re.escape(name) + r'"\n(.*?)```', page.read_text(), flags=re.S)
    if m is None:
        raise SystemExit(f"{page}: no code block titled {name}")
    return m.group(1)


def records(grid) -> pd.DataFrame:
    return pd.DataFrame([run_cell(c) for c in grid.cells()])


def draw(df: pd.DataFrame, name: str) -> Path:
    """The depth-2 defect heatmap of ``df``, saved as docs/img/``name``."""
    with tempfile.TemporaryDirectory() as tmp:
        files = [p for p in defect_heatmaps(df, tmp) if p.name == "defect_depth2.png"]
        IMG.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(files[0], IMG / name))


def main() -> int:
    quick = records(load_grid(REPO / "grids" / "quickstart.yaml"))
    print(draw(quick, "quickstart-defect.png"))
    with tempfile.TemporaryDirectory() as tmp:
        grid = Path(tmp) / "waring.yaml"
        grid.write_text(page_file(REPO / "docs" / "tutorial.md", "waring.yaml"))
        print(draw(records(load_grid(grid)), "tutorial-defect.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
