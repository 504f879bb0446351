"""Parameterizations ``theta -> f_theta``, one module each, and their registry.

The registry is discovered: every module of this package (other than
``base`` and ``activation``) that defines a :class:`Model` subclass with a
``name`` and a :class:`ModelSpec` whose ``model`` field defaults to that name
is registered. Adding a model is adding one module.

Example
-------
>>> m = build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^2"})
>>> m.num_params
6
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from pydantic import ValidationError

from ..errors import SpecError
from .base import Model, ModelSpec

#: The first models listed (the rest follow in module order).
_FIRST = ("mlp", "linear", "cnn", "attention")


def _discover() -> dict[str, tuple[type[ModelSpec], type[Model]]]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in ("base", "activation", "layered"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        members = [v for v in vars(mod).values() if inspect.isclass(v) and v.__module__ == mod.__name__]
        specs = {}
        for cls in members:
            if issubclass(cls, ModelSpec) and "model" in cls.model_fields:
                specs[cls.model_fields["model"].default] = cls
        for cls in members:
            if issubclass(cls, Model) and not inspect.isabstract(cls) and "name" in vars(cls) and cls.name in specs:
                found[cls.name] = (specs[cls.name], cls)
    return {**{k: found[k] for k in _FIRST if k in found}, **{k: v for k, v in found.items() if k not in _FIRST}}


#: model name -> (spec class, model class)
MODELS: dict[str, tuple[type[ModelSpec], type[Model]]] = _discover()


def gauge_names() -> tuple[str, ...]:
    """Every gauge name a registered model declares (:attr:`Model.gauge_names`), after ``auto`` and ``none``.

    >>> gauge_names()[:2], "incoming" in gauge_names()
    (('auto', 'none'), True)
    """
    out = ["auto", "none"]
    for _, cls in MODELS.values():
        out += [g for g in cls.gauge_names if g not in out]
    return tuple(out)


def pydantic_error(err: ValidationError, prefix: str = "") -> SpecError:
    """Turn the first pydantic error into a :class:`SpecError` naming the field."""
    e = err.errors()[0]
    loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in e["loc"]).replace(".[", "[")
    field = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "spec")
    msg = e["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if e["type"] == "extra_forbidden":
        msg = "unknown field; check the spelling"
    return SpecError(field, msg)


def model_spec(data: dict | ModelSpec, prefix: str = "model") -> ModelSpec:
    """Validate a model description (a dict with key ``model``) into its spec."""
    if isinstance(data, ModelSpec):
        return data
    if not isinstance(data, dict):
        raise SpecError(prefix, f"expected a mapping with key 'model', got {type(data).__name__}")
    name = data.get("model")
    if name not in MODELS:
        raise SpecError(f"{prefix}.model", f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    try:
        return MODELS[name][0].model_validate(data)
    except ValidationError as err:
        raise pydantic_error(err, prefix) from None


def build_model(data: dict | ModelSpec, seed: int = 0) -> Model:
    """The :class:`Model` for a description; ``seed`` draws ``generic:r`` activations."""
    spec = model_spec(data)
    return MODELS[spec.model][1](spec, seed=seed)


__all__ = ["MODELS", "Model", "ModelSpec", "build_model", "gauge_names", "model_spec", "pydantic_error"]
