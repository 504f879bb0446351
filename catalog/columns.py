"""A readable default column set for ``neurovar catalog show``: the inputs that vary, and the main outputs.

A computation's record has twenty-odd columns (inputs, outputs, provenance);
at 80 columns a table of all of them is unreadable. :func:`default_columns`
keeps the input columns whose value differs between the rows shown, the
computation's main outputs (its ``main_outputs`` if it declares them, else
:data:`MAIN_OUTPUTS`, else its first four outputs) and ``status``.
``neurovar catalog show NAME --columns all`` shows everything.

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"model": ["mlp", "mlp"], "widths": [[2, 2, 1], [3, 2, 1]], "activation": ["x^2", "x^2"],
...                    "dimension": [5, 7], "defect": [0, 0], "filling": [True, False], "status": ["ok", "ok"],
...                    "seconds": [0.1, 0.2]})
>>> default_columns(df, "dimension")
['widths', 'dimension', 'defect', 'filling', 'status']
"""

from __future__ import annotations

import json

from neurovar.pipeline.record import PROVENANCE_COLUMNS, plain

#: The outputs a reader looks at first, per computation (outputs missing from a catalog are skipped).
MAIN_OUTPUTS: dict[str, list[str]] = {
    "dimension": ["dimension", "expected_dimension", "defect", "filling"],
    "fiber": ["fiber_dimension", "fiber_points", "expected_fiber_points", "only_known_symmetries"],
    "edd": ["edd", "positive_dimensional", "method"],
    "independence": ["k", "r", "independent", "bound"],
    "independence-threshold": ["k", "min_r", "bound", "exceeds_bound"],
}

#: Columns that are never "the inputs that vary": the provenance columns, except the seed.
_NOT_INPUTS = set(PROVENANCE_COLUMNS) - {"seed"}


def cell_text(v) -> str:
    """Compact text of a catalog value: ``[2,2,1]``, ``3`` for ``3.0``, blank for a missing value."""
    v = plain(v, integral_floats=True)
    if v is None:
        return ""
    return json.dumps(v, separators=(",", ":"), default=str) if isinstance(v, (list, dict)) else str(v)


def _hashable(v):
    v = plain(v)
    return json.dumps(v, sort_keys=True, default=str) if isinstance(v, (list, dict)) else v


def input_columns(computation: str) -> list[str]:
    """The input columns of a computation's records (model fields, options, seed), in schema order."""
    from neurovar.catalog.store import column_kinds
    from neurovar.pipeline.compute import get_computation

    outputs = set(get_computation(computation).outputs)
    return [c for c in column_kinds(computation) if c not in outputs and c not in _NOT_INPUTS]


def main_outputs(computation: str) -> list[str]:
    from neurovar.pipeline.compute import get_computation

    comp = get_computation(computation)
    declared = getattr(comp, "main_outputs", None) or MAIN_OUTPUTS.get(computation)
    return list(declared) if declared else list(comp.outputs)[:4]


def default_columns(df, computation: str) -> list[str]:
    """The inputs that vary across ``df``'s rows, the main outputs, and ``status``."""
    if len(df):
        inputs = [c for c in input_columns(computation)
                  if c in df and df[c].map(_hashable).nunique(dropna=False) > 1]
    else:
        inputs = []
    if "widths" in inputs and "depth" in inputs:  # the depth is the length of the widths
        inputs.remove("depth")
    if not inputs:  # one row, or nothing varies: say at least what the model was
        inputs = [c for c in ("model", "widths") if c in df][:2]
    outs = [c for c in main_outputs(computation) if c in df.columns or not len(df)]
    return inputs + outs + ["status"] if "status" in df or not len(df) else inputs + outs


__all__ = ["MAIN_OUTPUTS", "cell_text", "default_columns", "input_columns", "main_outputs", "plain"]
