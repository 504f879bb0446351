"""``import neurovar`` from a folder that holds a folder named ``neurovar/``.

That is where a user stands after ``git clone ... neurovar; cd ..`` (or in a notebook beside
such a folder): ``python -c`` puts the working directory first on ``sys.path``, where the
folder, without ``__init__.py``, is a namespace package portion. The installed package must
win, for an editable install (setuptools' finder comes after the path finder: see
``neurovar/_import_hook.py``) and for a normal install from a wheel.
"""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the README's API example: plane quartics as sums of 5 fourth powers, the Alexander-Hirschowitz
# exception (14, not min(15, 20 - 5) = 15)
CODE = ("import neurovar; m = neurovar.models.MLP(widths=(3, 5, 1), activation='x^4'); "
        "print(neurovar.__file__); print(neurovar.dimension(m)['dimension'])")


def _beside_a_neurovar_folder(tmp_path: Path) -> Path:
    """A working directory holding ``neurovar/`` laid out as a clone is (no ``__init__.py`` at its top)."""
    here = tmp_path / "work"
    clone = here / "neurovar"
    (clone / "neurovar").mkdir(parents=True)
    (clone / "pyproject.toml").write_text("[project]\nname = 'neurovar'\n")
    (clone / "neurovar" / "__init__.py").write_text("")
    return here


def _import_from(python: str, cwd: Path) -> list[str]:
    out = subprocess.run([python, "-c", CODE], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


PURELIB = Path(sysconfig.get_paths()["purelib"])


def _editable() -> bool:
    """Whether this environment's neurovar is setuptools' editable install (its finder's .pth)."""
    return any(PURELIB.glob("__editable__.neurovar-*.pth"))


def test_the_folder_is_a_namespace_portion_that_shadows_without_the_hook(tmp_path):
    # the cause, shown with the interpreter's own path finder: the folder alone is a namespace package
    here = _beside_a_neurovar_folder(tmp_path)
    code = ("import sys; from importlib.machinery import PathFinder; s = PathFinder.find_spec('neurovar'); "
            "print(s.loader is None, list(s.submodule_search_locations)[0])")
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=here, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", str(here / "neurovar")], out.stderr


@pytest.mark.skipif(not _editable(), reason="neurovar is not installed editable here (pip install -e .)")
def test_editable_install_imports_beside_a_neurovar_folder(tmp_path):
    here = _beside_a_neurovar_folder(tmp_path)
    hook = PURELIB / "_neurovar_import_hook.pth"
    assert hook.is_file(), "the editable install predates its import hook: run pip install -e . again"
    path, dim = _import_from(sys.executable, here)
    assert Path(path) == ROOT / "neurovar" / "__init__.py"
    assert dim == "14"


def test_wheel_install_imports_beside_a_neurovar_folder(tmp_path):
    # a wheel built from a copy of the sources (no build/ left in the checkout), installed into a
    # fresh venv that reads this environment's dependencies through a .pth file (a .pth file in a
    # directory named by another .pth file is not run, so this environment's editable hook is not)
    src = tmp_path / "src"
    for part in ("neurovar", "pipeline", "catalog", "flows"):
        shutil.copytree(ROOT / part, src / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, src / part)
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("neurovar-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    outer = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "outer-environment.pth").write_text("\n".join(outer) + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    assert not (Path(purelib) / "_neurovar_import_hook.pth").exists()  # a normal install needs no hook
    path, dim = _import_from(python, _beside_a_neurovar_folder(tmp_path))
    assert Path(path) == Path(purelib) / "neurovar" / "__init__.py"
    assert dim == "14"
