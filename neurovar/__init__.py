"""neurovar: distributed batch experiments for neuroalgebraic geometry.

The project's folders ``pipeline/``, ``catalog/`` and ``flows/`` install as
``neurovar.pipeline``, ``neurovar.catalog`` and ``neurovar.flows`` (see
``[tool.setuptools]`` in ``pyproject.toml``), so generic names such as
``pipeline`` never clash with other packages in a user's environment.

In a source checkout (this folder beside ``pipeline/``, as in the repository),
the checkout's root is added to this package's search path, so
``neurovar.pipeline`` is the checkout's ``pipeline/`` whichever checkout is on
``sys.path`` first (``PYTHONPATH=.`` works without installing).

The public API (one call shape: a model, keyword options, a seed):

>>> import neurovar
>>> m = neurovar.models.MLP(widths=(3, 5, 1), activation="x^4")
>>> neurovar.dimension(m)["dimension"]     # an Alexander-Hirschowitz exception
14
"""

from __future__ import annotations

import importlib
from pathlib import Path

_here = Path(__file__).resolve().parent
if not (_here / "pipeline").is_dir() and (_here.parent / "pipeline" / "cells.py").is_file():
    __path__.append(str(_here.parent))  # noqa: F821 - a package's own __path__

__version__ = "0.1.0"

_LAZY = {
    "load": ("neurovar.catalog.store", "load"),
    "load_runs": ("neurovar.catalog.store", "load_runs"),
    "run_grid": ("neurovar.flows.flow", "run_grid"),
    "build_model": ("neurovar.pipeline.models", "build_model"),
    "make_cell": ("neurovar.pipeline.cells", "make_cell"),
    "run_cell": ("neurovar.pipeline.cells", "run_cell"),
    "SpecError": ("neurovar.pipeline.errors", "SpecError"),
}


def __getattr__(name: str):
    """Import the public API lazily: ``import neurovar`` stays cheap (no Prefect, no Dask)."""
    if name in _LAZY:
        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    if name == "models":
        return importlib.import_module("neurovar.api").models
    if name in {"dimension", "fiber", "edd", "independence", "independence_threshold", "compute"}:
        return getattr(importlib.import_module("neurovar.api"), name)
    raise AttributeError(f"module 'neurovar' has no attribute {name!r}")


__all__ = ["__version__", "build_model", "compute", "dimension", "edd", "fiber", "independence",
           "independence_threshold", "load", "load_runs", "make_cell", "models", "run_cell", "run_grid"]
