"""Grid specs: a YAML file that expands into cells.

A grid names one or more computations, a model, and axes whose cartesian
product makes the cells::

    name: quickstart
    computations: [dimension]
    model: mlp
    axes:
      input_dim: [2, 3]          # widths generated as input_dim, hidden^(depth-1), output_dim
      hidden: [2, 3, 4]
      depth: [2, 3]              # number of linear layers
      output_dim: [1]
      activation: ["x^2", "x^3"]
      seed: [0]
    constraints: {max_params: 200}
    timeout_s: 60

Axes
----
``widths``
    explicit width tuples, or the generators ``input_dim``, ``hidden``,
    ``depth``, ``output_dim`` (with ``equal_hidden: false`` every combination of
    hidden widths is taken, not only equal ones);
``seed``
    seeds of the random points;
anything else
    a field of the model (``activation``, ``bias``, ``filters``, ``d``, ...) or of a
    computation's options (``weights``, ``dataset_size``, ``polys``, ...).

Several models
--------------
A grid has one ``model``; a study over several architectures lists the others under
``also``, each with its own ``model`` and ``axes`` (and, if it needs them, ``constraints``,
``timeout_s``, ``equal_hidden``), sharing the grid's name and computations::

    also:
      - model: cnn
        axes: {filters: [[2, 2]], activation: ["x^2"], dataset_size: [6], samples: [100]}

Every error names the YAML path of the bad field, e.g.
``grid.axes.hidden[2]: must be a positive integer, got -1``.

Example
-------
>>> spec = GridSpec.from_mapping({"name": "g", "computations": ["dimension"], "model": "mlp",
...     "axes": {"input_dim": [2], "hidden": [2, 3], "depth": [2], "output_dim": [1], "activation": ["x^2"]}})
>>> [c.model["widths"] for c in spec.cells()]
[[2, 2, 1], [2, 3, 1]]
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, field_validator

from .cells import Cell, KeyTemplate, make_cell
from .compute import computations
from .errors import SpecError, read_yaml
from .models import MODELS, pydantic_error

GENERATORS = ("input_dim", "hidden", "depth", "output_dim")
MAX_CELLS = 1_000_000


class Constraints(BaseModel):
    """Filters that drop cells before they run."""

    model_config = ConfigDict(extra="forbid")

    max_params: int | None = None
    max_ambient_dim: int | None = None
    min_params: int | None = None
    max_cells: int | None = None


class GridSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str | None = None
    computations: list[str]
    model: str | None = None
    axes: dict[str, Any] = {}
    equal_hidden: bool = True
    constraints: Constraints = Constraints()
    timeout_s: float | None = None
    also: list[Any] = []
    _parts: list["GridSpec"] = PrivateAttr(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v or not all(ch.isalnum() or ch in "-_." for ch in v):
            raise ValueError("must be a non-empty name of letters, digits, '-', '_' or '.'")
        return v

    @field_validator("computations", mode="before")
    @classmethod
    def _comps(cls, v):
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not v:
            raise ValueError("must be a non-empty list of computations, e.g. [dimension]")
        return v

    @field_validator("timeout_s")
    @classmethod
    def _timeout(cls, v):
        if v is not None and v <= 0:
            raise ValueError("must be a positive number of seconds")
        return v

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_mapping(cls, data: Any) -> "GridSpec":
        if not isinstance(data, dict):
            raise SpecError("grid", "the file must hold a mapping with keys name, computations, model, axes")
        if "computation" in data and "computations" not in data:
            data = {**data, "computations": data.pop("computation")}
        try:
            spec = cls.model_validate(data)
        except ValidationError as err:
            raise pydantic_error(err, "grid") from None
        spec._check()
        spec._parts = [cls._part(spec, i, extra) for i, extra in enumerate(spec.also)]
        return spec

    @classmethod
    def _part(cls, spec: "GridSpec", i: int, extra: Any) -> "GridSpec":
        """The grid of ``also[i]``: its own model and axes, the grid's name and computations."""
        where = f"grid.also[{i}]"
        if not isinstance(extra, dict):
            raise SpecError(where, "must be a mapping with keys model and axes, e.g. {model: cnn, axes: {...}}")
        bad = sorted(set(extra) - {"model", "axes", "constraints", "timeout_s", "equal_hidden", "description"})
        if bad:
            raise SpecError(f"{where}.{bad[0]}", "an entry of also takes model, axes, constraints, timeout_s, "
                            "equal_hidden and description (name and computations are the grid's)")
        data = {"timeout_s": spec.timeout_s, **extra, "name": spec.name, "computations": spec.computations}
        try:
            return cls.from_mapping(data)
        except SpecError as e:
            raise _under(e, where) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> "GridSpec":
        return cls.from_mapping(read_yaml(path, "grid"))

    @property
    def spec_hash(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # --------------------------------------------------------------- validation
    def _fields_for(self, comp_name: str) -> set[str]:
        comp = computations()[comp_name]
        fields = set(comp.params.model_fields) | set(getattr(comp.params, "RENAMED", {}))  # old names too
        if self.model is not None:
            fields |= set(MODELS[self.model][0].model_fields) - {"model"}
        return fields

    def _check(self) -> None:
        reg = computations()
        for i, c in enumerate(self.computations):
            if c not in reg:
                raise SpecError(f"grid.computations[{i}]", f"unknown computation {c!r}; choose from {', '.join(reg)}")
        if self.model is not None and self.model not in MODELS:
            raise SpecError("grid.model", f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        for i, c in enumerate(self.computations):
            comp = reg[c]
            if comp.needs_model and self.model is None:
                raise SpecError("grid.model", f"computation {c!r} needs a model ({', '.join(MODELS)})")
            if comp.needs_model is False and self.model is not None:
                raise SpecError("grid.model", f"computation {c!r} takes no model; remove 'model' or split the grid")
            if comp.models is not None and self.model is not None and self.model not in comp.models:
                raise SpecError(f"grid.computations[{i}]", f"{c!r} supports the models {', '.join(comp.models)}, not {self.model!r}")
        known = set().union(*(self._fields_for(c) for c in self.computations)) | {"seed"}
        if self.model is not None and "widths" in MODELS[self.model][0].model_fields:
            known |= set(GENERATORS)
        for key, values in self.axes.items():
            path = f"grid.axes.{key}"
            if key not in known:
                raise SpecError(path, f"unknown axis; this grid accepts: {', '.join(sorted(known))}")
            if isinstance(values, list) and not values:
                raise SpecError(path, "empty axis: give at least one value, e.g. [2]")
            if isinstance(values, dict):
                raise SpecError(path, "must be a list of values, e.g. [2, 3]")
            vals = values if isinstance(values, list) else [values]
            if key in self._generator_keys() or key == "seed":
                low = 0 if key == "seed" else 1
                for j, v in enumerate(vals):
                    if not isinstance(v, int) or isinstance(v, bool) or v < low:
                        what = "a non-negative integer" if key == "seed" else "a positive integer"
                        raise SpecError(f"{path}[{j}]", f"must be {what}, got {v!r}")
        if "widths" in self.axes and self._generates_widths and any(g in self.axes for g in GENERATORS):
            raise SpecError("grid.axes.widths", "give either explicit widths or the generators input_dim/hidden/depth/output_dim, not both")
        gens = [g for g in GENERATORS if g in self.axes] if self._generates_widths else []
        if gens and len(gens) < len(GENERATORS):
            missing = [g for g in GENERATORS if g not in self.axes]
            raise SpecError(f"grid.axes.{missing[0]}", f"the width generators need all of {', '.join(GENERATORS)}; add {missing[0]}")

    @property
    def _generates_widths(self) -> bool:
        """Whether input_dim/hidden/depth/output_dim generate widths (models with a ``widths`` field)."""
        return self.model is not None and "widths" in MODELS[self.model][0].model_fields

    def _generator_keys(self) -> tuple[str, ...]:
        return GENERATORS if self._generates_widths else ()

    # ---------------------------------------------------------------- expansion
    def _axis(self, key) -> list:
        v = self.axes[key]
        return v if isinstance(v, list) else [v]

    def _widths(self) -> list[list[int]] | None:
        if "widths" in self.axes:
            return [list(w) if isinstance(w, (list, tuple)) else w for w in self._axis("widths")]
        if not self._generates_widths or "input_dim" not in self.axes:
            return None
        out = []
        for d0, L, dL in itertools.product(self._axis("input_dim"), self._axis("depth"), self._axis("output_dim")):
            hiddens = ([(h,) * (L - 1) for h in self._axis("hidden")] if self.equal_hidden
                       else list(itertools.product(self._axis("hidden"), repeat=L - 1)))
            for hid in dict.fromkeys(hiddens):
                out.append([d0, *hid, dL])
        return out

    def cells(self) -> list[Cell]:
        """All cells of the grid, validated, after the constraints."""
        return list(self.iter_cells())

    def iter_cells(self) -> Iterator[Cell]:
        """The cells of the grid and of its ``also`` entries, validated, after the constraints."""
        yield from self._own_cells()
        for i, part in enumerate(self._parts):
            try:
                yield from part.iter_cells()
            except SpecError as e:  # a value the model or computation refuses: named under also[i]
                raise _under(e, f"grid.also[{i}]") from None

    def _own_cells(self) -> Iterator[Cell]:
        """The cells of this grid's model and axes, validated, after the constraints.

        The work that does not depend on the seed is done once per combination of the other
        axes: validating the model and options (:func:`make_cell` on the first such cell, so a
        value the computation refuses is named here), the constraints, and the key's canonical
        text (:class:`KeyTemplate`). The cells that differ only in their seed share the same
        model and options objects (which :func:`cell_costs` relies on).
        """
        count = 0
        limit = self.constraints.max_cells or MAX_CELLS
        widths = self._widths()
        model_fields = set(MODELS[self.model][0].model_fields) if self.model else set()
        for comp_name in self.computations:
            fields = self._fields_for(comp_name)
            gens = self._generator_keys()
            keys = [k for k in self.axes if k not in gens and k != "widths" and (k in fields or k == "seed")]
            if widths is not None:
                keys = ["widths"] + keys
            lists = [widths if k == "widths" else self._axis(k) for k in keys]
            seed_at = keys.index("seed") if "seed" in keys else None
            groups: dict[tuple, tuple | None] = {}  # indices of the other axes -> (model, params, KeyTemplate)
            kept: dict[tuple, bool] = {}  # indices of the model's axes -> within the constraints
            model_at = tuple(i for i, k in enumerate(keys) if k in model_fields or k == "widths")
            for idx in itertools.product(*(range(len(v)) for v in lists)):
                seed = lists[seed_at][idx[seed_at]] if seed_at is not None else 0
                gkey = idx[:seed_at] + idx[seed_at + 1:] if seed_at is not None else idx
                if gkey not in groups:
                    groups[gkey] = self._group(comp_name, keys, lists, idx, seed, model_fields, kept, model_at)
                group = groups[gkey]
                if group is None:  # outside the constraints
                    continue
                cell = Cell.planned(comp_name, group[0], group[1], seed, self.timeout_s, group[2].key(seed))
                count += 1
                if count > limit:
                    raise SpecError("grid.constraints.max_cells", f"the grid has more than {limit} cells; narrow the axes or raise max_cells")
                yield cell

    def _group(self, comp_name, keys, lists, idx, seed, model_fields, kept, model_at) -> tuple | None:
        """(model, params, key template) of the cells with the axis values ``idx`` but the seed's,
        validated through :func:`make_cell`; None when the constraints drop them."""
        values = {k: lists[i][j] for i, (k, j) in enumerate(zip(keys, idx)) if k != "seed"}
        model = None
        if self.model is not None:
            model = {"model": self.model, **{k: v for k, v in values.items() if k in model_fields}}
        params = {k: v for k, v in values.items() if k not in model_fields}
        try:
            cell = make_cell(comp_name, model, params, seed=seed, timeout_s=self.timeout_s)
        except SpecError as e:
            raise self._locate(e, values) from None
        mkey = tuple(idx[i] for i in model_at)
        if mkey not in kept:
            kept[mkey] = self._keep(cell)
        if not kept[mkey]:
            return None
        return cell.model, cell.params, KeyTemplate(comp_name, cell.model, cell.params)

    def _locate(self, e: SpecError, values: dict) -> SpecError:
        """Map an error on a cell field back to the YAML path of the axis value."""
        leaf = e.field.split(".")[-1].split("[")[0]
        if leaf == "model" and ":" in e.message:
            head = e.message.split(":", 1)[0].strip()
            if head in values:
                leaf = head
        if leaf in values:
            if leaf == "widths" and "widths" not in self.axes:
                return SpecError("grid.axes.hidden", f"generated widths {values['widths']}: {e.message}")
            idx = self._axis(leaf).index(values[leaf]) if values[leaf] in self._axis(leaf) else 0
            return SpecError(f"grid.axes.{leaf}[{idx}]", f"{values[leaf]!r}: {e.message}")
        return SpecError(e.field.replace("params.", "grid.axes.", 1).replace("model.", "grid.axes.", 1), e.message)

    def _keep(self, cell: Cell) -> bool:
        c = self.constraints
        if cell.model is None or (c.max_params is None and c.max_ambient_dim is None and c.min_params is None):
            return True
        m = cell.built_model()
        if c.max_params is not None and m.num_params > c.max_params:
            return False
        if c.min_params is not None and m.num_params < c.min_params:
            return False
        if c.max_ambient_dim is not None and m.ambient_dimension > c.max_ambient_dim:
            return False
        return True


def _under(e: SpecError, where: str) -> SpecError:
    """``e`` with its YAML path moved under ``where`` (``grid.axes.x`` -> ``grid.also[0].axes.x``)."""
    field = e.field.replace("grid.", f"{where}.", 1) if e.field.startswith("grid.") else f"{where}.{e.field}"
    return SpecError(field, e.message)


def load_grid(path: str | Path) -> GridSpec:
    """Read and validate a grid file; raises :class:`SpecError` naming the YAML path."""
    return GridSpec.from_yaml(path)
