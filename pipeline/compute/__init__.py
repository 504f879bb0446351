"""Computations, one module each, discovered automatically.

A computation module defines ``COMPUTATION = Computation(...)``: its name, a
version (part of every cell key, so bumping it recomputes its cells), a pydantic
``Params`` model for its options, whether it needs a model, the function that
runs it, and the types of its output columns. Nothing else needs to change to
add one.

Output column types: ``int``, ``float``, ``bool``, ``str``, ``list<int>``, and
``json`` (any JSON value, stored as text and parsed back by ``catalog.load``).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

from pydantic import BaseModel, ConfigDict


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Computation:
    name: str
    version: str
    run: Callable[..., dict]  # run(model_or_None, params, seed) -> outputs
    outputs: dict[str, str]
    params: type[BaseModel] = NoParams
    #: True: a model is required; False: no model; None: optional (e.g. implicit equations)
    needs_model: bool | None = True
    models: tuple[str, ...] | None = None  # models it supports (None: all)
    description: str = ""
    #: rough relative cost of a cell, used to pack batches (seconds, a guess)
    cost: Callable[..., float] | None = field(default=None, compare=False)


_REGISTRY: dict[str, Computation] | None = None


def computations() -> dict[str, Computation]:
    """All computations by name (imports every module of this package once)."""
    global _REGISTRY
    if _REGISTRY is None:
        reg: dict[str, Computation] = {}
        for info in pkgutil.iter_modules(__path__):
            mod = importlib.import_module(f"{__name__}.{info.name}")
            comp = getattr(mod, "COMPUTATION", None)
            if isinstance(comp, Computation):
                reg[comp.name] = comp
        _REGISTRY = dict(sorted(reg.items()))
    return _REGISTRY


def get_computation(name: str) -> Computation:
    reg = computations()
    if name not in reg:
        from ..errors import SpecError

        raise SpecError("computation", f"unknown computation {name!r}; choose one of {', '.join(reg)}")
    return reg[name]


__all__ = ["Computation", "NoParams", "computations", "get_computation"]
