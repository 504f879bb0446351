"""Ranks of uint64 matrices modulo a word-size prime in FLINT, without Python integers.

python-flint's ``nmod_mat(rows, cols, entries, p)`` converts every entry from a
Python ``int``; on a 746 x 744 Jacobian that costs more than the rank itself
(0.17 s against 0.11 s here). The matrices of :mod:`pipeline.compute.dimension`
are already reduced ``uint64`` numpy arrays, which is exactly the memory layout
of FLINT's ``nmod_mat`` entries. This module calls the FLINT library that
python-flint ships (the same shared object its extension modules load) through
``ctypes``: ``nmod_mat_init``, one ``memmove`` of the array into the entries,
``nmod_mat_rank``, ``nmod_mat_clear``. Only exported FLINT 3 functions and the
first field of ``nmod_mat_struct`` (the row-major ``entries`` pointer of a
freshly initialised matrix, the same in every FLINT 3 release) are used.

The library is found and checked once: a self-test compares ranks with
python-flint's own ``nmod_mat`` on small matrices. If anything is missing or
disagrees, :func:`available` is ``False`` and callers use python-flint's
constructor (slower, same answers).

Example
-------
>>> import numpy as np
>>> M = np.array([[1, 2, 3], [2, 4, 6], [1, 0, 1]], dtype=np.uint64)
>>> nmod_rank(M, 2**61 - 1) if available() else 2
2
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading

import numpy as np

_LIB = None
_CHECKED = False
_LOCK = threading.Lock()
_STRUCT_BYTES = 256  # nmod_mat_struct is 56 bytes in FLINT 3.x; room to spare


def _candidates() -> list[str]:
    import flint

    pkg = os.path.dirname(os.path.abspath(flint.__file__))
    site = os.path.dirname(pkg)
    pats = [os.path.join(site, "python_flint.libs", "libflint*.so*"),  # Linux wheels (auditwheel)
            os.path.join(pkg, ".dylibs", "libflint*.dylib"),  # macOS wheels (delocate)
            os.path.join(site, "python_flint.libs", "*flint*.dll")]  # Windows wheels (delvewheel)
    return [p for pat in pats for p in sorted(glob.glob(pat))]


def _load():
    import flint

    version = str(getattr(flint, "__FLINT_VERSION__", "0"))
    if not version.startswith("3."):
        return None
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            lib.nmod_mat_init.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_ulong]
            lib.nmod_mat_init.restype = None
            lib.nmod_mat_clear.argtypes = [ctypes.c_void_p]
            lib.nmod_mat_clear.restype = None
            lib.nmod_mat_rank.argtypes = [ctypes.c_void_p]
            lib.nmod_mat_rank.restype = ctypes.c_long
            lib.flint_set_num_threads.argtypes = [ctypes.c_int]
            lib.flint_set_num_threads.restype = None
            lib.flint_get_num_threads.argtypes = []
            lib.flint_get_num_threads.restype = ctypes.c_int
        except (OSError, AttributeError):
            continue
        if _self_test(lib):
            return lib
    return None


def _rank_with(lib, m: np.ndarray, p: int) -> int:
    rows, cols = m.shape
    buf = ctypes.create_string_buffer(_STRUCT_BYTES)
    lib.nmod_mat_init(buf, rows, cols, p)
    try:
        fields = (ctypes.c_long * 3).from_buffer(buf)  # entries pointer, r, c
        if fields[1] != rows or fields[2] != cols:
            raise RuntimeError("unexpected nmod_mat layout")
        if m.size:
            ctypes.memmove(fields[0], m.ctypes.data, m.nbytes)
        return int(lib.nmod_mat_rank(buf))
    finally:
        lib.nmod_mat_clear(buf)


def _self_test(lib) -> bool:
    import flint

    rng = np.random.default_rng(2024)
    try:
        for p, (r, c, k) in (((1 << 61) - 1, (7, 5, 3)), ((1 << 61) - 1, (4, 9, 4)), (2147483629, (6, 6, 2))):
            A = rng.integers(0, 1000, size=(r, k))
            B = rng.integers(0, 1000, size=(k, c))
            M = np.asarray((flint.nmod_mat(A.tolist(), p) * flint.nmod_mat(B.tolist(), p)).entries(),
                           dtype=object)
            M = np.array([int(v) for v in M], dtype=np.uint64).reshape(r, c)
            want = flint.nmod_mat(r, c, [int(v) for v in M.ravel()], p).rank()
            if _rank_with(lib, np.ascontiguousarray(M), p) != want:
                return False
    except Exception:  # noqa: BLE001 - any surprise means: do not use this path
        return False
    return True


def _lib():
    global _LIB, _CHECKED
    if not _CHECKED:
        with _LOCK:
            if not _CHECKED:
                try:
                    _LIB = _load()
                except Exception:  # noqa: BLE001
                    _LIB = None
                _CHECKED = True
    return _LIB


def available() -> bool:
    """Whether the direct FLINT path loaded and passed its self-test."""
    return _lib() is not None


def nmod_rank(m: np.ndarray, p: int) -> int:
    """Rank over ``GF(p)`` (``p < 2^63``) of a matrix of non-negative integers below ``2^64``."""
    lib = _lib()
    if lib is None:
        raise RuntimeError("the FLINT library of python-flint could not be loaded")
    m = np.ascontiguousarray(m, dtype=np.uint64)
    if m.ndim != 2:
        raise ValueError("expected a matrix")
    if m.size and int(m.max()) >= p:  # FLINT assumes reduced entries; one cheap pass makes sure
        m = m % np.uint64(p)
    return _rank_with(lib, m, p)


def set_threads(n: int) -> None:
    """Threads FLINT may use (for large ranks; python-flint's own setting, ``flint.ctx.threads``)."""
    import flint

    flint.ctx.threads = max(1, int(n))


def get_threads() -> int:
    import flint

    return int(flint.ctx.threads)
