"""The ``bias`` catalog pooled by architecture: cells that differ only in their seed add their counts.

Every ``bias`` cell is a Monte Carlo over independent data; cells of one
architecture (the model's canonical spec), one ``dataset_size`` and one
``weights`` are independent samples of the same distribution, so their counts add
and the pooled fraction gets a 95 % Wilson interval of the pooled size.

:func:`merge_bias` does the pooling; :func:`stratum_points` gives the points that
:func:`catalog.plots.bias_plots` draws, against ``dataset_size`` (Gaussian targets
at 0) or against the hidden width, for networks with ``d0 >= 2`` inputs.

Example
-------
>>> import pandas as pd
>>> rows = pd.DataFrame([
...     {"status": "ok", "cell_spec": '{"model": {"model": "mlp", "widths": [2, 2, 1]}}', "seed": s,
...      "model": "mlp", "widths": [2, 2, 1], "dataset_size": None, "weights": "bombieri",
...      "counts": {"zero-loss": z, "boundary": 10 - z}, "certified": 10, "uncertified": 0} for s, z in [(0, 6), (1, 7)]])
>>> m = merge_bias(rows)
>>> [int(m.at[0, c]) for c in ("seeds", "samples", "certified")], m.at[0, "counts"]
([2, 20, 20], {'boundary': 7, 'zero-loss': 13})
>>> [round(v, 3) for v in m.loc[0, "intervals"]["zero-loss"]]
[0.433, 0.819]
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _spec(row) -> dict:
    spec = json.loads(row["cell_spec"]) if isinstance(row.get("cell_spec"), str) else {}
    return dict(spec.get("model") or {})


def _label(spec: dict, skip=()) -> str:
    parts = [str(spec.get("model", "?"))]
    for k, v in sorted(spec.items()):
        if k in ("model", *skip) or v is None or v is False:
            continue
        parts.append(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}")
    return " ".join(parts)


def _input_dim(spec: dict) -> int | None:
    """``d0`` of the model of a cell's canonical spec (None if it does not build)."""
    from neurovar.pipeline.models import build_model

    try:
        return build_model(spec).input_dim
    except (ValueError, TypeError, KeyError):
        return None


def _width(row) -> int | None:
    w = row.get("widths")
    if w is None or isinstance(w, (float, str)):
        return None
    w = list(w)
    return max(w[1:-1]) if len(w) >= 3 else None


def merge_bias(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (architecture, ``dataset_size``, ``weights``): counts added over seeds, Wilson intervals."""
    from neurovar.pipeline.stats import wilson_interval

    cols = ["architecture", "spec", "d0", "width", "dataset_size", "weights", "seeds", "samples", "certified",
            "uncertified", "certified_share", "counts", "fractions", "intervals"]
    if df is None or not len(df):
        return pd.DataFrame(columns=cols)
    ok = df[df["status"] == "ok"] if "status" in df else df
    groups: dict[tuple, dict] = {}
    for _, row in ok.iterrows():
        spec = _spec(row)
        ds = row.get("dataset_size")
        ds = 0 if _missing(ds) else int(ds)
        key = (json.dumps(spec, sort_keys=True), ds, str(row.get("weights") or "identity"))
        g = groups.setdefault(key, {"architecture": _label(spec), "spec": key[0], "d0": _input_dim(spec),
                                    "width": _width(row), "dataset_size": ds, "weights": key[2], "seeds": set(),
                                    "certified": 0, "uncertified": 0, "counts": {}})
        g["seeds"].add(int(row["seed"]) if not _missing(row.get("seed")) else 0)
        counts = json.loads(row["counts"]) if isinstance(row["counts"], str) else dict(row["counts"])
        for s, c in counts.items():
            if not _missing(c):
                g["counts"][s] = g["counts"].get(s, 0) + int(c)
        for k in ("certified", "uncertified"):
            g[k] += 0 if _missing(row.get(k)) else int(row[k])
    out = []
    for g in groups.values():
        n = g["certified"] + g["uncertified"] or sum(g["counts"].values())
        g["seeds"], g["samples"] = len(g["seeds"]), n
        g["counts"] = dict(sorted(g["counts"].items()))
        g["certified_share"] = g["certified"] / n if n else None
        g["fractions"] = {s: c / n for s, c in g["counts"].items()}
        g["intervals"] = {s: list(wilson_interval(c, n)) for s, c in g["counts"].items()}
        out.append(g)
    return pd.DataFrame(out, columns=cols).sort_values(["architecture", "weights", "dataset_size"],
                                                       ignore_index=True)


def stratum_points(merged: pd.DataFrame, against: str = "dataset_size", min_d0: int = 2) -> pd.DataFrame:
    """Long table ``panel, x, stratum, fraction, lo, hi, samples`` of the strata that occur in a panel.

    ``against="dataset_size"``: a panel per architecture (and ``weights`` of its Gaussian targets), ``x`` the
    dataset size (0: Gaussian targets). ``against="width"``: a panel per architecture without its widths,
    ``dataset_size`` and ``weights`` (but with ``d0`` and the depth), ``x`` the hidden width (the largest);
    architectures without widths drop out.
    Only networks with at least ``min_d0`` inputs.
    """
    from neurovar.pipeline.stats import wilson_interval

    cols = ["panel", "x", "stratum", "fraction", "lo", "hi", "samples"]
    if merged is None or not len(merged):
        return pd.DataFrame(columns=cols)
    m = merged[merged["d0"].map(lambda v: not _missing(v) and v >= min_d0)]
    rows = []
    for _, g in m.iterrows():
        q = "" if g["weights"] == "identity" else f", Q {g['weights']}"
        if against == "dataset_size":
            panel, x = g["architecture"] + q, int(g["dataset_size"])
        elif against == "width":
            if _missing(g["width"]):
                continue
            spec = json.loads(g["spec"])  # one panel per number of inputs and depth: only the hidden widths vary
            shape = f"d0={g['d0']} depth={len(spec['widths']) - 1}" if spec.get("widths") else ""
            panel = f"{_label(spec, skip=('widths',))} {shape}, dataset_size {g['dataset_size']}{q}"
            x = int(g["width"])
        else:
            raise ValueError(f"against: choose dataset_size or width, got {against!r}")
        rows.append((panel, x, g))
    occur: dict[str, set] = {}  # the strata that occur in a panel get a point at every x (0 where absent)
    for panel, _, g in rows:
        occur.setdefault(panel, set()).update(s for s, c in g["counts"].items() if c)
    pts = []
    for panel, x, g in rows:
        for s in sorted(occur[panel]):
            c, n = g["counts"].get(s, 0), g["samples"]
            lo, hi = wilson_interval(c, n)
            pts.append({"panel": panel, "x": x, "stratum": s, "fraction": c / n, "lo": lo, "hi": hi, "samples": n})
    return pd.DataFrame(pts, columns=cols).sort_values(["panel", "stratum", "x"], ignore_index=True)


__all__ = ["merge_bias", "stratum_points"]
