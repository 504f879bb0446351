"""Output for people: the answer first, tables within 80 columns, the addresses of a run's UIs.

The tables are read from a small real catalog: a grid of eight shallow monomial networks run
by ``neurovar run`` (real Dask workers, Prefect's temporary server), then printed with
``COLUMNS=80``. No line may be longer than 80 characters and no cell may end in an ellipsis;
an abbreviated header must be explained by the legend.
"""

from __future__ import annotations

import json
import os
import re
from math import comb

import pytest

from neurovar.pipeline.alexander_hirschowitz import ah_dimension

W80 = {"COLUMNS": "80"}
GRID = """\
name: tiny
computations: [dimension]
model: mlp
axes:
  input_dim: [2, 3]
  hidden: [2, 5]
  depth: [2]
  output_dim: [1]
  activation: ["x^2", "x^4"]
  seed: [0]
timeout_s: 120
"""


def _fits_80(text: str) -> None:
    long = [ln for ln in text.splitlines() if len(ln) > 80]
    assert long == [], long
    assert "…" not in text


# ----------------------------------------------------------------------------- one cell
def test_compute_prints_the_dimension_and_the_defect_first(cli):
    p = cli("compute", "dimension", "--model", "mlp", "--widths", "3,5,1", "--activation", "x^4", env=W80)
    assert p.returncode == 0, p.stderr
    _fits_80(p.stdout)
    head = " ".join(p.stdout.splitlines()[:5])
    # plane quartics as sums of 5 fourth powers: expected min(5 * 3, binom(6, 4)) = 15, actual 14
    expected, actual = min(5 * 3, comb(3 + 4 - 1, 4)), ah_dimension(3, 5, 4)
    assert (expected, actual) == (15, 14)
    assert f"dimension {actual}" in head
    assert f"defect {expected - actual}: expected {expected}, actual {actual}" in head
    assert "(3,5,1) with x^4 is an Alexander–Hirschowitz exception" in head
    # 20 parameters less the 5 rescalings of the hidden neurons
    assert "expected 15 = min(20 parameters - 5 symmetries, ambient 15)" in head
    assert "cell_key" not in p.stdout and "git_revision" not in p.stdout  # provenance only under --verbose


def test_a_non_defective_network_says_so(cli):
    # (2, 2, 1) with x^2: binary quadratic forms of rank <= 2 fill R[x, y]_2 (dimension 3)
    p = cli("compute", "dimension", "--model", "mlp", "--widths", "2,2,1", "--activation", "x^2", env=W80)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("dimension 3:") and lines[1] == "defect 0: the expected dimension, 3"
    assert "Alexander" not in p.stdout and "filling (the whole ambient space)" in p.stdout


@pytest.mark.parametrize("args,lines", [
    # Sylvester: a generic binary quintic is a sum of 3 fifth powers in 3! = 6 ways (the permutations)
    (["fiber", "--model", "mlp", "--widths", "2,3,1", "--activation", "x^5"],
     ["generic fiber of mlp (2,3,1), x^5", "dimension 3 (the symmetry group's: 3)",
      "6 points after the gauge; the known symmetries give 6; no others"]),
    # symmetric 4 x 4 matrices of rank <= 2 with the Bombieri (Frobenius) weights: binom(4, 2) = 6
    (["edd", "--model", "mlp", "--widths", "4,2,1", "--activation", "x^2", "--weights", "bombieri"],
     ["ED degree 6 of mlp (4,2,1), x^2"]),
    # the unit circle under the weighted distance diag(4, 1) is an ellipse under the Euclidean one: 4
    # (a generic conic's ED degree; the circle's own is 2)
    (["edd", "--equations", "x^2+y^2-1", "--variables", "x,y", "--weights", "diag:4,1"],
     ["ED degree 4 of V(x^2+y^2-1)"]),
])
def test_fiber_and_edd_answers(cli, args, lines):
    p = cli("compute", *args, env=W80)
    assert p.returncode == 0, p.stderr
    _fits_80(p.stdout)
    assert p.stdout.splitlines()[:len(lines)] == lines


def test_verbose_adds_the_record_and_json_is_the_record(cli):
    args = ("compute", "dimension", "--model", "mlp", "--widths", "3,5,1", "--activation", "x^4")
    verbose = cli(*args, "--verbose", env=W80)
    assert verbose.returncode == 0, verbose.stderr
    answer, record = verbose.stdout.split("the record (outputs and provenance):")
    assert "defect 1" in answer and "cell_key" in record and "git_revision" in record
    rec = json.loads(cli(*args, "--json").stdout)
    assert rec["dimension"] == 14 and rec["defect"] == 1 and re.fullmatch(r"[0-9a-f]{24}", rec["cell_key"])


def test_bias_prints_a_summary(cli):
    p = cli("compute", "bias", "--model", "mlp", "--widths", "1,1,1", "--activation", "x^2+1", "--samples", "20",
            "--dataset-size", "3", env=W80)
    assert p.returncode == 0, p.stderr
    _fits_80(p.stdout)
    assert len(p.stdout.splitlines()) <= 8
    counts = " ".join(p.stdout.split()).split("counts ")[1].split(" intervals ")[0]  # "smooth 5, boundary 7, ..."
    assert sum(int(n) for n in re.findall(r" (\d+)(?:,|$)", counts)) == 20  # each sample lands in one stratum
    assert "certified 20, uncertified 0" in p.stdout


