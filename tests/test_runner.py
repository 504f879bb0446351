"""Per-cell time limits: a real slow cell is stopped and recorded as a timeout; the next one runs."""

from neurovar.pipeline.cells import make_cell
from neurovar.pipeline.runner import CellRunner, run_cells

# the dimension of this network takes about 25 s on one core (a 4142 x 4140 rank mod p)
SLOW = {"model": "mlp", "widths": [8, 60, 60, 1], "activation": "x^3"}


def test_timeout_then_next_cell_runs():
    slow = make_cell("dimension", SLOW, {"float_check": False}, timeout_s=1.0)
    quick = make_cell("dimension", {"model": "linear", "widths": [3, 2, 3]}, timeout_s=30)
    with CellRunner() as runner:
        recs = run_cells([slow, quick], runner=runner)
    assert recs[0]["status"] == "timeout" and "timeout_s=1.0" in recs[0]["error"]
    assert 1.0 <= recs[0]["seconds"] < 10
    assert recs[0]["cell_key"] == slow.key and recs[0]["dimension"] is None
    assert recs[1]["status"] == "ok" and recs[1]["dimension"] == 2 * (3 + 3 - 2)


def test_error_becomes_a_record():
    # a prime the dimension options do not accept is caught at make_cell; a bad model at run time:
    cell = make_cell("dimension", {"model": "linear", "widths": [2, 2]}, timeout_s=30)
    cell = cell.model_copy(update={"model": {"model": "linear", "widths": [2, 0]}})
    rec = run_cells([cell])[0]
    assert rec["status"] == "error" and "widths" in rec["error"]
