"""Lightning self-attention ``X -> V X X^T K^T Q X`` (single head; one layer or ``layers`` stacked).

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

**Deep** (``layers = L``): ``X_l = V_l X_(l-1) X_(l-1)^T K_l^T Q_l X_(l-1)`` with
``V_l`` in ``R^{d x d}`` for ``l < L`` and ``V_L`` in ``R^{d_out x d}``; ``f`` has degree
``3^L`` in ``X`` and ``V`` is the space of all polynomial maps of that degree
(the virtual-weight space is the one-layer special case). Symmetries, derived:
each layer has its own ``GL(n) x C*`` (see :class:`Attention`), and between
layers ``l`` and ``l + 1`` every ``A`` in ``GL(d)`` acts: with ``Y = X_l``,
``V_(l+1) (A Y)(A Y)^T K^T Q (A Y) = (V_(l+1) A) Y Y^T (K A)^T (Q A) Y``, so
``(V_l, V_(l+1), K_(l+1), Q_(l+1)) -> (A V_l, V_(l+1) A^{-1}, K_(l+1) A^{-1}, Q_(l+1) A^{-1})``
keeps ``f``. The declared continuous dimension is
``sum_l (2 n d - q (2 d - q) + 1) + (L - 1) d^2`` (``q = min(n, d)``), which the exact
fiber dimension confirms on small cases (``tests/test_deep_attention.py``).

Example
-------
>>> m = Attention(AttentionSpec(d=2, d_out=1, n=2, t=2))
>>> m.num_params, m.ambient_dimension, m.expected_dimension
(10, 6, 5)
>>> deep = Attention(AttentionSpec(d=2, d_out=1, n=2, t=2, layers=2))
>>> deep.num_params, deep.degree, deep.symmetry_dimension
(22, 9, 14)
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

import numpy as np
from pydantic import Field as PydField

from ..errors import SpecError
from ..papers import ATTENTION_HYPERSURFACE
from .base import Gauge, Model, ModelSpec, ParameterMap, Symmetries, SymmetryBlocks
from .structure import LightningAttention


class AttentionSpec(ModelSpec):
    """``model: attention``: sizes ``d`` (input rows), ``d_out``, ``n`` (key/query rows), ``t`` (tokens)."""

    model: Literal["attention"] = "attention"
    d: int = PydField(ge=1)
    d_out: int = PydField(ge=1)
    n: int = PydField(ge=1)
    t: int = PydField(default=2, ge=1)
    layers: int = PydField(default=1, ge=1, description="number of stacked attention layers (deep lightning "
                                                        "self-attention; inner layers map d x t to d x t)")


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

    This group is connected (``c = -1`` is in the torus, and ``GL(n)`` is connected over
    ``C``). One finite symmetry lies outside it: for ``d_out = n = 1``, ``v`` and ``k``
    are rows and ``v X X^T k^T = k X X^T v^T`` (``X X^T`` is symmetric), so swapping
    ``V`` and ``K`` preserves ``f`` (order 2). Otherwise none is known, and a gauge slice
    meets a generic fiber in ``1`` point (``2`` when ``d_out = n = 1``).

    Gauge (``auto``): ``V[0, 0] = 1`` fixes the scaling; for ``n <= d``,
    ``K[:, :n] = I`` fixes ``GL(n)`` (``A = K[:, :n]^{-1}`` is the unique element moving
    a generic ``K`` there); for ``n > d``, ``K = [I_d; 0]`` and the last ``n - d`` rows
    of ``Q`` zero (``A`` moves ``K`` there up to ``[[I, B], [0, C]]``; ``B`` is then fixed
    by ``Q_2 = 0`` and ``C`` acts trivially on the slice). Either way the slice has the
    codimension ``symmetry_dimension`` and meets each orbit once.
    """

    name = "attention"
    gauge_names = ("incoming",)

    @classmethod
    def examples(cls) -> list[dict]:
        return [{"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 2},
                {"model": "attention", "d": 2, "d_out": 1, "n": 1, "t": 2}]

    def structure(self) -> LightningAttention:
        return LightningAttention(self.d, self.d_out, self.n, self.t, self.L)

    def __init__(self, spec: AttentionSpec, seed: int = 0):
        self.spec = spec
        self.d, self.d_out, self.n, self.t = spec.d, spec.d_out, spec.n, spec.t
        self.L = spec.layers

    @property
    def param_shapes(self):
        if self.L == 1:
            return [("V", (self.d_out, self.d)), ("K", (self.n, self.d)), ("Q", (self.n, self.d))]
        out = []
        for l in range(1, self.L + 1):
            rows = self.d_out if l == self.L else self.d
            out += [(f"V{l}", (rows, self.d)), (f"K{l}", (self.n, self.d)), (f"Q{l}", (self.n, self.d))]
        return out

    def _layer_offsets(self) -> list[int]:
        offs, k = [], 0
        for l in range(self.L):
            offs.append(k)
            k += (self.d_out if l == self.L - 1 else self.d) * self.d + 2 * self.n * self.d
        return offs

    @property
    def input_dim(self) -> int:
        return self.d * self.t

    @property
    def output_dim(self) -> int:
        return self.d_out * self.t

    @property
    def degree(self) -> int:
        return 3**self.L

    @property
    def homogeneous(self) -> bool:
        return True

    @property
    def parameter_degree(self) -> int:
        """``delta_l = 3 delta_(l-1) + 3`` (three parameter matrices and three copies of ``X_(l-1)``)."""
        delta = 0
        for _ in range(self.L):
            delta = 3 * delta + 3
        return delta

    # --- the ambient space: virtual weights -------------------------------------------
    @property
    def _index(self):
        pairs = [(c, a) for c in range(self.d) for a in range(c, self.d)]
        return [(o, b, ca) for o in range(self.d_out) for b in range(self.d) for ca in pairs]

    @property
    def ambient_dimension(self) -> int:
        """``d_out * binom(d+1, 2) * d``: the virtual-weight tensors (see the module docstring)."""
        if self.L > 1:
            return super().ambient_dimension
        d = self.d
        return self.d_out * (d * (d + 1) // 2) * d

    def coordinate_names(self) -> list[str]:
        """``y1, y2, ...``: the virtual weights ``y[o, b, {c <= a}]``."""
        if self.L > 1:
            return super().coordinate_names()
        return [f"y{i + 1}" for i in range(len(self._index))]

    def coefficients(self, theta) -> list:
        """Virtual weights: ``y[o, b, ca] = (V M)`` symmetrised, ``M = K^T Q``."""
        if self.L > 1:
            return super().coefficients(theta)
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
        if self.L > 1:
            return super().feature_input_shape
        return (self.d, self.t)

    def features(self, x) -> list[list[Fraction]]:
        """``f_{o, j}(X) = sum y[o, b, ca] (X X^T)_{ca} X_{bj}``: one row per output ``(o, j)``."""
        if self.L > 1:
            return super().features(x)
        X = np.asarray(x, dtype=object).reshape(self.d, self.t)
        G = X.dot(X.T)
        return [[Fraction(G[c, a] * X[b, j]) if o == o2 else Fraction(0) for (o, b, (c, a)) in self._index]
                for o2 in range(self.d_out) for j in range(self.t)]

    def implicit_equations(self, names):
        """The hypersurface :data:`ATTENTION_HYPERSURFACE` for ``d = 2, d_out = 1`` (codimension 1)."""
        if self.L > 1:
            return super().implicit_equations(names)
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
        if self.L > 1:
            return super().parametrization()
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

    def bias_strata(self):
        """The real image for ``d = 2``, ``d_out = 1``, ``n >= 2``, one layer: pairs ``(l m_0, l m_1)`` of binary quadrics.

        Derivation. Output ``b`` is the quadric ``l m_b`` with ``l = V x`` and ``m_b`` column ``b`` of
        ``M = K^T Q`` (any real ``2 x 2`` matrix for ``n >= 2``). With ``|l| = 1`` a bounded image has bounded
        ``m_b``: the real image is *closed*, the minimum is attained. A real point of ``M`` (a common
        factor) outside the real image shares a non-real factor, so both quadrics are multiples of one
        definite form: the real image is a proper part of the real points. In the chart ``V = (1, v)``
        (``smooth``) the kernel of ``dy`` needs ``l | m_0`` and ``l | m_1``: the family ``(c_0 l^2, c_1 l^2)``,
        where the real image meets the definite pairs (its ``boundary``). ``V[0, 0] = 0`` is the sparse
        subnetwork ``l = x_1`` (a linear space), ``M = 0`` the zero function. A minimiser is a critical
        point of the loss on the family it lies on (see :meth:`Model.bias_strata`).
        """
        if not (self.d == 2 and self.d_out == 1 and self.n >= 2 and self.t >= 2 and self.L == 1):
            raise SpecError("model.d", f"bias's certified attention route is for d = 2, d_out = 1, n >= 2, t >= 2 and "
                            f"one layer; got d={self.d}, d_out={self.d_out}, n={self.n}, t={self.t}, layers={self.L}: "
                            "use --d 2 --d-out 1 --n 2 --t 2")
        n = self.n

        def theta(v, M):  # K = [I; 0], Q = [M; 0]: K^T Q = M
            K = [int(i == j) for i in range(n) for j in range(2)]
            return (*v, *K, *M, *[0] * (2 * (n - 2)))

        names, ys = self.parametrization()
        return [("smooth", names, ys, "the network, gauge V[0, 0] = 1"),
                ("boundary", *self._family(["v", "c0", "c1"], lambda g: theta(
                    (1, g[0]), (g[1], g[2], g[0] * g[1], g[0] * g[2]))), "M = V^T c: (c0 l^2, c1 l^2)"),
                ("sparse: V[0, 0] = 0", *self._family(["m00", "m01", "m10", "m11"], lambda g: theta((0, 1), g)),
                 "V = (0, 1): (x1 m_0, x1 m_1)"),
                ("sparse: M = 0", [], [], "the zero function")]

    # --- forward pass --------------------------------------------------------------
    def _inputs(self, X):
        return X.reshape(X.shape[0], self.d, self.t)

    def forward(self, theta, X, ring):
        p = self.unpack(theta)
        h = self._inputs(X)
        for l in range(1, self.L + 1):
            tag = "" if self.L == 1 else str(l)
            V, K, Q = p["V" + tag], p["K" + tag], p["Q" + tag]
            A = ring.matmul(h, np.ascontiguousarray(np.swapaxes(h, 1, 2)))  # (N, d, d)
            M = ring.matmul(np.ascontiguousarray(K.T), Q)  # (d, d)
            h = ring.matmul(ring.matmul(ring.matmul(V, A), M), h)  # (N, rows of V, t)
        return h.reshape(X.shape[0], -1)

    def jacobian(self, theta, X, F):
        if self.L > 1:
            return super().jacobian(theta, X, F)
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
        q, d = min(self.n, self.d), self.d
        gens, order = self._swaps()
        per_layer = 2 * self.n * d - q * (2 * d - q) + 1
        blocks = ()
        if self.L == 1 and order == 2:  # the swap of the rows V and K: S_2 permuting two blocks
            blocks = (SymmetryBlocks(((tuple(range(d)),), (tuple(range(d, 2 * d)),)), None, "rows V and K"),)
        return Symmetries(self.L * per_layer + (self.L - 1) * d * d, gens, order, ("incoming",), blocks)

    def _swaps(self):
        """Finite symmetries when ``n = 1`` (rows ``k``, ``q``) and ``d >= 2``; ``(generators, order)``.

        One layer, ``d_out = 1``: ``v X X^T k^T = k X X^T v^T`` (``X X^T`` symmetric): swap ``V, K``.
        Deep: ``X_1 = (V_1 X X^T k_1^T) (q_1 X)`` has rank one, ``X_1 = a w``, and so have all later
        ``X_l``; then layer ``l >= 2`` is ``V_l a (k_l . a)(q_l . a) |w|^2 w``, symmetric in ``k_l, q_l``,
        and for ``d_out = 1`` the last layer is ``(v . a)(k . a)(q . a) |w|^2 w``, symmetric in all three
        rows (``S_3``). Order ``2^(L-2) * 6`` for ``d_out = 1``, ``2^(L-1)`` otherwise.
        """
        d, offs = self.d, self._layer_offsets()
        if self.n != 1 or d < 2:
            return (), 1

        def swap(a, b, what):
            perm = list(range(self.num_params))
            perm[a: a + d], perm[b: b + d] = list(range(b, b + d)), list(range(a, a + d))
            return ParameterMap(tuple(perm), description=what)

        if self.L == 1:
            return ((swap(0, d, "swap V and K (d_out = n = 1)"),), 2) if self.d_out == 1 else ((), 1)
        gens = []
        for l in range(1, self.L):
            rows = self.d_out if l == self.L - 1 else d
            k0 = offs[l] + rows * d
            gens.append(swap(k0, k0 + d, f"swap K and Q of layer {l + 1}"))
        if self.d_out == 1:
            gens.append(swap(offs[-1], offs[-1] + d, f"swap V and K of layer {self.L}"))
        return tuple(gens), 2 ** (self.L - 2) * 6 if self.d_out == 1 else 2 ** (self.L - 1)

    def _project(self, theta):
        """Back into the slice after a swap: rescale the last layer's ``V[0, 0]`` and ``K[0, 0]`` to 1."""
        t = np.array(theta, dtype=np.complex128)
        d, o = self.d, self._layer_offsets()[-1]
        V, K, Q = (slice(o, o + self.d_out * d), slice(o + self.d_out * d, o + (self.d_out + 1) * d),
                   slice(o + (self.d_out + 1) * d, o + (self.d_out + 2) * d))
        s = t[V.start]
        t[V] /= s
        t[Q] *= s  # (V, M) -> (V / s, s M) keeps f
        a = t[K.start]
        t[K] /= a
        t[Q] *= a  # (k, q) -> (k / a, a q) keeps M = k^T q
        return t[None, :]

    def gauge(self, kind: str = "auto") -> Gauge:
        """The slice of the class docstring (``auto`` = ``incoming``); ``none`` leaves the group unfixed.

        Deep: layers in order; layer ``l < L`` also gets ``V_l = I`` (the ``GL(d)`` after it, up to the
        scalar ``A = c I``) and ``Q_l[0, 0] = 1`` (that scalar, which acts as ``Q_l -> Q_l / c``).
        """
        if kind not in ("auto", "incoming"):
            return super().gauge(kind)
        n, d = self.n, self.d
        fixed = {}
        for l, o in enumerate(self._layer_offsets()):
            rows = self.d_out if l == self.L - 1 else d
            k0, q0 = o + rows * d, o + rows * d + n * d
            if n <= d:
                fixed.update({k0 + m * d + a: int(m == a) for m in range(n) for a in range(n)})
            else:
                fixed.update({k0 + m * d + a: int(m == a) for m in range(n) for a in range(d)})
                fixed.update({q0 + m * d + a: 0 for m in range(d, n) for a in range(d)})
            if l == self.L - 1:
                fixed[o] = 1  # V_L[0, 0]: the scaling of the last layer
            else:  # V_l = I fixes GL(d) between layers up to scalars, Q_l[0, 0] = 1 the remaining scalar
                fixed.update({o + a * d + b: int(a == b) for a in range(d) for b in range(d)})
                fixed[q0] = 1
        sym = self.symmetries()
        return Gauge("incoming", fixed, 1, sym.group_order, project=self._project if sym.generators else None,
                     description="V[0,0] = 1 and K (and the last rows of Q) fixed: GL(n) x C* section")
