"""``neurovar compute``: the talk's examples and bad input (exit 2, flag named)."""

import json

import pytest


def test_square_activation_fills(cli):
    p = cli("compute", "dimension", "--model", "mlp", "--widths", "2,2,1", "--activation", "x^2", "--json")
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    assert rec["dimension"] == 3 and rec["filling"] is True
    assert rec["widths"] == [2, 2, 1] and rec["activation"] == "x^2"


def test_cube_activation_fills_over_C(cli):
    p = cli("compute", "dimension", "--model", "mlp", "--widths", "2,2,1", "--activation", "x^3", "--json")
    rec = json.loads(p.stdout)
    assert rec["dimension"] == 4 and rec["filling"] is True


def test_deep_network_and_table_output(cli):
    p = cli("compute", "dimension", "--model", "mlp", "--widths", "4,6,6,6,1", "--activation", "x^3")
    assert p.returncode == 0, p.stderr
    assert "dimension" in p.stdout and " 84" in p.stdout


@pytest.mark.parametrize(
    "args,flag",
    [
        (["--model", "mlp", "--widths", "2,0,1"], "--widths"),
        (["--model", "mlp", "--widths", "2,-1,1"], "--widths"),
        (["--model", "mlp", "--widths", "3"], "--widths"),
        (["--model", "mlp", "--widths", "2,x,1"], "--widths"),
        (["--model", "transformer", "--widths", "2,2,1"], "--model"),
        (["--model", "mlp", "--widths", "2,2,1", "--activation", "exp(x)"], "--activation"),
        (["--model", "mlp", "--widths", "2,2,1", "--activation", "x**2"], "--activation"),
        (["--model", "mlp", "--widths", "2,2,1", "--activation", "y^2"], "--activation"),
        (["--model", "cnn", "--filters", "5", "--input-dim", "3"], "--filters"),
        (["--model", "cnn", "--filters", "3,0"], "--filters"),
        (["--model", "attention", "--d", "0", "--d-out", "1", "--n", "1"], "--d"),
        (["--model", "mlp", "--widths", "2,2,1", "--filters", "2"], "--filters"),
        (["--model", "mlp", "--widths", "2,2,1", "--prime", "15"], "--prime"),
    ],
)
def test_bad_input_exits_2_naming_the_flag(cli, args, flag):
    p = cli("compute", "dimension", *args, "--json")
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert flag in p.stderr
    assert p.stdout == ""
    assert "Traceback" not in p.stderr


def test_unknown_computation_or_option_exits_2_with_the_choices(cli):
    p = cli("compute", "nope")
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stdout == ""
    assert "nope" in p.stderr and "dimension" in p.stderr and "edd" in p.stderr
    p = cli("compute", "edd", "--bogus", "1")
    assert p.returncode == 2 and "Traceback" not in p.stderr and "--bogus" in p.stderr


def test_timeout_is_enforced_in_a_child_process(cli):
    p = cli("compute", "dimension", "--model", "linear", "--widths", "3,2,3", "--timeout", "30", "--json")
    assert json.loads(p.stdout)["dimension"] == 2 * (3 + 3 - 2)


_ONE_CELL = """
import json, os, sys
from neurovar.flows.cli import main
try:
    main(["compute", "dimension", "--model", "mlp", "--widths", "2,2,1", "--activation", "x^2", "--json"])
except SystemExit as e:
    code = e.code
from threadpoolctl import threadpool_info
print(json.dumps({"code": code, "typer": "typer" in sys.modules,
                  "rich": any(m.split(".")[0] == "rich" for m in sys.modules),
                  "env": os.environ.get("OPENBLAS_NUM_THREADS"),
                  "openblas": [i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas"]}))
"""


def _one_cell(env_extra):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "NEUROVAR_BLAS_THREADS")}
    p = subprocess.run([sys.executable, "-c", _ONE_CELL], capture_output=True, text=True, timeout=300,
                       env={**env, **env_extra})
    assert p.returncode == 0, p.stderr
    rec, state = (json.loads(line) for line in p.stdout.strip().splitlines())
    return rec, state


def test_one_cell_call_builds_only_its_command():
    # `compute NAME` runs on a plain click root: neither typer nor rich is imported, the record is the same
    rec, state = _one_cell({})
    assert rec["dimension"] == 3 and rec["filling"] is True  # (2, 2, 1) with x^2 fills its 3-dim. space
    assert state["code"] == 0 and state["typer"] is False and state["rich"] is False


