"""The public solver on the field's standard systems, and ``neurovar solve`` on bad input.

Published counts: katsura-n has 2^n solutions (Katsura's magnetism equations;
the total degree is also 2^n), cyclic-5 has 70 (Bjorck--Froberg), 10 of them
real. Each count comes with a certificate of completeness: every path of the
total-degree homotopy ended, the trace test on the coefficients' family, or
as many certified solutions as the BKK bound (Bernstein's theorem).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from neurovar.pipeline.numeric.solve import SystemInputError, certify_points, cyclic, katsura, solve


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "neurovar", "solve", *map(str, args)], capture_output=True,
                          text=True, timeout=600, cwd=cwd)


def _write(path, equations, variables):
    path.write_text("# a test system\nvariables: " + ", ".join(variables) + "\n" + "\n".join(equations) + "\n")
    return path


def test_katsura_6_has_2_to_the_6_solutions_from_the_command_line(tmp_path):
    out = _cli(_write(tmp_path / "k6.txt", *katsura(6)))
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["count"] == r["certified"] == 2 ** 6 == len(r["solutions"])
    assert r["completeness"] == "total-degree" and r["paths"]["total"] == 2 ** 6 and r["method"] == "total-degree"


def test_cyclic_5_has_70_solutions_10_real_certified_complete(tmp_path):
    out = _cli(_write(tmp_path / "c5.txt", *cyclic(5)))
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["count"] == r["certified"] == 70 and r["real"] == 10
    # auto: x0 ... x4 = 1 keeps every solution in the torus, and the BKK bound 70 < Bezout 120
    assert r["method"] == "bkk" and r["paths"]["bkk"] == 70 and r["paths"]["bezout"] == 120
    assert r["completeness"] == "bkk-bound", r["reason"]
    X = np.array(r["solutions"])[..., 0] + 1j * np.array(r["solutions"])[..., 1]
    assert np.allclose(X.prod(axis=1), 1) and np.allclose(X.sum(axis=1), 0, atol=1e-8)


def test_monodromy_with_the_users_group_action():
    # x^2 + y^2 = 5, x y = 2 is invariant under (x, y) -> (y, x) and (x, y) -> (-x, -y): 4 solutions, one orbit
    def action(x):
        x = np.asarray(x).ravel()
        return np.array([x, x[::-1], -x, -x[::-1]])

    r = solve(["x^2 + y^2 - 5", "x*y - 2"], ["x", "y"], method="monodromy", group_action=action, seed=1)
    assert r.count == r.certified == r.real == 4 and r.completeness == "trace-test", r.reason
    assert sorted(np.round(r.solutions[:, 0].real).astype(int).tolist()) == [-2, -1, 1, 2]


def test_certify_a_list_of_points():
    r = certify_points("x^2 + y^2 - 5; x*y - 2", ["x", "y"], [[1.0001, 2.0], [2.0, 1.0], [1.0, 2.0]])
    assert r["certified"] == [True, True, True] and r["distinct"] == [True, True, False]
    with pytest.raises(SystemInputError, match="points: each point needs 2 coordinates"):
        certify_points("x^2 + y^2 - 5; x*y - 2", ["x", "y"], [[1.0, 2.0, 3.0]])


@pytest.mark.parametrize("text, message", [
    ("variables: x, y\nx^2 + y^2 - 5\n", "1 equation in 2 variables; a square system needs 2"),
    ("variables: x, y\nx^2 + z - 5\nx*y - 2\n", "unknown variable 'z'"),
    ("", "the file is empty"),
    ("# only a comment\n", "the file is empty"),
    ("x^2 - 1\n", "the first line must be 'variables: x, y, ...'"),
    ("variables: x\n3\n", "equation 1 (3) is a constant"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, text, message):
    f = tmp_path / "bad.txt"
    f.write_text(text)
    out = _cli(f, cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "bad.txt" in lines[0], out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt"]  # nothing written
