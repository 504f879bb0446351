"""Array arithmetic over a prime field and over floating point, behind one interface.

Models are written once against :class:`Field`; the exact computations use
:class:`PrimeField` (vectorised numpy arithmetic modulo the Mersenne prime
``2**61 - 1``, ranks by python-flint's ``nmod_mat``), the floating-point
cross-checks use :class:`FloatField`.

A rank computed modulo ``p`` at a random point equals the rank over ``Q`` (and
hence over ``C``) of the generic Jacobian except with probability at most
``deg / p`` (Schwartz--Zippel), where ``deg`` bounds the degree of the minors.
With ``p = 2**61 - 1`` this is negligible; records store the prime and seed so
that a second prime or point can confirm a value that decides a conjecture.

Example
-------
>>> import numpy as np
>>> F = PrimeField()
>>> a = F.asarray([2**60, 3]); b = F.asarray([4, 5])
>>> [int(v) for v in F.mul(a, b)]
[2, 15]
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np

#: The Mersenne prime 2^61 - 1, used for exact ranks.
MERSENNE61 = (1 << 61) - 1
#: Primes below 2^31 for msolve (its characteristic must be < 2^31).
MSOLVE_PRIMES = (1073741827, 1073741831, 2147483629)

_MASK61 = np.uint64(MERSENNE61)
_MASK31 = np.uint64((1 << 31) - 1)
_MASK30 = np.uint64((1 << 30) - 1)
_S61 = np.uint64(61)
_S31 = np.uint64(31)
_S30 = np.uint64(30)


#: Inner dimension up to which products of 21-bit limbs sum exactly in float64 (2^11 * 2^42 = 2^53).
_BLOCK = 2048
_MASK21 = np.uint64((1 << 21) - 1)


def _limbs21(a: np.ndarray) -> np.ndarray:
    """``a`` (uint64, < 2^63) as three float64 limbs of 21 bits, stacked on a new first axis."""
    return np.stack([a & _MASK21, (a >> np.uint64(21)) & _MASK21, a >> np.uint64(42)]).astype(np.float64)


def _rot61(x: np.ndarray, k: int) -> np.ndarray:
    """``x * 2^k mod (2^61 - 1)`` for ``0 <= x < 2^61 - 1`` and ``0 < k < 61``: a 61-bit rotation."""
    return ((x << np.uint64(k)) & _MASK61) | (x >> np.uint64(61 - k))


class Field:
    """Interface shared by :class:`PrimeField` and :class:`FloatField`."""

    exact: bool

    def asarray(self, values) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def const(self, c):
        return self.asarray([c])[0]

    def zeros(self, shape) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def random(self, shape, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def add(self, a, b):  # pragma: no cover - interface
        raise NotImplementedError

    def sub(self, a, b):  # pragma: no cover - interface
        raise NotImplementedError

    def mul(self, a, b):  # pragma: no cover - interface
        raise NotImplementedError

    def rank(self, m: np.ndarray) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    # generic operations built on the primitives -------------------------
    def sum(self, a: np.ndarray, axis: int) -> np.ndarray:
        a = np.moveaxis(a, axis, 0)
        acc = a[0]
        for i in range(1, a.shape[0]):
            acc = self.add(acc, a[i])
        return acc

    def pow(self, a: np.ndarray, e: int) -> np.ndarray:
        """Entrywise ``a**e`` by repeated squaring (``e >= 0``)."""
        result = None
        base = a
        while e:
            if e & 1:
                result = base if result is None else self.mul(result, base)
            e >>= 1
            if e:
                base = self.mul(base, base)
        if result is None:
            return self.add(self.zeros(np.shape(a)), self.const(1))
        return result

    def polyval(self, coeffs: Sequence, a: np.ndarray) -> np.ndarray:
        """Entrywise ``sum_i coeffs[i] * a**i`` (Horner); ``coeffs`` are field constants."""
        acc = self.add(self.zeros(np.shape(a)), coeffs[-1])
        for c in reversed(coeffs[:-1]):
            acc = self.add(self.mul(acc, a), c)
        return acc

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``a @ b`` with numpy broadcasting over leading (batch) axes."""
        k = a.shape[-1]
        if b.shape[-2] != k:
            raise ValueError(f"matmul shapes {a.shape} and {b.shape} do not match")
        acc = self.mul(a[..., :, 0:1], b[..., 0:1, :])
        for i in range(1, k):
            acc = self.add(acc, self.mul(a[..., :, i : i + 1], b[..., i : i + 1, :]))
        return acc


