"""Provenance of a computation's rows: code fingerprints, the git revision, file contents.

A row of the catalog is only reusable if the code that produced it is the code
that would produce it now. The hand-kept ``VERSION`` of a computation says so
only when someone remembers to bump it; the **code fingerprint** says so
always: it is a hash of the source of the computation's module and of every
module of ``pipeline/`` that it imports, transitively (read from the import
statements, relative or ``neurovar.pipeline.*``, at any depth in the file),
plus ``pipeline/cells.py`` and what it imports (the models, which build every
cell's network). A package that discovers its modules at run time
(``pkgutil.iter_modules(__path__)`` in its ``__init__.py``, as a registry of
models does) depends on every module in it; the registry of computations
(``compute/``) is the exception: one computation's rows do not depend on
another computation's module. It is part of every cell key, so a row computed by other code
has another key: a rerun recomputes it, and :func:`neurovar.catalog.store.load`
leaves it out by default (it is *stale*).

Files outside ``pipeline/`` (the catalog, plots, the CLI) never enter a
fingerprint: editing them makes nothing stale. Fingerprints are computed once
per process; the import statements of each source are cached on disk by the
hash of its bytes (``$NEUROVAR_CACHE_DIR``, default ``~/.cache/neurovar``), so
a one-cell CLI call does not parse the whole closure again.

``file:PATH`` inputs are keyed by the SHA-256 of the file's content, not by its
path (:func:`file_digest`).

Example
-------
>>> fp = code_fingerprint("dimension")
>>> len(fp), fp == code_fingerprint("dimension")
(16, True)
>>> sorted(p for p in source_files("dimension") if p.startswith("models/"))[:2]
['models/__init__.py', 'models/activation.py']
>>> "catalog/plots.py" in source_files("dimension")
False
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
from functools import lru_cache
from pathlib import Path

#: The folder whose modules enter fingerprints.
PIPELINE_DIR = Path(__file__).resolve().parent
#: Modules every cell runs through (record building, model construction).
COMMON_ROOTS = ("cells.py",)
#: Packages whose run-time discovery does not make a module depend on all of them.
DISCOVERY_EXEMPT = ("compute",)


def _resolve(parts: list[str]) -> list[Path]:
    """The files of the pipeline module ``parts`` (relative to ``pipeline/``) and of its parent packages."""
    out = []
    for i in range(len(parts) + 1):
        base = PIPELINE_DIR.joinpath(*parts[:i])
        init = base / "__init__.py"
        if init.is_file():
            out.append(init)
    if parts:
        mod = PIPELINE_DIR.joinpath(*parts[:-1], parts[-1] + ".py")
        if mod.is_file():
            out.append(mod)
    return out


#: On-disk cache of each source's import statements, keyed by the SHA-256 of its bytes (parsing
#: every module of the closure costs ~0.4 s per process, most of a one-cell CLI call's overhead).
IMPORT_CACHE = "imports-v1.json"


def _cache_path() -> Path:
    base = os.environ.get("NEUROVAR_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "neurovar")
    return Path(base) / IMPORT_CACHE


@lru_cache(maxsize=1)
def _import_cache() -> dict:
    import json

    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_import_cache() -> None:
    """Write the cache atomically (best effort: a read-only home only costs the parse next time)."""
    import json
    import tempfile

    path = _cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".imports-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(_import_cache(), fh)
        os.replace(tmp, path)
    except OSError:
        pass


def _statements(text: str) -> list:
    """The import statements of a source: ``[level, module or "", [names]]`` (``level -1``: ``import``)."""
    out = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            out.extend([-1, a.name, []] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.append([node.level, node.module or "", [a.name for a in node.names]])
    return out


def _import_statements(path: Path) -> tuple[list, str]:
    """``(statements, text)`` of ``path``; the statements come from the cache when its bytes are known.

    The key is the content hash, so an edited file is parsed again; which names are submodules is
    decided by :func:`_resolve` against the files present now, never cached.
    """
    data = path.read_bytes()
    text = data.decode("utf-8")
    key = hashlib.sha256(data).hexdigest()
    cache = _import_cache()
    if key not in cache:
        cache[key] = _statements(text)
        cache["_dirty"] = True
    return cache[key], text


def _imports(path: Path) -> set[Path]:
    """The pipeline files that ``path`` imports (relative or absolute, at any depth in the file)."""
    rel = path.relative_to(PIPELINE_DIR)
    package = list(rel.parts[:-1])
    statements, text = _import_statements(path)
    found: set[Path] = set()
    for level, module, names in statements:
        targets: list[list[str]] = []
        if level < 0:
            if module.startswith("neurovar.pipeline"):
                targets.append(module.split(".")[2:])
        else:
            if level:
                up = level - 1
                if up > len(package):
                    continue  # leaves pipeline/
                base = package[: len(package) - up]
                mod = base + (module.split(".") if module else [])
            elif module and (module + ".").startswith("neurovar.pipeline."):
                mod = module.split(".")[2:]
            else:
                continue
            targets.append(mod)
            targets.extend(mod + [a] for a in names if a != "*")
        for t in targets:
            found.update(_resolve(t))
    if rel.name == "__init__.py" and rel.parts[:-1] and rel.parts[0] not in DISCOVERY_EXEMPT \
            and "iter_modules(__path__)" in text:
        found.update(p for p in path.parent.glob("*.py") if p != path)  # modules discovered at run time
    return found


@lru_cache(maxsize=None)
def _closure(root: Path) -> frozenset[Path]:
    seen: set[Path] = set()
    todo = [root]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(_imports(p) - seen)
    return frozenset(seen)


def _module_path(computation: str) -> Path:
    import sys

    from .compute import get_computation

    comp = get_computation(computation)
    return Path(sys.modules[comp.run.__module__].__file__).resolve()


@lru_cache(maxsize=None)
def _files(computation: str) -> tuple[Path, ...]:
    files: set[Path] = set(_closure(_module_path(computation)))
    for name in COMMON_ROOTS:
        files |= _closure(PIPELINE_DIR / name)
    cache = _import_cache()
    if cache.pop("_dirty", False):
        _save_import_cache()
    return tuple(sorted(files))


def source_files(computation: str) -> list[str]:
    """The files (relative to ``pipeline/``) whose source enters ``computation``'s fingerprint."""
    return [p.relative_to(PIPELINE_DIR).as_posix() for p in _files(computation)]


