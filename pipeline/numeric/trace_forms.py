"""The functions a trace test traces (:mod:`pipeline.numeric.trace`), each as ``m(x) -> (values, Jacobian)``.

- :class:`_LinearForms`: the coordinates (or linear forms of them);
- :class:`ImageForms`: the coordinates of a map ``y(x)`` (images are counted);
- :class:`Projection`: the first ``k`` coordinates, as a parameter-free system for :class:`ImageForms`;
- :class:`LinearImage`: linear forms ``A^T x`` (a group's invariant sums), likewise.
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


class LinearImage:
    """``y(x) = A^T x``, duck-typed as a parameter-free :class:`System` (for :class:`ImageForms`).

    With the invariant linear forms of a block permutation group (for each
    column of the blocks, the sum over the blocks; and the fixed coordinates)
    the images are those of the orbits: for a network's neurons, the sums of
    their weights. Where neurons collide their output weights diverge with
    opposite signs while these sums stay finite, so ``phi`` built from them
    has no pole there, and the image curve's degree (the number of extra
    witnesses) is that of the sums alone, far below that of invariant
    quadrics (which do have those poles).
    """

    def __init__(self, A):
        self.A = np.asarray(A, dtype=np.complex128)
        self.n_variables, self.n_equations, self.n_parameters = self.A.shape[0], self.A.shape[1], 0
        self._J = np.ascontiguousarray(self.A.T)

    def evaluate(self, x, p=None):
        return np.atleast_2d(x) @ self.A

    def jacobian(self, x, p=None):
        x = np.atleast_2d(x)
        return x @ self.A, np.broadcast_to(self._J, (x.shape[0],) + self._J.shape), None


__all__ = ["ImageForms", "LinearImage", "Projection"]