@pytest.mark.parametrize("env_extra,pool,env_after", [
    ({}, 1, None),                                          # one BLAS thread per cell by default
    ({"NEUROVAR_BLAS_THREADS": "2"}, 2, None),              # the cell's configured threads
    ({"OPENBLAS_NUM_THREADS": "1", "NEUROVAR_BLAS_THREADS": "2"}, 1, "1"),  # the user's own setting wins
])
def test_one_cell_call_starts_the_blas_pool_its_cell_uses(env_extra, pool, env_after):
    import os

    rec, state = _one_cell(env_extra)
    assert rec["status"] == "ok"
    if not state["openblas"]:
        pytest.skip("numpy's BLAS is not OpenBLAS here")
    assert state["openblas"] == [min(pool, len(os.sched_getaffinity(0)))]  # OpenBLAS starts at most one per core
    assert state["env"] == env_after  # the environment of processes started later is the user's


@pytest.mark.parametrize("value", [None, "1", "4", "0", "-2", "x", ""])
def test_cli_reads_the_blas_threads_as_the_numerical_budget_does(monkeypatch, value):
    from neurovar.flows.cli import _cell_blas_threads
    from neurovar.pipeline.numeric.budget import blas_threads

    if value is None:
        monkeypatch.delenv("NEUROVAR_BLAS_THREADS", raising=False)
    else:
        monkeypatch.setenv("NEUROVAR_BLAS_THREADS", value)
    assert _cell_blas_threads() == blas_threads()


@pytest.mark.parametrize("widths,code", [("2,1,2", 0), ("2,0,2", 2)])
def test_one_cell_process_ends_with_its_exit_handlers_and_output(tmp_path, widths, code):
    # a one-cell call that is the process skips the interpreter's teardown: what a normal exit
    # does that anyone can see (atexit handlers, all of stdout and stderr, the exit status) stays
    import subprocess
    import sys

    marker = tmp_path / "atexit"
    script = ("import atexit, pathlib, sys\n"
              f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'ran')\n"
              "from neurovar.flows.cli import main\n"
              f"sys.argv = ['neurovar', 'compute', 'dimension', '--model', 'linear', '--widths', {widths!r}, '--json']\n"
              "main()\n")
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert p.returncode == code, p.stderr
    assert marker.read_text() == "ran"
    if code == 0:  # rank <= 1 maps of R^2 -> R^2: a 3-dimensional variety of 2x2 matrices
        assert json.loads(p.stdout)["dimension"] == 3 and p.stderr == ""
    else:
        assert p.stdout == "" and "--widths" in p.stderr and "Traceback" not in p.stderr


def test_main_called_from_python_raises_systemexit(capsys):
    # only the process's own command line ends the process; a caller of main(argv) gets SystemExit
    from neurovar.flows.cli import main

    with pytest.raises(SystemExit) as e:
        main(["compute", "dimension", "--model", "linear", "--widths", "2,1,2", "--json"])
    assert e.value.code == 0
    assert json.loads(capsys.readouterr().out)["dimension"] == 3


def test_progress_prints_the_milestones_of_a_numerical_count_on_stderr(cli):
    # the general plane quintic: one decomposition as 7 fifth powers (Hilbert, Richmond, Palatini), i.e.
    # one orbit of 7! points, and 35 chart crossings as the trace test's extra witnesses (test_poles)
    p = cli("compute", "fiber", "--model", "mlp", "--widths", "3,7,1", "--activation", "x^5",
            "--method", "numerical", "--progress", "--json")
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)  # stdout stays one JSON object
    assert rec["fiber_points"] == 5040 and rec["completeness"] == "trace-test"
    lines = p.stderr.splitlines()
    assert any(" monodromy: 1 orbit, 1 certified, " in ln for ln in lines), lines
    assert lines[-1].endswith("trace test: 35 extra: passed"), lines
    assert all(len(ln) <= 80 for ln in lines)
    # without the flag, nothing on stderr
    q = cli("compute", "fiber", "--model", "mlp", "--widths", "3,7,1", "--activation", "x^5",
            "--method", "numerical", "--json")
    assert q.returncode == 0 and q.stderr == "", q.stderr
