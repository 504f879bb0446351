"""The bias report: cells of one architecture pooled over seeds, stratum fractions against dataset_size and width."""

from __future__ import annotations

import pandas as pd
import pytest

from neurovar.catalog.analysis import merge_bias, stratum_points


def _row(seed, counts, widths=(2, 2, 1), ds=None, weights="identity", model="mlp"):
    spec = f'{{"model": {{"model": "{model}", "widths": {list(widths)}, "activation": "x^3"}}}}'
    return {"status": "ok", "cell_spec": spec, "seed": seed, "model": model, "widths": list(widths),
            "activation": "x^3", "dataset_size": ds, "weights": weights, "counts": counts,
            "certified": sum(counts.values()), "uncertified": 0}


def test_cells_of_one_architecture_pool_over_seeds_with_wilson_intervals():
    df = pd.DataFrame([_row(0, {"zero-loss": 6, "boundary": 4}), _row(1, {"zero-loss": 7, "boundary": 3}),
                       _row(0, {"zero-loss": 1, "smooth": 9}, ds=10),
                       _row(0, {"zero-loss": 2, "smooth": 8}, widths=(2, 3, 1)),
                       _row(0, {"smooth": 5}, widths=(1, 2, 1))])
    m = merge_bias(df)
    assert len(m) == 4  # (2,2,1) Gaussian (2 seeds), (2,2,1) with 10 points, (2,3,1), (1,2,1)
    pooled = m[(m["architecture"].str.contains("widths=2,2,1")) & (m["dataset_size"] == 0)].iloc[0]
    assert pooled["seeds"] == 2 and pooled["samples"] == 20 and pooled["counts"] == {"boundary": 7, "zero-loss": 13}
    # Wilson 95 % for 13 of 20, by hand: (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n) = [0.4329, 0.8188]
    lo, hi = pooled["intervals"]["zero-loss"]
    assert lo == pytest.approx(0.4329, abs=1e-4) and hi == pytest.approx(0.8188, abs=1e-4)

    pts = stratum_points(m, "dataset_size")
    assert not pts["panel"].str.contains("widths=1,2,1").any()  # d0 = 1 is left to the (1, k, 1) plots
    p221 = pts[pts["panel"] == "mlp activation=x^3 widths=2,2,1"]
    got = {(r.stratum, r.x): round(r.fraction, 3) for r in p221.itertuples()}
    # strata that occur in the panel, at dataset_size 0 (Gaussian) and 10
    assert got == {("boundary", 0): 0.35, ("boundary", 10): 0.0, ("smooth", 0): 0.0, ("smooth", 10): 0.9,
                   ("zero-loss", 0): 0.65, ("zero-loss", 10): 0.1}
    w = stratum_points(m, "width")
    zl = w[(w["stratum"] == "zero-loss") & (w["panel"] == "mlp activation=x^3 d0=2 depth=2, dataset_size 0")]
    assert list(zip(zl["x"], zl["fraction"].round(3))) == [(2, 0.65), (3, 0.2)]


def test_report_plots_real_cells_of_a_cnn(tmp_path):
    """Two seeds of one CNN cell (Kostlan quadratics) pooled in the report's points and plotted."""
    from neurovar.catalog.bias_analysis import merge_bias as merge
    from neurovar.catalog.report import write_report
    from neurovar.catalog.store import load, write_records
    from neurovar.pipeline.cells import make_cell, run_cell

    recs = [run_cell(make_cell("bias", {"model": "cnn", "filters": [2, 2], "activation": "x"},
                               {"samples": 8, "weights": "diag:1,1/2,1"}, seed=s)) for s in (0, 1)]
    assert all(r["status"] == "ok" for r in recs), [r.get("error") for r in recs]
    write_records(recs, "bias", tmp_path)
    m = merge(load("bias", tmp_path))
    assert len(m) == 1 and m.loc[0, "seeds"] == 2 and m.loc[0, "samples"] == 16 and m.loc[0, "d0"] == 3
    pts = stratum_points(m, "dataset_size")
    assert set(pts["stratum"]) <= {"zero-loss", "boundary", "sparse: w1[0] = 0"}  # the real image is closed
    assert pts.groupby("x")["fraction"].sum().round(9).tolist() == [1.0]
    rep = write_report(tmp_path, tmp_path / "rep")  # what `neurovar report` writes
    assert tmp_path / "rep" / "bias_inputs_vs_dataset_size.png" in rep.files
    assert (tmp_path / "rep" / "bias_inputs_vs_dataset_size.png").stat().st_size > 0
