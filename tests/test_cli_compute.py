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
