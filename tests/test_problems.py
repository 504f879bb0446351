"""The problem layer on a model it has never seen: a one-file model defined here, not in pipeline/models.

``f(x) = W3 ((W1 x) * (W2 x))`` (entrywise product; ``h`` hidden neurons): each
neuron's output is the product of two linear forms. Its parameter symmetries:
per neuron the torus ``(W1[j], W2[j], W3[:, j]) -> (a W1[j], b W2[j], W3[:, j] / (a b))``
(dimension ``2 h``), the permutations of the neurons and, per neuron, the swap
of ``W1[j]`` and ``W2[j]``: the hyperoctahedral group ``S_2 wr S_h``, of order
``h! 2^h``. The model declares them through the protocol's hooks (generators,
order, gauge, and the layout as :class:`SymmetryBlocks` with two parts per
block and the output weights shared), and the problem layer counts orbits
without enumerating the group.

Independent check (``d0 = 3, h = 2, d2 = 2``): ``f`` is a pair of ternary
quadrics; their pencil contains exactly 3 singular members (the roots of the
binary cubic ``det(s Q1 + t Q2)``), each a product of two linear forms, and a
decomposition picks 2 of the 3 as its neurons. So the fiber has ``C(3, 2) = 3``
orbits of ``2! 2^2 = 8`` points: 24 points in the gauge slice.
"""

from __future__ import annotations

from math import comb, factorial
from typing import Literal

import numpy as np
import pytest

from neurovar.pipeline.algebra.gauge import Gauge, ParameterMap, SymmetryBlocks, Symmetries
from neurovar.pipeline.models.base import Model, ModelSpec
from neurovar.pipeline.problems.fiber import numerical_fiber


class ProductSpec(ModelSpec):
    model: Literal["product"] = "product"
    d0: int
    h: int
    d2: int


class ProductNetwork(Model):
    """``W3 ((W1 x) * (W2 x))``, written as a new user would, from the protocol alone."""

    name = "product"
    gauge_names = ("incoming",)

    def __init__(self, spec: ProductSpec, seed: int = 0):
        self.spec, self.d0, self.h, self.d2 = spec, spec.d0, spec.h, spec.d2

    param_shapes = property(lambda self: [("W1", (self.h, self.d0)), ("W2", (self.h, self.d0)),
                                          ("W3", (self.d2, self.h))])
    input_dim = property(lambda self: self.d0)
    output_dim = property(lambda self: self.d2)
    degree = 2
    homogeneous = True
    parameter_degree = 3

    def forward(self, theta, X, ring):
        p = self.unpack(theta)
        xt = np.ascontiguousarray(X.T)
        z = ring.mul(ring.matmul(p["W1"], xt), ring.matmul(p["W2"], xt))
        return ring.matmul(p["W3"], z).T

    def _index(self, name, i, j):
        off = {"W1": 0, "W2": self.h * self.d0, "W3": 2 * self.h * self.d0}[name]
        return off + i * (self.h if name == "W3" else self.d0) + j

    def _perm(self, pairs):
        perm = list(range(self.num_params))
        for a, b in pairs:
            perm[a], perm[b] = b, a
        return ParameterMap(tuple(perm))

    def symmetries(self) -> Symmetries:
        h, d0, I = self.h, self.d0, self._index
        gens = [self._perm([(I("W1", j, c), I("W1", j + 1, c)) for c in range(d0)]
                           + [(I("W2", j, c), I("W2", j + 1, c)) for c in range(d0)]
                           + [(I("W3", o, j), I("W3", o, j + 1)) for o in range(self.d2)]) for j in range(h - 1)]
        gens.append(self._perm([(I("W1", 0, c), I("W2", 0, c)) for c in range(d0)]))
        blocks = SymmetryBlocks(
            tuple((tuple(I("W1", j, c) for c in range(d0)), tuple(I("W2", j, c) for c in range(d0)))
                  for j in range(h)),
            shared=tuple(tuple(I("W3", o, j) for o in range(self.d2)) for j in range(h)))
        return Symmetries(2 * h, tuple(gens), factorial(h) * 2 ** h, ("incoming",), (blocks,))

    def gauge(self, kind: str = "auto") -> Gauge:
        if kind not in ("auto", "incoming"):
            return super().gauge(kind)
        fixed = {self._index(w, j, 0): 1 for w in ("W1", "W2") for j in range(self.h)}
        return Gauge("incoming", fixed, 1, self.symmetries().group_order, "W1[j, 0] = W2[j, 0] = 1")


def test_a_model_declared_outside_the_package_gets_the_group_orbit_count():
    m = ProductNetwork(ProductSpec(d0=3, h=2, d2=2))
    assert m.symmetries().group_order == factorial(2) * 2 ** 2 == 8
    r = numerical_fiber(m, seed=0, time_limit=300)
    assert "block-group" in r["fast_paths"].split(","), r["fast_paths"]
    assert r["group_order"] == 8 and r["free"] is True
    assert r["orbits"] == comb(3, 2), r["reason"]  # 2 of the 3 singular members of the pencil
    assert r["fiber_points"] == r["orbits"] * r["group_order"] == 24
    assert r["completeness"] == "trace-test", r["reason"]


def test_the_same_model_without_its_layout_takes_the_slower_path_and_agrees():
    class Undeclared(ProductNetwork):
        def symmetries(self):
            s = super().symmetries()
            return Symmetries(s.continuous_dimension, s.generators, s.group_order, s.gauges)

    m = Undeclared(ProductSpec(d0=3, h=2, d2=2))
    r = numerical_fiber(m, seed=0, time_limit=300)
    assert r["fast_paths"].split(",")[0] == "enumerated-group"
    assert r["group_order"] == 8 and r["orbits"] == comb(3, 2), r["reason"]  # the certified points sorted into orbits
    assert r["fiber_points"] == r["orbits"] * r["group_order"] == 24, r["reason"]
