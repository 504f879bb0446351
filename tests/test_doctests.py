"""The README's test command runs the docstring examples, each module imported once, as neurovar.*."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = '''
import sys
def pytest_sessionfinish(session):
    bare = sorted(m for m in sys.modules if m.split(".")[0] in ("pipeline", "catalog", "flows"))
    print("SECOND COPIES:", bare)
'''


def _pytest(args, tmp_path):
    (tmp_path / "nv_probe.py").write_text(PROBE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "nv_probe", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_default_run_collects_the_doctests_of_every_folder(tmp_path):
    p = _pytest(["--co"], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    ids = p.stdout.splitlines()
    for node in ("pipeline/cells.py::neurovar.pipeline.cells",
                 "catalog/store.py::neurovar.catalog.store.stale",
                 "flows/verify.py::neurovar.flows.verify",
                 "pipeline/provenance.py::neurovar.pipeline.provenance"):
        assert node in ids
    assert sum(1 for i in ids if "::neurovar." in i) >= 80


def test_doctests_run_on_the_installed_modules_not_a_second_copy(tmp_path):
    # named on the command line too, the files are imported once, as neurovar.pipeline...
    p = _pytest(["pipeline/algebra/parser.py", "pipeline/cells.py", "catalog/conjectures.py"], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "SECOND COPIES: []" in p.stdout
    # the parser's doctest shows the exception under its installed name
    assert "neurovar.pipeline.algebra.parser.PolynomialSyntaxError" in (ROOT / "pipeline/algebra/parser.py").read_text()
