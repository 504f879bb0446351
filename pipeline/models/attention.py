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

from fractions import Fraction
from typing import Literal

import numpy as np
from pydantic import Field as PydField

from ..errors import SpecError
from ..papers import ATTENTION_HYPERSURFACE
from .base import Gauge, Model, ModelSpec, Symmetries



class AttentionSpec(ModelSpec):
    """``model: attention``: sizes ``d`` (input rows), ``d_out``, ``n`` (key/query rows), ``t`` (tokens)."""

    model: Literal["attention"] = "attention"
    d: int = PydField(ge=1)
    d_out: int = PydField(ge=1)
    n: int = PydField(ge=1)
    t: int = PydField(default=2, ge=1)


class Attention(Model):
    """Lightning self-attention ``X -> V X X^T K^T Q X``.

    Symmetries (derivation). ``f`` depends on ``(K, Q)`` only through ``M = K^T Q``
    (a ``d x d`` matrix of rank ``<= q = min(n, d)``) and on ``(V, M)`` only through
    the virtual weights ``V (x) M`` (injective for ``t >= 2``, Henry--Marchetti--Kohn).
    Hence the symmetries are exactly:

    - ``GL(n)``: ``(K, Q) -> (A K, A^{-T} Q)`` keeps ``M``; the fiber of
      ``(K, Q) -> M`` over a rank-``q`` matrix has dimension ``2 n d - q (2 d - q)``
      (the parameters minus the dimension of the rank-``q`` matrices);
    - the scaling ``(V, M) -> (c V, M / c)`` (one dimension): a rank-one tensor
      ``V (x) M`` determines its factors up to this scaling.

    The group is connected (``c = -1`` is in the torus, and ``GL(n)`` is connected over
    ``C``): no finite symmetry beyond it, so a gauge slice meets a generic fiber once.

    Gauge (``auto``): ``V[0, 0] = 1`` fixes the scaling; for ``n <= d``,
    ``K[:, :n] = I`` fixes ``GL(n)`` (``A = K[:, :n]^{-1}`` is the unique element moving
    a generic ``K`` there); for ``n > d``, ``K = [I_d; 0]`` and the last ``n - d`` rows
    of ``Q`` zero (``A`` moves ``K`` there up to ``[[I, B], [0, C]]``; ``B`` is then fixed
    by ``Q_2 = 0`` and ``C`` acts trivially on the slice). Either way the slice has the
    codimension ``symmetry_dimension`` and meets each orbit once.
    """

    name = "attention"

    def __init__(self, spec: AttentionSpec, seed: int = 0):
        self.spec = spec
        self.d, self.d_out, self.n, self.t = spec.d, spec.d_out, spec.n, spec.t

    @property
    def param_shapes(self):
        return [("V", (self.d_out, self.d)), ("K", (self.n, self.d)), ("Q", (self.n, self.d))]

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
    def parameter_degree(self) -> int:
        return 3

    # --- the ambient space: virtual weights -------------------------------------------
    @property
    def _index(self):
        pairs = [(c, a) for c in range(self.d) for a in range(c, self.d)]
        return [(o, b, ca) for o in range(self.d_out) for b in range(self.d) for ca in pairs]

    @property
    def ambient_dimension(self) -> int:
        """``d_out * binom(d+1, 2) * d``: the virtual-weight tensors (see the module docstring)."""
        d = self.d
        return self.d_out * (d * (d + 1) // 2) * d

    def coordinate_names(self) -> list[str]:
        """``y1, y2, ...``: the virtual weights ``y[o, b, {c <= a}]``."""
        return [f"y{i + 1}" for i in range(len(self._index))]

    def coefficients(self, theta) -> list:
        """Virtual weights: ``y[o, b, ca] = (V M)`` symmetrised, ``M = K^T Q``."""
        p = self.unpack(theta)
        V, K, Q = p["V"], p["K"], p["Q"]
        M = [[sum((K[m, a] * Q[m, b] for m in range(self.n)), 0 * K[0, 0]) for b in range(self.d)]
             for a in range(self.d)]
        return self._virtual(V, M)

    def _virtual(self, V, M):
        return [V[o][c] * M[c][b] if c == a else V[o][c] * M[a][b] + V[o][a] * M[c][b]
                for (o, b, (c, a)) in self._index]

    @property
    def feature_input_shape(self):
        return (self.d, self.t)

    def features(self, x) -> list[list[Fraction]]:
        """``f_{o, j}(X) = sum y[o, b, ca] (X X^T)_{ca} X_{bj}``: one row per output ``(o, j)``."""
        X = np.asarray(x, dtype=object).reshape(self.d, self.t)
        G = X.dot(X.T)
        return [[Fraction(int(G[c, a] * X[b, j])) if o == o2 else Fraction(0) for (o, b, (c, a)) in self._index]
                for o2 in range(self.d_out) for j in range(self.t)]

    def implicit_equations(self, names):
        """The hypersurface :data:`ATTENTION_HYPERSURFACE` for ``d = 2, d_out = 1`` (codimension 1)."""
        if self.n < self.d:
            raise SpecError("model.n", f"edd supports attention with n >= d (here n={self.n}, d={self.d}): "
                            f"set n >= {self.d}")
        if self.t < 2:
            raise SpecError("model.t", "edd needs t >= 2 tokens (then the virtual weights are identifiable)")
        if self.d == 2 and self.d_out == 1:
            from ..algebra.parser import parse_system

            return parse_system(ATTENTION_HYPERSURFACE, names)[1], 1, True
        return None

    def parametrization(self):
        """``(V, M)`` with ``V[0, 0] = 1`` (for ``n >= d``, ``M = K^T Q`` is any ``d x d`` matrix)."""
        import flint

        self.implicit_equations(self.coordinate_names())  # the same checks on n and t
        d, do = self.d, self.d_out
        pnames = [f"v{o}_{c}" for o in range(do) for c in range(d)][1:] + [f"m{a}_{b}" for a in range(d)
                                                                          for b in range(d)]
        ctx = flint.fmpq_mpoly_ctx.get(tuple(pnames), "degrevlex")
        g = dict(zip(pnames, ctx.gens()))
        V = [[ctx.constant(1) if (o, c) == (0, 0) else g[f"v{o}_{c}"] for c in range(d)] for o in range(do)]
        M = [[g[f"m{a}_{b}"] for b in range(d)] for a in range(d)]
        return pnames, self._virtual(V, M)

    # --- forward pass --------------------------------------------------------------
    def _inputs(self, X):
        return X.reshape(X.shape[0], self.d, self.t)

    def forward(self, theta, X, ring):
        p = self.unpack(theta)
        V, K, Q = p["V"], p["K"], p["Q"]
        Xs = self._inputs(X)
        Xt = np.ascontiguousarray(np.swapaxes(Xs, 1, 2))
        A = ring.matmul(Xs, Xt)  # (N, d, d)
        M = ring.matmul(np.ascontiguousarray(K.T), Q)  # (d, d)
        out = ring.matmul(ring.matmul(ring.matmul(V, A), M), Xs)  # (N, d_out, t)
        return out.reshape(X.shape[0], -1)

    def jacobian(self, theta, X, F):
        p = self.unpack(theta)
        V, K, Q = p["V"], p["K"], p["Q"]
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

    # --- symmetries ----------------------------------------------------------------
    def symmetries(self) -> Symmetries:
        """``GL(n)`` on ``(K, Q)`` and the scaling of ``(V, M)``: ``2 n d - q (2 d - q) + 1``, no finite part."""
        q = min(self.n, self.d)
        return Symmetries(2 * self.n * self.d - q * (2 * self.d - q) + 1, (), 1, ("incoming",))

    def gauge(self, kind: str = "auto") -> Gauge:
        """The slice of the class docstring (``auto`` = ``incoming``); ``none`` leaves the group unfixed."""
        if kind not in ("auto", "incoming"):
            return super().gauge(kind)
        n, d, do = self.n, self.d, self.d_out
        k0, q0 = do * d, do * d + n * d
        fixed = {0: 1}
        if n <= d:
            fixed.update({k0 + m * d + a: int(m == a) for m in range(n) for a in range(n)})
        else:
            fixed.update({k0 + m * d + a: int(m == a) for m in range(n) for a in range(d)})
            fixed.update({q0 + m * d + a: 0 for m in range(d, n) for a in range(d)})
        return Gauge("incoming", fixed, 1, 1, "V[0,0] = 1 and K (and the last rows of Q) fixed: GL(n) x C* section")
