"""The varieties of the ``edd`` computation: implicit equations, or a model through its protocol."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..algebra.parser import PolynomialSyntaxError, parse_system
from ..errors import SpecError
from .edd_params import MAX_IMPLICIT_CODIM, RANDOM_INPUT, EddParams

class _Variety:
    """Coordinates, features for data weights, and implicit equations or a parametrization."""

    names: list[str]
    equations: list | None = None  # fmpq_mpolys in `names`
    codim: int | None = None

    def features(self, N: int, rng) -> list[list[Fraction]]:  # pragma: no cover - interface
        raise NotImplementedError

    def parametrization(self):  # -> (param names, list of polys y_i(theta)) or None
        return None

    def sample_point(self, rng) -> np.ndarray:
        """A random complex point of ``M``: the parametrization at random complex parameters."""
        if getattr(self, "_param_system", None) is None:
            from ..numeric import System

            par = self.parametrization()
            if par is None:
                raise SpecError("method", "no parametrization is known to sample points of this variety")
            pnames, ys = par
            self._param_system = System.from_mpolys(ys, pnames)
        S = self._param_system
        theta = rng.normal(size=S.n_variables) + 1j * rng.normal(size=S.n_variables)
        return S.evaluate(theta[None, :])[0]


class _Implicit(_Variety):
    def __init__(self, params: EddParams):
        names = [s.strip() for s in params.variables.split(",")] if params.variables else None
        try:
            ctx, polys = parse_system(params.equations, names)
        except PolynomialSyntaxError as e:
            raise SpecError("equations", str(e)) from None
        self.names = list(ctx.names())
        self.equations = polys


class _ModelVariety(_Variety):
    """The neurovariety of a model in the coordinates of its ambient space ``V``.

    Everything comes from the model protocol (:mod:`pipeline.models.base`):
    ``coordinate_names``, ``implicit_equations`` (used up to
    :data:`MAX_IMPLICIT_CODIM` under ``exact`` unless the model prefers them),
    ``features`` (data weights), ``bombieri_weights`` and the gauge-fixed
    ``parametrization``.
    """

    def __init__(self, model, method: str):
        self.model = model
        self.names = model.coordinate_names()
        self.equations, self.codim = None, None
        if method != "exact-parametric":
            known = model.implicit_equations(self.names)
            if known is not None:
                eqs, codim, preferred = known
                if preferred or method != "exact" or codim <= MAX_IMPLICIT_CODIM:
                    self.equations, self.codim = eqs, codim

    def features(self, N, rng):
        rows = []
        for _ in range(N):
            x = rng.integers(-RANDOM_INPUT, RANDOM_INPUT + 1, size=self.model.feature_input_shape)
            rows += self.model.features([int(v) for v in np.ravel(x)])
        return rows

    def bombieri(self):
        return self.model.bombieri_weights()

    def parametrization(self):
        return self.model.parametrization()


def variety_of(model, params: EddParams, method: str | None = None) -> _Variety:
    """The variety of ``model`` (or of ``params.equations``); ``method`` (default ``params.method``) decides
    whether implicit equations are used (``exact-parametric``: none; ``exact``: up to :data:`MAX_IMPLICIT_CODIM`)."""
    method = method or params.method
    if model is None:
        return _Implicit(params)
    return _ModelVariety(model, method)


