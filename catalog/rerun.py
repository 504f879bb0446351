"""The command that recomputes a catalog row (``neurovar compute ...`` with the row's inputs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .analysis import _missing
from neurovar.pipeline.record import plain

def rerun_command(row: dict | pd.Series) -> str:
    """The ``neurovar compute`` command that recomputes one catalog row.

    Built from the computation's options and the model's fields, so it works
    for any registered computation and model.

    >>> from neurovar.pipeline.cells import make_cell, run_cell
    >>> rec = run_cell(make_cell("dimension", {"model": "mlp", "widths": [3, 5, 1], "activation": "x^4"}, seed=2))
    >>> print(rerun_command(rec))
    neurovar compute dimension --model mlp --widths 3,5,1 --activation 'x^4' --no-bias --float-check --prime 2305843009213693951 --seed 2
    """
    import shlex

    from neurovar.pipeline.compute import get_computation
    from neurovar.pipeline.models import MODELS

    row = dict(row)
    comp = get_computation(row["computation"])
    parts = ["neurovar", "compute", comp.name]
    params = set(comp.params.model_fields)
    spec = row.get("cell_spec")
    if isinstance(spec, str) and spec:
        # the stored inputs: exact even where an output overwrote an option's column (e.g. method)
        import json

        spec = json.loads(spec)
        row = {**row, **(spec.get("model") or {}), **(spec.get("params") or {}), "seed": spec.get("seed", 0)}
        row["model"] = (spec.get("model") or {}).get("model")
    mname = row.get("model")
    if comp.needs_model is not False and isinstance(mname, str) and mname in MODELS:
        parts += ["--model", mname]
        for name in MODELS[mname][0].model_fields:
            if name == "model" or name in params:
                continue
            parts += _flag_value(name, row.get(name))
    for name, value in _valid_options(comp.params, row).items():
        parts += _flag_value(name, value)
    parts += ["--seed", str(int(row.get("seed") or 0))]
    return " ".join(shlex.quote(p) for p in parts)


def _valid_options(params_model, row: dict) -> dict:
    """The row's values of the computation's options, dropping any that do not validate.

    A column can hold an output of the same name (``method``: ``exact`` as an
    option, ``exact-msolve`` as an output); such values are left to their default.
    """
    from pydantic import ValidationError

    opts = {n: plain(row.get(n)) for n in params_model.model_fields if not _missing_any(row.get(n))}
    for _ in range(len(opts) + 1):
        try:
            params_model.model_validate(opts)
            return opts
        except ValidationError as err:
            bad = {e["loc"][0] for e in err.errors() if e.get("loc")}
            if not bad & set(opts):
                return {}
            for b in bad:
                opts.pop(b, None)
    return opts


def _missing_any(v) -> bool:
    return False if isinstance(v, (list, tuple, np.ndarray, dict)) else _missing(v)


def _flag_value(name: str, v) -> list[str]:
    flag = "--" + name.replace("_", "-")
    if isinstance(v, (list, tuple, np.ndarray)):
        return [flag, ",".join(str(int(x)) for x in v)]
    if _missing(v):
        return []
    if isinstance(v, (bool, np.bool_)):
        return [flag if v else "--no-" + name.replace("_", "-")]
    if isinstance(v, (dict,)):
        import json

        return [flag, json.dumps(v)]
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        v = int(v)
    return [flag, str(plain(v))]