class PrimeField(Field):
    """Arithmetic modulo a prime ``p`` on uint64 arrays.

    ``p = 2**61 - 1`` (the default): products are formed by splitting each factor
    into a 30-bit and a 31-bit half, so every intermediate value stays below
    2^64; reductions use ``2^61 = 1 (mod p)``. Primes ``p < 2**31`` (the msolve
    primes) multiply directly, since ``(p-1)^2 < 2^62``. All operations are
    vectorised numpy calls.
    """

    exact = True

    def __init__(self, p: int = MERSENNE61, backend: str = "uint64"):
        if p != MERSENNE61 and not (2 < p < 2**31):
            raise ValueError("PrimeField supports p = 2**61 - 1 or a prime p < 2**31")
        if backend not in ("uint64", "object"):
            raise ValueError("backend must be 'uint64' or 'object'")
        self.p = p
        self._p = np.uint64(p)
        self._mersenne = p == MERSENNE61
        #: "object" stores Python ints: one numpy call per operation, faster for small arrays
        self.backend = backend
        if backend == "object":
            for name in ("asarray", "zeros", "random", "add", "sub", "mul", "matmul"):
                setattr(self, name, getattr(self, f"_obj_{name}"))

    # --- Python-int (object dtype) arithmetic, for small problems -------------
    def _obj_asarray(self, values):
        arr = np.asarray(values, dtype=object)
        return np.array([self._reduce_scalar(v) for v in arr.ravel()], dtype=object).reshape(arr.shape)

    def _obj_zeros(self, shape):
        return np.zeros(shape, dtype=object)

    def _obj_random(self, shape, rng):
        return rng.integers(0, self.p, size=shape, dtype=np.uint64).astype(object)

    def _obj_add(self, a, b):
        return np.remainder(np.add(a, b, dtype=object), self.p)

    def _obj_sub(self, a, b):
        return np.remainder(np.subtract(a, b, dtype=object), self.p)

    def _obj_mul(self, a, b):
        return np.remainder(np.multiply(a, b, dtype=object), self.p)

    def _obj_matmul(self, a, b):
        return np.remainder(np.matmul(np.asarray(a, dtype=object), np.asarray(b, dtype=object)), self.p)

    def __repr__(self) -> str:
        return "PrimeField(2**61 - 1)" if self._mersenne else f"PrimeField({self.p})"

    def asarray(self, values) -> np.ndarray:
        arr = np.asarray(values, dtype=object)
        flat = [self._reduce_scalar(v) for v in arr.ravel()]
        return np.array(flat, dtype=np.uint64).reshape(arr.shape)

    def _reduce_scalar(self, v) -> int:
        if isinstance(v, (np.unsignedinteger,)):
            v = int(v)
        if isinstance(v, Fraction):
            return (v.numerator % self.p) * pow(v.denominator % self.p, -1, self.p) % self.p
        if isinstance(v, (int, np.integer)):
            return int(v) % self.p
        raise TypeError(f"cannot map {v!r} into GF(2^61-1); use integers or Fractions")

    def zeros(self, shape) -> np.ndarray:
        return np.zeros(shape, dtype=np.uint64)

    def random(self, shape, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, self.p, size=shape, dtype=np.uint64)

    def add(self, a, b):
        s = np.add(a, b, dtype=np.uint64)
        # s - p wraps around (to above 2^63) exactly when s < p: the minimum is s mod p
        return np.minimum(s, s - self._p)

    def sub(self, a, b):
        s = np.add(a, self._p - np.asarray(b, dtype=np.uint64), dtype=np.uint64)
        return np.minimum(s, s - self._p)

    def neg(self, a):
        return self.sub(self.zeros(np.shape(a)), a)

    def mul(self, a, b):
        a = np.asarray(a, dtype=np.uint64)
        b = np.asarray(b, dtype=np.uint64)
        if not self._mersenne:
            return (a * b) % self._p
        ah, al = a >> _S31, a & _MASK31  # a = ah*2^31 + al, ah < 2^30
        bh, bl = b >> _S31, b & _MASK31
        hi = ah * bh  # < 2^60; times 2^62 = 2 (mod p)
        mid = ah * bl + al * bh  # < 2^62; times 2^31
        lo = al * bl  # < 2^62
        # mid * 2^31 = (mh*2^30 + ml) * 2^31 = mh*2^61 + ml*2^31 = mh + ml*2^31 (mod p)
        mid_red = (mid >> _S30) + ((mid & _MASK30) << _S31)
        # hi + hi < 2^61, mid_red < 2^61 + 2^32, lo < 2^62: the sum is below 2^64, one fold
        # leaves it below 2^61 + 4 and one conditional subtraction reduces it
        x = hi + hi + mid_red + lo
        x = (x & _MASK61) + (x >> _S61)
        return np.minimum(x, x - _MASK61)

    def matmul(self, a, b):
        """``a @ b`` (numpy broadcasting over batch axes) by float64 BLAS products of 21-bit limbs.

        Each factor is split as ``a = a0 + a1 2^21 + a2 2^42``; the nine products
        ``a_i @ b_j`` are exact in float64 while the inner dimension is below
        ``2^11`` (each term is below ``2^42``; longer products are cut into
        blocks), and ``sum_s 2^(21 s) (sum_{i+j=s} a_i @ b_j)`` is reduced with
        ``2^61 = 1 (mod p)``: multiplying by ``2^k`` is a rotation of the 61 bits.
        A fixed number of numpy calls whatever the inner dimension (the generic
        loop makes one multiply-add per inner index).
        """
        if not self._mersenne:
            return super().matmul(a, b)
        a = np.asarray(a, dtype=np.uint64)
        b = np.asarray(b, dtype=np.uint64)
        k = a.shape[-1]
        if b.ndim < 2 or b.shape[-2] != k:
            raise ValueError(f"matmul shapes {a.shape} and {b.shape} do not match")
        if k > _BLOCK:
            acc = None
            for s in range(0, k, _BLOCK):
                part = self.matmul(a[..., s : s + _BLOCK], b[..., s : s + _BLOCK, :])
                acc = part if acc is None else self.add(acc, part)
            return acc
        nd = max(a.ndim, b.ndim)  # equal ranks, so that the limb axes broadcast against each other
        a = a.reshape((1,) * (nd - a.ndim) + a.shape)
        b = b.reshape((1,) * (nd - b.ndim) + b.shape)
        al = _limbs21(a)  # (3, ..., m, k) float64
        bl = _limbs21(b)  # (3, ..., k, n)
        prod = np.matmul(al[:, None], bl[None, :]).astype(np.uint64)  # (3, 3, ..., m, n), each < 2^53
        # s = i + j: 0 -> (0,0); 1 -> (0,1),(1,0); 2 -> (0,2),(1,1),(2,0); 3 -> (1,2),(2,1); 4 -> (2,2)
        s0 = prod[0, 0]
        s1 = prod[0, 1] + prod[1, 0]
        s2 = prod[0, 2] + prod[1, 1] + prod[2, 0]
        s3 = prod[1, 2] + prod[2, 1]
        s4 = prod[2, 2]  # all < 3 * 2^53 < 2^61 - 1: already reduced
        x = s0 + _rot61(s1, 21) + _rot61(s2, 42) + _rot61(s3, 63 - 61) + _rot61(s4, 84 - 61)
        x = (x & _MASK61) + (x >> _S61)
        return np.minimum(x, x - _MASK61)

    def rank(self, m: np.ndarray) -> int:
        import flint

        m = np.asarray(m)
        if m.size == 0:
            return 0
        rows, cols = m.shape
        from . import flint_c

        if flint_c.available():
            # the uint64 array is copied into FLINT's nmod_mat as it is (no Python ints); entries
            # from elsewhere (negative or unreduced Python ints) are reduced first
            if m.dtype == object:
                m = np.remainder(m, self.p)
            return flint_c.nmod_rank(np.asarray(m, dtype=np.uint64), self.p)
        # tolist() of uint64 or object arrays already yields Python ints
        return int(flint.nmod_mat(rows, cols, m.ravel().tolist(), self.p).rank())


