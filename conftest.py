"""Doctests of the project's folders, imported under their installed names.

``python -m pytest -q`` collects the docstring examples of ``pipeline/``,
``catalog/``, ``flows/`` and ``neurovar/`` (``testpaths`` and
``--doctest-modules`` in ``pyproject.toml``). pytest would import
``pipeline/cells.py`` as a top-level ``pipeline.cells``: a second copy of the
package beside ``neurovar.pipeline.cells``, with its own computation registry
and exception classes. Here every such file is imported as
``neurovar.<folder>.<module>``, the one copy the rest of the code uses.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from _pytest.doctest import DoctestModule

ROOT = Path(__file__).resolve().parent
#: folders installed as neurovar.<folder> (see [tool.setuptools.package-dir])
FOLDERS = ("pipeline", "catalog", "flows")


def installed_name(path: Path) -> str | None:
    """``neurovar.pipeline.cells`` for ``pipeline/cells.py``; None outside the installed folders."""
    try:
        parts = list(Path(path).resolve().relative_to(ROOT).with_suffix("").parts)
    except ValueError:
        return None
    if not parts or parts[0] not in FOLDERS:
        return None
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["neurovar", *parts])


class InstalledDoctestModule(DoctestModule):
    """A module's doctests, the module imported under its ``neurovar.`` name."""

    def _getobj(self):
        return importlib.import_module(installed_name(self.path))


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    collected = yield
    if file_path.suffix != ".py" or installed_name(file_path) is None:
        return collected
    # neither pytest's own DoctestModule nor a plain Module (a file named on the command line)
    # may import the file a second time under its folder's bare name
    out = [c for c in (collected or []) if not isinstance(c, pytest.Module)]
    if parent.config.option.doctestmodules and file_path.name != "__main__.py":
        out.append(InstalledDoctestModule.from_parent(parent, path=file_path))
    return out


@pytest.hookimpl(wrapper=True)
def pytest_collect_directory(path, parent):
    """The folders as plain directories: a Package would import its ``__init__.py`` (and what that
    imports) under the bare folder name to look for setup functions."""
    collector = yield
    if isinstance(collector, pytest.Package) and installed_name(Path(path) / "__init__.py") is not None:
        return pytest.Dir.from_parent(parent, path=Path(path))
    return collector