@lru_cache(maxsize=None)
def code_fingerprint(computation: str) -> str:
    """A 16-hex-digit hash of the source files :func:`source_files` lists (paths and bytes)."""
    h = hashlib.sha256()
    for p in _files(computation):
        h.update(p.relative_to(PIPELINE_DIR).as_posix().encode() + b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def git_revision() -> str | None:
    """``HEAD`` of the checkout that holds ``pipeline/`` (``+dirty`` if pipeline files differ), else None."""
    root = PIPELINE_DIR.parent
    if not (root / ".git").exists():
        return None
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=20, env=env)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "pipeline"],
                               capture_output=True, text=True, timeout=20, env=env)
        return rev.stdout.strip() + ("+dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def file_digest(path: str | os.PathLike) -> str | None:
    """SHA-256 of a file's content (None if it cannot be read).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
    ...     _ = fh.write("abc")
    >>> file_digest(fh.name)[:16]
    'ba7816bf8f01cfea'
    """
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def content_keyed(obj):
    """``obj`` with every ``"file:PATH"`` string replaced by the path and the SHA-256 of its content.

    >>> content_keyed({"weights": "generic", "n": [1, 2]})
    {'weights': 'generic', 'n': [1, 2]}
    """
    if isinstance(obj, str) and obj.startswith("file:") and len(obj) > 5:
        return {"file": obj, "sha256": file_digest(os.path.expanduser(obj[5:]))}
    if isinstance(obj, (list, tuple)):
        return [content_keyed(x) for x in obj]
    if isinstance(obj, dict):
        return {k: content_keyed(v) for k, v in obj.items()}
    return obj


__all__ = ["code_fingerprint", "content_keyed", "file_digest", "git_revision", "source_files"]