class FloatField(Field):
    """Floating-point (float64 or complex128) arithmetic: a cross-check, never the answer."""

    exact = False

    def __init__(self, dtype=np.float64):
        self.dtype = np.dtype(dtype)

    def __repr__(self) -> str:
        return f"FloatField({self.dtype.name})"

    def asarray(self, values) -> np.ndarray:
        arr = np.asarray(values, dtype=object)
        return np.array([complex(v) if self.dtype.kind == "c" else float(v) for v in arr.ravel()],
                        dtype=self.dtype).reshape(arr.shape)

    def zeros(self, shape) -> np.ndarray:
        return np.zeros(shape, dtype=self.dtype)

    def random(self, shape, rng: np.random.Generator) -> np.ndarray:
        if self.dtype.kind == "c":
            return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
        return rng.standard_normal(shape)

    def add(self, a, b):
        return np.add(a, b)

    def sub(self, a, b):
        return np.subtract(a, b)

    def neg(self, a):
        return -np.asarray(a)

    def mul(self, a, b):
        return np.multiply(a, b)

    def matmul(self, a, b):
        return np.matmul(a, b)

    def sum(self, a, axis):
        return np.sum(a, axis=axis)

    def rank(self, m: np.ndarray) -> int:
        return float_rank(m)[0]


