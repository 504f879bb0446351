"""Recomputing rows: the command that recomputes one (``neurovar compute ...`` with the row's inputs),
and what recomputing a catalog's stale rows changed (``neurovar run --recompute-stale``)."""

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



# ------------------------------------------------------------------ what recomputing stale rows changed
#: Output columns that measure time: they differ between any two runs, and are not compared.
TIME_SUFFIX = "seconds"


def stale_rows(computations, root) -> dict[str, pd.DataFrame]:
    """The stale rows of ``computations`` (taken before ``neurovar run --recompute-stale`` recomputes them)."""
    from . import store

    return {c: store.stale(c, root) for c in computations}


def _value(v, kind: str):
    """A stored value as plain Python, for comparison and for the table (JSON text parsed, NaN as None)."""
    import json

    if isinstance(v, (list, tuple, np.ndarray)):
        return plain(v)
    if isinstance(v, np.generic):  # numpy's bool, int and float scalars: plain Python (JSON-ready)
        v = v.item()
    if _missing(v):
        return None
    if kind == "json" and isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return plain(v)


def _short(cell_spec: str) -> str:
    """A cell in a line: its model's fields, the options that differ from their defaults, its seed."""
    import json

    from neurovar.pipeline.compute import get_computation

    spec = json.loads(cell_spec)
    try:
        defaults = get_computation(spec["computation"]).params().model_dump(mode="json")
    except Exception:  # noqa: BLE001 - options without defaults: show them all
        defaults = {}
    items = [f"{k}={json.dumps(v, separators=(',', ':')) if isinstance(v, list) else v}"
             for k, v in {**(spec.get("model") or {}), **{k: v for k, v in (spec.get("params") or {}).items()
                                                         if defaults.get(k, object()) != v}}.items()]
    return f"{spec['computation']}({', '.join(items)}; seed={spec.get('seed', 0)})"


def upgrade_changes(before: dict[str, pd.DataFrame], root) -> dict:
    """Compare each stale row of ``before`` with the current row of the same cell (its ``cell_spec``).

    Returns ``{"recomputed": n, "identical": i, "changed": c, "changes": [...]}``, one change per
    (cell, column) whose value differs: ``computation``, ``cell``, ``cell_key`` (the new row's),
    ``column``, ``old``, ``new``. The outputs and ``status`` are compared; ``*seconds`` columns are not.
    """
    from neurovar.pipeline.compute import get_computation

    from . import store

    out = {"recomputed": 0, "identical": 0, "changed": 0, "changes": []}
    for comp, old in before.items():
        if old.empty:
            continue
        kinds = store.column_kinds(comp)
        cols = ["status"] + [c for c in get_computation(comp).output_columns().values() if not c.endswith(TIME_SUFFIX)]
        cur = store.load(comp, root, parse_json=False)
        cur = cur.drop_duplicates("cell_spec", keep="last").set_index("cell_spec")
        for _, row in old.iterrows():
            spec = row.get("cell_spec")
            if not isinstance(spec, str) or spec not in cur.index:
                continue  # not recomputed (yet)
            new = cur.loc[spec]
            out["recomputed"] += 1
            diffs = [(c, _value(row.get(c), kinds.get(c, "")), _value(new.get(c), kinds.get(c, ""))) for c in cols]
            diffs = [d for d in diffs if d[1] != d[2]]
            out["changed" if diffs else "identical"] += 1
            out["changes"] += [{"computation": comp, "cell": _short(spec), "cell_key": new["cell_key"], "column": c,
                                "old": a, "new": b} for c, a, b in diffs]
    return out


def changes_lines(changes: dict) -> list[str]:
    """``N stale rows recomputed: i identical, c changed``, then one line per changed value."""
    import json

    def text(v):
        return json.dumps(v, separators=(",", ":"), default=str) if not isinstance(v, str) else v

    lines = [f"{changes['recomputed']} stale rows recomputed: {changes['identical']} identical, "
             f"{changes['changed']} changed"]
    lines += [f"  {c['cell']} [{c['cell_key']}]: {c['column']} {text(c['old'])} -> {text(c['new'])}"
              for c in changes["changes"]]
    return lines


def upgrade_section(root) -> list[str]:
    """The report's section on what the latest ``--recompute-stale`` run changed (``[]`` if none ran)."""
    import json

    from . import store

    runs = store.load_runs(root)
    if "stale_changes" not in runs:
        return []
    runs = runs[runs["stale_changes"].map(lambda s: isinstance(s, str) and bool(s))]
    if runs.empty:
        return []
    last = runs.sort_values("started").iloc[-1]
    changes = json.loads(last["stale_changes"])
    lines = ["## What the last upgrade changed", "",
             f"Run `{last['run_id']}` (`neurovar run --recompute-stale`, {last['started']:%Y-%m-%d %H:%M} UTC): "
             + changes_lines(changes)[0] + ".", ""]
    if changes["changes"]:
        table = pd.DataFrame([{"cell": c["cell"], "cell_key": c["cell_key"], "column": c["column"],
                               "old": c["old"], "new": c["new"]} for c in changes["changes"]])
        from .report import md_table

        lines += [md_table(table), ""]
    return lines


def record_upgrade_changes(before: dict[str, pd.DataFrame], root, run_id: str) -> dict:
    """:func:`upgrade_changes` after a run, saved in the run's ``_runs`` row (column ``stale_changes``)."""
    import json

    from . import store

    changes = upgrade_changes(before, root)
    runs = store.load_runs(root)
    mine = runs[runs["run_id"] == run_id]
    if len(mine):
        row = {k: (None if _missing_any(v) else v) for k, v in mine.iloc[-1].to_dict().items()}
        row["stale_changes"] = json.dumps(changes, default=str)
        store.write_run(row, root)
    return changes
