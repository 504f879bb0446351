"""Ranks of uint64 matrices modulo a word-size prime in FLINT, without Python integers.

python-flint's ``nmod_mat(rows, cols, entries, p)`` converts every entry from a
Python ``int``; on a 746 x 744 Jacobian that costs more than the rank itself
(0.17 s against 0.11 s here). The matrices of :mod:`pipeline.compute.dimension`
are already reduced ``uint64`` numpy arrays, which is exactly the memory layout
of FLINT's ``nmod_mat`` entries. This module calls the FLINT library that
python-flint ships (the same shared object its extension modules load) through
``ctypes``: ``nmod_mat_init``, one ``memmove`` of the array into the entries,
``nmod_mat_rank``, ``nmod_mat_clear``. Only these three exported FLINT 3
functions are required, with fixed-width argument types (``slong``/``ulong``
are 64-bit on every platform FLINT 3 supports, Windows included, so
``c_int64``/``c_uint64``, never ``c_long``).

Why this cannot write out of bounds. The layout of ``nmod_mat_struct`` begins
``entries, r, c`` in every FLINT 3 release; the fourth field is ``stride`` (recent
releases, e.g. the 3.6 that python-flint 0.9 ships) or the ``rows`` pointer array
(earlier 3.x releases). After every
``nmod_mat_init`` the code reads these fields back and requires ``r`` and
``c`` to be the requested sizes, ``entries`` to be non-null, and either
``stride == c`` or ``rows[i] == entries + i c`` for every row: that is, the
``r c`` words starting at ``entries`` are exactly the matrix, contiguous and
row-major, as FLINT allocated them. Only then are ``r c`` words copied there
(``memmove`` of a C-contiguous ``uint64`` array of that shape); otherwise the
call raises :class:`LayoutError` and the rank comes from python-flint instead.
``nmod_mat_rank`` then reads only FLINT's own matrix. What remains is FLINT
itself: an allocation failure makes FLINT abort the process (as python-flint's
own constructor would); :data:`MAX_WORDS` refuses matrices too large to
allocate safely before FLINT is called.

The library is found and checked once: a self-test compares ranks with
python-flint's own ``nmod_mat`` on small matrices. If the FLINT version is not
3.x, a symbol is missing, the self-test disagrees or the layout check fails,
:func:`available` is ``False`` and :func:`nmod_rank` computes with
python-flint's constructor (slower, same answers).

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
_WORD = 8
#: Largest matrix (in 64-bit words) handed to FLINT here: 2^28 words = 2 GiB.
MAX_WORDS = 1 << 28


class LayoutError(RuntimeError):
    """FLINT's ``nmod_mat_struct`` is not laid out as this module expects."""


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
            lib.nmod_mat_init.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint64]
            lib.nmod_mat_init.restype = None
            lib.nmod_mat_clear.argtypes = [ctypes.c_void_p]
            lib.nmod_mat_clear.restype = None
            lib.nmod_mat_rank.argtypes = [ctypes.c_void_p]
            lib.nmod_mat_rank.restype = ctypes.c_int64
        except (OSError, AttributeError):
            continue
        if _self_test(lib):
            return lib
    return None


def _entries(buf, rows: int, cols: int) -> int:
    """The address of a freshly initialised ``nmod_mat``'s ``rows x cols`` contiguous entries.

    Raises :class:`LayoutError` unless ``r``, ``c`` and the stride (or the row pointers) say that
    the ``rows * cols`` words at ``entries`` are the matrix, row-major and contiguous.
    """
    fields = (ctypes.c_int64 * 4).from_buffer(buf)  # entries, r, c, stride | rows
    entries, r, c, fourth = (int(fields[i]) for i in range(4))
    if r != rows or c != cols:
        raise LayoutError(f"nmod_mat_init gave r = {r}, c = {c} for a {rows} x {cols} matrix")
    if rows * cols == 0:
        return entries
    if entries == 0:
        raise LayoutError("nmod_mat_init left a null entries pointer")
    if fourth == cols:  # recent FLINT: slong stride
        return entries
    # earlier FLINT 3.x: the rows pointer array (an address, never equal to a small column count)
    if fourth == 0:
        raise LayoutError(f"nmod_mat stride {fourth} != {cols} columns and no row pointers")
    row_ptrs = (ctypes.c_uint64 * rows).from_address(fourth)
    if any(int(row_ptrs[i]) != entries + i * cols * _WORD for i in range(rows)):
        raise LayoutError("nmod_mat rows are not contiguous from entries")
    return entries


def _rank_with(lib, m: np.ndarray, p: int) -> int:
    rows, cols = m.shape
    if m.dtype != np.uint64 or not m.flags.c_contiguous:
        raise ValueError("expected a C-contiguous uint64 matrix")
    if rows * cols > MAX_WORDS:
        raise MemoryError(f"a {rows} x {cols} matrix is above flint_c.MAX_WORDS = {MAX_WORDS} words")
    buf = ctypes.create_string_buffer(_STRUCT_BYTES)
    lib.nmod_mat_init(buf, rows, cols, p)
    try:
        entries = _entries(buf, rows, cols)
        if m.size:
            ctypes.memmove(entries, m.ctypes.data, m.nbytes)
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


def python_flint_rank(m: np.ndarray, p: int) -> int:
    """The same rank through python-flint's constructor (the fallback; Python ints per entry)."""
    import flint

    m = np.asarray(m)
    if m.size == 0:
        return 0
    rows, cols = m.shape
    return int(flint.nmod_mat(rows, cols, [int(v) % p for v in m.ravel().tolist()], p).rank())


def nmod_rank(m: np.ndarray, p: int) -> int:
    """Rank over ``GF(p)`` (``p < 2^63``) of a matrix of non-negative integers below ``2^64``.

    Uses FLINT directly when :func:`available`, python-flint's constructor otherwise, and
    also when the layout check after ``nmod_mat_init`` fails (then the fast path is
    switched off for the rest of the process).

    >>> nmod_rank(np.array([[1, 2], [2, 4]], dtype=np.uint64), 7), nmod_rank(np.eye(3, dtype=np.uint64), 7)
    (1, 3)
    """
    global _LIB
    m = np.ascontiguousarray(m, dtype=np.uint64)
    if m.ndim != 2:
        raise ValueError("expected a matrix")
    lib = _lib()
    if lib is None:
        return python_flint_rank(m, p)
    if m.size and int(m.max()) >= p:  # FLINT assumes reduced entries; one cheap pass makes sure
        m = m % np.uint64(p)
    try:
        return _rank_with(lib, m, p)
    except LayoutError:
        with _LOCK:
            _LIB = None
        return python_flint_rank(m, p)


def set_threads(n: int) -> None:
    """Threads FLINT may use (for large ranks; python-flint's own setting, ``flint.ctx.threads``)."""
    import flint

    flint.ctx.threads = max(1, int(n))


def get_threads() -> int:
    import flint

    return int(flint.ctx.threads)
