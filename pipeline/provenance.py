"""Provenance of a row: exactly the code and the solvers that can change its value.

The rule
--------
A row's ``code_fingerprint`` is a hash of exactly these, and of nothing else:

1. **The computation's own closure**: its module in ``pipeline/compute/`` and every
   module of ``pipeline/`` it imports, transitively (import statements, relative or
   ``neurovar.pipeline.*``, at any depth in a file, with the ``__init__.py`` of each
   package on the way).
2. **The closure of the cell's own model module** (``models/mlp.py`` for an MLP, and
   what it imports). Never the other models: a package that discovers its modules at
   run time (the models registry's ``pkgutil.iter_modules``) adds no module by that
   discovery. The record builder ``cells.py`` and this module (:data:`RECORD_ONLY`) do
   not enter: they copy values into the record and compute none. A cell without a
   model has no such part.
3. **The versions of the external solvers the cell used**: python-flint when a module
   of (1) or (2) imports ``flint``; msolve and Singular when the cell really ran them
   (the msolve bridge and the Singular runners note each call in the cell's context,
   :mod:`neurovar.pipeline.solver_use`; the row's ``versions`` column names them under
   ``"solvers"``).

Each source enters as its syntax tree with the docstrings removed (``ast.parse``, every
statement that is a bare string dropped, then dumped without positions or empty fields: the
same text on every Python version), with its path relative to ``pipeline/``. Comments,
docstrings, blank lines and moved lines change nothing; a changed formula changes the hash.

Parts (1), (2) and python-flint are known before a cell runs: they are the ``code`` in its
``cell_key`` (:func:`code_fingerprint`), so a cell whose code changed has a new key and a
rerun computes it. msolve and Singular are known only after it ran: they are folded into
the row's fingerprint (:func:`row_fingerprint`). A row is *current* when its fingerprint
equals the one that today's code and solvers give for its computation, its model and the
solvers it used (:func:`current_fingerprints`); otherwise it is *stale*.

Cost: a source's hash and import statements are cached in memory per (path, mtime,
size) and on disk by the SHA-256 of its bytes (``$NEUROVAR_CACHE_DIR``, default
``~/.cache/neurovar``); a (computation, model) fingerprint is computed once per process,
so planning 10^5 cells costs a dictionary look-up per cell.

``file:PATH`` inputs are keyed by the SHA-256 of the file's content (:func:`file_digest`).

Example
-------
>>> fp = code_fingerprint("dimension", "mlp")
>>> len(fp), fp == code_fingerprint("dimension", "mlp"), fp == code_fingerprint("dimension", "cnn")
(16, True, False)
>>> files = source_files("dimension", "mlp")
>>> "models/mlp.py" in files, "models/cnn.py" in files, "cells.py" in files
(True, False, False)
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path

from .solver_use import note_solver, recording_solvers  # noqa: F401 - part of this module's interface

#: The folder whose modules enter fingerprints.
PIPELINE_DIR = Path(__file__).resolve().parent
_INSTALLED_DIR = PIPELINE_DIR
#: The external solvers a fingerprint can name.
SOLVERS = ("msolve", "Singular", "python-flint")
#: Modules that record how a value was obtained and compute none: they never enter a closure.
RECORD_ONLY = ("provenance.py", "solver_use.py")


# ------------------------------------------------------------------ one source: imports and syntax hash
#: On-disk cache of each source's import statements and syntax hash, keyed by the SHA-256 of its bytes.
IMPORT_CACHE = "sources-v3.json"
_MEMO: dict[tuple, tuple] = {}  # (path, mtime_ns, size) -> (statements, syntax hash)
_IMPORTS: dict[Path, tuple] = {}  # path -> (pipeline files it imports, imports flint), for this process


def _cache_path() -> Path:
    base = os.environ.get("NEUROVAR_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "neurovar")
    return Path(base) / IMPORT_CACHE


@lru_cache(maxsize=1)
def _disk_cache() -> dict:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_disk_cache() -> None:
    """Write the cache atomically (best effort: a read-only home only costs the parse next time)."""
    import tempfile

    cache = _disk_cache()
    if not cache.pop("_dirty", False):
        return
    path = _cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sources-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(cache, fh)
        os.replace(tmp, path)
    except OSError:
        pass


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    """Drop every statement that is a bare string (docstrings, attribute docs); an emptied body gets ``pass``."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if not isinstance(body, list) or not body or not isinstance(body[0], ast.stmt):
                continue
            kept = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                            and isinstance(s.value.value, str))]
            setattr(node, name, kept or ([ast.Pass()] if name == "body" else []))
    return tree


def syntax_hash(text: str) -> str:
    """SHA-256 of a source's syntax tree without docstrings: prose and comments do not change it.

    >>> a = syntax_hash('def f(x):\\n    "Square."\\n    return x * x  # the square\\n')
    >>> a == syntax_hash("def f(x):\\n\\n    return x*x\\n"), a == syntax_hash("def f(x):\\n    return x * x * x\\n")
    (True, False)
    """
    return _tree_hash(ast.parse(text))


