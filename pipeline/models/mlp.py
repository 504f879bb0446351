"""Polynomial multilayer perceptrons ``W_L o s o ... o s o W_1`` (optionally affine).

Widths ``(d0, ..., dL)``: ``L`` linear (or affine) layers, the activation ``s``
applied entrywise between them. With ``s = x^r`` and no bias every ``f_theta`` is
homogeneous of degree ``r^(L-1)``.

Jacobians are formed by reverse-mode differentiation at input points (never by
symbolic expansion): for layer ``l`` with pre-activation ``z_l = W_l h_{l-1} + b_l``,
``d f_o / d W_l[a, b] = delta_l[o, a] * h_{l-1}[b]`` where
``delta_L = I`` and ``delta_l = (W_{l+1}^T delta_{l+1}) * s'(z_l)``.

Gauges
------
**Monomial activation** ``s = c x^r`` (``r >= 2``). Neuron ``j`` of hidden
layer ``i`` has the scaling ``W_i[j, :] -> t W_i[j, :]``, ``b_i[j] -> t b_i[j]``,
``W_{i+1}[:, j] -> t^(-r) W_{i+1}[:, j]`` (``s(t z) = t^r s(z)``), a torus
``(C^*)^(d_1 + ... + d_{L-1})``.

- ``incoming`` (default): ``W_i[j, 0] = 1`` for every hidden neuron. Going
  through the layers in order, the scalings of layer ``i - 1`` are already
  fixed, so ``t_{i,j} W_i[j, 0] = 1`` determines ``t_{i,j}`` uniquely: the
  residual group is trivial, ``|R| = 1``.
- ``outgoing``: ``W_{i+1}[0, j] = 1``. Going through the layers backwards,
  ``t_{i+1,0}`` is fixed and ``t_{i+1,0} t_{i,j}^(-r) = 1`` has ``r`` solutions
  ``t_{i,j}``: ``|R| = r^(d_1 + ... + d_{L-1})`` (the complex ``r``-th roots of
  unity, counted over the algebraic closure, as msolve does).

**Linear activation** ``s = x`` (``GL(d_i)`` per hidden layer, affine group with
bias). ``gl``: ``W_i[:, :d_i] = I`` (and ``b_i = 0``) for every hidden layer; a
section with trivial residual group when ``d_0 >= d_1 >= ... >= d_{L-1}``.
Expected count: 1 (the permutations lie inside ``GL``).

**Any other activation**: no continuous symmetry is known; no gauge, except
for the affine shapes of :func:`pipeline.models.mlp.affine_shape`: with bias
every cubic has a sign flip per hidden neuron, ``|R| = 2^(d_1 + ... + d_{L-1})``;
with bias every quadratic is a shifted ``x^2`` (unfixed scalings, no count).

Example
-------
>>> m = MLP(MLPSpec(widths=(2, 2, 1), activation="x^3"))
>>> m.num_params, m.ambient_dimension, m.expected_dimension
(6, 4, 4)
"""

from __future__ import annotations

from math import factorial, prod
from typing import Literal

import numpy as np
from pydantic import field_validator

from ..errors import SpecError
from ..papers import rank_variety_dimension
from .activation import Activation
from .base import Gauge, ModelSpec, ParameterMap, Symmetries, SymmetryBlocks, monomial_exponents
from .layered import (LayeredNetwork, affine_shape, forward, layer_shapes, minors, network_jacobian,  # noqa: F401
                      param_offsets, unpack)
from .structure import DenseLayered


def check_widths(widths) -> tuple[int, ...]:
    widths = tuple(widths)
    if len(widths) < 2:
        raise ValueError("need at least an input and an output width, e.g. 3,5,1 (depth >= 1)")
    for w in widths:
        if w < 1:
            raise ValueError(f"widths must be positive integers, got {w}")
    return widths


