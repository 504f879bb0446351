"""One-dimensional convolutional networks with one channel per layer.

Layer ``l`` convolves with a filter of size ``k_l`` and stride ``s_l`` (no padding):
``(W_l h)_i = sum_j w_l[j] h[s_l * i + j]``, so the lengths are
``d_l = (d_{l-1} - k_l) // s_l + 1``. The activation (linear by default) acts
between layers; an optional bias is one scalar per layer. The default input
length is the smallest one whose output has length 1.

The Jacobian is the MLP's Jacobian in the dense (Toeplitz) weights, summed over
the entries that share a filter coefficient.

Example
-------
>>> m = CNN(CNNSpec(filters=(3, 2)))
>>> m.input_dim, m.output_dim, m.num_params
(4, 1, 5)
"""

from __future__ import annotations

from math import factorial, prod
from typing import Literal

import numpy as np
from pydantic import field_validator, model_validator

from .activation import Activation
from .base import Gauge, ModelSpec, ParameterMap, Symmetries, SymmetryBlocks
from .layered import LayeredNetwork, backward, forward
from .structure import Convolution1D


class CNNSpec(ModelSpec):
    """``model: cnn``: filter sizes, strides (default 1), input length, activation, bias."""

    model: Literal["cnn"] = "cnn"
    filters: tuple[int, ...]
    strides: tuple[int, ...] | None = None
    input_dim: int | None = None
    activation: str = "x"
    bias: bool = False

    @field_validator("filters")
    @classmethod
    def _filters(cls, v):
        if not v:
            raise ValueError("need at least one filter size, e.g. 3,2")
        if any(k < 1 for k in v):
            raise ValueError(f"filter sizes must be positive integers, got {list(v)}")
        return tuple(v)

    @field_validator("activation")
    @classmethod
    def _act(cls, v):
        return Activation.parse(v).text

    @model_validator(mode="after")
    def _lengths(self):
        if self.strides is None:
            object.__setattr__(self, "strides", (1,) * len(self.filters))
        if len(self.strides) != len(self.filters):
            raise ValueError(f"strides: need one stride per filter ({len(self.filters)}), got {len(self.strides)}")
        if any(s < 1 for s in self.strides):
            raise ValueError(f"strides must be positive integers, got {list(self.strides)}")
        if self.input_dim is None:
            d = 1
            for k, s in zip(reversed(self.filters), reversed(self.strides)):
                d = (d - 1) * s + k
            object.__setattr__(self, "input_dim", d)
        d = self.input_dim
        for l, (k, s) in enumerate(zip(self.filters, self.strides)):
            if k > d:
                raise ValueError(f"filters: filter {l + 1} has size {k} but its input has length {d}; use a smaller filter or a longer input")
            d = (d - k) // s + 1
        return self

    @property
    def widths(self) -> tuple[int, ...]:
        ws = [self.input_dim]
        for k, s in zip(self.filters, self.strides):
            ws.append((ws[-1] - k) // s + 1)
        return tuple(ws)


class CNN(LayeredNetwork):
    name = "cnn"
    gauge_names = ("incoming",)

    @classmethod
    def examples(cls) -> list[dict]:
        return [{"model": "cnn", "filters": [3, 2], "activation": "x^2"},
                {"model": "cnn", "filters": [2, 2], "strides": [2, 1], "bias": True, "activation": "x^2"},
                {"model": "cnn", "filters": [2, 2, 3], "activation": "x"}]  # a finite group: layers 1 and 2 swap

    def structure(self) -> Convolution1D:
        return Convolution1D(tuple(self.spec.filters), tuple(self.spec.strides), self.activation.text, bool(self.bias))

    def __init__(self, spec: CNNSpec, seed: int = 0):
        self.spec = spec
        self.widths = spec.widths
        self.activation = Activation.parse(spec.activation, seed=seed)
        self.bias = spec.bias

    @property
    def depth(self) -> int:
        return len(self.spec.filters)

    @property
    def num_params(self) -> int:
        return sum(self.spec.filters) + (self.depth if self.bias else 0)

    @property
    def param_shapes(self):
        out = []
        for l, k in enumerate(self.spec.filters):
            out.append((f"w{l + 1}", (k,)))
            if self.bias:
                out.append((f"b{l + 1}", (1,)))
        return out

    def _offsets(self) -> list[int]:
        """Index of the first filter coefficient of each layer."""
        offs, k = [], 0
        for ks in self.spec.filters:
            offs.append(k)
            k += ks + (1 if self.bias else 0)
        return offs

    def symmetries(self) -> Symmetries:
        """The scalings between layers and, for linear networks without bias, the swaps of equal filters.

        **Continuous.** ``w_l -> t w_l`` (and ``b_l -> t b_l``), ``w_(l+1) -> t^(-r) w_(l+1)`` for a
        monomial activation ``c x^r``, as ``s(t z) = t^r s(z)``: a torus of dimension ``L - 1``
        (Kohn, Merkh, Montufar, Trager, *Geometry of linear convolutional networks*, SIAM J. Appl.
        Algebra Geom. 2022, for ``r = 1``; Shahverdi, Marchetti, Kohn, *On the geometry and
        optimization of polynomial convolutional networks*, AISTATS 2025, for ``x^r``). Other
        activations: none known.

        **Finite, r >= 2: trivial modulo the torus** (the fiber in the ``incoming`` gauge is one
        point; no bias). Proof, by induction on the depth. Write ``f = sum_j c_j g_j^r`` with ``c``
        the last filter and ``g_j`` the neurons of layer ``L - 1`` (pre-activation), homogeneous of
        degree ``D = r^(L-2)``. Neuron ``j >= 1`` reads inputs from index ``s_1 ... s_(L-1) j >= 1``
        on, so ``x_0`` occurs in ``g_0`` only; in the gauge every first tap is 1, so (for ``s = x^r``;
        ``c x^r`` only adds known constant factors) ``g_0 = x_0^D + x_0^(D-1) u_1 + ... + u_D``
        (``u_m`` free of ``x_0``). The terms of ``f``
        containing ``x_0`` are those of ``c_0 g_0^r``: its ``x_0^(rD)`` coefficient is ``c_0``, and
        its ``x_0^(rD-m)`` coefficient is ``c_0 (r u_m + P(u_1, ..., u_(m-1)))`` for ``m <= D``
        (``rD - m >= 1`` as ``r >= 2``), so ``f`` determines ``c_0`` and then ``u_1, ..., u_D``, i.e.
        ``g_0``, for ``c_0 != 0``. ``g_0`` is the output of the first ``L - 1`` layers on its
        receptive field, with every first tap 1: by induction (depth 1: ``g_0`` is the filter) it
        determines ``w_1, ..., w_(L-1)``, hence every ``g_j``; and ``c`` follows from
        ``f = sum_j c_j g_j^r``, triangular in the monomials ``x_(S j)^(rD)`` (``S = s_1 ... s_(L-1)``;
        ``g_j`` has ``x_(S j)^D`` with coefficient 1, the later ``g_j'`` lack ``x_(S j)``). So the
        group has order 1 and ``orbits = fiber_points = 1`` (the exact count agrees on
        ``tests/test_fiber_models.py``; with bias the exact count is 1 on the cases tested there).

        **Finite, r = 1 and no bias: permutations of equal filters.** The network computes the
        convolution with the end-to-end filter ``P(z) = prod_l w_l(z^(S_(l-1)))``,
        ``S_(l-1) = s_1 ... s_(l-1)`` (KMMT), a product in a commutative ring: exchanging the filters
        of two layers with the same size ``k >= 2`` and the same ``S_(l-1)`` keeps ``P``. These
        exchanges are not in the torus (they move the roots of ``w_l`` to another layer), they
        form ``G = prod_classes S_m`` (``m`` layers per class of ``(k, S)``), and ``G`` acts freely on
        a generic fiber modulo the torus (two layers of a class never have the same roots).
        Stride 1: the fiber has ``multinomial(sum (k_l - 1); k_1 - 1, ...)`` points (the roots of
        ``P`` distributed over the layers), in ``multinomial / |G|`` orbits. Size-1 filters are
        scalars, swapped inside the torus: not in ``G``.
        """
        if not self.activation.is_monomial:
            return Symmetries(0)
        gauges = ("incoming",) if self.depth > 1 else ()
        classes = self._swap_classes()
        if not classes:
            return Symmetries(self.depth - 1, (), 1, gauges)
        offs, ks = self._offsets(), self.spec.filters
        layer = [tuple(range(offs[l], offs[l] + ks[l])) for l in range(self.depth)]
        gens = []
        for c in classes:
            for a, b in zip(c, c[1:]):
                perm = list(range(self.num_params))
                for i, j in zip(layer[a], layer[b]):
                    perm[i], perm[j] = j, i
                gens.append(ParameterMap(tuple(perm), description=f"swap the filters of layers {a + 1} and {b + 1}"))
        blocks = tuple(SymmetryBlocks(tuple((layer[l],) for l in c), description="layers with equal filters")
                       for c in classes)
        return Symmetries(self.depth - 1, tuple(gens), prod(factorial(len(c)) for c in classes), gauges, blocks)

    def _swap_classes(self) -> list[tuple[int, ...]]:
        """Layers (0-based) whose filters can be exchanged: linear activation, no bias, the same size
        ``k >= 2`` and the same product of the earlier strides; only classes of two or more layers."""
        if not self.activation.is_linear or self.bias:
            return []
        by, S = {}, 1
        for l, (k, s) in enumerate(zip(self.spec.filters, self.spec.strides)):
            if k >= 2:
                by.setdefault((k, S), []).append(l)
            S *= s
        return [tuple(c) for c in by.values() if len(c) > 1]

    def _free_layer(self) -> int:
        """The layer the ``incoming`` gauge leaves unnormalised: the last, unless its filter is swapped
        with another and a layer outside every swap class exists (then the slice keeps the swaps)."""
        if not self.activation.is_linear or self.bias:
            return self.depth - 1
        swapped = {l for c in self._swap_classes() for l in c}
        if self.depth - 1 not in swapped:
            return self.depth - 1
        return next((l for l in range(self.depth - 1, -1, -1) if l not in swapped), self.depth - 1)

    def gauge(self, kind: str = "auto") -> Gauge:
        """``incoming``: ``w_l[0] = 1`` for every layer but one (monomial activations): the last, or for a
        linear network whose last filter is swapped with another, a layer outside the swaps.

        Layer by layer the scaling ``t_l`` with ``t_l w_l[0] = 1`` is unique (the
        earlier ones fixed), so the residual group is trivial and a fiber that is only
        the scalings meets the slice once (``|G|`` times with the swaps of equal filters).
        """
        if kind in ("auto", "incoming") and self.activation.is_monomial and self.depth > 1:
            free = self._free_layer()
            fixed = {o: 1 for l, o in enumerate(self._offsets()) if l != free}
            order = self.symmetries().group_order
            return Gauge("incoming", fixed, 1, order,
                         f"w_l[0] = 1 for every layer but layer {free + 1}; residual trivial", project=self._project)
        if kind == "incoming":
            raise ValueError("gauge incoming needs a monomial activation and two or more layers; use auto or none")
        return super().gauge(kind)

    def bias_strata(self):
        """The real image of filters ``(2, 2)``, stride 1, ``s = x^r``: ``f = a L_0^r + b L_1^r``, ``L_i = p x_i + q x_(i+1)``.

        Derivation. With ``(p, q)`` on the unit circle (the scaling absorbed into ``(a, b)``), ``L_0^r`` and
        ``L_1^r`` are linearly independent (``L_0`` has no ``x_2``, ``L_1`` no ``x_0``), so the real image is
        a union of planes over a compact circle: it is *closed*, the minimum is attained at a real
        parameter. Where ``p != 0`` the chart ``w1 = (1, v)`` is the network (``smooth``); ``p = 0`` is the
        sparse subnetwork ``w1[0] = 0``, the plane ``a x_1^r + b x_2^r``. In the chart ``dy`` has full rank
        except at ``a = b = 0`` for ``r >= 2`` (compare the coefficients of ``x_0^r`` and ``x_2^r``); for
        ``r = 1`` (``f`` is the product ``(p + q t)(a + b t)``) also where the factors share a root,
        ``(a, b) = c (1, v)``: the quadratics ``c (1 + v t)^2`` with a double root, the ``boundary`` of the
        real image (the quadratics with real roots; over ``C`` the network fills ``V``). A minimiser is a
        critical point of the loss on the family it lies on, so the least real critical value over these
        families and the zero function is the global minimum.
        """
        from ..errors import SpecError

        sp = self.spec
        if tuple(sp.filters) != (2, 2) or tuple(sp.strides) != (1, 1) or sp.input_dim != 3:
            raise SpecError("model.filters", f"bias's certified CNN route is for filters 2,2 with stride 1 and input "
                            f"length 3; got filters {list(sp.filters)}, strides {list(sp.strides)}, input length "
                            f"{sp.input_dim}: use --filters 2,2")
        if self.bias:
            raise SpecError("model.bias", "bias's CNN route is for networks without bias: set bias false")
        if not self.activation.is_monomial:
            raise SpecError("model.activation", f"bias's CNN route is for s = x^r, got {self.activation.text}: use x^2")
        names, ys = self.parametrization()
        out = [("smooth", names, ys, "the network, gauge w1[0] = 1")]
        if self.activation.degree == 1:
            out.append(("boundary", *self._family(["v", "c"], lambda g: (1, g[0], g[1], g[1] * g[0])),
                        "a double root: (1 + v t) * c (1 + v t)"))
        out.append(("sparse: w1[0] = 0", *self._family(["a", "b"], lambda g: (0, 1, g[0], g[1])),
                    "w1 = (0, 1): a x1^r + b x2^r"))
        out.append(("sparse: w2 = 0", [], [], "the zero function"))
        return out

    def _project(self, theta):
        t = np.array(theta, dtype=np.complex128)
        offs, r = self._offsets(), self.activation.degree
        width = [k + (1 if self.bias else 0) for k in self.spec.filters]
        free = self._free_layer()
        if free != self.depth - 1:  # linear, no bias: scale each other layer to w_l[0] = 1, the free one back
            total = 1
            for l in range(self.depth):
                if l != free:
                    s = 1 / t[offs[l]]
                    t[offs[l]: offs[l] + width[l]] *= s
                    total *= s
            t[offs[free]: offs[free] + width[free]] /= total
            return t[None, :]
        for l in range(self.depth - 1):
            s = 1 / t[offs[l]]
            t[offs[l]: offs[l] + width[l]] *= s
            t[offs[l + 1]: offs[l + 1] + self.spec.filters[l + 1]] *= s ** (-r)
        return t[None, :]

    def _dense(self, theta):
        """Dense layers ``[(W_l, b_l)]`` and, per layer, the filter index of every dense entry."""
        layers, k = [], 0
        for l, (ks, s) in enumerate(zip(self.spec.filters, self.spec.strides)):
            rows, cols = self.widths[l + 1], self.widths[l]
            w = theta[k : k + ks]
            k += ks
            W = np.zeros((rows, cols), dtype=theta.dtype)
            if theta.dtype == object:
                W[:] = 0
            for i in range(rows):
                W[i, s * i : s * i + ks] = w
            b = None
            if self.bias:
                b = np.repeat(theta[k : k + 1], rows)
                k += 1
            layers.append((W, b))
        return layers

    def random_parameters(self, F, rng):
        return F.random(self.num_params, rng)

    def forward(self, theta, X, ring):
        out, _ = forward(self._dense(theta), self.activation, X, ring)
        return out.T

    def jacobian(self, theta, X, F):
        return self._jacobian(theta, X, F, None)

    def combined_jacobian(self, theta, X, C, F):
        return self._jacobian(theta, X, F, C)

    def _jacobian(self, theta, X, F, seed):
        layers = self._dense(theta)
        _, cache = forward(layers, self.activation, X, F)
        blocks = backward(layers, self.activation, cache, F, seed)
        N, dL = X.shape[0], (self.output_dim if seed is None else 1)
        cols = []
        for l, ((dW, db), ks, s) in enumerate(zip(blocks, self.spec.filters, self.spec.strides)):
            rows, width = self.widths[l + 1], self.widths[l]
            dW = dW.reshape(N, dL, rows, width)
            for j in range(ks):
                terms = [dW[:, :, i, s * i + j] for i in range(rows)]
                cols.append(F.sum(np.stack(terms), axis=0))
            if db is not None:
                cols.append(F.sum(np.moveaxis(db, 2, 0), axis=0))
        J = np.stack(cols, axis=2)
        return J.reshape(N * dL, -1)

    def record(self) -> dict:
        d = self.spec.model_dump()
        d["widths"] = self.widths
        d["depth"] = self.depth
        return d
