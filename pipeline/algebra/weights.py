"""Weight matrices ``Q`` of the squared distance ``||x - u||_Q^2 = (x-u)^T Q (x-u)``.

Spellings (the ``weights`` option of the ``edd`` computation):

``identity``        the identity matrix
``generic``         ``B^T B`` for a random integer ``n x n`` matrix ``B`` (positive definite)
``psd:k``           ``B^T B`` for a random integer ``(n-k) x n`` matrix: positive semidefinite, ``dim ker = k``
``diag:a,b,...``    a diagonal matrix of rationals
``data`` / ``data:N`` ``A^T A`` where the rows of ``A`` are feature vectors of ``N`` random inputs
                    (a model's; without a model, ``N`` random rows), so ``rank Q <= rows``
``file:PATH``       a text matrix of rationals, one row per line, entries separated by spaces or commas
``bombieri``        the Bombieri-Weyl (invariant) inner product of forms of degree ``D`` in monomial
                    coefficients: ``diag(1 / multinomial(D; alpha))`` (``alpha`` padded by ``D - |alpha|``
                    for non-homogeneous polynomials); for quadratic forms ``x^T S x`` it is the
                    Frobenius norm of ``S``. Needs a model whose coordinates are coefficients (mlp)

All entries are exact ``Fraction``s drawn from a seeded generator.

Example
-------
>>> Q = weight_matrix("diag:4,1", 2)
>>> [[str(q) for q in row] for row in Q]
[['4', '0'], ['0', '1']]
>>> Q = weight_matrix("psd:2", 4, seed=1)
>>> kernel_basis(Q).__len__()
2
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Callable, Sequence

import flint
import numpy as np

#: Entries of the random factor B in ``B^T B``.
RANDOM_ENTRY = 1000

_SPELLINGS = "identity, generic, psd:k, diag:a,b,..., data, data:N, bombieri or file:PATH"


def parse_weights(text: str) -> tuple[str, object]:
    """``(kind, argument)`` of a weights spelling; raises ValueError naming the fix."""
    t = text.strip()
    if t in ("identity", "generic", "data", "bombieri"):
        return t, None
    m = re.fullmatch(r"psd:(\d+)", t)
    if m:
        return "psd", int(m.group(1))
    m = re.fullmatch(r"data:(\d+)", t)
    if m:
        if int(m.group(1)) < 1:
            raise ValueError("data:N needs N >= 1 inputs")
        return "data", int(m.group(1))
    if t.startswith("diag:"):
        try:
            vals = [Fraction(v.strip()) for v in t[5:].split(",")]
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"diag: expects rationals separated by commas, e.g. diag:4,1; got {t!r}") from None
        return "diag", vals
    if t.startswith("file:") and len(t) > 5:
        return "file", t[5:]
    raise ValueError(f"unknown weights {text!r}: use {_SPELLINGS}")


def read_matrix_file(path: str) -> list[list[Fraction]]:
    """A square matrix of rationals from a text file (``#`` starts a comment)."""
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        raise ValueError(f"weights file:{path}: cannot read it ({e.strerror})") from None
    rows = []
    for line in lines:
        line = line.split("#")[0].strip()
        if not line:
            continue
        try:
            rows.append([Fraction(v) for v in re.split(r"[,\s]+", line) if v])
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"weights file:{path}: {line!r} is not a row of rationals such as '1 1/2 0'") from None
    return rows


def _random_int_matrix(rows: int, cols: int, rng: np.random.Generator) -> list[list[int]]:
    return rng.integers(-RANDOM_ENTRY, RANDOM_ENTRY + 1, size=(rows, cols)).tolist()


def gram(A: Sequence[Sequence]) -> list[list[Fraction]]:
    """``A^T A`` exactly."""
    n = len(A[0]) if A else 0
    return [[sum((Fraction(r[i]) * Fraction(r[j]) for r in A), Fraction(0)) for j in range(n)] for i in range(n)]


def weight_matrix(text: str, n: int, seed: int = 0, dataset_size: int | None = None,
                  features: Callable[[int, np.random.Generator], list[list[Fraction]]] | None = None,
                  bombieri: Sequence[Fraction] | None = None) -> list[list[Fraction]]:
    """The ``n x n`` matrix ``Q`` for a weights spelling (see the module docstring).

    Parameters
    ----------
    features : callable, optional
        ``features(N, rng)`` -> rows of ``A`` (a model's feature vectors of ``N``
        random inputs) for ``data``; default ``N`` random integer rows.
    bombieri : sequence of Fraction, optional
        The diagonal of the Bombieri-Weyl matrix in the caller's coordinates
        (required by ``bombieri``).
    """
    kind, arg = parse_weights(text)
    rng = np.random.default_rng([seed, 7001])
    if kind == "identity":
        return [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    if kind == "generic":
        return gram(_random_int_matrix(n, n, rng))
    if kind == "psd":
        if arg > n:
            raise ValueError(f"weights psd:{arg}: the kernel dimension k must be at most n = {n}")
        return gram(_random_int_matrix(n - arg, n, rng)) if arg < n else [[Fraction(0)] * n for _ in range(n)]
    if kind == "bombieri":
        if bombieri is None:
            raise ValueError("weights bombieri needs coordinates that are coefficients of forms: "
                             "use it with model mlp, or write the diagonal as diag:a,b,...")
        if len(bombieri) != n:
            raise ValueError(f"weights bombieri: {len(bombieri)} weights for {n} coordinates")
        return [[Fraction(bombieri[i]) if i == j else Fraction(0) for j in range(n)] for i in range(n)]
    if kind == "diag":
        if len(arg) != n:
            raise ValueError(f"weights diag: give {n} entries (one per variable), got {len(arg)}")
        return [[arg[i] if i == j else Fraction(0) for j in range(n)] for i in range(n)]
    if kind == "file":
        Q = read_matrix_file(arg)
        if len(Q) != n or any(len(r) != n for r in Q):
            raise ValueError(f"weights file:{arg}: need a {n} x {n} matrix, got {len(Q)} rows")
        if any(Q[i][j] != Q[j][i] for i in range(n) for j in range(n)):
            raise ValueError(f"weights file:{arg}: the matrix must be symmetric")
        return Q
    N = arg if arg is not None else dataset_size
    if N is None:
        raise ValueError("weights data needs a dataset size: set dataset_size or write data:N")
    if features is None:
        return gram(_random_int_matrix(N, n, rng))
    return gram(features(N, rng))


def kernel_basis(Q: Sequence[Sequence[Fraction]]) -> list[list[Fraction]]:
    """A basis of ``ker Q`` (exact, rational), as a list of vectors."""
    n = len(Q)
    M = flint.fmpq_mat(n, n, [flint.fmpq(q.numerator, q.denominator) for row in Q for q in row])
    R, rank = M.rref()
    pivots = []
    for i in range(rank):
        pivots.append(next(j for j in range(n) if R[i, j] != 0))
    out = []
    for free in (j for j in range(n) if j not in pivots):
        v = [Fraction(0)] * n
        v[free] = Fraction(1)
        for i, pj in enumerate(pivots):
            c = R[i, free]
            v[pj] = -Fraction(int(c.p), int(c.q))
        out.append(v)
    return out


def matrix_rank(Q: Sequence[Sequence[Fraction]]) -> int:
    n = len(Q)
    return n - len(kernel_basis(Q))


__all__ = ["gram", "kernel_basis", "matrix_rank", "parse_weights", "read_matrix_file", "weight_matrix"]