def _dump(node) -> str:
    """``ast.dump`` without positions and without empty fields, so that every Python version that
    parses a source gives the same text (3.12 adds ``type_params=[]``; 3.13 omits empty fields)."""
    if isinstance(node, ast.AST):
        fields = ((f, getattr(node, f, None)) for f in node._fields)
        return type(node).__name__ + "(" + ",".join(f"{f}={_dump(v)}" for f, v in fields
                                                    if v is not None and v != [] and f != "kind") + ")"
    if isinstance(node, list):
        return "[" + ",".join(_dump(x) for x in node) + "]"
    return repr(node)


def _tree_hash(tree: ast.AST) -> str:
    return hashlib.sha256(_dump(_strip_docstrings(tree)).encode()).hexdigest()


def _statements(tree: ast.AST) -> list:
    """The import statements of a source: ``[level, module or "", [names]]`` (``level -1``: ``import``)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend([-1, a.name, []] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.append([node.level, node.module or "", [a.name for a in node.names]])
    return out


def _source(path: Path) -> tuple[list, str]:
    """``(import statements, syntax hash)`` of a source, cached per (path, mtime, size) and by content."""
    st = path.stat()
    memo_key = (str(path), st.st_mtime_ns, st.st_size)
    hit = _MEMO.get(memo_key)
    if hit is not None:
        return hit
    data = path.read_bytes()
    key = hashlib.sha256(data).hexdigest()
    cache = _disk_cache()
    entry = cache.get(key)
    if not (isinstance(entry, dict) and "s" in entry and "a" in entry):
        tree = ast.parse(data.decode("utf-8"))
        entry = {"s": _statements(tree), "a": _tree_hash(tree)}
        cache[key] = entry
        cache["_dirty"] = True
    _MEMO[memo_key] = (entry["s"], entry["a"])
    return _MEMO[memo_key]


# ------------------------------------------------------------------ closures
def _resolve(parts: list[str]) -> list[Path]:
    """The files of the pipeline module ``parts`` (relative to ``pipeline/``) and of its parent packages."""
    out = []
    for i in range(len(parts) + 1):
        init = PIPELINE_DIR.joinpath(*parts[:i]) / "__init__.py"
        if init.is_file():
            out.append(init)
    if parts:
        mod = PIPELINE_DIR.joinpath(*parts[:-1], parts[-1] + ".py")
        if mod.is_file():
            out.append(mod)
    return out


def _imports(path: Path) -> tuple[set[Path], bool]:
    """The pipeline files that ``path`` imports, and whether it imports ``flint``.

    Only import statements count: a package's run-time discovery of its modules adds nothing.
    """
    if path in _IMPORTS:
        return _IMPORTS[path]
    package = list(path.relative_to(PIPELINE_DIR).parts[:-1])
    statements, _ = _source(path)
    found: set[Path] = set()
    flint = False
    for level, module, names in statements:
        if level <= 0 and (module == "flint" or module.startswith("flint.")):
            flint = True
        if level < 0:
            targets = [module.split(".")[2:]] if module.startswith("neurovar.pipeline") else []
        else:
            if level:
                if level - 1 > len(package):
                    continue  # leaves pipeline/
                mod = package[: len(package) - (level - 1)] + (module.split(".") if module else [])
            elif (module + ".").startswith("neurovar.pipeline."):
                mod = module.split(".")[2:]
            else:
                continue
            targets = [mod] + [mod + [a] for a in names if a != "*"]
        for t in targets:
            found.update(_resolve(t))
    _IMPORTS[path] = (found, flint)
    return found, flint


def _closure(root: Path) -> tuple[frozenset[Path], bool]:
    """The pipeline files ``root`` reaches by imports (itself included), and whether one imports ``flint``."""
    seen: set[Path] = set()
    flint = False
    todo = [root, *_resolve(list(root.relative_to(PIPELINE_DIR).parts[:-1]))]  # importing it runs its packages
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        if p.relative_to(PIPELINE_DIR).as_posix() in RECORD_ONLY:
            continue
        found, uses_flint = _imports(p)
        flint |= uses_flint
        todo.extend(found - seen)
    return frozenset(p for p in seen if p.relative_to(PIPELINE_DIR).as_posix() not in RECORD_ONLY), flint


def _rebased(module_file: str) -> Path:
    """A loaded module's file, as the same file under :data:`PIPELINE_DIR` (which tests may point elsewhere)."""
    p = Path(module_file).resolve()
    try:
        return PIPELINE_DIR / p.relative_to(_INSTALLED_DIR)
    except ValueError:
        return p


