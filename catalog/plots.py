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

from .analysis import class_attribute, declares, derive, thresholds  # noqa: E402

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
    dense = pd.Series([declares(row, "dense_layered") is not None for row in d.to_dict("records")],
                      index=d.index, dtype=bool) if "model" in d else False
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
        if class_attribute(model, "fixed_activation") and isinstance(row.get("widths"), list):
            fields = [f"widths={row['widths']}"]
        return f"{model}({', '.join(fields)})"
    eq = str(row.get("equations") or "")
    return eq if len(eq) <= 40 else eq[:37] + "..."


__all__ = ["defect_heatmaps", "edd_plots", "independence_thresholds"]


def voronoi_picture(curve, report: dict, out: str | Path, name: str = "voronoi.png",
                    max_samples: int = 4000) -> Path:
    """The curve, the Voronoi cell of the chosen point (shaded, its exact boundary drawn as
    the zero set of the boundary equation) and Monte Carlo samples (inside: dark, outside: light).

    ``report`` is :func:`pipeline.algebra.voronoi.voronoi_report`'s dict (with its
    ``_boundary`` and ``_mc`` entries).
    """
    from neurovar.pipeline.algebra.voronoi import evaluate_xy, in_cell

    b, mc = report["_boundary"], report["_mc"]
    xmin, xmax, ymin, ymax = report["box"]
    fig, ax = plt.subplots(figsize=(5.2, 5.2))
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, 300), np.linspace(ymin, ymax, 300))
    G = np.column_stack([gx.ravel(), gy.ravel()])
    mask = in_cell(curve, b.point, G).reshape(gx.shape)
    ax.contourf(gx, gy, mask.astype(float), levels=[0.5, 1.5], colors=["#f6c48f"], alpha=0.6)
    if b.equation.total_degree() > 0:
        Z = evaluate_xy(b.equation, G).reshape(gx.shape)
        ax.contour(gx, gy, Z, levels=[0.0], colors=["#b35806"], linewidths=1.0)
    k = min(max_samples, len(mc.points))
    P, ins = mc.points[:k], mc.inside[:k]
    ax.scatter(P[~ins, 0], P[~ins, 1], s=1.5, c="#9ecae1", label="sample, nearest point elsewhere")
    ax.scatter(P[ins, 0], P[ins, 1], s=1.5, c="#08306b", label="sample, nearest point q")
    if curve.interval is not None:
        ts = np.linspace(float(curve.interval[0]), float(curve.interval[1]), 800)
    else:
        ts = np.linspace(-3, 3, 4000)
    C = curve.points(ts)
    ax.plot(C[:, 0], C[:, 1], color="black", lw=1.6, label="curve")
    ax.plot([float(b.point[0])], [float(b.point[1])], "o", color="#d7301f", ms=6, label=f"q ({b.kind})")
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_title(f"Vor(q): area fraction {report['area_fraction']:.4f}, MC {report['mc_fraction']:.4f}\n"
                 f"boundary: {report['boundary_equation'][:60]} = 0", fontsize=8)
    ax.legend(fontsize=6, loc="lower left", markerscale=4)
    return _save(fig, Path(out) / name if Path(out).suffix != ".png" else Path(out))