def test_dry_run_lists_cells_wrapped_between_fields(cli, tmp_path):
    """The bias grid's first cell is 98 characters long: at 80 columns it wraps after a field's comma
    (never inside ``widths=[1,1,1]`` or a value), and the continuation is indented under the cell."""
    p = cli("run", "grids/bias.yaml", "--dry-run", "--results", tmp_path / "r", env=W80)
    assert p.returncode == 0, p.stderr
    _fits_80(p.stdout)
    lines = p.stdout.splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.startswith("  bias("))
    assert lines[first].endswith(",") and lines[first + 1].startswith("      ")
    joined = lines[first] + " " + lines[first + 1].strip()
    assert joined == ("  bias(model=mlp, widths=[1,1,1], activation=generic:3, bias=False; samples=20, "
                      "dataset_size=1, grid=0, weights=identity; seed=0)")


def test_compute_help_shows_whole_first_lines(cli):
    from neurovar.pipeline.compute import computations

    p = cli("compute", "--help", env=W80)
    assert p.returncode == 0, p.stderr
    text = " ".join(p.stdout.split())
    for comp in computations().values():
        assert " ".join(comp.description.splitlines()[0].split()) in text, comp.name
    commands = p.stdout.split("Commands:")[1]
    assert "…" not in commands and "..." not in commands.replace("s(p_1), ..., s(p_k)", "")


def test_version(cli):
    import neurovar

    p = cli("--version")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"neurovar {neurovar.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", neurovar.__version__)


# ----------------------------------------------------------------------------- a real run, its tables
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    import subprocess

    from tests.conftest import neurovar_cmd

    root = tmp_path_factory.mktemp("output")
    (root / "tiny.yaml").write_text(GRID)
    (root / "prefect").mkdir()
    env = {**os.environ, **W80, "PREFECT_HOME": str(root / "prefect")}  # no server of `neurovar server start`
    env.pop("PREFECT_API_URL", None)
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    p = subprocess.run(neurovar_cmd() + ["run", "tiny.yaml", "--results", "results", "--workers", "1"],
                       capture_output=True, text=True, cwd=root, env=env, timeout=900)
    return root / "results", p


@pytest.mark.slow
def test_a_run_prints_the_dashboard_and_how_to_keep_prefects_ui(tiny_run):
    _, p = tiny_run
    assert p.returncode == 0, p.stdout + p.stderr
    dash = [ln for ln in p.stderr.splitlines() if ln.startswith("dashboard:")]
    assert len(dash) == 1 and re.fullmatch(r"dashboard: http://127\.0\.0\.1:\d+/status", dash[0]), p.stderr
    ui = [ln for ln in p.stderr.splitlines() if ln.startswith("Prefect UI:")]
    assert len(ui) == 1, p.stderr
    assert re.match(r"Prefect UI: http://127\.0\.0\.1:\d+, a temporary server", ui[0])
    assert "`neurovar server start`" in ui[0] and "PREFECT_API_URL" in ui[0]


def _legend_explains(text: str, short: dict[str, str]) -> None:
    flat = " ".join(text.split())
    for long, abbr in short.items():
        assert f"{abbr} = {long}" in flat, (abbr, long)


@pytest.mark.slow
def test_check_fits_80_columns(tiny_run, cli):
    results, p = tiny_run
    assert p.returncode == 0, p.stdout + p.stderr
    out = cli("check", "--results", results, env=W80)
    assert out.returncode == 0, out.stdout + out.stderr
    _fits_80(out.stdout)
    _legend_explains(out.stdout, {"supports": "sup", "violates": "vio", "outside range": "out", "broken": "brk",
                                  "theorem": "thm", "conjecture": "conj"})
    # every cell is an (n, k, 1) network with x^d: all 8 rows support Alexander-Hirschowitz
    row = next(ln for ln in out.stdout.splitlines() if ln.split()[:1] == ["alexander-hirschowitz"])
    assert row.split() == ["alexander-hirschowitz", "thm", "8", "0", "0", "0", "0", "supported"]


@pytest.mark.slow
def test_catalog_runs_and_show_fit_80_columns(tiny_run, cli):
    results, p = tiny_run
    assert p.returncode == 0, p.stdout + p.stderr
    runs = cli("catalog", "runs", "--results", results, env=W80)
    assert runs.returncode == 0, runs.stderr
    _fits_80(runs.stdout)
    _legend_explains(runs.stdout, {"planned": "plan", "skipped": "skip", "timeout": "t/o", "error": "err"})
    lines = runs.stdout.splitlines()
    assert lines[1].split()[:2] == ["run_id", "grid"]
    row = lines[2].split()
    assert row[1] == "tiny" and row[-6:] == ["8", "0", "8", "0", "0", "ok"]

    show = cli("catalog", "show", "dimension", "--results", results, env=W80)
    assert show.returncode == 0, show.stderr
    _fits_80(show.stdout)
    row = next(ln for ln in show.stdout.splitlines() if ln.startswith("[3,5,1]") and " x^4 " in ln)
    assert row.split() == ["[3,5,1]", "x^4", "14", "15", "1", "False", "ok"]  # the AH exception

    wide = cli("catalog", "show", "dimension", "--results", results, "--columns", "all", "--limit", "2", env=W80)
    assert wide.returncode == 0, wide.stderr
    _fits_80(wide.stdout)
    # too many columns for 80: one block per row, every column named in full
    assert sum(ln.startswith("cell_key: ") for ln in wide.stdout.splitlines()) == 2
    assert "expected_dimension: " in wide.stdout and "float_rank_agrees: True" in wide.stdout