def _roots(computation: str, model: str | None) -> list[Path]:
    import sys

    from .compute import get_computation

    comp = get_computation(computation)
    roots = [_rebased(sys.modules[comp.run.__module__].__file__)]
    if model is not None:
        from .models import MODELS

        spec_cls, model_cls = MODELS[model]  # KeyError: a model this code does not have
        roots += sorted({_rebased(sys.modules[c.__module__].__file__) for c in (spec_cls, model_cls)})
    return roots


@lru_cache(maxsize=None)
def _parts(computation: str, model: str | None) -> tuple[tuple[Path, ...], bool]:
    files: set[Path] = set()
    flint = False
    for root in _roots(computation, model):
        found, uses = _closure(root)
        files |= found
        flint |= uses
    _save_disk_cache()
    return tuple(sorted(files)), flint


def _model_name(model) -> str | None:
    return model.get("model") if isinstance(model, dict) else model


def source_files(computation: str, model: str | dict | None = None) -> list[str]:
    """The files (relative to ``pipeline/``) whose syntax enters the fingerprint of ``computation`` on ``model``."""
    return [p.relative_to(PIPELINE_DIR).as_posix() for p in _parts(computation, _model_name(model))[0]]


@lru_cache(maxsize=None)
def _code_fingerprint(computation: str, model: str | None) -> str:
    files, flint = _parts(computation, model)
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(PIPELINE_DIR).as_posix().encode() + b"\0" + _source(p)[1].encode() + b"\0")
    if flint:
        h.update(b"python-flint\0" + str(solver_version("python-flint")).encode())
    return h.hexdigest()[:16]


def code_fingerprint(computation: str, model: str | dict | None = None) -> str:
    """Rule parts (1), (2) and python-flint: a 16-hex-digit hash, known before the cell runs."""
    return _code_fingerprint(computation, _model_name(model))


def clear_caches() -> None:
    """Forget every cached hash and closure (for a process that edits sources, e.g. a test)."""
    _MEMO.clear()
    _IMPORTS.clear()
    _parts.cache_clear()
    _code_fingerprint.cache_clear()
    current_fingerprints.cache_clear()
    _version_at.cache_clear()


# ------------------------------------------------------------------ solvers a cell used
@lru_cache(maxsize=None)
def _version_at(exe: str, flag: str, mtime_ns: int) -> str | None:
    try:
        # stdin closed: a cell's child process talks to its parent over its own stdin
        out = subprocess.run([exe, flag], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"\d+\.\d+(?:\.\d+)*", out.stdout + out.stderr)
    return m.group(0) if m else None


def solver_version(name: str) -> str | None:
    """The version of an external solver as installed now (None when it is not); cached per executable and mtime."""
    try:
        if name == "python-flint":
            from importlib.metadata import version

            return version("python-flint")
        if name == "msolve":
            from .algebra.msolve import msolve_executable

            exe, flag = msolve_executable(), "-V"
        elif name == "Singular":
            from .algebra.singular import singular_executable

            exe, flag = singular_executable(), "--version"
        else:
            return None
        return _version_at(exe, flag, os.stat(exe).st_mtime_ns) if exe else None
    except Exception:  # noqa: BLE001 - a solver that cannot be found has no version
        return None


def row_fingerprint(code: str | None, solvers: dict[str, str | None]) -> str | None:
    """A row's fingerprint: ``code`` alone when the cell ran no solver, else ``code`` and those solvers' versions.

    >>> row_fingerprint("0123456789abcdef", {})
    '0123456789abcdef'
    >>> row_fingerprint("0123456789abcdef", {"msolve": "0.10.1"}) != row_fingerprint("0123456789abcdef", {"msolve": "0.9"})
    True
    """
    if code is None or not solvers:
        return code
    text = code + json.dumps({k: solvers[k] for k in sorted(solvers)}, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@lru_cache(maxsize=None)
def current_fingerprints(computation: str, model: str | None) -> frozenset[str]:
    """Every fingerprint a current row of ``computation`` on ``model`` can carry: its code with the
    versions installed now of each set of solvers it may have run (empty: no row can be current, e.g.
    its model or computation no longer exists). A row's solvers need not be read to test it."""
    from itertools import combinations

    try:
        code = code_fingerprint(computation, model)
    except (KeyError, ValueError, LookupError):
        return frozenset()
    run = [s for s in SOLVERS if s != "python-flint"]  # noted per cell; python-flint is in the code part
    versions = {s: solver_version(s) for s in run}
    return frozenset(row_fingerprint(code, {s: versions[s] for s in used})
                     for k in range(len(run) + 1) for used in combinations(run, k))


# ------------------------------------------------------------------ other provenance
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


__all__ = ["SOLVERS", "clear_caches", "code_fingerprint", "content_keyed", "current_fingerprints", "file_digest",
           "git_revision", "note_solver", "recording_solvers", "row_fingerprint", "solver_version",
           "source_files", "syntax_hash"]
