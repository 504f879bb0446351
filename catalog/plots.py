"""PNG plots of a catalog (matplotlib, Agg backend): each drawn only when its data exist.

* :func:`defect_heatmaps` -- defect of monomial MLPs over (hidden width, r), one
  figure per depth, one panel per input dimension;
* :func:`independence_thresholds` -- the smallest r from which independence
  holds, against k, next to Prop. 16's bound ``6(k-1)^2 - 6(k-1) + 1``;
* :func:`edd_plots` -- ED degree (isolated critical points) against the dataset
  size ``|S|`` and against the kernel dimension of psd ``Q``, with the
  dimension of positive-dimensional parts written next to each point.

Every function takes DataFrames from :func:`catalog.store.load` and an output
folder, and returns the list of files written (empty when there is nothing to plot).

Example
-------
>>> import tempfile, pandas as pd
>>> df = pd.DataFrame({"model": "mlp", "widths": [[3, 2, 1], [3, 3, 1]], "activation": ["x^2", "x^2"],
...                    "bias": False, "defect": [1, 0], "status": "ok"})
>>> [p.name for p in defect_heatmaps(df, tempfile.mkdtemp())]
['defect_depth2.png']
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .analysis import declares, derive, thresholds  # noqa: E402

DPI = 110


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"] == "ok"] if "status" in df else df


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def defect_heatmaps(dimension: pd.DataFrame, out: str | Path) -> list[Path]:
    """Defect ``expected - dim`` over (hidden width, r) for monomial MLPs without bias, per depth.

    Rows with unequal hidden widths are left out (``hidden`` is their common
    width); several rows in one cell (output widths, seeds) show the largest defect.
    """
    if dimension is None or dimension.empty or "defect" not in dimension:
        return []
    d = derive(_ok(dimension))
    if "activation_kind" not in d or "hidden" not in d:
        return []
    dense = d["model"].map(lambda m: bool(declares(m, "dense_layered"))) if "model" in d else False
    mask = dense & (d["activation_kind"] == "monomial") & d["hidden"].notna()
    if "bias" in d:
        mask &= ~d["bias"].fillna(False).astype(bool)
    equal = d["hidden_widths"].map(lambda h: bool(h) and len(set(h)) == 1)
    d = d[mask & equal & d["defect"].notna()]
    files = []
    for depth, sub in sorted(d.groupby("depth"), key=lambda kv: kv[0]):
        dims = sorted(sub["input_dim"].dropna().unique())
        ncols = max(1, sub["hidden"].nunique())
        fig, axes = plt.subplots(1, len(dims), figsize=(max(3.2, 0.3 * ncols + 1.2) * len(dims) + 1, 3.6),
                                 squeeze=False)
        vmax = max(1, int(sub["defect"].max()))
        im = None
        for ax, n in zip(axes[0], dims):
            part = sub[sub["input_dim"] == n]
            table = part.pivot_table(index="r", columns="hidden", values="defect", aggfunc="max")
            table = table.sort_index().sort_index(axis=1)
            data = table.to_numpy(dtype=float)
            im = ax.imshow(np.ma.masked_invalid(data), origin="lower", cmap="Reds", vmin=0, vmax=vmax,
                           aspect="auto")
            ax.set_xticks(range(len(table.columns)), [str(int(c)) for c in table.columns])
            ax.set_yticks(range(len(table.index)), [str(int(i)) for i in table.index])
            ax.set_xlabel("hidden width")
            if n == dims[0]:
                ax.set_ylabel("r (activation x^r)")
            ax.set_title(f"input dim {int(n)}")
            for (i, j), v in np.ndenumerate(data):
                if not np.isnan(v):
                    ax.text(j, i, str(int(v)), ha="center", va="center", fontsize=8,
                            color="white" if v > vmax / 2 else "black")
        fig.suptitle(f"defect = expected dim - dim, depth {int(depth)} (monomial MLPs, no bias)", y=1.04)
        if im is not None:
            fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="defect")
        files.append(_save(fig, Path(out) / f"defect_depth{int(depth)}.png"))
    return files


def independence_thresholds(independence: pd.DataFrame | None, threshold: pd.DataFrame | None,
                            out: str | Path) -> list[Path]:
    """Threshold r (smallest r from which independence holds) against k, with Prop. 16's bound.

    Points come from ``independence-threshold`` rows (``min_r``; unreached
    thresholds drawn at ``max_r + 1`` with an open marker) and from
    ``independence`` rows over r (:func:`catalog.analysis.thresholds` per tuple).
    """
    from .conjectures import prop16_bound

    points = []  # (k, r, kind, reached)
    if threshold is not None and not threshold.empty and "min_r" in threshold:
        for _, row in _ok(threshold).iterrows():
            if pd.isna(row.get("k")):
                continue
            reached = not pd.isna(row.get("min_r"))
            r = int(row["min_r"]) if reached else int(row["max_r"]) + 1
            points.append((int(row["k"]), r, str(row.get("activation_kind")), reached))
    if independence is not None and not independence.empty and "independent" in independence:
        d = derive(_ok(independence))
        d = d[d["k"].notna() & d["r"].notna()]
        d["_tuple"] = d["polys"].fillna("") + "|" + d["family"].fillna("") if "family" in d else d["polys"]
        if len(d):
            t = thresholds(d, along="r", by=["_tuple", "k", "activation_kind"], predicate="independent")
            for _, row in t.iterrows():
                reached = not pd.isna(row["threshold"])
                points.append((int(row["k"]), int(row["threshold"]) if reached else int(row["max_tested"]) + 1,
                               str(row["activation_kind"]), reached))
    if not points:
        return []
    fig, ax = plt.subplots(figsize=(6, 4))
    ks = sorted({p[0] for p in points})
    kk = np.arange(max(2, min(ks)), max(ks) + 1)
    ax.plot(kk, [prop16_bound(int(k)) + 1 for k in kk], "k--", label="Prop. 16: r > 6(k-1)^2 - 6(k-1) + 1")
    colors = {"monomial": "tab:blue", "generic": "tab:orange"}
    seen = set()
    for k, r, kind, reached in points:
        label = f"{kind} s{'' if reached else ' (not reached: max_r + 1)'}"
        ax.scatter([k], [r], color=colors.get(kind, "tab:green"), marker="o" if reached else "^",
                   facecolors=None if reached else "none", label=None if label in seen else label, zorder=3)
        seen.add(label)
    ax.set_yscale("log")
    ax.set_xlabel("k (number of polynomials)")
    ax.set_ylabel("threshold r")
    ax.set_xticks(list(kk))
    ax.set_title("smallest r from which s(p_1..p_k) are independent")
    ax.legend(fontsize=8)
    return [_save(fig, Path(out) / "independence_threshold.png")]


def edd_plots(edd: pd.DataFrame | None, out: str | Path) -> list[Path]:
    """ED degree against dataset size (data weights) and against kernel dimension (psd weights).

    One line per variety (model or equations). A point is the number of
    isolated critical points (``edd``; 0 when there are none); the dimensions
    of positive-dimensional parts are written beside it (``+dim 1``).
    """
    if edd is None or edd.empty or "edd" not in edd:
        return []
    d = derive(_ok(edd))
    d["_variety"] = [_variety(r) for r in d.to_dict("records")]
    files = []
    for col, xlabel, name in (("data_size", "dataset size |S|", "edd_dataset_size.png"),
                              ("psd_kernel", "k = dim ker Q (psd Q)", "edd_kernel_dimension.png")):
        if col not in d or d[col].notna().sum() == 0:
            continue
        sub = d[d[col].notna()]
        fig, ax = plt.subplots(figsize=(6, 4))
        for variety, g in sub.groupby("_variety"):
            g = g.sort_values(col)
            xs = g[col].astype(int).to_numpy()
            ys = [0 if pd.isna(v) else int(v) for v in g["edd"]]
            ax.plot(xs, ys, "o-", label=variety)
            for x, y, parts in zip(xs, ys, g["positive_dimensional"] if "positive_dimensional" in g else []):
                dims = [p.get("dimension") for p in (parts or []) if isinstance(p, dict)]
                if dims:
                    ax.annotate("+dim " + ",".join(str(v) for v in dims), (x, y), textcoords="offset points",
                                xytext=(4, 6), fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("isolated critical points (EDD)")
        ax.set_xticks(sorted(sub[col].astype(int).unique()))
        ax.set_title("ED degree as Q degenerates")
        ax.legend(fontsize=7)
        files.append(_save(fig, Path(out) / name))
    return files


def _variety(row: dict) -> str:
    model = row.get("model")
    if isinstance(model, str) and model:
        fields = [f"{k}={row[k]}" for k in ("d", "d_out", "n", "t") if k in row and not pd.isna(row[k])]
        if declares(model, "fixed_activation") and isinstance(row.get("widths"), list):
            fields = [f"widths={row['widths']}"]
        return f"{model}({', '.join(fields)})"
    eq = str(row.get("equations") or "")
    return eq if len(eq) <= 40 else eq[:37] + "..."


__all__ = ["defect_heatmaps", "edd_plots", "independence_thresholds"]
