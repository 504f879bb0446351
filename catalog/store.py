"""The Parquet catalog: one dataset per computation, append-only, atomic.

Layout under the results root (default ``results/``)::

    results/
      dimension/part-20261126T231500-3f2a...parquet     one file per finished batch
      edd/...
      _runs/run-<id>.parquet                              one row per flow run

Every part file is written to ``.<name>.tmp`` in the same folder, flushed, and
renamed into place with ``os.replace``: dataset discovery ignores names starting
with ``.`` or ``_``, so a process killed at any moment leaves only whole files.
Files are written with the full schema of their computation (built from the
model specs, the computation's options and its declared outputs), and read with
that schema passed explicitly, so older files with fewer columns still load.

``load`` resolves duplicate ``cell_key`` rows (newest ``written_at`` wins), so a
batch written twice never shows twice.

Part files are read one at a time: one that cannot be read (empty, truncated, not
Parquet, a column that does not cast) is skipped with one warning line on stderr,
and ``neurovar catalog doctor --repair`` quarantines it (:mod:`neurovar.catalog.parts`).

Rows are *stale* when their ``code_fingerprint`` is not the current one of their
computation (the code they were computed by has changed since, see
:mod:`pipeline.provenance`; rows written before fingerprints existed have none
and are stale too). ``load`` leaves stale rows out unless ``all_versions=True``
and says how many it left out in ``df.attrs["ignored"]``; :func:`stale` lists them.

Example
-------
>>> import tempfile
>>> from neurovar.pipeline.cells import make_cell, run_cell
>>> root = tempfile.mkdtemp()
>>> rec = run_cell(make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]}))
>>> _ = write_records([rec], "dimension", root)
>>> load("dimension", root)[["widths", "dimension"]].to_dict("records")
[{'widths': [2, 1, 2], 'dimension': 3}]
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from neurovar.pipeline.compute import computations, get_computation
from neurovar.pipeline.models import MODELS
from neurovar.pipeline.record import PROVENANCE_COLUMNS, column_kind, plain

from .parts import READ_ERRORS, read_one, read_parts, reason, vanished, warn_once

DEFAULT_ROOT = "results"
RUNS = "_runs"

#: The Arrow type of each column kind (kinds: :func:`neurovar.pipeline.record.column_kind`).
ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string(),
    "list<int>": pa.list_(pa.int64()), "json": pa.string(), "timestamp": pa.timestamp("us", tz="UTC"),
}


def column_kinds(computation: str) -> dict[str, str]:
    """Every column of a computation's records and its kind (int, float, bool, str, list<int>, json)."""
    comp = get_computation(computation)
    kinds: dict[str, str] = dict(PROVENANCE_COLUMNS)
    if comp.needs_model is not False:
        kinds["model"] = "str"
        kinds["widths"] = "list<int>"
        kinds["depth"] = "int"
        for spec, _ in MODELS.values():
            for name, f in spec.model_fields.items():
                kinds.setdefault(name, column_kind(f.annotation))
    for name, f in comp.params.model_fields.items():
        kinds.setdefault(name, column_kind(f.annotation))
    cols = comp.output_columns()  # an output named like an input is stored as "<name>_used"
    for name, kind in comp.outputs.items():
        kinds[cols[name]] = kind
    return kinds


def schema(computation: str) -> pa.Schema:
    """The Arrow schema of a computation's catalog."""
    return pa.schema([pa.field(name, ARROW_TYPES[kind]) for name, kind in column_kinds(computation).items()])


def _stored(v: Any, kind: str):
    """A record's value normalised (:func:`neurovar.pipeline.record.plain`), then cast to its column's kind."""
    v = plain(v)
    if v is None or kind not in _CASTS:
        return v
    return _CASTS[kind](v)


#: the Python type each column kind stores (``json``: text)
_CASTS = {"json": lambda v: v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str),
          "list<int>": lambda v: [int(x) for x in v], "int": int, "float": float, "bool": bool, "str": str}


def _atomic_write(table: pa.Table, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    final = folder / name
    with open(tmp, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    try:  # make the rename durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return final


def _part_name(prefix: str = "part") -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    return f"{prefix}-{stamp}-{uuid.uuid4().hex[:8]}.parquet"


def records_table(records: Iterable[dict], computation: str) -> pa.Table:
    kinds = column_kinds(computation)
    sch = schema(computation)
    now = datetime.now(timezone.utc)
    cols: dict[str, list] = {name: [] for name in kinds}
    for rec in records:
        for name, kind in kinds.items():
            if name == "written_at":
                cols[name].append(now)
            else:
                cols[name].append(_stored(rec.get(name), kind))
    return pa.Table.from_pydict(cols, schema=sch)


def write_records(records: list[dict], computation: str, root: str | Path = DEFAULT_ROOT) -> Path | None:
    """Append records as one new part file (atomically); returns its path (None if no records)."""
    if not records:
        return None
    table = records_table(records, computation)
    return _atomic_write(table, Path(root) / computation, _part_name())


def part_files(computation: str, root: str | Path = DEFAULT_ROOT) -> list[Path]:
    folder = Path(root) / computation
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))


