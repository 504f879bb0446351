"""The Python API: models by keyword, one function per computation.

Every compute function has one call shape: ``f(model, *, seed=0, **options)``,
where ``options`` are the computation's own options (the flags of
``neurovar compute NAME``) and the result is a dict of its output columns.
Both namespaces are generated from the registries, so a new model module in
``pipeline/models/`` or a new computation in ``pipeline/compute/`` appears
here without any edit.

>>> from neurovar.api import models, dimension
>>> dimension(models.MLP(widths=(2, 2, 1), activation="x^3"))["filling"]
True
>>> models.Linear(widths=(3, 2, 3)).num_params
12
"""

from __future__ import annotations

from types import SimpleNamespace

from pydantic import ValidationError

from neurovar.pipeline.compute import computations
from neurovar.pipeline.errors import SpecError
from neurovar.pipeline.models import MODELS, Model, build_model, pydantic_error


def _model_factory(name: str, model_cls: type[Model]):
    def make(*, seed: int = 0, **fields) -> Model:
        return build_model({"model": name, **fields}, seed=seed)

    make.__name__ = make.__qualname__ = model_cls.__name__
    make.__doc__ = (f"``{model_cls.__name__}(**fields, seed=0)``: the ``{name}`` model "
                    f"(fields as in ``neurovar compute dimension --model {name} --help``).\n\n"
                    + (model_cls.__doc__ or ""))
    return make


models = SimpleNamespace(**{cls.__name__: _model_factory(name, cls) for name, (_, cls) in MODELS.items()})


def _compute_function(comp):
    def run(model: Model | None = None, *, seed: int = 0, **options) -> dict:
        if comp.needs_model is True and model is None:
            raise SpecError("model", f"{comp.name} needs a model, e.g. neurovar.models.MLP(widths=(2, 2, 1))")
        if comp.needs_model is False and model is not None:
            raise SpecError("model", f"{comp.name} takes no model; pass its options as keywords")
        try:
            params = comp.params.model_validate(options)
        except ValidationError as err:
            raise pydantic_error(err) from None
        out = comp.run(model, params, seed)
        return {k: out.get(k) for k in comp.outputs}

    run.__name__ = run.__qualname__ = comp.name.replace("-", "_")
    run.__doc__ = f"``{run.__name__}(model, *, seed=0, **options)``: {comp.description}"
    return run


_FUNCTIONS = {c.name.replace("-", "_"): _compute_function(c) for c in computations().values()}
globals().update(_FUNCTIONS)


def compute(name: str, model: Model | None = None, *, seed: int = 0, **options) -> dict:
    """Run the computation ``name`` (as listed by ``neurovar compute --help``)."""
    key = name.replace("-", "_")
    if key not in _FUNCTIONS:
        raise SpecError("computation", f"unknown computation {name!r}; choose one of {', '.join(_FUNCTIONS)}")
    return _FUNCTIONS[key](model, seed=seed, **options)


__all__ = ["compute", "models", *_FUNCTIONS]
