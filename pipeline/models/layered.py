"""Networks of layers ``widths = (d0, ..., dL)`` with one activation between layers (MLP, linear, CNN).

The shared pieces of the layered models: the flat parameter layout, the forward
pass over any ring, reverse-mode Jacobians, and helpers for their symmetries
(:func:`param_offsets`, :func:`affine_shape`) and implicit equations (:func:`minors`).
Not a model itself (no spec): the registry skips it.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import comb

import numpy as np

from ..algebra.field import Field
from .activation import Activation
from .base import Model


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


