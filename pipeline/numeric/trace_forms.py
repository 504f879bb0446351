"""The functions a trace test traces (:mod:`pipeline.numeric.trace`), each as ``m(x) -> (values, Jacobian)``.

- :class:`_LinearForms`: the coordinates (or linear forms of them);
- :class:`_InvariantQuadrics`: invariant quadrics of a block permutation group (orbit representatives);
- :class:`ImageForms`: the coordinates of a map ``y(x)`` (images are counted);
- :class:`Projection`: the first ``k`` coordinates, as a parameter-free system for :class:`ImageForms`.
"""

from __future__ import annotations

import numpy as np


class _LinearForms:
    """``m(x) = A^T x``: the coordinates (no group)."""

    def __init__(self, A):
        self.A = np.asarray(A, dtype=np.complex128)
        self.K = self.A.shape[1]

    def __call__(self, x):
        B = x.shape[0]
        return x @ self.A, np.broadcast_to(self.A.T[None], (B, self.K, self.A.shape[0]))


class _InvariantQuadrics:
    """``m(x)``: the invariant quadrics ``sum_j x[B_jc] x[B_jc']`` of a block group and products of fixed coordinates.

    A linear invariant can stay finite where ``x`` goes to infinity (two
    summands diverging with opposite signs, as in border-rank degenerations),
    so ``phi`` is built from quadrics, whose generic combination does not.
    """

    def __init__(self, group, n):
        self.n = n
        self.pairs = []  # (rows a, rows b): the value is sum_j x[a_j] x[b_j]
        for B in group.blocks:
            b = B.shape[1]
            for c in range(b):
                for c2 in range(c, b):
                    self.pairs.append((B[:, c], B[:, c2]))
        f = list(group.fixed)
        for i, c in enumerate(f):
            for c2 in f[i:]:
                self.pairs.append((np.array([c]), np.array([c2])))
        self.K = len(self.pairs)

    def __call__(self, x):
        B = x.shape[0]
        vals = np.empty((B, self.K), dtype=np.complex128)
        jac = np.zeros((B, self.K, self.n), dtype=np.complex128)
        for k, (a, b) in enumerate(self.pairs):
            vals[:, k] = (x[:, a] * x[:, b]).sum(axis=1)
            np.add.at(jac, (slice(None), k, a), x[:, b])
            np.add.at(jac, (slice(None), k, b), x[:, a])
        return vals, jac


class ImageForms:
    """``m(x) = y(x)``: the coordinates of a map ``y`` (a :class:`System` without parameters), e.g. a parametrization.

    For a count *of images* (critical points of a distance on a variety, solved in the parameters of
    a parametrization): ``phi = -(beta . y(x) - 1) lam`` and the traces of ``y`` and ``lam`` test the
    image curve ``y(C)``, whose degree is that of the variety's own critical curve, not the (larger)
    degree of ``C`` in the parameters; where the parametrization's chart leaves the variety
    (parameters going to infinity over a finite image) nothing is traced.
    """

    def __init__(self, ysys):
        self.ysys = ysys
        self.K = ysys.n_equations

    def __call__(self, x):
        Y, J, _ = self.ysys.jacobian(x)
        return Y, J


class Projection:
    """``y(x) = x[:k]``, duck-typed as a parameter-free :class:`System` (for :class:`ImageForms`).

    For Lagrange systems ``(x, multipliers)``: the multipliers are rational in ``x`` on the
    critical curve, so ``x`` alone separates its points, and tracing ``x`` only keeps their
    poles (``x`` tending to the variety's singular locus) out of ``phi``: fewer and better
    conditioned extra witnesses.
    """

    def __init__(self, n: int, k: int):
        self.n_variables, self.n_equations, self.n_parameters = n, k, 0
        self._J = np.eye(k, n, dtype=np.complex128)

    def evaluate(self, x, p=None):
        return np.atleast_2d(x)[:, : self.n_equations]

    def jacobian(self, x, p=None):
        x = np.atleast_2d(x)
        return x[:, : self.n_equations], np.broadcast_to(self._J, (x.shape[0],) + self._J.shape), None


__all__ = ["ImageForms", "Projection"]
