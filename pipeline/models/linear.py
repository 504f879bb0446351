"""Linear networks ``W_L ... W_1`` (the ``r = 1`` case): the determinantal rank variety.

The neurovariety of widths ``(d0, ..., dL)`` is the variety of ``dL x d0``
matrices of rank at most ``q = min(d_i)`` (Trager, Kohn, Bruna, *Pure and spurious
critical points: a geometric study of linear networks*, ICLR 2020, Sec. 3), of
dimension ``q (d0 + dL - q)`` (Bruns--Vetter, *Determinantal rings*, Prop. 1.1).

Example
-------
>>> m = Linear(LinearSpec(widths=(2, 1, 2)))
>>> m.expected_dimension  # 2x2 matrices of rank <= 1
3
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from .base import ModelSpec
from .mlp import MLP, MLPSpec, check_widths, rank_variety_dimension


class LinearSpec(ModelSpec):
    """``model: linear``: widths and bias (the activation is the identity)."""

    model: Literal["linear"] = "linear"
    widths: tuple[int, ...]
    bias: bool = False

    _check_widths = field_validator("widths")(classmethod(lambda cls, v: check_widths(v)))


class Linear(MLP):
    """A linear (``bias=False``) or affine network; ``f_theta(x) = W x (+ c)``."""

    name = "linear"
    fixed_activation = "x"

    @classmethod
    def examples(cls) -> list[dict]:
        return [{"model": "linear", "widths": [3, 2, 2]}]

    def __init__(self, spec: LinearSpec, seed: int = 0):
        super().__init__(MLPSpec(widths=spec.widths, activation="x", bias=spec.bias), seed)
        self.spec = spec

    @property
    def expected_dimension(self) -> int:
        """The rank-variety dimension ``q (d0 + dL - q)`` (``+ dL`` with bias): a theorem, not a guess."""
        return rank_variety_dimension(self.widths, self.bias)
