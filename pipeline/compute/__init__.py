"""Computations, one module each, discovered automatically.

A computation module defines ``COMPUTATION = Computation(...)``: its name, a
version (part of every cell key, so bumping it recomputes its cells), a pydantic
``Params`` model for its options, whether it needs a model, the function that
runs it, and the types of its output columns. Nothing else needs to change to
add one.

Outputs are declared as a small typed schema, a dataclass whose fields are the
output columns (``int | None``, ``float | None``, ``bool | None``, ``str | None``,
``list[int] | None``; any other type, e.g. ``list[dict]``, is a ``json`` column:
stored as text and parsed back by ``catalog.load``). The column kinds, and from
them the Parquet schema, are derived from it (:func:`output_kinds`).

>>> from dataclasses import dataclass
>>> @dataclass
... class Out:
...     dimension: int | None = None
...     parts: list[dict] | None = None
>>> output_kinds(Out)
{'dimension': 'int', 'parts': 'json'}

An output never overwrites an input column: an output named like one of the
computation's options or model fields (e.g. ``method``, the method actually
used, against the option ``method``) is stored in the column ``<name>_used``
(:meth:`Computation.output_columns`); an output named like a provenance column,
or whose renamed column is taken too, is refused at registration.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Callable

from pydantic import BaseModel, ConfigDict


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_KINDS = {int: "int", float: "float", bool: "bool", str: "str"}


def _kind(annotation) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if annotation in _KINDS:
        return _KINDS[annotation]
    if typing.get_origin(annotation) is list and typing.get_args(annotation) == (int,):
        return "list<int>"
    return "json"


def output_kinds(schema) -> dict[str, str]:
    """Column kinds of an output schema (a dataclass; a dict of kinds is returned as it is)."""
    if isinstance(schema, dict):
        return dict(schema)
    hints = typing.get_type_hints(schema)
    return {f.name: _kind(hints[f.name]) for f in dataclasses.fields(schema)}


@dataclass(frozen=True)
class Computation:
    """A registered computation; ``outputs`` is given as a dataclass schema and kept as its column kinds."""

    name: str
    version: str
    run: Callable[..., dict]  # run(model_or_None, params, seed) -> outputs
    outputs: dict[str, str] | type
    params: type[BaseModel] = NoParams
    #: True: a model is required; False: no model; None: optional (e.g. implicit equations)
    needs_model: bool | None = True
    models: tuple[str, ...] | None = None  # models it supports (None: all)
    description: str = ""
    #: rough relative cost of a cell, used to pack batches (seconds, a guess)
    cost: Callable[..., float] | None = field(default=None, compare=False)
    #: ``check(model, params)`` raises SpecError when the model has no route at that size (exit 2 before running)
    check: Callable[..., None] | None = field(default=None, compare=False)
    #: The output schema (a dataclass) the column kinds were derived from.
    schema: type | None = field(default=None, compare=False)

    def __post_init__(self):
        if not isinstance(self.outputs, dict):
            object.__setattr__(self, "schema", self.outputs)
        object.__setattr__(self, "outputs", output_kinds(self.outputs))

    def input_columns(self) -> set[str]:
        """The record columns that hold this computation's inputs (options, model fields)."""
        cols = set(self.params.model_fields)
        if self.needs_model is not False:
            from ..models import MODELS

            cols |= {"model", "widths", "depth"}
            for spec, _ in MODELS.values():
                cols |= set(spec.model_fields)
        return cols

    def output_columns(self) -> dict[str, str]:
        """Each output's record column: its name, or ``<name>_used`` where an input has that name.

        >>> get_computation("edd").output_columns()["method"], get_computation("edd").output_columns()["edd"]
        ('method_used', 'edd')
        """
        inputs = self.input_columns()
        return {k: (f"{k}_used" if k in inputs else k) for k in self.outputs}

    def check_columns(self) -> None:
        """Refuse outputs that would overwrite a provenance or input column (raises ValueError)."""
        cols = self.output_columns()
        inputs = self.input_columns()
        clash = [c for c in cols.values() if c in RESERVED_COLUMNS or c in inputs]
        if len(set(cols.values())) != len(cols):
            clash.append("two outputs share a column")
        if clash:
            raise ValueError(f"computation {self.name!r}: output column(s) {', '.join(clash)} collide with "
                             "provenance or input columns; rename the output")


#: Columns every record has (provenance); no output may take one of these names.
RESERVED_COLUMNS = frozenset({
    "cell_key", "cell_spec", "computation", "computation_version", "code_fingerprint", "git_revision", "status",
    "error", "seconds", "seed", "timeout_s", "versions", "host", "timestamp", "flow_run_id", "run_id", "written_at",
})


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
                comp.check_columns()
                reg[comp.name] = comp
        _REGISTRY = dict(sorted(reg.items()))
    return _REGISTRY


def get_computation(name: str) -> Computation:
    """The computation ``name``; its own module first (a one-cell call need not import every computation)."""
    if _REGISTRY is None and name.isidentifier() and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        comp = getattr(importlib.import_module(f"{__name__}.{name}"), "COMPUTATION", None)
        if isinstance(comp, Computation) and comp.name == name:
            comp.check_columns()
            return comp
    reg = computations()
    if name not in reg:
        from ..errors import SpecError

        raise SpecError("computation", f"unknown computation {name!r}; choose one of {', '.join(reg)}")
    return reg[name]


__all__ = ["Computation", "NoParams", "RESERVED_COLUMNS", "computations", "get_computation", "output_kinds"]
