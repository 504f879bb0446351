"""Prime-field arithmetic agrees with Python's exact integers."""

import numpy as np
import pytest

from neurovar.pipeline.algebra.field import MERSENNE61, PrimeField, float_rank


@pytest.mark.parametrize("p", [MERSENNE61, 1073741827, 2147483629])
def test_mul_add_sub_match_python_integers(p):
    F = PrimeField(p)
    rng = np.random.default_rng(7)
    a = F.random(5000, rng)
    b = F.random(5000, rng)
    a[:4] = [p - 1, p - 1, 0, 1]
    b[:4] = [p - 1, 2, p - 1, p - 1]
    for op, ref in [(F.mul, lambda x, y: x * y), (F.add, lambda x, y: x + y), (F.sub, lambda x, y: x - y)]:
        got = op(a, b)
        assert all(int(z) == ref(int(x), int(y)) % p for x, y, z in zip(a, b, got))


def test_matmul_and_pow():
    F = PrimeField()
    rng = np.random.default_rng(3)
    A, B = F.random((2, 3, 4), rng), F.random((4, 5), rng)
    ref = (A.astype(object) @ B.astype(object)) % MERSENNE61
    assert (F.matmul(A, B).astype(object) == ref).all()
    assert int(F.pow(F.asarray([3]), 1000)[0]) == pow(3, 1000, MERSENNE61)


def test_fractions_map_to_inverses():
    from fractions import Fraction

    F = PrimeField()
    half = int(F.const(Fraction(1, 2)))
    assert (2 * half) % MERSENNE61 == 1


def test_rank_of_known_matrices():
    F = PrimeField()
    # rank of a product of random 6x3 and 3x5 matrices is 3
    rng = np.random.default_rng(0)
    M = F.matmul(F.random((6, 3), rng), F.random((3, 5), rng))
    assert F.rank(M) == 3
    # Vandermonde matrix of 4 distinct nodes has rank 4
    V = F.asarray([[x**k for k in range(4)] for x in (1, 2, 3, 5)])
    assert F.rank(V) == 4
    assert float_rank(np.outer([1.0, 2.0], [3.0, 4.0]))[0] == 1


def test_object_backend_matches_uint64_backend():
    rng = np.random.default_rng(5)
    U, O = PrimeField(), PrimeField(backend="object")
    A, B = U.random((3, 4), rng), U.random((4, 5), rng)
    Ao, Bo = A.astype(object), B.astype(object)
    assert (U.matmul(A, B).astype(object) == O.matmul(Ao, Bo)).all()
    assert (U.mul(A, A).astype(object) == O.mul(Ao, Ao)).all()
    assert (U.sub(A, A[::-1]).astype(object) == O.sub(Ao, Ao[::-1])).all()
    assert U.rank(U.matmul(A, B)) == O.rank(O.matmul(Ao, Bo)) == 3


@pytest.mark.parametrize("k", [1, 7, 2048, 2049, 5000])
def test_blas_limb_matmul_matches_python_integers(k):
    """The float64-limb matmul is exact: extreme entries (p - 1) and inner dimensions around the
    2^11 block where limb products stop summing exactly in float64."""
    F = PrimeField()
    rng = np.random.default_rng(k)
    A, B = F.random((3, k), rng), F.random((k, 2), rng)
    A[0, :] = MERSENNE61 - 1
    B[:, 0] = MERSENNE61 - 1
    ref = (A.astype(object) @ B.astype(object)) % MERSENNE61
    got = F.matmul(A, B)
    assert got.dtype == np.uint64 and (got.astype(object) == ref).all()
    # (p - 1)^2 * k = k (mod p): the all-(p-1) row against the all-(p-1) column
    assert int(got[0, 0]) == k % MERSENNE61


def test_direct_flint_rank_matches_python_flint_and_fallback(monkeypatch):
    """The uint64 -> nmod_mat copy (ctypes into python-flint's own FLINT) gives the ranks of
    products of random n x k and k x m matrices (k, generically), as python-flint's constructor does."""
    import flint

    from neurovar.pipeline.algebra import flint_c

    assert flint_c.available()  # python-flint wheels ship FLINT 3: the direct path must load
    F = PrimeField()
    rng = np.random.default_rng(9)
    for n, k, m in [(30, 7, 25), (5, 5, 5), (40, 40, 41), (1, 1, 9)]:
        M = F.matmul(F.random((n, k), rng), F.random((k, m), rng))
        ref = flint.nmod_mat(n, m, M.ravel().tolist(), MERSENNE61).rank()
        assert flint_c.nmod_rank(M, MERSENNE61) == ref == k
        assert F.rank(M) == k
    # without the direct path, PrimeField.rank falls back to python-flint's constructor
    monkeypatch.setattr(flint_c, "available", lambda: False)
    assert F.rank(M) == 1
    assert F.rank(np.zeros((3, 4), dtype=np.uint64)) == 0


def test_rank_reduces_unreduced_and_negative_entries():
    """Entries given as any integers are taken mod p: [[p + 1, 2], [-1, -2]] is [[1, 2], [-1, -2]]
    mod p, of rank 1; [[p, 0], [0, 1]] is diag(0, 1), of rank 1."""
    from neurovar.pipeline.algebra import flint_c

    F = PrimeField()
    p = MERSENNE61
    assert F.rank(np.array([[p + 1, 2], [-1, -2]], dtype=object)) == 1
    assert F.rank(np.array([[p, 0], [0, 1]], dtype=np.uint64)) == 1
    assert flint_c.nmod_rank(np.array([[p, 0], [0, 1]], dtype=np.uint64), p) == 1