def float_rank(m: np.ndarray) -> tuple[int, float | None]:
    """Numerical rank by SVD (numpy's default tolerance) and the gap ``s[r-1]/s[r]``.

    The gap is ``None`` when the matrix has full rank (no next singular value).
    """
    m = np.asarray(m)
    if m.size == 0:
        return 0, None
    s = np.linalg.svd(m, compute_uv=False)
    if s[0] == 0 or not np.isfinite(s[0]):
        return 0, None
    tol = s[0] * max(m.shape) * np.finfo(np.float64).eps
    r = int(np.sum(s > tol))
    gap = float(s[r - 1] / s[r]) if 0 < r < len(s) and s[r] > 0 else None
    return r, gap


class ObjectRing(Field):
    """Exact arithmetic on numpy object arrays of ring elements (polynomials, residues, rationals).

    The ring of a forward pass with *symbolic* parameters: python-flint
    polynomials (``nmod_mpoly`` over ``GF(p)``, ``fmpq_mpoly`` over ``Q``),
    Python ints or ``Fraction``. ``coerce`` maps a rational constant (an
    activation coefficient) into the ring; ``zero`` is the ring's zero.

    Example
    -------
    >>> import flint
    >>> ctx = flint.fmpq_mpoly_ctx.get(("a", "b"), "lex")
    >>> R = ObjectRing.over_context(ctx)
    >>> A = np.empty((1, 2), dtype=object)   # filled entrywise: numpy would iterate the polynomials
    >>> A[0, 0], A[0, 1] = ctx.gens()
    >>> z = R.matmul(A, np.array([[1], [2]], dtype=object))
    >>> str(R.pow(z, 2)[0, 0])
    'a^2 + 4*a*b + 4*b^2'
    """

    exact = True

    def __init__(self, coerce=lambda c: c, zero=0):
        self.coerce, self.zero = coerce, zero

    @classmethod
    def over_context(cls, ctx) -> "ObjectRing":
        """The ring of a python-flint ``fmpq_mpoly_ctx`` or ``nmod_mpoly_ctx``."""
        import flint

        if isinstance(ctx, flint.fmpq_mpoly_ctx):
            return cls(lambda c: ctx.constant(flint.fmpq(Fraction(c).numerator, Fraction(c).denominator)),
                       ctx.constant(0))
        p = ctx.modulus()
        return cls(lambda c: ctx.constant(PrimeField(p, backend="object")._reduce_scalar(Fraction(c))),
                   ctx.constant(0))

    def _arr(self, a):
        if isinstance(a, np.ndarray):
            return a if a.dtype == object else a.astype(object)
        out = np.empty((), dtype=object)  # a scalar ring element (numpy would iterate a polynomial)
        out[()] = a
        return out

    def asarray(self, values) -> np.ndarray:
        arr = np.asarray(values, dtype=object)
        out = np.empty(arr.shape, dtype=object)
        for i, v in enumerate(arr.ravel()):
            out.flat[i] = self.coerce(v) if isinstance(v, (int, Fraction, np.integer)) else v
        return out

    def const(self, c):
        return self.coerce(c)

    def zeros(self, shape) -> np.ndarray:
        out = np.empty(shape, dtype=object)
        for i in range(out.size):
            out.flat[i] = self.zero
        return out

    def random(self, shape, rng):  # pragma: no cover - symbolic rings have no uniform distribution
        raise TypeError("ObjectRing has no random elements; draw in a PrimeField or FloatField")

    def add(self, a, b):
        return np.add(self._arr(a), self._arr(b), dtype=object)

    def sub(self, a, b):
        return np.subtract(self._arr(a), self._arr(b), dtype=object)

    def neg(self, a):
        return np.negative(self._arr(a), dtype=object)

    def mul(self, a, b):
        return np.multiply(self._arr(a), self._arr(b), dtype=object)

    def pow(self, a, e: int):
        a = self._arr(a)
        out = np.empty(a.shape, dtype=object)
        for i, v in enumerate(a.ravel()):
            out.flat[i] = v**e
        return out

    def matmul(self, a, b):
        return np.matmul(self._arr(a), self._arr(b))

    def rank(self, m):  # pragma: no cover - not a field
        raise TypeError("rank needs a field: use PrimeField or FloatField")
