"""The interface every parameterization ``theta -> f_theta`` implements.

A model is a polynomial map ``mu: Theta x X -> Y``; its neurovariety ``M`` is the
Zariski closure of ``{mu(theta, .)}`` inside the ambient space ``V`` of
polynomial maps ``X -> Y`` of degree at most ``degree`` (homogeneous of degree
``degree`` when ``homogeneous``).

Adding a model means one new module in ``pipeline/models/`` with a pydantic
``Spec`` and a :class:`Model` subclass, registered in ``pipeline/models/__init__``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from math import comb
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..algebra.field import Field


class ModelSpec(BaseModel):
    """Base of the validated, canonical description of a model (one per module)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def monomial_count(nvars: int, degree: int, homogeneous: bool) -> int:
    """Number of monomials of degree ``degree`` (or ``<= degree``) in ``nvars`` variables."""
    if homogeneous:
        return comb(nvars + degree - 1, degree)
    return comb(nvars + degree, degree)


class Model(ABC):
    """A parameterization ``theta -> f_theta`` with exact and floating evaluation."""

    name: ClassVar[str]
    spec: ModelSpec

    # --- sizes -------------------------------------------------------------
    @property
    @abstractmethod
    def num_params(self) -> int:
        """Number of parameters (the dimension of Theta)."""

    @property
    @abstractmethod
    def input_dim(self) -> int:
        """Number of input variables."""

    @property
    @abstractmethod
    def output_dim(self) -> int:
        """Number of output coordinates."""

    @property
    @abstractmethod
    def degree(self) -> int:
        """Degree of ``f_theta`` in the inputs."""

    @property
    @abstractmethod
    def homogeneous(self) -> bool:
        """Whether every ``f_theta`` is homogeneous of degree ``degree``."""

    @property
    def ambient_dimension(self) -> int:
        """``dim V``: output_dim times the number of monomials of the right degree."""
        return self.output_dim * monomial_count(self.input_dim, self.degree, self.homogeneous)

    @property
    @abstractmethod
    def symmetry_dimension(self) -> int:
        """Dimension of the known group of parameter symmetries."""

    @property
    def expected_dimension(self) -> int:
        """Parameters minus known symmetries, capped by the ambient dimension.

        Models with a sharper known formula (linear networks) override this.
        """
        return min(self.num_params - self.symmetry_dimension, self.ambient_dimension)

    # --- evaluation -------------------------------------------------------
    @abstractmethod
    def random_parameters(self, F: Field, rng: np.random.Generator) -> np.ndarray:
        """A random parameter vector of length ``num_params`` in the field ``F``."""

    @abstractmethod
    def evaluate(self, theta: np.ndarray, X: np.ndarray, F: Field) -> np.ndarray:
        """``f_theta`` at the rows of ``X`` (shape ``(N, input_dim)``); returns ``(N, output_dim)``."""

    @abstractmethod
    def jacobian(self, theta: np.ndarray, X: np.ndarray, F: Field) -> np.ndarray:
        """``d f_theta(x_j)_o / d theta``: shape ``(N * output_dim, num_params)``, rows ``(j, o)``."""

    def combined_jacobian(self, theta: np.ndarray, X: np.ndarray, C: np.ndarray, F: Field) -> np.ndarray:
        """Rows ``sum_o C[j, o] d f_theta(x_j)_o / d theta``: shape ``(N, num_params)``.

        The default forms the full Jacobian and combines its rows; models with a
        reverse pass override it to seed that pass with ``C`` (one pass, not
        ``output_dim``).
        """
        N = X.shape[0]
        J = self.jacobian(theta, X, F).reshape(N, self.output_dim, -1)
        return F.sum(F.mul(J, np.asarray(C)[:, :, None]), axis=1)

    def record(self) -> dict:
        """The model's inputs as catalog columns."""
        return self.spec.model_dump()
