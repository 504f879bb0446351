"""One name for a numerical count's deadline: ``time_limit`` (``--time-limit``) in every computation.

``fiber`` called it ``numerical_time_limit`` (``--numerical-time-limit``); the old
spelling still works, means the same (same cell, same deadline) and prints one
deprecation line on stderr.
"""

import json

import pytest

from neurovar.pipeline.cells import make_cell
from neurovar.pipeline.compute import computations
from neurovar.pipeline.compute.renamed import deprecation_line
from neurovar.pipeline.errors import SpecError
from neurovar.pipeline.grid import GridSpec

MODEL = {"model": "mlp", "widths": [2, 2, 2, 1], "activation": "x^3"}


def test_every_computation_with_a_numerical_deadline_calls_it_time_limit():
    with_deadline = {name for name, c in computations().items()
                     if any("time_limit" in f for f in c.params.model_fields)}
    assert with_deadline == {"edd", "fiber"}
    for name in with_deadline:
        assert "time_limit" in computations()[name].params.model_fields


def test_the_old_name_makes_the_same_cell():
    old = make_cell("fiber", MODEL, {"method": "numerical", "numerical_time_limit": 7.5})
    new = make_cell("fiber", MODEL, {"method": "numerical", "time_limit": 7.5})
    assert old.params == new.params and old.params["time_limit"] == 7.5
    assert old.key == new.key
    with pytest.raises(SpecError, match="old name of time_limit"):
        make_cell("fiber", MODEL, {"method": "numerical", "numerical_time_limit": 1, "time_limit": 2})
    with pytest.raises(SpecError, match="positive number of seconds"):
        make_cell("fiber", MODEL, {"method": "numerical", "numerical_time_limit": -1})


def test_a_grid_axis_with_the_old_name_is_accepted():
    grid = GridSpec.from_mapping({"name": "t", "computations": ["fiber"], "model": "mlp",
                                  "axes": {"widths": [[2, 2, 1]], "activation": ["x^3"], "method": ["numerical"],
                                           "numerical_time_limit": [30]}})
    (cell,) = grid.cells()
    assert cell.params["time_limit"] == 30 and "numerical_time_limit" not in cell.params


@pytest.mark.parametrize("flag", ["--time-limit", "--numerical-time-limit"])
def test_cli_deadline_holds_under_either_spelling(cli, flag):
    # (2, 2, 2, 1) with x^3: hundreds of squared-up solutions, far more than 1 s of monodromy
    r = cli("compute", "fiber", "--model", "mlp", "--widths", "2,2,2,1", "--activation", "x^3",
            "--method", "numerical", flag, "1", "--json")
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["time_limit"] == 1.0
    assert rec["numerical_stop_reason"].startswith("time_limit")
    assert rec["fiber_points"] is None and rec["completeness"] == "none"
    warned = [line for line in r.stderr.splitlines() if "deprecated" in line]
    if flag == "--numerical-time-limit":
        assert warned == [deprecation_line("numerical_time_limit", "time_limit")]
    else:
        assert warned == []


def test_cli_refuses_both_spellings_with_exit_2(cli):
    r = cli("compute", "fiber", "--model", "mlp", "--widths", "2,2,1", "--activation", "x^2",
            "--method", "numerical", "--numerical-time-limit", "3", "--time-limit", "4")
    assert r.returncode == 2
    assert "--numerical-time-limit" in r.stderr and "give time_limit only" in r.stderr
