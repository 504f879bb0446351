"""Declared architectures: what a model says it *is*, for the theorems that are about that architecture.

The catalog's literature claims (the dimension of a dense network, the fiber of a
convolutional network, the singular locus of lightning attention, ...) and a few
computations (the bias routes, the subnetworks of a layered network) hold for
one architecture only. A model states which one through the hook
:meth:`Model.structure <pipeline.models.base.Model.structure>`, returning one
of the typed declarations below with the sizes the theorems read; the base
returns None, so a model that declares nothing gets no literature claim, never
a wrong one. Readers ask :meth:`Model.declares <pipeline.models.base.Model.declares>`
(or :func:`catalog.analysis.declares` for a catalog row) for a kind and read
the sizes from the declaration, never the model's name.

A new architecture is a new dataclass here (with its ``kind``) and the claims
that use it; a new model of a known architecture only returns the declaration.

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> build_model({"model": "mlp", "widths": [2, 3, 1], "activation": "x^2"}).structure()
DenseLayered(widths=(2, 3, 1), activation='x^2', bias=False)
>>> build_model({"model": "cnn", "filters": [3, 2]}).declares(Convolution1D).strides
(1, 1)
>>> build_model({"model": "cnn", "filters": [3, 2]}).declares("dense_layered") is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Structure:
    """Base of the declarations; ``kind`` is the name readers may ask for without importing this module."""

    kind: ClassVar[str] = ""


@dataclass(frozen=True)
class DenseLayered(Structure):
    """A dense layered network ``W_L s ... s W_1`` with free weights (optionally affine layers)."""

    kind: ClassVar[str] = "dense_layered"
    widths: tuple[int, ...]
    activation: str
    bias: bool = False

    @property
    def depth(self) -> int:
        return len(self.widths) - 1


@dataclass(frozen=True)
class Convolution1D(Structure):
    """A one-dimensional convolutional network, one channel per layer: filter sizes and strides."""

    kind: ClassVar[str] = "convolutional"
    filters: tuple[int, ...]
    strides: tuple[int, ...]
    activation: str
    bias: bool = False

    @property
    def depth(self) -> int:
        return len(self.filters)


@dataclass(frozen=True)
class LightningAttention(Structure):
    """Lightning self-attention ``V X X^T K^T Q X``: sizes ``d, d_out, n, t`` and the number of layers."""

    kind: ClassVar[str] = "lightning_attention"
    d: int
    d_out: int
    n: int
    t: int
    layers: int = 1


def matches(structure, kind) -> bool:
    """Whether the declaration ``structure`` is of ``kind`` (a :class:`Structure` subclass or its ``kind`` name)."""
    if structure is None:
        return False
    if isinstance(kind, str):
        return getattr(structure, "kind", None) == kind
    return isinstance(structure, kind)


__all__ = ["Convolution1D", "DenseLayered", "LightningAttention", "Structure", "matches"]
