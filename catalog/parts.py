"""Part files that cannot be read: skipped with one warning line, listed, quarantined, salvaged.

Damage is local. A part file can be damaged by a node that dies during a copy,
a full disk or a partial ``rsync``: it may be empty, truncated, have no Parquet
magic bytes, or hold a column whose values do not cast to the catalog's schema.
Readers open part files one at a time (:func:`read_parts`): a file that fails is
left out, and the first time a process meets it one line goes to stderr::

    warning: skipped unreadable part file results/dimension/part-...parquet (Parquet magic bytes not found ...); neurovar catalog doctor --repair quarantines it

A file whose name starts with ``.`` and ends in ``.tmp`` is a write that never
finished (the writer was killed before its ``os.replace``): readers never look at
it, :func:`damaged` lists it once it is older than :data:`STRAY_TMP_SECONDS`.

:func:`quarantine` moves a damaged file to ``<root>/_quarantine/`` under its path
relative to the root; nothing is ever deleted. The cells that lived only in
such a file are missing from the catalog, so the next ``neurovar run`` computes
them again; :func:`lost_keys` names them by reading what is recoverable of each
damaged file (:func:`salvage_keys`: its ``cell_key`` column chunk, which is the
first column, written before the footer that a truncation destroys).

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> from neurovar.catalog.store import write_records, load
>>> from neurovar.pipeline.cells import make_cell, run_cell
>>> root = Path(tempfile.mkdtemp())
>>> part = write_records([run_cell(make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]}))], "dimension", root)
>>> _ = part.write_bytes(part.read_bytes()[:200])  # truncated: its footer is gone
>>> len(load("dimension", root))  # and one warning line on stderr
0
>>> [d.path.name == part.name for d in damaged(root)], len(salvage_keys(part))
([True], 1)
"""

from __future__ import annotations

import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

QUARANTINE = "_quarantine"
#: a ``.tmp`` file untouched for this long is a write that will never finish
STRAY_TMP_SECONDS = 60.0
#: what reading a damaged Parquet file raises
READ_ERRORS = (OSError, pa.ArrowException, ValueError, TypeError)

_warned: set[str] = set()


def warn_once(path: Path, reason: str) -> None:
    """One stderr line per unreadable file per process."""
    key = str(path)
    if key in _warned:
        return
    _warned.add(key)
    sys.stderr.write(f"warning: skipped unreadable part file {path} ({reason}); "
                     f"neurovar catalog doctor --repair quarantines it\n")
    sys.stderr.flush()


def reason(e: BaseException) -> str:
    """The first sentence of a read error, without the path the warning names anyway."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text.split("': ", 1)[-1].split(". ")[0].rstrip(".")[:120]


def read_one(path: Path, schema: pa.Schema) -> pa.Table:
    """One part file, all columns, cast to ``schema`` (raises one of :data:`READ_ERRORS` when damaged)."""
    return ds.dataset(str(path), schema=schema, format="parquet").to_table()


def vanished(path: Path, e: BaseException) -> bool:
    """Whether a read failed because the file is gone (a compaction removed it meanwhile), not damaged."""
    return isinstance(e, FileNotFoundError) or not Path(path).exists()


def read_parts(list_files, schema: pa.Schema, columns: list[str] | None = None) -> pa.Table:
    """The rows of every readable file of ``list_files()``, each file read whole (so a file is good or
    bad for every reader). A file that a compaction removed meanwhile is no damage: its rows are in
    the compaction's file, so the files are listed and read again (a read that sees the old files
    and the new one too sees each row twice, which the store's readers resolve by ``cell_key``)."""

    def one(path):
        try:
            return read_one(path, schema)
        except READ_ERRORS as e:
            if vanished(path, e):
                return path
            warn_once(path, reason(e))
            return None

    for _ in range(5):
        files = list_files()
        if len(files) > 1:
            with ThreadPoolExecutor(max_workers=min(8, len(files))) as pool:
                got = list(pool.map(one, files))
        else:
            got = [one(f) for f in files]
        if not any(isinstance(t, Path) for t in got):
            break
    tables = [t for t in got if isinstance(t, pa.Table)]
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    return table if columns is None else table.select(columns)


