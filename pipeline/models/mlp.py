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

from typing import Literal

import numpy as np
from pydantic import field_validator

from ..algebra.field import Field
from .activation import Activation
from .base import Model, ModelSpec


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


def polynomial_forward(layers, act: Activation, coeffs, h: np.ndarray) -> np.ndarray:
    """The network on exact ring elements (polynomials, residues) held in object arrays.

    ``layers`` is :func:`unpack` of an object parameter vector, ``coeffs`` the
    activation's coefficients mapped into the ring (lowest degree first) and ``h``
    the inputs, shape ``(d0, N)``. Returns the outputs, shape ``(dL, N)``.
    Monomial activations are applied as ``c u^r``, others by Horner's rule.

    >>> import numpy as np
    >>> act = Activation.parse("x^2")
    >>> layers = unpack(np.array([1, 2, 3, 4, 5, 6], dtype=object), (2, 2, 1), False)
    >>> # W1 = [[1, 2], [3, 4]], W2 = [[5, 6]] at x = (1, 1): 5 * 3^2 + 6 * 7^2
    >>> polynomial_forward(layers, act, [0, 0, 1], np.array([[1], [1]], dtype=object)).tolist()
    [[339]]
    """
    r, top = act.degree, coeffs[-1]

    def s(u):
        if act.is_monomial:
            return u**r if top == 1 else top * u**r
        acc = top
        for c in reversed(coeffs[:-1]):
            acc = acc * u + c if c != 0 else acc * u
        return acc

    apply = np.vectorize(s, otypes=[object])
    for i, (W, b) in enumerate(layers):
        z = W.dot(h)
        if b is not None:
            z = z + b[:, None]
        h = apply(z) if i < len(layers) - 1 else z
    return h


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


class MLP(LayeredNetwork):
    """Polynomial MLP with widths ``(d0, ..., dL)``."""

    name = "mlp"

    def __init__(self, spec: MLPSpec, seed: int = 0):
        self.spec = spec
        self.widths = spec.widths
        self.bias = spec.bias
        self.activation = Activation.parse(spec.activation, seed=seed)

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    @property
    def num_params(self) -> int:
        return sum(r * c + (r if self.bias else 0) for r, c in layer_shapes(self.widths))

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        return self.widths[1:-1]

    @property
    def symmetry_dimension(self) -> int:
        """Known continuous symmetries.

        - linear activation: ``GL(d_i)`` on every hidden layer (affine group
          ``d_i^2 + d_i`` with bias);
        - monomial ``x^r``: one scaling per hidden neuron (``W_{i+1} D^{-r}, D W_i``);
        - a quadratic with bias: ``a z^2 + b z + c = a (z + b/2a)^2 + const`` is a shifted
          ``x^2``, so the same scalings act (the biases absorb the shift and the constant);
        - any other activation: none (only the finite permutations of neurons).
        """
        if self.depth == 1:
            return 0
        if self.activation.is_linear:
            return sum(d * d + (d if self.bias else 0) for d in self.hidden_widths)
        if self.activation.is_monomial or (self.activation.degree == 2 and self.bias):
            return sum(self.hidden_widths)
        return 0

    @property
    def expected_dimension(self) -> int:
        """Expected dimension of the neurovariety.

        - linear activation (or depth 1): the rank variety, see
          :meth:`pipeline.models.linear.Linear.expected_dimension`;
        - otherwise ``min(#params - symmetry_dimension, dim V)``. For monomial
          activations without bias this is the expected dimension of Kileel,
          Trager, Bruna, *On the expressive power of deep polynomial neural
          networks*, NeurIPS 2019, Def. 9:
          ``min(d_L + sum_{i<L} (d_i - 1) d_{i+1}, d_L * binom(d_0 + r^(L-1) - 1, r^(L-1)))``.
        """
        if self.depth == 1 or self.activation.is_linear:
            from .linear import rank_variety_dimension

            return rank_variety_dimension(self.widths, self.bias)
        return min(self.num_params - self.symmetry_dimension, self.ambient_dimension)

    def random_parameters(self, F: Field, rng: np.random.Generator) -> np.ndarray:
        return F.random(self.num_params, rng)

    def layers(self, theta):
        return unpack(theta, self.widths, self.bias)

    def evaluate(self, theta, X, F):
        out, _ = forward(self.layers(theta), self.activation, X, F)
        return out.T

    def jacobian(self, theta, X, F):
        return network_jacobian(self.layers(theta), self.activation, X, F)

    def combined_jacobian(self, theta, X, C, F):
        return network_jacobian(self.layers(theta), self.activation, X, F, seed=C)

    def record(self) -> dict:
        d = self.spec.model_dump()
        d["depth"] = self.depth
        return d
