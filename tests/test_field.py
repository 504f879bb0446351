"""Prime-field arithmetic agrees with Python's exact integers."""

import numpy as np
import pytest

from pipeline.algebra.field import MERSENNE61, PrimeField, float_rank


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
