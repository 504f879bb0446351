"""Options of the ``edd`` computation (CLI flags and grid axes) and the route constants."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..algebra.parser import PolynomialSyntaxError, parse_system
from ..algebra.weights import parse_weights

#: ``method: exact`` uses implicit equations up to this codimension, parameter space above it.
MAX_IMPLICIT_CODIM = 4
#: Entries of random inputs for data weights are integers in [-RANDOM_INPUT, RANDOM_INPUT].
RANDOM_INPUT = 1000
METHODS = ("exact", "exact-implicit", "exact-parametric", "numerical", "both")



class EddParams(BaseModel):
    """Options of the ``edd`` computation (CLI flags and grid axes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    equations: str | None = Field(None, description='implicit equations "f1; f2" (instead of a model)')
    variables: str | None = Field(None, description='"y1,y2,...": coordinate order (default: order of appearance)')
    weights: str = Field("identity", description="identity | generic | psd:k | diag:a,b,.. | data | data:N | "
                                                 "bombieri | file:PATH")
    dataset_size: int | None = Field(None, description="number of random inputs for weights=data")
    method: str = Field("exact", description="exact (implicit when known) | exact-implicit | exact-parametric | "
                                             "numerical (monodromy) | both (exact and numerical, compared)")
    confirm: bool = Field(True, description="repeat the count modulo a second prime")
    real: bool = Field(True, description="count real critical points over Q (slower)")
    time_limit: float | None = Field(None, description="seconds for the numerical count (default 600; a count the "
                                                       "limit cuts is a lower bound and edd is left null)")
    distribute: str = Field("auto", description="auto | always | never: large monodromy rounds as tasks on the "
                                                "workers of the current Dask cluster (same answer either way)")

    @field_validator("equations")
    @classmethod
    def _equations(cls, v):
        if v is not None:
            try:
                parse_system(v)
            except PolynomialSyntaxError as e:
                raise ValueError(f"{e}; write e.g. \"x^2 + y^2 - 1; x - y\"") from None
        return v

    @field_validator("variables")
    @classmethod
    def _variables(cls, v):
        if v is not None:
            names = [s.strip() for s in v.split(",")]
            if not all(n.isidentifier() for n in names) or len(set(names)) != len(names):
                raise ValueError(f"give distinct names separated by commas, e.g. y1,y2,y3; got {v!r}")
        return v

    @field_validator("weights")
    @classmethod
    def _weights(cls, v):
        parse_weights(v)
        return v

    @field_validator("dataset_size")
    @classmethod
    def _size(cls, v):
        if v is not None and v < 1:
            raise ValueError(f"must be a positive number of inputs, got {v}")
        return v

    @field_validator("method")
    @classmethod
    def _method(cls, v):
        if v not in METHODS:
            raise ValueError(f"choose one of {', '.join(METHODS)}, got {v!r}")
        return v

    @field_validator("distribute")
    @classmethod
    def _distribute(cls, v):
        from ..numeric.distribute import MODES

        if v not in MODES:
            raise ValueError(f"choose one of {', '.join(MODES)}, got {v!r}")
        return v

    @field_validator("time_limit")
    @classmethod
    def _time_limit(cls, v):
        if v is not None and not v > 0:
            raise ValueError(f"must be a positive number of seconds, got {v}")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        if self.time_limit is not None and self.method not in ("numerical", "both"):
            raise ValueError("time_limit applies to the numerical method: set method numerical or both, or drop it")
        kind, arg = parse_weights(self.weights)
        if self.dataset_size is not None and kind != "data":
            raise ValueError("dataset_size is only used with weights=data: drop it or set weights to data")
        if kind == "data" and arg is not None and self.dataset_size is not None and arg != self.dataset_size:
            raise ValueError(f"weights data:{arg} and dataset_size {self.dataset_size} disagree: give one of them")
        if kind == "data" and arg is None and self.dataset_size is None:
            raise ValueError("weights=data needs dataset_size (or write weights as data:N)")
        if self.variables is not None and self.equations is None:
            raise ValueError("variables only applies to equations: drop it or give equations")
        if self.equations is not None and kind == "data":
            raise ValueError("weights: data weights are built from a model's inputs, and implicit equations have "
                             "none: use identity, generic, psd:k, diag:..., bombieri or file:PATH, or give a model")
        return self