@dataclass
class Damage:
    """A file of the catalog that no reader can use."""

    path: Path
    reason: str
    rows: int | None = None  #: rows whose cell key could still be read from it (None: not a part file)


def _data_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name != QUARANTINE and not p.name.startswith("."))


def damaged(root: str | Path, schemas: dict[str, pa.Schema] | None = None) -> list[Damage]:
    """Every unreadable part file and stray ``.tmp`` file under ``root`` (``_quarantine`` excluded).

    ``schemas`` maps a folder name to the schema its files must cast to (default: each
    computation's and the runs table's); a folder with no schema is checked for readability only.
    """
    from . import store

    root = Path(root)
    if schemas is None:
        schemas = {c: store.schema(c) for c in store.computations()}
        schemas[store.RUNS] = store.RUNS_SCHEMA
    out = []
    now = time.time()
    for folder in _data_folders(root):
        for f in sorted(folder.iterdir()):
            if f.name.startswith(".") and f.name.endswith(".tmp"):
                try:
                    st = f.stat()
                except FileNotFoundError:  # renamed into place meanwhile
                    continue
                if now - st.st_mtime >= STRAY_TMP_SECONDS:
                    out.append(Damage(f, f"unfinished write ({st.st_size} bytes, untouched {now - st.st_mtime:.0f} s)"))
                continue
            if f.suffix != ".parquet" or f.name.startswith((".", "_")):
                continue
            try:
                if folder.name in schemas:
                    read_one(f, schemas[folder.name])
                else:
                    pq.read_metadata(f)
            except READ_ERRORS as e:
                if not vanished(f, e):
                    out.append(Damage(f, reason(e), len(salvage_keys(f))))
    return out


def quarantine(root: str | Path, files: list[Path]) -> list[Path]:
    """Move ``files`` to ``<root>/_quarantine/<their path under root>`` (never deletes); the new paths."""
    root = Path(root)
    moved = []
    for f in files:
        if not Path(f).exists():
            continue
        dest = root / QUARANTINE / Path(f).resolve().relative_to(root.resolve())
        dest.parent.mkdir(parents=True, exist_ok=True)
        n = 1
        while dest.exists():  # a file of the same name quarantined before: keep both
            dest = dest.with_name(f"{dest.stem.split('~')[0]}~{n}{dest.suffix}")
            n += 1
        shutil.move(str(f), str(dest))
        moved.append(dest)
    return moved


def quarantined(root: str | Path, folder: str) -> list[Path]:
    """The files of one catalog folder (a computation's name) that were quarantined."""
    q = Path(root) / QUARANTINE / folder
    return sorted(p for p in q.iterdir() if p.is_file()) if q.is_dir() else []


def lost_keys(computation: str, root: str | Path) -> set[str]:
    """Cell keys that lived in damaged or quarantined files of ``computation`` and in no readable one.

    The damaged files still in place are those a read in this process skipped (planning a run
    reads every part file first).
    """
    from . import store

    bad = [f for f in store.part_files(computation, root) if str(f) in _warned]
    keys: set[str] = set()
    for f in quarantined(root, computation) + bad:
        keys |= salvage_keys(f)
    return keys - store.keys(computation, root) if keys else keys


