"""The package layout: one ``neurovar`` namespace over the top-level folders."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"pipeline": "neurovar.pipeline", "catalog": "neurovar.catalog", "flows": "neurovar.flows"}


def test_every_package_folder_is_installed_under_neurovar():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    found = {"neurovar"}
    for folder, name in FOLDERS.items():
        assert conf["package-dir"][name] == folder
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *rel)))
    assert listed == found


def test_no_module_imports_the_bare_folder_names():
    # ``import pipeline`` would load a second copy of every module (two Cell classes, two registries)
    bare = re.compile(r"^\s*(?:>>> )?(?:from|import) (?:pipeline|catalog|flows)\b", re.M)
    offenders = []
    for folder in ("neurovar", *FOLDERS, "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for m in bare.finditer(path.read_text()):
                offenders.append(f"{path.relative_to(ROOT)}: {m.group(0).strip()}")
    assert offenders == []


def test_public_api_from_a_clean_interpreter(tmp_path):
    # outside the checkout, as a user's notebook would run it
    code = ("import neurovar; m = neurovar.models.MLP(widths=(3, 5, 1), activation='x^4'); "
            "r = neurovar.dimension(m); print(r['dimension'], r['expected_dimension'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # plane quartics as sums of 5 fourth powers: the Alexander-Hirschowitz exception (14, not 15)
    assert out.stdout.split() == ["14", "15"]