class MLPSpec(ModelSpec):
    """``model: mlp``: widths, activation (``x^r``, ``generic:r``, a polynomial in x), bias."""

    model: Literal["mlp"] = "mlp"
    widths: tuple[int, ...]
    activation: str = "x^2"
    bias: bool = False

    _check_widths = field_validator("widths")(classmethod(lambda cls, v: check_widths(v)))

    @field_validator("activation")
    @classmethod
    def _check_activation(cls, v: str) -> str:
        return Activation.parse(v).text

    @property
    def depth(self) -> int:
        return len(self.widths) - 1


class MLP(LayeredNetwork):
    """Polynomial MLP with widths ``(d0, ..., dL)``."""

    name = "mlp"
    gauge_names = ("incoming", "outgoing", "gl")

    @classmethod
    def examples(cls) -> list[dict]:
        return [{"model": "mlp", "widths": [2, 2, 1], "activation": "x^2"},
                {"model": "mlp", "widths": [2, 2, 2], "activation": "x^3 + 2*x", "bias": True}]

    def __init__(self, spec: MLPSpec, seed: int = 0):
        self.spec = spec
        self.widths = spec.widths
        self.bias = spec.bias
        self.activation = Activation.parse(spec.activation, seed=seed)

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    def structure(self) -> DenseLayered:
        return DenseLayered(tuple(self.widths), self.activation.text, bool(self.bias))

    @property
    def param_shapes(self):
        out = []
        for l, (rows, cols) in enumerate(layer_shapes(self.widths)):
            out.append((f"W{l + 1}", (rows, cols)))
            if self.bias:
                out.append((f"b{l + 1}", (rows,)))
        return out

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        return self.widths[1:-1]

    # --- forward pass ---------------------------------------------------------------
    def layers(self, theta):
        return unpack(theta, self.widths, self.bias)

    def forward(self, theta, X, ring):
        out, _ = forward(self.layers(theta), self.activation, X, ring)
        return out.T

    def jacobian(self, theta, X, F):
        return network_jacobian(self.layers(theta), self.activation, X, F)

    def combined_jacobian(self, theta, X, C, F):
        return network_jacobian(self.layers(theta), self.activation, X, F, seed=C)

    # --- symmetries ---------------------------------------------------------------------
    def symmetries(self) -> Symmetries:
        """Known symmetries.

        Continuous:

        - linear activation: ``GL(d_i)`` on every hidden layer (affine group
          ``d_i^2 + d_i`` with bias);
        - monomial ``x^r``: one scaling per hidden neuron (``W_{i+1} D^{-r}, D W_i``);
        - a quadratic with bias: ``a z^2 + b z + c = a (z + b/2a)^2 + const`` is a shifted
          ``x^2``, so the same scalings act (the biases absorb the shift and the constant);
        - any other activation: none.

        Finite: the permutations of the neurons of every hidden layer (rows of
        ``W_i``, ``b_i`` and columns of ``W_(i+1)``), generated by the adjacent
        transpositions; ``prod d_i!`` elements (inside ``GL`` for linear networks).
        """
        hidden = self.hidden_widths
        act = self.activation
        if self.depth == 1:
            cont = 0
        elif act.is_linear:
            cont = sum(d * d + (d if self.bias else 0) for d in hidden)
        elif act.is_monomial or (act.degree == 2 and self.bias):
            cont = sum(hidden)
        else:
            cont = 0
        gens = []
        offs = param_offsets(self.widths, self.bias)
        for i, d in enumerate(hidden):
            for j in range(d - 1):
                perm = list(range(self.num_params))
                w0, b0 = offs[i]
                cols = self.widths[i]
                for c in range(cols):  # swap rows j, j+1 of W_i
                    perm[w0 + j * cols + c], perm[w0 + (j + 1) * cols + c] = w0 + (j + 1) * cols + c, w0 + j * cols + c
                if b0 is not None:
                    perm[b0 + j], perm[b0 + j + 1] = b0 + j + 1, b0 + j
                wn, _ = offs[i + 1]
                for a in range(self.widths[i + 2]):  # swap columns j, j+1 of W_(i+1)
                    x, y = wn + a * d + j, wn + a * d + j + 1
                    perm[x], perm[y] = y, x
                gens.append(ParameterMap(tuple(perm), description=f"swap neurons {j}, {j + 1} of hidden layer {i + 1}"))
        order = 1 if act.is_linear else prod(factorial(d) for d in hidden)
        kinds = ("gl",) if act.is_linear else (("incoming", "outgoing") if act.is_monomial else ())
        return Symmetries(cont, tuple(gens), order, kinds, () if act.is_linear else self._neuron_blocks())

    def _neuron_blocks(self) -> tuple[SymmetryBlocks, ...]:
        """The layout of the neuron permutations: per hidden layer, the neurons' blocks (row of ``W_i``,
        bias, column of ``W_(i+1)``), with the weights of the scaling ``s(t z) = t^r s(z)`` for ``x^r``."""
        offs, out = param_offsets(self.widths, self.bias), []
        r = self.activation.degree if self.activation.is_monomial else None
        for i, d in enumerate(self.hidden_widths):
            (w0, b0), (wn, _) = offs[i], offs[i + 1]
            cols, rows = self.widths[i], self.widths[i + 2]
            blocks = tuple((tuple(range(w0 + j * cols, w0 + (j + 1) * cols)) + ((b0 + j,) if b0 is not None else ())
                            + tuple(wn + a * d + j for a in range(rows)),) for j in range(d))
            weights = None if r is None else (1,) * (cols + (b0 is not None)) + (-r,) * rows
            out.append(SymmetryBlocks(blocks, weights, f"neurons of hidden layer {i + 1}"))
        return tuple(out)

    def gauge(self, kind: str = "auto") -> Gauge:
        """Slices fixing the continuous symmetries; see this module's docstring for the derivations."""
        if kind not in ("auto", "none") + self.gauge_names:
            raise ValueError(f"gauge must be one of auto, none, {', '.join(self.gauge_names)}, got {kind!r}")
        widths = tuple(self.widths)
        hidden = widths[1:-1]
        act = self.activation
        perms = prod(factorial(d) for d in hidden)
        offs = param_offsets(widths, self.bias)
        if not hidden:
            if kind not in ("auto", "none"):
                raise ValueError(f"gauge {kind!r}: a network without hidden layers has no symmetries; use gauge=none")
            return Gauge("none", {}, 1, 1, "no hidden layer: f_theta determines theta")
        if kind == "none":
            return Gauge("none", {}, 1, perms, "no gauge", complete=not act.is_monomial)
        if act.is_linear:
            if kind not in ("auto", "gl"):
                raise ValueError(f"gauge {kind!r} is for monomial activations; a linear network takes gauge=gl (or none)")
            if any(widths[i] < widths[i + 1] for i in range(len(widths) - 2)):
                if kind == "auto":
                    return Gauge("none", {}, 1, 1, "GL gauge needs d_0 >= ... >= d_(L-1): dimensions only",
                                 complete=False)
                raise ValueError(f"gauge gl needs d_0 >= d_1 >= ... >= d_(L-1), got widths {list(widths)}; "
                                 "use gauge=none (dimensions only)")
            fixed = {}
            for i in range(len(hidden)):
                w0, b0 = offs[i]
                rows, cols = widths[i + 1], widths[i]
                for a in range(rows):
                    for c in range(rows):
                        fixed[w0 + a * cols + c] = int(a == c)
                    if b0 is not None:
                        fixed[b0 + a] = 0
            return Gauge("gl", fixed, 1, 1, "W_i[:, :d_i] = I (b_i = 0) on hidden layers; GL section, residual trivial")
        if act.is_monomial:
            r = act.degree
            if kind in ("auto", "incoming"):
                fixed = {offs[i][0] + j * widths[i]: 1 for i, d in enumerate(hidden) for j in range(d)}
                return Gauge("incoming", fixed, 1, perms, "W_i[j, 0] = 1 for every hidden neuron; residual trivial",
                             project=self._project_incoming)
            if kind == "outgoing":
                fixed = {offs[i + 1][0] + j: 1 for i, d in enumerate(hidden) for j in range(d)}
                n = sum(hidden)
                return Gauge("outgoing", fixed, r**n, perms,
                             f"W_(i+1)[0, j] = 1 for every hidden neuron; residual (mu_{r})^{n}",
                             project=self._project_outgoing)
            raise ValueError(f"gauge {kind!r} is for linear networks; a monomial activation takes incoming or outgoing")
        if kind != "auto":
            raise ValueError(f"activation {act.text} has no known continuous symmetry; use gauge=auto or none")
        shape = affine_shape(act.coeffs, self.bias)
        if shape == "monomial":
            return Gauge("none", {}, 1, perms, "activation is a shifted monomial: scalings are not fixed",
                         complete=False)
        if shape == "odd":
            n = sum(hidden)
            return Gauge("none", {}, 2**n, perms, f"activation is odd after a shift: sign flips (Z/2)^{n}")
        return Gauge("none", {}, 1, perms, "no continuous symmetry known: no gauge")

    def _scale_neuron(self, theta, i, j, s):
        layers = unpack(theta, self.widths, self.bias)  # views into theta
        W, b = layers[i]
        W[j, :] *= s
        if b is not None:
            b[j] *= s
        layers[i + 1][0][:, j] *= s ** (-self.activation.degree)

    def _project_incoming(self, theta):
        """The unique scaling with ``W_i[j, 0] = 1`` for every hidden neuron (layers in order)."""
        t = np.array(theta, dtype=np.complex128)
        for i, d in enumerate(self.hidden_widths):
            for j in range(d):
                self._scale_neuron(t, i, j, 1 / unpack(t, self.widths, self.bias)[i][0][j, 0])
        return t[None, :]

    def _project_outgoing(self, theta):
        """Every scaling with ``W_(i+1)[0, j] = 1`` (layers backwards; ``r`` roots per neuron)."""
        r = self.activation.degree
        points = [np.array(theta, dtype=np.complex128)]
        for i in reversed(range(len(self.hidden_widths))):
            for j in range(self.hidden_widths[i]):
                nxt = []
                for u in points:
                    for k in range(r):
                        v = u.copy()
                        c = unpack(v, self.widths, self.bias)[i + 1][0][0, j]
                        self._scale_neuron(v, i, j, c ** (1 / r) * np.exp(2j * np.pi * k / r))  # s^r = c
                        nxt.append(v)
                points = nxt
        return np.array(points)

    # --- the ambient space -----------------------------------------------------------------
    @property
    def expected_dimension(self) -> int:
        """Expected dimension of the neurovariety.

        - linear activation (or depth 1): the rank variety, :func:`rank_variety_dimension`;
        - otherwise ``min(#params - symmetry_dimension, dim V)``. For monomial
          activations without bias this is the expected dimension of Kileel,
          Trager, Bruna, *On the expressive power of deep polynomial neural
          networks*, NeurIPS 2019, Def. 9:
          ``min(d_L + sum_{i<L} (d_i - 1) d_{i+1}, d_L * binom(d_0 + r^(L-1) - 1, r^(L-1)))``.
        """
        if self.depth == 1 or self.activation.is_linear:
            return rank_variety_dimension(self.widths, self.bias)
        return min(self.num_params - self.symmetry_dimension, self.ambient_dimension)

    def coordinate_names(self) -> list[str]:
        """Matrix entries ``w{i}_{j}`` for linear networks, monomial coefficients otherwise."""
        if self.activation.is_linear:
            return [f"w{i}_{j}" for i in range(1, self.output_dim + 1) for j in range(1, self.input_dim + 1)]
        return super().coordinate_names()

    def parametrization(self):
        """The ``auto`` gauge's parametrization, except for ``(n, k, 1)`` with ``x^2`` and ``k < n`` (no bias).

        There ``f = x^T W^T diag(v) W x``: every ``(A W, v')`` with ``A^T diag(v') A = diag(v)`` gives the
        same ``f`` (orthogonal groups, dimension ``k(k-1)/2``), which no neuron-wise gauge fixes. The
        slice is the LDL^T decomposition of the symmetric matrix ``S = W^T diag(v) W`` of rank ``k``:
        ``W[i, j] = 0`` for ``j < i`` and ``W[i, i] = 1``, ``v`` free. A rank-``k`` symmetric matrix
        whose leading ``k`` principal minors do not vanish has exactly one such decomposition, so the
        map from the ``kn - k(k-1)/2`` free parameters onto the variety is birational (``dy`` of full
        rank: the parametric ED routes accept it).

        >>> from neurovar.pipeline.models import build_model
        >>> names, ys = build_model({"model": "mlp", "widths": [5, 2, 1], "activation": "x^2"}).parametrization()
        >>> len(names), len(ys)      # dim of symmetric 5 x 5 matrices of rank <= 2, and of quadrics in 5 variables
        (9, 15)
        """
        w, act = tuple(self.widths), self.activation
        if (len(w) == 3 and w[2] == 1 and not self.bias and act.is_monomial and act.degree == 2
                and 1 < w[1] < w[0]):
            n, k = w[0], w[1]
            return self._parametrization_fixing({i * n + j: int(i == j) for i in range(k) for j in range(i + 1)})
        return super().parametrization()

    def implicit_equations(self, names):
        """Known equations of ``M``.

        - linear networks (no bias): the ``(q+1)``-minors of the ``dL x d0`` matrix,
          ``q = min(widths)`` (codimension ``(dL - q)(d0 - q)``);
        - shallow monomial networks ``(n, k, 1)`` with ``x^d``: the ``k``-th secant of
          the Veronese cone, in the symmetric-tensor coordinates
          ``y_alpha = c_alpha / multinomial(d; alpha)``: ``k = 1``: 2-minors of the
          catalecticant ``Cat(1, d-1)``; ``n = 2, 2k <= d``: ``(k+1)``-minors of the
          Hankel matrix ``Cat(k, d-k)``; ``d = 2, k < n``: ``(k+1)``-minors of the
          symmetric matrix of ``x^T S x``.
        """
        import flint

        from ..algebra.parser import polynomial_context

        w, act = self.widths, self.activation
        ctx = polynomial_context(names)
        gens = ctx.gens()
        if act.is_linear:
            if self.bias:
                raise SpecError("model.bias", "edd supports linear networks without bias: set bias false")
            rows, cols, q = w[-1], w[0], min(w)
            if q >= min(rows, cols):
                raise SpecError("model.widths", f"the network fills all {rows}x{cols} matrices "
                                "(no bottleneck): give a hidden width smaller than the input and output widths")
            W = [[gens[i * cols + j] for j in range(cols)] for i in range(rows)]
            return minors(W, q + 1), (rows - q) * (cols - q), True
        if len(w) != 3 or w[-1] != 1 or self.bias or not act.is_monomial:
            return None
        n, k, d = w[0], w[1], act.degree
        if k == 1:
            a, size, dim = 1, 2, n  # the Veronese cone
        elif n == 2 and 2 * k <= d:
            a, size, dim = k, k + 1, 2 * k  # sigma_k of the rational normal curve
        elif d == 2 and k < n:
            a, size, dim = 1, k + 1, n * k - k * (k - 1) // 2  # symmetric matrices of rank <= k
        else:
            return None
        weights = self.bombieri_weights()
        y = {e: g * flint.fmpq(wt.numerator, wt.denominator) for e, g, wt in zip(self.monomials, gens, weights)}
        rows_e, cols_e = monomial_exponents(n, a), monomial_exponents(n, d - a)
        C = [[y[tuple(i + j for i, j in zip(r, c))] for c in cols_e] for r in rows_e]
        return minors(C, size), len(self.monomials) - dim, False

    def record(self) -> dict:
        d = self.spec.model_dump()
        d["depth"] = self.depth
        return d
