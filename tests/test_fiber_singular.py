"""The Singular route of the fiber count, against msolve and the theorems of tests/test_fiber.py.

- Singular's count is used only with its radicality certificate (the minimal
  polynomial of a random linear form has degree ``vdim`` and is square-free);
  checked on hand-made ideals: two simple points, a double point, a line, none.
- On the fiber cases of tests/test_fiber.py (Sylvester: ``k!`` points for
  ``(2, k, 1)`` with ``x^(2k-1)``; ``k! r^k`` with the outgoing gauge; the deep
  and biased cases) the Singular route and msolve give the same count on the
  same system, and that count is the theorem's. Sylvester's ``k = 5`` (120
  points), out of msolve's reach, is counted by Singular.
- Without Singular (not on PATH, ``NEUROVAR_SINGULAR=off``, or a Singular
  that fails) the cell falls back to msolve and says so in ``method``.
- A Singular past its time limit is killed (no process left behind).
- ``bench/bench_peers.py --quick`` runs and prints its ratios, or says which
  peer it skipped.
"""

import os
import shutil
import subprocess
import sys
import time
from math import factorial, prod
from pathlib import Path

import numpy as np
import psutil
import pytest

from neurovar.pipeline.algebra import singular
from neurovar.pipeline.algebra.field import MSOLVE_PRIMES
from neurovar.pipeline.algebra.gauge import choose_gauge
from neurovar.pipeline.compute.fiber import count_fiber_points, fiber, fiber_system
from neurovar.pipeline.compute.fiber_system import choose_solver
from tests.test_fiber import mlp

P0, P1 = MSOLVE_PRIMES[:2]
ROOT = Path(__file__).resolve().parents[1]
HAVE_SINGULAR = singular.singular_executable() is not None
needs_singular = pytest.mark.skipif(not HAVE_SINGULAR, reason="Singular is not installed (apt-get install singular)")


