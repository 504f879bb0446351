"""The direct FLINT rank path: every failure branch falls back to python-flint with the same ranks."""

import ctypes

import flint
import numpy as np
import pytest

from neurovar.pipeline.algebra import flint_c

P = (1 << 61) - 1


def known_rank_matrices():
    """(matrix, rank) pairs: A (r x k) B (k x c) with A, B having an identity block, so rank = k."""
    rng = np.random.default_rng(7)
    out = []
    for r, c, k in ((7, 5, 3), (12, 30, 9), (40, 40, 40), (50, 31, 1), (3, 3, 0)):
        A = rng.integers(0, 1000, size=(r, k)).astype(object)
        B = rng.integers(0, 1000, size=(k, c)).astype(object)
        A[:k, :k] = np.eye(k, dtype=object)  # rank k factors (upper k x k identity blocks)
        B[:k, :k] = np.eye(k, dtype=object)
        M = np.array((A.dot(B)) % P, dtype=np.uint64) if k else np.zeros((r, c), dtype=np.uint64)
        out.append((M, k))
    return out


@pytest.fixture
def fresh(monkeypatch):
    """Forget the loaded library so that _lib() loads and self-tests again (restored after the test)."""
    monkeypatch.setattr(flint_c, "_LIB", None)
    monkeypatch.setattr(flint_c, "_CHECKED", False)
    return flint_c


def ranks():
    return [flint_c.nmod_rank(M, P) for M, _ in known_rank_matrices()]


def test_fast_path_loads_and_gives_the_constructed_ranks(fresh):
    assert fresh.available()
    assert ranks() == [k for _, k in known_rank_matrices()] == [3, 9, 40, 1, 0]


def test_wrong_flint_version_falls_back(fresh, monkeypatch):
    monkeypatch.setattr(flint, "__FLINT_VERSION__", "2.9.0")
    assert not fresh.available()
    assert ranks() == [3, 9, 40, 1, 0]


def test_failed_self_test_falls_back(fresh, monkeypatch):
    monkeypatch.setattr(flint_c, "_self_test", lambda lib: False)
    assert not fresh.available()
    assert ranks() == [3, 9, 40, 1, 0]


def test_library_without_the_symbols_falls_back(fresh, monkeypatch):
    import ctypes.util

    libm = ctypes.util.find_library("m")
    assert libm
    monkeypatch.setattr(flint_c, "_candidates", lambda: [libm])  # loads, but has no nmod_mat_* symbols
    assert not fresh.available()
    assert ranks() == [3, 9, 40, 1, 0]


class _Corrupting:
    """The real library, but nmod_mat_init's struct is altered afterwards (a layout FLINT does not have)."""

    def __init__(self, lib, field, value):
        self.lib, self.field, self.value = lib, field, value
        self.nmod_mat_clear, self.nmod_mat_rank = lib.nmod_mat_clear, lib.nmod_mat_rank
        self.saved = None

    def nmod_mat_init(self, buf, r, c, p):
        self.lib.nmod_mat_init(buf, r, c, p)
        fields = (ctypes.c_int64 * 4).from_buffer(buf)
        self.saved = int(fields[self.field])
        fields[self.field] = self.value(r, c)

    def restore(self, buf):
        (ctypes.c_int64 * 4).from_buffer(buf)[self.field] = self.saved


@pytest.mark.parametrize("field, value, message", [
    (1, lambda r, c: r + 1, "r = "),          # wrong row count
    (2, lambda r, c: c - 1, "c = "),          # wrong column count
    (0, lambda r, c: 0, "null entries"),      # no entries
    (3, lambda r, c: 0, "stride"),            # neither a stride nor row pointers
])
def test_layout_mismatch_raises_before_writing_and_nmod_rank_falls_back(fresh, monkeypatch, field, value, message):
    real = fresh._lib()
    assert real is not None
    fake = _Corrupting(real, field, value)

    def clear(buf):  # give FLINT its own struct back before it frees it
        fake.restore(buf)
        real.nmod_mat_clear(buf)

    fake.nmod_mat_clear = clear
    M, k = known_rank_matrices()[1]
    with pytest.raises(flint_c.LayoutError, match=message):
        flint_c._rank_with(fake, M, P)
    monkeypatch.setattr(flint_c, "_LIB", fake)
    assert flint_c.nmod_rank(M, P) == k == 9  # python-flint's answer
    assert flint_c._LIB is None  # and the fast path is off for the rest of the process
    assert ranks() == [3, 9, 40, 1, 0]


def test_row_pointer_layout_of_earlier_flint_is_accepted():
    """Earlier FLINT 3 releases store a rows array instead of a stride: contiguous row pointers pass,
    a row pointer off by one word is refused (checked on a struct built here; FLINT is not called)."""
    rows, cols = 5, 3
    data = (ctypes.c_uint64 * (rows * cols))()
    base = ctypes.addressof(data)
    ptrs = (ctypes.c_uint64 * rows)(*[base + i * cols * 8 for i in range(rows)])
    buf = ctypes.create_string_buffer(flint_c._STRUCT_BYTES)
    fields = (ctypes.c_int64 * 4).from_buffer(buf)
    fields[0], fields[1], fields[2], fields[3] = base, rows, cols, ctypes.addressof(ptrs)
    assert flint_c._entries(buf, rows, cols) == base
    fields[3] = cols  # the stride layout of recent releases
    assert flint_c._entries(buf, rows, cols) == base
    fields[3] = ctypes.addressof(ptrs)
    ptrs[rows - 1] += 8
    with pytest.raises(flint_c.LayoutError, match="not contiguous"):
        flint_c._entries(buf, rows, cols)


def test_too_large_matrices_are_refused_before_flint_is_called(fresh, monkeypatch):
    monkeypatch.setattr(flint_c, "MAX_WORDS", 100)
    M = np.zeros((11, 10), dtype=np.uint64)
    with pytest.raises(MemoryError, match="MAX_WORDS"):
        flint_c._rank_with(fresh._lib(), M, P)


def test_fixed_width_argument_types(fresh):
    lib = fresh._lib()
    assert lib.nmod_mat_init.argtypes[1:] == [ctypes.c_int64, ctypes.c_int64, ctypes.c_uint64]
    assert lib.nmod_mat_rank.restype is ctypes.c_int64
