"""``neurovar run grids/quickstart.yaml && neurovar report``: report and plots agree with ``catalog.load``."""

from __future__ import annotations

import re
import struct

import pytest

from neurovar.catalog import store
from neurovar.catalog.analysis import derive
from neurovar.catalog.conjectures import ATTENTION_HYPERSURFACE, ah_dimension
from neurovar.catalog.report import write_report
from neurovar.pipeline.cells import make_cell, run_cell

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _table(md: str, heading: str) -> list[list[str]]:
    """The rows of the first markdown table after ``heading``."""
    part = md.split(heading, 1)[1]
    rows = []
    for line in part.splitlines()[1:]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # drop the header and the rule


@pytest.mark.slow
def test_run_quickstart_then_report(tmp_path, cli):
    results, out = tmp_path / "results", tmp_path / "report"
    run = cli("run", "grids/quickstart.yaml", "--results", results, "--workers", "2", timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    rep = cli("report", "--results", results, "--out", out)
    assert rep.returncode == 0, rep.stdout + rep.stderr
    md = (out / "report.md").read_text()
    df = store.load("dimension", results)
    assert len(df) == 90 and (df["status"] == "ok").all()
    # the catalog table and the verdicts are the numbers catalog.load gives
    (dim_row,) = [r for r in _table(md, "## Catalog") if r[0] == "dimension"]
    assert dim_row[1:] == [str(len(df)), str(len(df)), "0", "0"]
    verdicts = {r[0]: r for r in _table(md, "## Verdicts")}
    shallow = df[df["widths"].map(lambda w: len(w) == 3)]
    # supports, violates, outside the range, not applicable, broken
    assert verdicts["alexander-hirschowitz"][3:8] == [str(len(shallow)), "0", "0", str(len(df) - len(shallow)), "0"]
    # every shallow cell has the theorem's dimension
    for w, a, dim in shallow[["widths", "activation", "dimension"]].itertuples(index=False):
        assert dim == ah_dimension(w[0], w[1], int(a[2:]))
    # the defective cells listed are the catalog's defective shallow cells
    listed = {tuple(int(x) for x in r[:3]) for r in _table(md, "### Defective cells")}
    d = derive(shallow)
    assert listed == {(int(n), int(k), int(r)) for n, k, r, dfc in
                      d[["input_dim", "hidden", "r", "defect"]].itertuples(index=False) if dfc > 0}
    assert listed == {(3, 2, 2), (4, 2, 2), (4, 3, 2), (3, 5, 4)}
    # plots: one defect heatmap per depth (2 and 3), real PNGs of a useful size
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["defect_depth2.png", "defect_depth3.png"]
    for name in pngs:
        w, h = png_size(out / name)
        assert w >= 400 and h >= 250
        assert f"![{name[:-4]}]({name})" in md
    check = cli("check", "--results", results)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "alexander-hirschowitz" in check.stdout


def test_report_draws_independence_and_edd_plots(tmp_path):
    pythag = "x^2 - y^2; 2*x*y; x^2 + y^2"
    store.write_records([run_cell(make_cell("independence", None, {"polys": pythag, "activation": f"x^{r}"}))
                         for r in (1, 2, 3, 4)], "independence", tmp_path)
    store.write_records([run_cell(make_cell("independence-threshold", None, {"polys": "x; y; x + y", "max_r": 15}))],
                        "independence-threshold", tmp_path)
    store.write_records([run_cell(make_cell("edd", None, {"equations": ATTENTION_HYPERSURFACE, "weights": w}))
                         for w in ("psd:0", "psd:1", "psd:2", "psd:3")], "edd", tmp_path)
    rep = write_report(tmp_path, tmp_path / "rep")
    names = sorted(p.name for p in rep.files)
    assert names == ["edd_kernel_dimension.png", "independence_threshold.png", "report.md"]
    for p in rep.files:
        if p.suffix == ".png":
            assert min(png_size(p)) >= 250
    md = rep.path.read_text()
    # the talk's psd table: k = 0, 1: 14 points; k = 2: 4 points + a curve; k = 3: a surface
    psd = rep.verdicts["edd-attention-psd"]
    assert psd.counts == {"supports": 4, "violates": 0, "outside": 0, "not_applicable": 0, "broken": 0}
    edd = store.load("edd", tmp_path).sort_values("weights")
    assert edd["edd"].tolist() == [14, 14, 4, 0]
    # independence of the Pythagorean triple: dependent at r = 2 (certificate 1, 1, -1), independent from r = 3 on
    section = md.split("## prop16 (theorem)", 1)[1]
    assert "r = 2 <= 13" in section
    ind = rep.verdicts["prop16"]
    assert ind.counts["supports"] == 0  # no r above 13 tested
    thr = store.load("independence-threshold", tmp_path).iloc[0]
    assert thr["min_r"] == 2 and thr["dependent_r"] == [1]  # x, y, x + y are dependent only at r = 1
    assert re.search(r"prop16-threshold \| theorem \| independence-threshold \| 1 \| 0 \| 0 \| 0 \| 0 \| supported", md)


def test_report_on_a_missing_catalog_exits_2(tmp_path, cli):
    res = cli("report", "--results", tmp_path / "nothing")
    assert res.returncode == 2 and "--results" in res.stderr
