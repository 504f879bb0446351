"""Polynomial residual networks: ``B`` blocks ``h -> h + W_2 s(W_1 h + b_1) + b_2``.

Widths ``(d, m)``: the residual stream has width ``d`` (the input and output
dimension), each block a hidden layer of width ``m``; ``W_1`` is ``m x d``,
``W_2`` is ``d x m``, the activation ``s`` (``x^r``, ``generic:r`` or a
polynomial in ``x``) acts entrywise, and ``bias`` adds ``b_1`` (length ``m``)
and ``b_2`` (length ``d``). With ``s`` of degree ``r`` the network is a
polynomial map ``C^d -> C^d`` of degree ``r^B`` (``B`` blocks), never
homogeneous for ``r >= 2`` (the identity keeps the degree-one part), so ``V``
is the space of polynomial maps of degree ``<= r^B``.

Symmetries (declared). In each block, neuron ``j`` can be rescaled,
``W_1[j, :] -> t W_1[j, :]``, ``b_1[j] -> t b_1[j]``, ``W_2[:, j] -> t^(-r) W_2[:, j]``
when ``s = x^r`` (``s(t z) = t^r s(z)``): a torus of dimension ``B m``; and the
``m`` neurons of a block can be permuted: ``(m!)^B`` elements. With a linear
activation only ``W_2 W_1`` matters (``GL(m)`` per block). The gauge
``incoming`` sets ``W_1[j, 0] = 1`` for every neuron of every block (the unique
``t`` with ``t W_1[j, 0] = 1``: residual group trivial).

Example
-------
>>> m = ResNet(ResNetSpec(widths=(2, 1), blocks=1, activation="x^2"))
>>> m.num_params, m.degree, m.symmetry_dimension, m.ambient_dimension
(4, 2, 1, 12)
"""

from __future__ import annotations

from math import factorial
from typing import Literal

import numpy as np
from pydantic import Field as PydField
from pydantic import field_validator

from .activation import Activation
from .base import Gauge, Model, ModelSpec, ParameterMap, Symmetries, SymmetryBlocks


class ResNetSpec(ModelSpec):
    """``model: resnet``: widths ``(d, m)`` (stream, hidden), number of blocks, activation, bias."""

    model: Literal["resnet"] = "resnet"
    widths: tuple[int, ...] = PydField(description="d,m: the residual stream width d and each block's hidden "
                                                   "width m")
    blocks: int = PydField(1, ge=1, description="number of residual blocks x -> x + W2 s(W1 x)")
    activation: str = "x^2"
    bias: bool = False

    @field_validator("widths")
    @classmethod
    def _widths(cls, v):
        v = tuple(v)
        if len(v) != 2 or any(w < 1 for w in v):
            raise ValueError(f"give two positive widths d,m (stream and hidden), e.g. 2,3; got {list(v)}")
        return v

    @field_validator("activation")
    @classmethod
    def _act(cls, v):
        return Activation.parse(v).text