@pytest.fixture
def no_singular_on_path(monkeypatch, tmp_path):
    """PATH without Singular (msolve is found through its Python package, not PATH)."""
    monkeypatch.delenv(singular.SINGULAR_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert singular.singular_executable() is None


# --- the certificate on hand-made ideals ---------------------------------------------------

@needs_singular
def test_certificate_on_hand_made_ideals():
    rs = singular.count_solutions([
        (["x^2 + y^2 - 1", "x - y"], ["x", "y"], P0),  # two simple points (+-1/sqrt 2)(1, 1)
        (["x^2", "y - 1"], ["x", "y"], P0),  # one double point: vdim 2, not radical
        (["x*y - 1", "x^3 - 8"], ["x", "y"], P0),  # x = 2, 2w, 2w^2 (w^3 = 1) in the closure, y = 1/x
        (["x*y"], ["x", "y"], P1),  # two lines
        (["x", "x - 1"], ["x", "y"], P1),  # nothing
    ])
    got = [(r.kind, r.count, r.distinct, r.certified) for r in rs]
    assert got == [("finite", 2, 2, True), ("finite", 2, None, False), ("finite", 3, 3, True),
                   ("positive_dimensional", None, None, True), ("empty", 0, 0, True)]
    assert rs[3].dimension == 1


def test_bad_executable_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv(singular.SINGULAR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(singular.SingularError, match=singular.SINGULAR_ENV):
        singular.singular_executable()


# --- the fiber tables of tests/test_fiber.py, both routes ------------------------------------

# (widths, activation, bias, gauge, points): Sylvester k!, roots of unity k! r^k, deep permutations
FIBER_TABLE = [
    ((2, 2, 1), "x^3", False, "auto", factorial(2)),
    ((2, 3, 1), "x^5", False, "auto", factorial(3)),
    ((2, 4, 1), "x^7", False, "auto", factorial(4)),
    ((2, 2, 1), "x^3", False, "outgoing", factorial(2) * 3**2),
    ((2, 2, 1), "x^4", False, "outgoing", factorial(2) * 4**2),
    ((2, 2, 2, 1), "x^3", False, "auto", factorial(2) * factorial(2)),
    ((2, 2, 1, 1), "generic:3", False, "auto", prod(factorial(d) for d in (2, 1))),
    ((2, 2, 1), "generic:3", True, "auto", factorial(2) * 2**2),
]


@needs_singular
@pytest.mark.parametrize("widths, act, bias, gauge, points", FIBER_TABLE)
def test_singular_route_agrees_with_msolve_and_the_theorem(widths, act, bias, gauge, points):
    m = mlp(widths, act, bias)
    g = choose_gauge(m, gauge)
    for p in (P0, P1):
        s = count_fiber_points(m, g, p, seed=0, solver="singular")
        ms = count_fiber_points(m, g, p, seed=0, solver="msolve")
        assert s["method"] == "exact-singular" and ms["method"] == "exact-msolve"
        assert s["fiber_points"] == ms["fiber_points"] == points
        assert s["reduced"] is ms["reduced"] is True
    r = fiber(m, gauge=gauge)  # the auto route on these small systems is Singular
    assert r["method"] == "exact-singular" and r["fiber_points"] == points
    assert r["primes_agree"] is True and r["second_prime_points"] == points


@needs_singular
def test_singular_counts_the_sylvester_quintic_network_beyond_msolve():
    # Sylvester, k = 5: a general binary form of degree 9 is a sum of 5 ninth powers in one way, 5! points;
    # 10 unknowns, where msolve's parametrization gives no answer in minutes
    r = fiber(mlp((2, 5, 1), "x^9"))
    assert r["method"] == "exact-singular" and r["fiber_points"] == factorial(5) == r["second_prime_points"]
    assert r["reduced"] is True and r["only_known_symmetries"] is True


@needs_singular
def test_singular_sees_the_positive_dimensional_fiber_of_a_rank_three_binary_cubic():
    # tests/test_fiber.py: 9 parameters, dim V = 4, a 2-dimensional fiber in the slice
    m = mlp((2, 3, 1), "x^3")
    S = fiber_system(m, choose_gauge(m), P0, np.random.default_rng(5))
    r = singular.count_solutions([(S.polys, S.variables, P0)])[0]
    assert r.kind == "positive_dimensional" and r.dimension == 2


# --- fallbacks -------------------------------------------------------------------------------

def test_without_singular_on_path_the_cell_uses_msolve(no_singular_on_path):
    m = mlp((2, 3, 1), "x^5")
    assert choose_solver(m, choose_gauge(m), 6, [6] * 6, "auto") == "msolve"
    assert choose_solver(m, choose_gauge(m), 6, [6] * 6, "singular") == "msolve"
    r = fiber(m)
    assert r["method"] == "exact-msolve" and r["fiber_points"] == factorial(3) and r["primes_agree"] is True


def test_singular_turned_off_uses_msolve(monkeypatch):
    monkeypatch.setenv(singular.SINGULAR_ENV, "off")
    r = fiber(mlp((2, 2, 1), "x^3"))
    assert r["method"] == "exact-msolve" and r["fiber_points"] == factorial(2)


def test_a_failing_singular_falls_back_to_msolve(monkeypatch):
    false = "/bin/false" if os.path.exists("/bin/false") else "/usr/bin/false"
    monkeypatch.setenv(singular.SINGULAR_ENV, false)
    r = fiber(mlp((2, 3, 1), "x^5"))
    assert r["method"] == "exact-msolve" and r["fiber_points"] == factorial(3)


@needs_singular
def test_a_large_system_goes_to_msolve():
    # the auto route's size estimate: (2, 7, 1) x^13 expects 7! = 5040 points in 14 unknowns (msolve);
    # (2, 4, 1) x^7 expects 4! = 24 points in 8 unknowns (Singular)
    m = mlp((2, 7, 1), "x^13")
    assert choose_solver(m, choose_gauge(m), 14, [14] * 14) == "msolve"
    m = mlp((2, 4, 1), "x^7")
    assert choose_solver(m, choose_gauge(m), 8, [8] * 8) == "singular"


@needs_singular
def test_singular_past_its_time_limit_is_killed():
    # 9 random dense quadrics in 9 unknowns: 512 points, far more than a fraction of a second of std
    rng = np.random.default_rng(0)
    names = [f"y{i}" for i in range(9)]
    monos = [f"{a}*{b}" for i, a in enumerate(names) for b in names[i:]] + names + ["1"]
    polys = [" + ".join(f"{int(c)}*{mono}" for c, mono in zip(rng.integers(1, 1000, len(monos)), monos))
             for _ in names]
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(singular.SingularTimeout):
        singular.count_solutions([(polys, names, P0)], timeout=0.5)
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert not [p for p in left if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.parametrize("solver, widths, act", [("msolve", (2, 5, 1), "x^9"), ("singular", (2, 6, 1), "x^11")])
def test_a_solver_out_of_time_gives_a_timeout_row_naming_it(solver, widths, act):
    if solver == "singular" and not HAVE_SINGULAR:
        pytest.skip("Singular is not installed (apt-get install singular)")
    r = fiber(mlp(widths, act), timeout_solver=1, solver=solver)
    assert r["status"] == "timeout" and r["fiber_points"] is None
    name = "Singular" if solver == "singular" else "msolve"
    assert r["error"].startswith(f"{name} ran out of its time limit timeout_solver=1 s on prime {P0}")
    assert r["method"] == f"exact-{solver}" and r["second_prime_points"] is None


@needs_singular
def test_a_cell_that_times_out_inside_singular_leaves_no_singular(tmp_path):
    """The runner's child leads its own process group; a cell timeout kills the group, Singular with it."""
    from neurovar.pipeline.cells import make_cell
    from neurovar.pipeline.runner import CellRunner

    from .servers import run_watching_solvers

    # Sylvester k = 6: 12 unknowns and 6! expected points go to Singular, which needs minutes
    cell = make_cell("fiber", {"model": "mlp", "widths": [2, 6, 1], "activation": "x^11"}, timeout_s=3)
    runner = CellRunner()
    rec, seen = run_watching_solvers(runner, cell, lambda c: c.name().startswith("Singular"))
    assert rec["status"] == "timeout" and "timeout_s=3" in rec["error"]
    assert seen, "Singular never ran: the cell did not time out inside Singular"
    time.sleep(0.3)
    assert not [p for p in seen if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


# --- bench_peers in its quick mode -------------------------------------------------------------

def _bench(env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "bench_peers.py"), "--quick", "--repeat", "1",
                           "--peer-repeat", "1", "--no-breakdown", "--timeout", "120"],
                          capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


def test_bench_peers_quick_prints_ratios_or_skips():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = _bench(env)
    assert res.returncode == 0, res.stderr[-2000:]
    out = res.stdout
    assert "dim (3, 5, 1) x^4" in out and "fiber (2, 4, 1) x^7" in out
    assert "ANSWER DIFFERS" not in out
    for peer, exe in (("Singular", "Singular"), ("M2", "M2")):
        if shutil.which(exe):
            assert f"{peer} " in out and "skipped" not in [ln for ln in out.splitlines() if f" {peer} " in ln][0]
        else:
            assert f"{peer} is not installed" in out
    if shutil.which("Singular"):
        assert "ours/Singular = " in out


def test_bench_peers_skips_missing_peers_with_a_message(tmp_path):
    # a PATH with python but neither Singular nor M2
    bindir = tmp_path / "bin"
    bindir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != singular.SINGULAR_ENV}
    env.update(PYTHONPATH=str(ROOT), PATH=str(bindir))
    res = _bench(env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Singular is not installed" in res.stdout and "M2 is not installed" in res.stdout
    assert "skipped: not installed" in res.stdout
    assert "fiber (2, 4, 1) x^7" in res.stdout and "route exact-msolve" in res.stdout
