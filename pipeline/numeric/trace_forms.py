"""The functions a trace test traces (:mod:`pipeline.numeric.trace`), each as ``m(x) -> (values, Jacobian)``.

- :class:`ImageForms`: the coordinates of a map ``y(x)`` (images are counted);
- :class:`LinearImage`: linear forms ``A^T x`` (the coordinates, a group's invariant sums), as a
  parameter-free system for :class:`ImageForms`;
- :class:`Projection`: the first ``k`` coordinates, a :class:`LinearImage`;
- :class:`LineSystem`: the family restricted to a parameter line, with the slice, pencil or bridge
  equation in these functions.
"""

from __future__ import annotations

import numpy as np


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


class Projection(LinearImage):
    """``y(x) = x[:k]``: the first ``k`` of ``n`` coordinates.

    For Lagrange systems ``(x, multipliers)``: the multipliers are rational in ``x`` on the
    critical curve, so ``x`` alone separates its points, and tracing ``x`` only keeps their
    poles (``x`` tending to the variety's singular locus) out of ``phi``: fewer and better
    conditioned extra witnesses.
    """

    def __init__(self, n: int, k: int):
        super().__init__(np.eye(n, k))


class LineSystem:
    """``[F(x; p0 + lam v); last]`` in the unknowns ``(x, lam)``, duck-typed as a :class:`System`.

    With ``q(x) = beta . m(x) - 1`` (``m`` the coordinates, or the images of a map ``y``):
    ``mode="slice"``: ``last = q`` with parameters ``beta``;
    ``mode="pencil"``: ``last = q lam + t`` with the parameter ``t`` (``beta`` fixed);
    ``mode="bridge"``: ``last = (1 - s) (lam / c - 1) + s q`` with the parameter ``s``
    (``beta``, ``c`` fixed): from the fibre over ``lam = c`` to points of ``C ∩ {q = 0}``.
    """

    is_real = False
    exact = False
    terms = None

    def __init__(self, base, p0, v, mode: str, forms, beta=None, c: complex = 1.0):
        self.base, self.mode, self.forms = base, mode, forms
        self.p0 = np.asarray(p0, dtype=np.complex128).ravel()
        self.v = np.asarray(v, dtype=np.complex128).ravel()
        n = base.n_variables
        self.n = n
        self.n_variables = n + 1
        self.n_equations = base.n_equations + 1
        if mode == "slice":
            self.n_parameters = forms.K
        elif mode in ("pencil", "bridge"):
            self.beta = np.asarray(beta, dtype=np.complex128).ravel()
            self.n_parameters = 1
            self.c = complex(c)
        else:
            raise ValueError("mode is slice, pencil or bridge")
        self.variables = tuple(base.variables) + ("lam",)
        self.degrees = list(getattr(base, "degrees", [])) + [3]

    def jacobian(self, X, P=None):
        X = np.atleast_2d(np.asarray(X, dtype=np.complex128))
        B = X.shape[0]
        P = np.asarray(P, dtype=np.complex128)
        P = np.broadcast_to(P, (B, self.n_parameters)) if P.ndim == 1 else P
        x, lam = X[:, : self.n], X[:, self.n]
        p = self.p0[None, :] + lam[:, None] * self.v[None, :]
        F, Jx, Jp = self.base.jacobian(x, p)
        N = F.shape[1]
        Fo = np.empty((B, N + 1), dtype=np.complex128)
        Jxo = np.zeros((B, N + 1, self.n + 1), dtype=np.complex128)
        Jpo = np.zeros((B, N + 1, self.n_parameters), dtype=np.complex128)
        Fo[:, :N] = F
        Jxo[:, :N, : self.n] = Jx
        Jxo[:, :N, self.n] = Jp @ self.v
        m, dm = self.forms(x)  # (B, K), (B, K, n)
        if self.mode == "slice":
            Fo[:, N] = (P * m).sum(axis=1) - 1
            Jxo[:, N, : self.n] = np.einsum("bk,bkn->bn", P, dm)
            Jpo[:, N, :] = m
            return Fo, Jxo, Jpo
        q = m @ self.beta - 1
        dq = np.einsum("k,bkn->bn", self.beta, dm)
        if self.mode == "bridge":
            sv, c = P[:, 0], self.c
            Fo[:, N] = (1 - sv) * (lam / c - 1) + sv * q
            Jxo[:, N, : self.n] = sv[:, None] * dq
            Jxo[:, N, self.n] = (1 - sv) / c
            Jpo[:, N, 0] = q - (lam / c - 1)
        else:
            Fo[:, N] = q * lam + P[:, 0]
            Jxo[:, N, : self.n] = lam[:, None] * dq
            Jxo[:, N, self.n] = q
            Jpo[:, N, 0] = 1.0
        return Fo, Jxo, Jpo

    def evaluate(self, X, P=None):
        return self.jacobian(X, P)[0]


__all__ = ["ImageForms", "LineSystem", "LinearImage", "Projection"]
