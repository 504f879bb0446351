"""Polynomial multilayer perceptrons ``W_L o s o ... o s o W_1`` (optionally affine).

Widths ``(d0, ..., dL)``: ``L`` linear (or affine) layers, the activation ``s``
applied entrywise between them. With ``s = x^r`` and no bias every ``f_theta`` is
homogeneous of degree ``r^(L-1)``.

Jacobians are formed by reverse-mode differentiation at input points (never by
symbolic expansion): for layer ``l`` with pre-activation ``z_l = W_l h_{l-1} + b_l``,
``d f_o / d W_l[a, b] = delta_l[o, a] * h_{l-1}[b]`` where
``delta_L = I`` and ``delta_l = (W_{l+1}^T delta_{l+1}) * s'(z_l)``.

Example
-------
>>> m = MLP(MLPSpec(widths=(2, 2, 1), activation="x^3"))
>>> m.num_params, m.ambient_dimension, m.expected_dimension
(6, 4, 4)
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import comb, factorial, prod
from typing import Literal

import numpy as np
from pydantic import field_validator

from ..algebra.field import Field
from ..errors import SpecError
from ..papers import rank_variety_dimension
from .activation import Activation
from .base import Gauge, Model, ModelSpec, ParameterMap, Symmetries, monomial_exponents


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


# --- the layered network, shared with the CNN and linear models -------------

def layer_shapes(widths) -> list[tuple[int, int]]:
    return [(widths[i + 1], widths[i]) for i in range(len(widths) - 1)]


def unpack(theta: np.ndarray, widths, bias: bool):
    """Split a flat parameter vector into ``[(W_1, b_1), ..., (W_L, b_L)]`` (b None without bias)."""
    layers, k = [], 0
    for rows, cols in layer_shapes(widths):
        W = theta[k : k + rows * cols].reshape(rows, cols)
        k += rows * cols
        b = None
        if bias:
            b = theta[k : k + rows]
            k += rows
        layers.append((W, b))
    return layers


def forward(layers, act: Activation, X: np.ndarray, F: Field):
    """Evaluate the network; returns the output ``(dL, N)`` and the ``(z_l, h_{l-1})`` of every layer."""
    h = np.ascontiguousarray(X.T)  # (d0, N)
    cache = []
    for i, (W, b) in enumerate(layers):
        z = F.matmul(W, h)
        if b is not None:
            z = F.add(z, b[:, None])
        cache.append((z, h))
        h = act(F, z) if i < len(layers) - 1 else z
    return h, cache


def backward(layers, act: Activation, cache, F: Field, seed=None):
    """Per layer ``(dW, db)`` with ``dW[o, a, b, n] = d f_o(x_n) / d W[a, b]`` as ``(N, dL, rows*cols)``.

    With ``seed`` (shape ``(N, dL)``, one cotangent per point) a single reverse
    pass gives ``sum_o seed[n, o] d f_o(x_n) / d theta`` instead, as ``(N, 1, ...)``
    blocks: ``dL`` times less work than the full Jacobian followed by the combination.
    """
    L = len(layers)
    dL = layers[-1][0].shape[0]
    N = cache[0][1].shape[1]
    if seed is None:
        one = F.const(1)
        delta = F.zeros((dL, dL, N))
        idx = np.arange(dL)
        delta[idx, idx, :] = one  # delta_L[o, a, n] = [o == a]
    else:
        delta = np.ascontiguousarray(np.asarray(seed).T)[None, :, :]  # (1, dL, N)
    K = delta.shape[0]
    blocks = [None] * L
    for l in range(L - 1, -1, -1):
        z, h_prev = cache[l]
        # dW[n, o, a, b] = delta[o, a, n] * h_prev[b, n]
        d_nt = np.transpose(delta, (2, 0, 1))  # (N, dL, rows)
        h_nt = h_prev.T  # (N, cols)
        dW = F.mul(d_nt[:, :, :, None], h_nt[:, None, None, :])
        blocks[l] = (dW.reshape(N, K, -1), d_nt if layers[l][1] is not None else None)
        if l > 0:
            W = layers[l][0]
            back = F.matmul(np.ascontiguousarray(W.T), delta)  # (dL, cols, N)
            delta = F.mul(back, act.derivative(F, cache[l - 1][0])[None, :, :])
    return blocks


def network_jacobian(layers, act: Activation, X: np.ndarray, F: Field, seed=None) -> np.ndarray:
    """Jacobian ``(N * dL, P)`` with parameters ordered ``W_1, b_1, W_2, b_2, ...``.

    With ``seed`` ``(N, dL)``: the combined rows ``(N, P)`` (see :func:`backward`).
    """
    _, cache = forward(layers, act, X, F)
    blocks = backward(layers, act, cache, F, seed)
    parts = []
    for dW, db in blocks:
        parts.append(dW)
        if db is not None:
            parts.append(db)
    J = np.concatenate(parts, axis=2)  # (N, dL, P)
    return J.reshape(J.shape[0] * J.shape[1], J.shape[2])



def param_offsets(widths, bias: bool) -> list[tuple[int, int | None]]:
    """Start index of ``W_l`` (row-major) and of ``b_l`` (None without bias) for each layer."""
    out, k = [], 0
    for rows, cols in layer_shapes(widths):
        w0 = k
        k += rows * cols
        b0 = None
        if bias:
            b0 = k
            k += rows
        out.append((w0, b0))
    return out


def affine_shape(coeffs, bias: bool) -> str | None:
    """``"monomial"``, ``"odd"`` or None: the shape of ``t(u) = s(u + beta) - s(beta)``.

    With bias, a shift ``beta`` of the pre-activation is absorbed by the bias
    and a constant by the next layer's bias, so ``s`` only matters up to
    ``s(u + beta) - s(beta)``; ``beta = -c_(r-1) / (r c_r)`` removes the
    ``u^(r-1)`` term. Without bias ``beta = 0`` and the constant must vanish.

    - ``monomial``: ``t = c u^r``; every hidden neuron has the scalings of
      ``x^r`` (a continuous symmetry; e.g. every quadratic with bias).
    - ``odd``: ``t(-u) = -t(u)``; flipping the sign of a neuron's incoming
      weights and bias (after the shift) and of its outgoing weights is a
      symmetry, ``|R| = 2`` per hidden neuron (e.g. every cubic with bias).

    Example
    -------
    >>> from fractions import Fraction as Q
    >>> affine_shape([Q(5), Q(-3), Q(7), Q(2)], bias=True), affine_shape([Q(5), Q(-3), Q(7), Q(2)], bias=False)
    ('odd', None)
    >>> affine_shape([Q(1), Q(2), Q(3)], bias=True), affine_shape([Q(1), Q(2), Q(3), Q(4), Q(5)], bias=True)
    ('monomial', None)
    """
    c = [Fraction(x) for x in coeffs]
    r = len(c) - 1
    if r < 2:
        return None
    beta = -c[r - 1] / (r * c[r]) if bias else Fraction(0)
    t = [sum(c[k] * comb(k, i) * beta ** (k - i) for k in range(i, r + 1)) for i in range(r + 1)]
    if not bias and t[0] != 0:
        return None
    if all(t[i] == 0 for i in range(1, r)):
        return "monomial"
    if all(t[i] == 0 for i in range(2, r + 1, 2)):
        return "odd"
    return None


def _det(M: list[list]):
    """Determinant of a small square matrix of polynomials (Laplace expansion along the first row)."""
    if len(M) == 1:
        return M[0][0]
    total = None
    for j in range(len(M)):
        term = M[0][j] * _det([row[:j] + row[j + 1:] for row in M[1:]])
        total = term if total is None else (total + term if j % 2 == 0 else total - term)
    return total


def minors(C: list[list], size: int) -> list:
    """All ``size x size`` minors of the matrix ``C`` (lists of polynomials)."""
    return [_det([[C[i][j] for j in cs] for i in rs])
            for rs in itertools.combinations(range(len(C)), size)
            for cs in itertools.combinations(range(len(C[0])), size)]


class LayeredNetwork(Model):
    """Sizes shared by networks of layers ``widths = (d0, ..., dL)`` with one activation between layers.

    Subclasses set ``widths``, ``activation``, ``bias`` and ``depth`` (the number of layers).
    """

    widths: tuple[int, ...]
    activation: Activation
    bias: bool

    @property
    def input_dim(self) -> int:
        return self.widths[0]

    @property
    def output_dim(self) -> int:
        return self.widths[-1]

    @property
    def degree(self) -> int:
        return self.activation.degree ** (self.depth - 1)

    @property
    def homogeneous(self) -> bool:
        return (self.activation.is_monomial or self.depth == 1) and not self.bias

    @property
    def parameter_degree(self) -> int:
        """``1`` for the first layer, then ``r * deg + 1`` per further layer."""
        deg = 1
        for _ in range(self.depth - 1):
            deg = self.activation.degree * deg + 1
        return deg


class MLP(LayeredNetwork):
    """Polynomial MLP with widths ``(d0, ..., dL)``."""

    name = "mlp"
    dense_layered = True

    def __init__(self, spec: MLPSpec, seed: int = 0):
        self.spec = spec
        self.widths = spec.widths
        self.bias = spec.bias
        self.activation = Activation.parse(spec.activation, seed=seed)

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

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
        return Symmetries(cont, tuple(gens), order, kinds)

    def gauge(self, kind: str = "auto") -> Gauge:
        """Slices fixing the continuous symmetries; see :mod:`pipeline.algebra.gauge` for the derivations."""
        from ..algebra.gauge import GAUGES

        if kind not in GAUGES:
            raise ValueError(f"gauge must be one of {', '.join(GAUGES)}, got {kind!r}")
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
