"""``neurovar run`` on a local Dask cluster with Prefect's temporary server."""

import json
import shutil
from pathlib import Path

import pandas as pd

from neurovar.catalog import store

REPO = Path(__file__).resolve().parents[1]


def test_quickstart_then_rerun_computes_nothing(tmp_path, cli):
    shutil.copytree(REPO / "grids", tmp_path / "grids")
    p = cli("run", "grids/quickstart.yaml", "--workers", "2", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "computed 90 new cells" in p.stdout
    df = pd.read_parquet(tmp_path / "results" / "dimension")
    assert len(df) == 90 and set(df["status"]) == {"ok"}
    # (2, 2, 1) with x^2 fills R[x,y]_2; (3, 5, 1) is not in the grid, (3, 4, 1) with x^4: 12 < 15
    row = df[(df["activation"] == "x^2") & df["widths"].map(lambda w: list(w) == [2, 2, 1])].iloc[0]
    assert row["dimension"] == 3 and row["filling"]
    row = df[(df["activation"] == "x^4") & df["widths"].map(lambda w: list(w) == [3, 4, 1])].iloc[0]
    assert row["dimension"] == 12 and row["ambient_dimension"] == 15
    again = cli("run", "grids/quickstart.yaml", "--workers", "2", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "computed 0 new cells" in again.stdout
    assert len(store.load("dimension", tmp_path / "results")) == 90
    runs = store.load_runs(tmp_path / "results")
    # one row per invocation: the rerun with nothing to do has its own row (planned 90, skipped 90, computed 0)
    assert len(runs) == 2 and list(runs["status"]) == ["ok", "ok"]
    assert list(runs["cells_ok"]) == [90, 0] and list(runs["cells_skipped"]) == [0, 90]


def test_timeout_cell_is_recorded_and_grid_completes(tmp_path, cli):
    spec = tmp_path / "timeouts.yaml"
    spec.write_text(
        "name: timeouts\ncomputations: [dimension]\nmodel: mlp\n"
        "axes:\n  widths: [[2, 2, 1], [8, 60, 60, 1], [3, 3, 1]]\n  activation: ['x^3']\n  float_check: [false]\n"
        "timeout_s: 2\n"
    )
    p = cli("run", spec, "--workers", "2", "--results", tmp_path / "r", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    assert (summary["ok"], summary["timeout"], summary["error"]) == (2, 1, 0)
    df = store.load("dimension", tmp_path / "r")
    by = {tuple(w): s for w, s in zip(df["widths"], df["status"])}
    assert by == {(2, 2, 1): "ok", (8, 60, 60, 1): "timeout", (3, 3, 1): "ok"}
    # x^3 on (3, 3, 1): 3 cubes of linear forms in 3 variables, dim 9 < 10 (AH)
    assert df.loc[df["widths"].map(tuple) == (3, 3, 1), "dimension"].iloc[0] == 9
    # --retry-failed tries the timed-out cell again (it times out again)
    p2 = cli("run", spec, "--workers", "1", "--results", tmp_path / "r", "--json", "--retry-failed", cwd=tmp_path)
    s2 = json.loads(p2.stdout.strip().splitlines()[-1])
    assert (s2["computed"], s2["timeout"]) == (1, 1)