def _read_table(computation: str, root, columns=None) -> pa.Table:
    """The rows of the readable part files (a damaged one is skipped with a warning line, see :mod:`.parts`)."""
    return read_parts(lambda: part_files(computation, root), schema(computation), columns)


def _dedupe(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty or "cell_key" not in df:
        return df
    if "written_at" in df:
        df = df.sort_values("written_at", kind="stable")
    return df.drop_duplicates("cell_key", keep="last").reset_index(drop=True)


def current_fingerprint(computation: str) -> str:
    """The code fingerprint rows of ``computation`` must carry to be current."""
    from neurovar.pipeline.provenance import code_fingerprint

    return code_fingerprint(computation)


def _is_stale(df: pd.DataFrame, computation: str) -> pd.Series:
    if df.empty or "code_fingerprint" not in df:
        return pd.Series(False, index=df.index) if "code_fingerprint" in df else pd.Series(True, index=df.index)
    return df["code_fingerprint"] != current_fingerprint(computation)


def stale_reason(fingerprint) -> str:
    """Why a row with this fingerprint is stale."""
    if fingerprint is None or (isinstance(fingerprint, float) and fingerprint != fingerprint):
        return "written before code fingerprints were recorded"
    return f"computed by other code (fingerprint {fingerprint})"


def load(computation: str, root: str | Path = DEFAULT_ROOT, filters: dict | None = None,
         status: str | None = None, parse_json: bool = True, all_versions: bool = False) -> pd.DataFrame:
    """The catalog of one computation as a pandas DataFrame.

    Parameters
    ----------
    computation : str
        e.g. ``"dimension"``.
    root : path
        The results root (default ``results``).
    filters : dict, optional
        Column equalities, e.g. ``{"model": "mlp", "activation": "x^3"}`` (a list value means "in").
    status : str, optional
        Keep only rows with this status (``ok``, ``timeout``, ``error``).
    parse_json : bool
        Parse ``json`` columns (certificates, lists of components) back into Python objects.
    all_versions : bool
        Keep stale rows too (rows computed by code other than the current one).

    Duplicate ``cell_key`` rows are resolved: the newest write wins. The frame's
    ``attrs["ignored"]`` maps a reason to the number of rows left out for it
    (``{}`` when none were).
    """
    if computation not in computations():
        from neurovar.pipeline.errors import SpecError

        raise SpecError("computation", f"unknown computation {computation!r}; choose one of {', '.join(computations())}")
    df = _read_table(computation, root).to_pandas()
    df = _dedupe(df)
    ignored: dict[str, int] = {}
    if not all_versions and len(df):
        old = _is_stale(df, computation)
        if old.any():
            for fp, n in df.loc[old, "code_fingerprint"].map(stale_reason).value_counts().items():
                ignored[f"stale: {fp}"] = int(n)
            df = df[~old]
    for name, kind in column_kinds(computation).items():
        if kind == "list<int>" and name in df:
            df[name] = df[name].map(lambda w: [int(x) for x in w] if w is not None and not isinstance(w, float) else None)
        if kind == "json" and parse_json and name in df:
            df[name] = df[name].map(lambda s: json.loads(s) if isinstance(s, str) else None)
    if status is not None:
        df = df[df["status"] == status]
    for col, value in (filters or {}).items():
        if col not in df:
            from neurovar.pipeline.errors import SpecError

            raise SpecError("filters", f"unknown column {col!r}")
        if isinstance(value, (list, tuple, set)) and col != "widths":
            df = df[df[col].isin(list(value))]
        else:
            df = df[df[col].map(lambda v: v == value)]
    df = df.reset_index(drop=True)
    df.attrs["ignored"] = ignored
    return df


def stale(computation: str, root: str | Path = DEFAULT_ROOT) -> pd.DataFrame:
    """The stale rows of a computation (their ``code_fingerprint`` is not the current one).

    Each row keeps its ``cell_spec``, from which :func:`stale_cells` rebuilds it.
    A row whose current-code twin is already in the catalog is not stale any more
    (it is superseded, and only ``all_versions`` loads show it).

    >>> import tempfile
    >>> from neurovar.pipeline.cells import make_cell, run_cell
    >>> root = tempfile.mkdtemp()
    >>> rec = run_cell(make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]}))
    >>> rec["code_fingerprint"] = "0123456789abcdef"  # as if computed by other code
    >>> rec["cell_key"] = "an-old-key"
    >>> _ = write_records([rec], "dimension", root)
    >>> len(stale("dimension", root)), len(load("dimension", root)), load("dimension", root).attrs["ignored"]
    (1, 0, {'stale: computed by other code (fingerprint 0123456789abcdef)': 1})
    """
    df = load(computation, root, parse_json=False, all_versions=True)
    if df.empty:
        return df
    old = df[_is_stale(df, computation)]
    current = set(df.loc[~_is_stale(df, computation), "cell_spec"].dropna())
    return old[~old["cell_spec"].isin(current)].reset_index(drop=True)


def stale_cells(computation: str, root: str | Path = DEFAULT_ROOT) -> list:
    """The cells of the stale rows, rebuilt from their ``cell_spec`` (keys of the current code)."""
    from neurovar.pipeline.cells import make_cell

    cells = {}
    for _, row in stale(computation, root).iterrows():
        spec = row.get("cell_spec")
        if not isinstance(spec, str):
            continue
        d = json.loads(spec)
        timeout = row.get("timeout_s")
        timeout = None if timeout is None or timeout != timeout else float(timeout)
        try:
            c = make_cell(d["computation"], d.get("model"), d.get("params"), seed=d.get("seed", 0), timeout_s=timeout)
        except Exception:  # noqa: BLE001 - a spec the current code no longer accepts cannot be recomputed
            continue
        cells[c.key] = c
    return list(cells.values())


def keys(computation: str, root: str | Path = DEFAULT_ROOT, statuses: tuple[str, ...] | None = None) -> set[str]:
    """The cell keys present in the catalog (optionally only with the given statuses)."""
    cols = ["cell_key", "status", "written_at"]
    t = _read_table(computation, root, columns=cols)
    if t.num_rows == 0:
        return set()
    df = _dedupe(t.to_pandas())
    if statuses is not None:
        df = df[df["status"].isin(statuses)]
    return set(df["cell_key"])


def compact(computation: str, root: str | Path = DEFAULT_ROOT) -> tuple[int, int]:
    """Merge all part files of a computation into one (duplicates resolved).

    The merged file is written as ``.compact-....parquet.tmp``, flushed and renamed into
    place (``os.replace``) before the old parts are removed, so a kill at any moment leaves
    the old parts, or the old parts and the merged one (whose duplicate rows ``load`` and
    :func:`keys` resolve by ``cell_key``), or the merged one alone: never fewer rows. A
    damaged part file is left where it is (``neurovar catalog doctor`` deals with it); only
    the files that were read are removed. Returns ``(files_before, rows_after)``.
    """
    files = part_files(computation, root)
    sch = schema(computation)
    good, tables = [], []
    for f in files:  # one at a time: a damaged file stays out, and stays where it is
        try:
            tables.append(read_one(f, sch))
            good.append(f)
        except READ_ERRORS as e:
            if not vanished(f, e):  # gone: another compaction has its rows
                warn_once(f, reason(e))
    if len(good) <= 1:
        return len(files), sum(t.num_rows for t in tables)
    df = _dedupe(pa.concat_tables(tables).to_pandas())
    merged = pa.Table.from_pandas(df, schema=sch, preserve_index=False)
    _atomic_write(merged, Path(root) / computation, _part_name("compact"))
    for f in good:
        f.unlink(missing_ok=True)
    return len(files), merged.num_rows


# ------------------------------------------------------------------ runs table
RUNS_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("flow_run_id", pa.string()),
    ("spec_name", pa.string()),
    ("spec_hash", pa.string()),
    ("spec_path", pa.string()),
    ("started", pa.timestamp("us", tz="UTC")),
    ("ended", pa.timestamp("us", tz="UTC")),
    ("cells_planned", pa.int64()),
    ("cells_skipped", pa.int64()),
    ("cells_ok", pa.int64()),
    ("cells_timeout", pa.int64()),
    ("cells_error", pa.int64()),
    ("workers", pa.int64()),
    ("scheduler", pa.string()),
    ("versions", pa.string()),
    ("status", pa.string()),
])


def write_run(row: dict, root: str | Path = DEFAULT_ROOT) -> Path:
    """Append one row to the ``_runs`` table."""
    cols = {f.name: [row.get(f.name)] for f in RUNS_SCHEMA}
    table = pa.Table.from_pydict(cols, schema=RUNS_SCHEMA)
    return _atomic_write(table, Path(root) / RUNS, f"run-{row['run_id']}.parquet")


def load_runs(root: str | Path = DEFAULT_ROOT) -> pd.DataFrame:
    """One row per flow run (its latest state); a damaged run file is skipped with a warning line."""
    df = read_parts(lambda: part_files(RUNS, root), RUNS_SCHEMA).to_pandas()
    if df.empty:
        return df
    # a run writes its row when it starts and again when it ends: keep the latest
    return df.sort_values("started").drop_duplicates("run_id", keep="last").reset_index(drop=True)


def present_computations(root: str | Path = DEFAULT_ROOT) -> list[str]:
    root = Path(root)
    return [c for c in computations() if part_files(c, root)]