# ------------------------------------------------------------- what a damaged file still holds
def salvage_keys(path: str | Path) -> set[str]:
    """The cell keys that can still be read from a damaged part file (maybe none).

    With its footer intact (a column that does not cast, a damaged head), pyarrow reads the
    ``cell_key`` column. Otherwise: a Parquet file starts with ``PAR1`` and its first column
    chunk (``cell_key``, the first column of every part file), pages each made of a Thrift
    compact ``PageHeader`` and its data; the footer, which a truncation removes first, is not
    needed to read them. The chunk's dictionary page and PLAIN data pages are decoded; anything
    else ends the salvage.
    """
    try:
        return set(pq.read_table(path, columns=["cell_key"]).column("cell_key").drop_null().to_pylist())
    except (*READ_ERRORS, KeyError):
        pass
    try:
        data = Path(path).read_bytes()
    except OSError:
        return set()
    if data[:4] != b"PAR1":
        return set()
    out: set[str] = set()
    pos, dictionaries = 4, 0
    try:
        while pos < len(data):
            header, pos = _struct(data, pos)
            ptype, size, raw = header.get(1), header.get(3, 0), header.get(2, 0)
            dictionaries += ptype == 2
            if pos + size > len(data) or ptype not in (0, 2) or dictionaries > 1:
                break  # cut short, a page kind not decoded, or the next column's chunk (its dictionary)
            body = _decompress(data[pos:pos + size], raw)
            pos += size
            if ptype == 2:  # dictionary page: PLAIN values
                out |= _plain_strings(body, 0, header[7][1])
            elif header[5].get(2) == 0:  # data page v1, PLAIN: definition levels (4-byte length) then values
                n = int.from_bytes(body[:4], "little")
                out |= _plain_strings(body, 4 + n, header[5][1])
            # a dictionary-encoded data page holds indices into the page above: nothing new
    except (IndexError, KeyError, ValueError, pa.ArrowException):
        pass
    return out


def _decompress(buf: bytes, size: int) -> bytes:
    """A page's data; the codec is named only in the footer, so it is recognised (zstd, what the
    catalog writes, by its frame's magic number) or tried (snappy, pyarrow's default)."""
    if buf.startswith(b"\x28\xb5\x2f\xfd"):
        return pa.decompress(buf, decompressed_size=size, codec="zstd").to_pybytes()
    if len(buf) == size:
        return buf
    return pa.decompress(buf, decompressed_size=size, codec="snappy").to_pybytes()


def _plain_strings(body: bytes, pos: int, count: int) -> set[str]:
    out = set()
    for _ in range(count):
        n = int.from_bytes(body[pos:pos + 4], "little")
        if pos + 4 + n > len(body):
            break
        out.add(body[pos + 4:pos + 4 + n].decode())
        pos += 4 + n
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _value(data: bytes, pos: int, t: int):
    """One Thrift compact value of type ``t`` at ``pos``: (value, next position)."""
    if t in (1, 2):
        return t == 1, pos
    if t == 3:
        return data[pos], pos + 1
    if t in (4, 5, 6):
        v, pos = _varint(data, pos)
        return (v >> 1) ^ -(v & 1), pos
    if t == 7:
        return data[pos:pos + 8], pos + 8
    if t == 8:
        n, pos = _varint(data, pos)
        return data[pos:pos + n], pos + n
    if t in (9, 10):
        head = data[pos]
        pos += 1
        n, et = head >> 4, head & 0x0F
        if n == 15:
            n, pos = _varint(data, pos)
        items = []
        for _ in range(n):
            v, pos = _value(data, pos, et)
            items.append(v)
        return items, pos
    if t == 12:
        return _struct(data, pos)
    raise ValueError(f"thrift type {t}")


def _struct(data: bytes, pos: int) -> tuple[dict, int]:
    fields, last = {}, 0
    while True:
        head = data[pos]
        pos += 1
        if head == 0:
            return fields, pos
        delta, t = head >> 4, head & 0x0F
        if delta:
            fid = last + delta
        else:
            v, pos = _varint(data, pos)
            fid = (v >> 1) ^ -(v & 1)
        fields[fid], pos = _value(data, pos, t)
        last = fid


__all__ = ["Damage", "QUARANTINE", "damaged", "lost_keys", "quarantine", "quarantined", "read_parts",
           "reason", "salvage_keys", "vanished", "warn_once"]