def bias_plots(bias: pd.DataFrame | None, out: str | Path) -> list[Path]:
    """Stratum fractions of the global minimiser against ``dataset_size`` (one panel per width and
    activation; Gaussian data ``Q = I`` drawn at the left, as size 0), with 95 % Wilson intervals, and
    against the hidden width."""
    import json as _json

    if bias is None or not len(bias):
        return []
    df = _ok(bias).copy()
    if not len(df):
        return []
    from neurovar.pipeline.stats import wilson_interval

    several = bias_strata_plots(df, out)  # d0 >= 2: CNNs, attention, MLPs with several inputs
    df = df[df["widths"].map(lambda w: hasattr(w, "__len__") and len(w) == 3 and list(w)[0] == 1)]
    if not len(df):
        return several

    def counts(v):
        return _json.loads(v) if isinstance(v, str) else v

    df["_counts"] = df["counts"].map(counts)
    df["_k"] = df["widths"].map(lambda w: list(w)[1])
    df["_ds"] = df["dataset_size"].map(lambda v: 0 if v is None or (isinstance(v, float) and np.isnan(v)) else int(v))
    out = Path(out)
    files = several
    groups = sorted({(k, a) for k, a in zip(df["_k"], df["activation"])})
    strata = ["smooth", "zero-loss", "boundary", "ramification", "sparse: neuron removed", "sparse: zero W1"]
    colors = dict(zip(strata, ["#999999", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"]))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
    for ax, (k, act) in zip(axes[0], groups):
        sub = df[(df["_k"] == k) & (df["activation"] == act)]
        agg = {}
        for ds, c in zip(sub["_ds"], sub["_counts"]):
            tot = agg.setdefault(ds, {s: 0 for s in strata})
            for s in strata:
                tot[s] += int(c.get(s, 0))
        xs = sorted(agg)
        for s in strata:
            n = [sum(agg[x].values()) for x in xs]
            ys = [agg[x][s] / m for x, m in zip(xs, n)]
            if not any(ys):
                continue
            ci = [wilson_interval(agg[x][s], m) for x, m in zip(xs, n)]
            ax.errorbar(xs, ys, yerr=[[y - lo for y, (lo, _) in zip(ys, ci)], [hi - y for y, (_, hi) in zip(ys, ci)]],
                        marker="o", ms=3, capsize=2, label=s, color=colors[s])
        if "sparse_attains" in sub:  # a sparse subnetwork among the global minimisers (ties, e.g. zero loss)
            att: dict[int, list[int]] = {}
            for ds, a, c in zip(sub["_ds"], sub["sparse_attains"], sub["_counts"]):
                if a is not None and not (isinstance(a, float) and np.isnan(a)):
                    tot = att.setdefault(ds, [0, 0])
                    tot[0] += int(a)
                    tot[1] += sum(int(v) for v in c.values())
            ax_ = sorted(att)
            if any(att[x][0] for x in ax_):
                ys = [att[x][0] / att[x][1] for x in ax_]
                ci = [wilson_interval(*att[x]) for x in ax_]
                ax.errorbar(ax_, ys, yerr=[[y - lo for y, (lo, _) in zip(ys, ci)], [hi - y for y, (_, hi) in zip(ys, ci)]],
                            marker="s", ms=3, capsize=2, ls="--", color="#e7298a", alpha=0.6,
                            label="one neuron attains the minimum")
        ax.set_title(f"(1, {k}, 1), s = {act}", fontsize=9)
        ax.set_xlabel("dataset_size (0: Gaussian u, Q = I)")
        ax.set_ylim(-0.03, 1.03)
        ax.set_xticks(xs)
    axes[0][0].set_ylabel("fraction of global minimisers")
    seen: dict[str, object] = {}  # one legend for every stratum drawn in any panel
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    order = [s for s in strata + ["one neuron attains the minimum"] if s in seen]
    axes[0][-1].legend([seen[s] for s in order], order, fontsize=6)
    files.append(_save(fig, out / "bias_vs_dataset_size.png"))
    # against the width: Gaussian data only
    gauss = df[df["_ds"] == 0]
    if len(gauss) and gauss["_k"].nunique() > 1:
        fig, ax = plt.subplots(figsize=(4.6, 3.6))
        for act in sorted(gauss["activation"].unique()):
            sub = gauss[gauss["activation"] == act]
            for s in ("boundary", "sparse: zero W1", "sparse: neuron removed", "zero-loss"):
                xs, ys, err = [], [], []
                for k in sorted(sub["_k"].unique()):
                    cs = sub[sub["_k"] == k]["_counts"]
                    hit = sum(int(c.get(s, 0)) for c in cs)
                    n = sum(sum(int(v) for v in c.values()) for c in cs)
                    lo, hi = wilson_interval(hit, n)
                    xs.append(k)
                    ys.append(hit / n)
                    err.append((hit / n - lo, hi - hit / n))
                if any(ys):
                    ax.errorbar(xs, ys, yerr=np.array(err).T, marker="o", capsize=2, label=f"{act}: {s}")
        ax.set_xlabel("hidden width k")
        ax.set_ylabel("fraction (Gaussian u)")
        ax.legend(fontsize=6)
        files.append(_save(fig, out / "bias_vs_width.png"))
    return files


def bias_strata_plots(bias: pd.DataFrame, out: str | Path, min_d0: int = 2) -> list[Path]:
    """Pooled stratum fractions (:func:`catalog.bias_analysis.merge_bias`) of networks with ``d0 >= min_d0``
    inputs against ``dataset_size`` and against the hidden width, one panel per architecture, 95 % Wilson
    intervals: ``bias_inputs_vs_dataset_size.png`` and ``bias_inputs_vs_width.png`` (when a width varies)."""
    from .bias_analysis import merge_bias, stratum_points

    merged = merge_bias(bias)
    files = []
    for against, name in (("dataset_size", "bias_inputs_vs_dataset_size.png"), ("width", "bias_inputs_vs_width.png")):
        pts = stratum_points(merged, against, min_d0)
        if against == "width":  # a panel with one width says nothing against the width
            pts = pts[pts.groupby("panel")["x"].transform("nunique") > 1]
        if not len(pts):
            continue
        panels = sorted(pts["panel"].unique())
        color = {st: f"C{i % 10}" for i, st in enumerate(sorted(pts["stratum"].unique()))}  # one colour per stratum
        fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.6), squeeze=False)
        for ax, panel in zip(axes[0], panels):
            for stratum, g in pts[pts["panel"] == panel].groupby("stratum"):
                ax.errorbar(g["x"], g["fraction"], yerr=[g["fraction"] - g["lo"], g["hi"] - g["fraction"]],
                            marker="o", ms=3, capsize=2, label=stratum, color=color[stratum])
            ax.set_title(panel, fontsize=7)
            ax.set_xlabel("dataset_size (0: Gaussian targets)" if against == "dataset_size" else "hidden width")
            ax.set_ylim(-0.03, 1.03)
            ax.set_xticks(sorted(pts[pts["panel"] == panel]["x"].unique()))
            ax.legend(fontsize=6)
        axes[0][0].set_ylabel("fraction of global minimisers")
        files.append(_save(fig, Path(out) / name))
    return files


def voronoi_examples(out: str | Path, samples: int = 20_000) -> list[Path]:
    """The talk's planar pictures: the cusp y^2 + x^3 = 0 at its singular point and the arc
    t -> (t, t^2), t in [-1, 1], at its end point (1, 1), with their exact cell boundaries."""
    from fractions import Fraction

    from neurovar.pipeline.algebra.voronoi import parse_curve, voronoi_report

    files = []
    cusp = parse_curve(equation="y^2 + x^3", param="-t^2, t^3")
    rep = voronoi_report(cusp, (Fraction(0), Fraction(0)), (-1, 1, -1, 1), samples=samples, seed=0)
    files.append(voronoi_picture(cusp, rep, Path(out) / "voronoi_cusp.png"))
    arc = parse_curve(param="t, t^2", interval="-1,1")
    rep = voronoi_report(arc, (Fraction(1), Fraction(1)), (-2, 3, -1, 3), samples=samples, seed=0)
    files.append(voronoi_picture(arc, rep, Path(out) / "voronoi_arc_end.png"))
    return files
