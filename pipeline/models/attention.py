"""Lightning self-attention ``X -> V X X^T K^T Q X`` (single head, single layer).

Parameters ``V`` in ``R^{d_out x d}``, ``K, Q`` in ``R^{n x d}``; an input is a
``d x t`` matrix ``X`` (``d * t`` variables, flattened row-major) and the output a
``d_out x t`` matrix. Every ``f_theta`` is a homogeneous cubic in ``X``.

The functions depend on the parameters only through the "virtual weights"
``V (x) K^T Q`` symmetrised in the two factors of ``X X^T``, a tensor in
``R^{d_out} (x) Sym^2(R^d) (x) R^d``; for ``t >= 2`` the map from these tensors to
functions is injective, so the ambient space is taken to be this tensor space
(Henry, Marchetti, Kohn, *Geometry of lightning self-attention: identifiability
and dimension*, ICLR 2025). For ``d = 2, d_out = 1, n = 2`` it is ``R^6``: pairs of
binary quadrics ``(v.x)(m_1.x), (v.x)(m_2.x)`` sharing the factor ``v.x``.

Example
-------
>>> m = Attention(AttentionSpec(d=2, d_out=1, n=2, t=2))
>>> m.num_params, m.ambient_dimension, m.expected_dimension
(10, 6, 5)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field as PydField

from .base import Model, ModelSpec


class AttentionSpec(ModelSpec):
    """``model: attention``: sizes ``d`` (input rows), ``d_out``, ``n`` (key/query rows), ``t`` (tokens)."""

    model: Literal["attention"] = "attention"
    d: int = PydField(ge=1)
    d_out: int = PydField(ge=1)
    n: int = PydField(ge=1)
    t: int = PydField(default=2, ge=1)


class Attention(Model):
    name = "attention"

    def __init__(self, spec: AttentionSpec, seed: int = 0):
        self.spec = spec
        self.d, self.d_out, self.n, self.t = spec.d, spec.d_out, spec.n, spec.t

    @property
    def num_params(self) -> int:
        return self.d_out * self.d + 2 * self.n * self.d

    @property
    def input_dim(self) -> int:
        return self.d * self.t

    @property
    def output_dim(self) -> int:
        return self.d_out * self.t

    @property
    def degree(self) -> int:
        return 3

    @property
    def homogeneous(self) -> bool:
        return True

    @property
    def ambient_dimension(self) -> int:
        """``d_out * binom(d+1, 2) * d``: the virtual-weight tensors (see the module docstring)."""
        d = self.d
        return self.d_out * (d * (d + 1) // 2) * d

    @property
    def symmetry_dimension(self) -> int:
        """``GL(n)`` acting on ``(K, Q)`` (only through ``M = K^T Q`` of rank ``q = min(n, d)``)
        and the scaling ``(V, M) -> (c V, M / c)``: ``2 n d - q (2 d - q) + 1``."""
        q = min(self.n, self.d)
        return 2 * self.n * self.d - q * (2 * self.d - q) + 1

    def random_parameters(self, F, rng):
        return F.random(self.num_params, rng)

    def _unpack(self, theta):
        a = self.d_out * self.d
        b = a + self.n * self.d
        V = theta[:a].reshape(self.d_out, self.d)
        K = theta[a:b].reshape(self.n, self.d)
        Q = theta[b:].reshape(self.n, self.d)
        return V, K, Q

    def _inputs(self, X):
        return X.reshape(X.shape[0], self.d, self.t)

    def evaluate(self, theta, X, F):
        V, K, Q = self._unpack(theta)
        Xs = self._inputs(X)
        Xt = np.ascontiguousarray(np.swapaxes(Xs, 1, 2))
        A = F.matmul(Xs, Xt)  # (N, d, d)
        M = F.matmul(np.ascontiguousarray(K.T), Q)  # (d, d)
        out = F.matmul(F.matmul(F.matmul(V, A), M), Xs)  # (N, d_out, t)
        return out.reshape(X.shape[0], -1)

    def jacobian(self, theta, X, F):
        V, K, Q = self._unpack(theta)
        Xs = self._inputs(X)
        N = X.shape[0]
        A = F.matmul(Xs, np.ascontiguousarray(np.swapaxes(Xs, 1, 2)))  # (N, d, d)
        QX = F.matmul(Q, Xs)  # (N, n, t)
        AKt = F.matmul(A, np.ascontiguousarray(K.T))  # (N, d, n)
        AKtQX = F.matmul(AKt, QX)  # (N, d, t)
        VA = F.matmul(V, A)  # (N, d_out, d)
        VAKt = F.matmul(V, AKt)  # (N, d_out, n)
        do, d, t = self.d_out, self.d, self.t
        # dF[o', j] / dV[o, a] = [o == o'] * (A K^T Q X)[a, j]
        dV = F.zeros((N, do, t, do, d))
        for o in range(do):
            dV[:, o, :, o, :] = np.swapaxes(AKtQX, 1, 2)
        # dF[o, j] / dK[m, a] = (V A)[o, a] * (Q X)[m, j]
        dK = F.mul(VA[:, :, None, None, :], np.swapaxes(QX, 1, 2)[:, None, :, :, None])
        # dF[o, j] / dQ[m, a] = (V A K^T)[o, m] * X[a, j]
        dQ = F.mul(VAKt[:, :, None, :, None], np.swapaxes(Xs, 1, 2)[:, None, :, None, :])
        J = np.concatenate(
            [dV.reshape(N, do, t, -1), dK.reshape(N, do, t, -1), dQ.reshape(N, do, t, -1)], axis=3
        )
        return J.reshape(N * do * t, -1)