class ResNet(Model):
    """``B`` residual blocks ``h -> h + W_2 s(W_1 h + b_1) + b_2`` on a stream of width ``d``."""

    name = "resnet"
    gauge_names = ("incoming",)

    @classmethod
    def examples(cls) -> list[dict]:
        return [{"model": "resnet", "widths": [2, 2], "blocks": 1, "activation": "x^2"},
                {"model": "resnet", "widths": [2, 1], "blocks": 2, "activation": "x^2", "bias": True}]

    def __init__(self, spec: ResNetSpec, seed: int = 0):
        self.spec = spec
        self.d, self.m = spec.widths
        self.blocks = spec.blocks
        self.bias = spec.bias
        self.activation = Activation.parse(spec.activation, seed=seed)

    # --- sizes -------------------------------------------------------------------
    @property
    def param_shapes(self):
        out = []
        for b in range(1, self.blocks + 1):
            out.append((f"W1_{b}", (self.m, self.d)))
            if self.bias:
                out.append((f"b1_{b}", (self.m,)))
            out.append((f"W2_{b}", (self.d, self.m)))
            if self.bias:
                out.append((f"b2_{b}", (self.d,)))
        return out

    @property
    def _block_size(self) -> int:
        return 2 * self.m * self.d + ((self.m + self.d) if self.bias else 0)

    @property
    def input_dim(self) -> int:
        return self.d

    @property
    def output_dim(self) -> int:
        return self.d

    @property
    def degree(self) -> int:
        return self.activation.degree ** self.blocks

    @property
    def homogeneous(self) -> bool:
        return self.activation.is_linear and not self.bias

    @property
    def parameter_degree(self) -> int:
        """``delta -> max(delta, r (delta + 1) + 1)`` per block, from ``delta = 0`` (the input)."""
        delta, r = 0, self.activation.degree
        for _ in range(self.blocks):
            delta = max(delta, r * (delta + 1) + 1)
        return delta

    # --- the forward pass -------------------------------------------------------------
    def forward(self, theta, X, ring):
        p = self.unpack(theta)
        h = np.ascontiguousarray(X.T)  # (d, N)
        for b in range(1, self.blocks + 1):
            z = ring.matmul(p[f"W1_{b}"], h)
            if self.bias:
                z = ring.add(z, p[f"b1_{b}"][:, None])
            u = ring.matmul(p[f"W2_{b}"], self.activation(ring, z))
            if self.bias:
                u = ring.add(u, p[f"b2_{b}"][:, None])
            h = ring.add(h, u)
        return h.T

    # --- symmetries ---------------------------------------------------------------------
    def symmetries(self) -> Symmetries:
        """Scalings (``x^r``) or ``GL(m)`` (linear) per block, and the neuron permutations of each block.

        A shifted ``x^2`` (any quadratic with bias) has the scalings too, as in the MLP.
        """
        act, B, m, d = self.activation, self.blocks, self.m, self.d
        if act.is_linear:
            q = min(m, d)
            cont = B * (2 * m * d - q * (2 * d - q))  # the fibers of (W1, W2) -> W2 W1
        elif act.is_monomial or (act.degree == 2 and self.bias):
            cont = B * m
        else:
            cont = 0
        gens = []
        for b in range(self.blocks):
            base = b * self._block_size
            w2 = base + m * d + (m if self.bias else 0)
            for j in range(m - 1):
                perm = list(range(self.num_params))

                def swap(x, y):
                    perm[x], perm[y] = y, x

                for c in range(d):
                    swap(base + j * d + c, base + (j + 1) * d + c)  # rows j, j+1 of W1
                    swap(w2 + c * m + j, w2 + c * m + j + 1)  # columns j, j+1 of W2
                if self.bias:
                    swap(base + m * d + j, base + m * d + j + 1)
                gens.append(ParameterMap(tuple(perm), description=f"swap neurons {j}, {j + 1} of block {b + 1}"))
        order = 1 if act.is_linear else factorial(m) ** B
        return Symmetries(cont, tuple(gens), order, ("incoming",) if act.is_monomial and not act.is_linear else (),
                          () if act.is_linear else self._neuron_blocks())

    def _neuron_blocks(self) -> tuple[SymmetryBlocks, ...]:
        """Per block, its neurons (row of ``W_1``, bias, column of ``W_2``), with the weights of the
        scaling ``s(t z) = t^r s(z)`` when ``s = x^r``."""
        m, d, out = self.m, self.d, []
        r = self.activation.degree if self.activation.is_monomial else None
        for b in range(self.blocks):
            base = b * self._block_size
            w2 = base + m * d + (m if self.bias else 0)
            parts = tuple((tuple(range(base + j * d, base + (j + 1) * d))
                           + ((base + m * d + j,) if self.bias else ()) + tuple(w2 + c * m + j for c in range(d)),)
                          for j in range(m))
            weights = None if r is None else (1,) * (d + self.bias) + (-r,) * d
            out.append(SymmetryBlocks(parts, weights, f"neurons of block {b + 1}"))
        return tuple(out)

    def gauge(self, kind: str = "auto") -> Gauge:
        """``incoming``: ``W_1[j, 0] = 1`` in every block (monomial activations ``x^r``, ``r >= 2``)."""
        act = self.activation
        if kind in ("auto", "incoming") and act.is_monomial and not act.is_linear:
            fixed = {b * self._block_size + j * self.d: 1 for b in range(self.blocks) for j in range(self.m)}
            return Gauge("incoming", fixed, 1, factorial(self.m) ** self.blocks,
                         "W1[j, 0] = 1 for every neuron of every block; residual trivial", project=self._project)
        if kind == "incoming":
            raise ValueError(f"gauge incoming needs an activation x^r with r >= 2, not {act.text}; use auto or none")
        if kind == "none" or kind == "auto":
            sym = self.symmetries()
            return Gauge("none", {}, 1, sym.group_order, "no gauge", complete=sym.continuous_dimension == 0)
        return super().gauge(kind)

    def _project(self, theta):
        t = np.array(theta, dtype=np.complex128)
        r, m, d = self.activation.degree, self.m, self.d
        for b in range(self.blocks):
            base = b * self._block_size
            w2 = base + m * d + (m if self.bias else 0)
            for j in range(m):
                s = 1 / t[base + j * d]
                t[base + j * d: base + (j + 1) * d] *= s
                if self.bias:
                    t[base + m * d + j] *= s
                t[w2 + j: w2 + d * m: m] *= s ** (-r)
        return t[None, :]

    def record(self) -> dict:
        out = self.spec.model_dump()
        out["depth"] = self.blocks
        return out
