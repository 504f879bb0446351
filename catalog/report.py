"""``report.md`` and PNG plots for a catalog: one section per registered statement.

:func:`write_report` loads every computation present under the results root
(only the Parquet files are needed, so a catalog copied from another machine
works), evaluates the registry (:mod:`catalog.conjectures`), and writes

* ``report.md`` -- the catalog's row counts, a summary of verdicts, and per
  statement: its source, counts, the first violations (cell key, expected and
  observed value, certificate or the command that recomputes the cell), the
  reasons rows were not applicable, and its thresholds table;
* the plots of :mod:`catalog.plots` for the data present.

Example
-------
>>> import tempfile
>>> from neurovar.pipeline.cells import make_cell, run_cell
>>> from neurovar.catalog.store import write_records
>>> root, out = tempfile.mkdtemp(), tempfile.mkdtemp()
>>> _ = write_records([run_cell(make_cell("dimension", {"model": "mlp", "widths": [3, 2, 1], "activation": "x^2"}))],
...                   "dimension", root)
>>> r = write_report(root, out)
>>> r.verdicts["alexander-hirschowitz"].counts
{'supports': 1, 'violates': 0, 'outside': 0, 'not_applicable': 0, 'broken': 0}
>>> sorted(p.name for p in r.files)
['defect_depth2.png', 'report.md']
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from . import plots, store
from .analysis import thresholds
from .conjectures import REGISTRY, Verdict, evaluate
from .rerun import upgrade_section

MAX_VIOLATIONS = 5
MAX_TABLE_ROWS = 40


@dataclass
class Report:
    """What :func:`write_report` wrote."""

    path: Path
    files: list[Path]
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    catalogs: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: rows left out per computation (stale rows), by reason
    ignored: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def theorem_violations(self) -> int:
        return sum(len(v.violates) for v in self.verdicts.values() if v.conjecture.kind in ("theorem", "derived"))


def md_table(df: pd.DataFrame, limit: int = MAX_TABLE_ROWS) -> str:
    """A DataFrame as a GitHub markdown table (lists and dicts as JSON).

    >>> print(md_table(pd.DataFrame({"k": [3], "r": [[1, 2]]})))
    | k | r |
    |---|---|
    | 3 | [1, 2] |
    """
    if df.empty:
        return "_(no rows)_"

    def cell(v):
        if isinstance(v, (list, dict, tuple)):
            text = json.dumps(v, default=str)
        elif v is None or (not isinstance(v, str) and pd.isna(v)):
            text = ""
        else:
            text = str(v)
        return text.replace("|", "\\|").replace("\n", " ")

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.head(limit).itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    if len(df) > limit:
        lines.append(f"\n_... {len(df) - limit} more rows_")
    return "\n".join(lines)


def load_catalogs(root: str | Path, all_versions: bool = False) -> dict[str, pd.DataFrame]:
    """Every computation present under ``root``, loaded (duplicates resolved; current rows unless ``all_versions``)."""
    return {comp: store.load(comp, root, all_versions=all_versions) for comp in store.present_computations(root)}


def _threshold_table(v: Verdict) -> pd.DataFrame | None:
    spec = v.conjecture.threshold
    if not spec:
        return None
    rows = pd.concat([v.supports, v.violates])
    if rows.empty:
        return None
    by = [c for c in spec["by"] if c in rows and rows[c].notna().any()]
    if spec["along"] not in rows:
        return None
    try:
        t = thresholds(rows, along=spec["along"], by=by, predicate=spec["predicate"])
    except KeyError:
        return None
    return t


def _section(v: Verdict, catalogs: dict[str, pd.DataFrame]) -> list[str]:
    c = v.conjecture
    n = v.counts
    out = [f"## {c.name} ({c.kind})", "", f"**Statement.** {c.statement}", "", f"**Source.** {c.source}", "",
           f"**Reads** `{c.computation}`. **Verdict: {v.status}** -- {n['supports']} rows support, "
           f"{n['violates']} violate, {n['outside']} outside the statement's range, {n['not_applicable']} not "
           f"applicable, {n['broken']} broken (the check raised).", ""]
    if c.proof:
        out += [f"**Proof sketch (derived).** {c.proof}", ""]
    for why, count in v.outside_reasons():
        out += [f"**Outside the statement's range ({count} rows; not counterexamples).** {why}", ""]
    if n["broken"]:
        out += [f"**Broken check.** {v.broken['_reason'].iloc[0]}", ""]
    if c.notes:
        out += [f"**Notes.** {c.notes}", ""]
    if n["violates"]:
        what = {"theorem": "A theorem is violated: each row below is a probable bug in the computation.",
                "derived": "A derived statement is violated: a bug in the computation or in the derivation.",
                "conjecture": "Candidate counterexamples:"}[c.kind]
        out += [f"### Violations (first {min(MAX_VIOLATIONS, n['violates'])} of {n['violates']})", "", what, ""]
        for item in v.violations()[:MAX_VIOLATIONS]:
            out.append(f"- cell `{item['cell_key']}`: expected {item['expected']}, observed {item['observed']}")
            if "certificate" in item:
                out.append(f"  - certificate: `{json.dumps(item['certificate'], default=str)}`")
            if item.get("rerun"):
                out.append(f"  - rerun: `{item['rerun']}`")
        out.append("")
    if n["not_applicable"]:
        reasons = Counter(v.not_applicable["_reason"].fillna("outside the statement"))
        out += ["<details><summary>Not applicable, by reason</summary>", "",
                md_table(pd.DataFrame(reasons.most_common(10), columns=["reason", "rows"])), "", "</details>", ""]
    t = _threshold_table(v)
    if t is not None and len(t):
        spec = c.threshold
        pname = getattr(spec["predicate"], "__name__", spec["predicate"])
        out += [f"### Thresholds: smallest `{spec['along']}` from which `{pname}` holds", "",
                "`monotone` is false where the property held, failed, and held again.", ""]
        first = t["tested"].map(lambda xs: xs[0] if xs else None)
        plain = t["monotone"] & t["threshold"].notna() & (t["threshold"].astype(object) == first.astype(object))
        if len(t) > MAX_TABLE_ROWS and plain.any():
            out += [f"{int(plain.sum())} of {len(t)} groups hold from the smallest tested value on; the others:", ""]
            t = t[~plain]
        out += [md_table(t.drop(columns=["tested"])), ""]
    if c.name == "alexander-hirschowitz" and len(v.supports) + len(v.violates):
        from .analysis import defect_table
        from .conjectures import ah_exceptional

        rows = pd.concat([v.supports, v.violates])
        dt = defect_table(rows)
        dt["exceptional"] = [bool(ah_exceptional(int(a), int(b), int(e))) for a, b, e in zip(dt["n"], dt["k"], dt["d"])]
        tested = pd.concat([v.supports, v.violates])
        w = tested["widths"].map(lambda x: (int(x[0]), int(x[1])))
        expected = {(n, k, int(d)) for (n, k), d in zip(w, tested["r"]) if ah_exceptional(n, k, int(d))}
        found = set(zip(dt["n"].astype(int), dt["k"].astype(int), dt["d"].astype(int)))
        if found == expected:
            verdict = f"The {len(found)} defective cells are exactly the theorem's exceptional cases in this grid."
        else:
            verdict = (f"Defective but not exceptional: {sorted(found - expected)}; exceptional but not defective: "
                       f"{sorted(expected - found)}.")
        out += ["### Defective cells", "", verdict, "",
                md_table(dt[[c for c in ("n", "k", "d", "dimension", "expected_dimension", "defect", "exceptional")
                             if c in dt]]), ""]
    return out


def write_report(root: str | Path = store.DEFAULT_ROOT, out: str | Path | None = None,
                 all_versions: bool = False) -> Report:
    """Write ``report.md`` and the plots for the catalog under ``root`` into ``out`` (default ``root/report``).

    Only rows of the current code are read unless ``all_versions``; the report
    states how many rows it left out, and why.
    """
    root = Path(root)
    if not root.is_dir():
        from neurovar.pipeline.errors import SpecError

        raise SpecError("--results", f"no catalog at {root}: run a grid first (neurovar run grids/quickstart.yaml)")
    out = Path(out) if out is not None else root / "report"
    out.mkdir(parents=True, exist_ok=True)
    catalogs = load_catalogs(root, all_versions)
    ignored = {comp: dict(df.attrs.get("ignored", {})) for comp, df in catalogs.items() if df.attrs.get("ignored")}
    verdicts = {name: evaluate(c, catalogs[c.computation])
                for name, c in REGISTRY.items() if c.computation in catalogs}
    images: list[Path] = []
    images += plots.defect_heatmaps(catalogs.get("dimension"), out)
    images += plots.independence_thresholds(catalogs.get("independence"), catalogs.get("independence-threshold"), out)
    images += plots.edd_plots(catalogs.get("edd"), out)
    images += plots.bias_plots(catalogs.get("bias"), out)
    if "bias" in catalogs or "singularities" in catalogs:  # the talk's planar Voronoi pictures
        images += plots.voronoi_examples(out)

    lines = ["# neurovar catalog report", "",
             f"Catalog `{root}`, written {datetime.now(timezone.utc).isoformat(timespec='seconds')}.", ""]
    counts = []
    for comp, df in catalogs.items():
        st = df["status"].value_counts() if len(df) else {}
        counts.append({"computation": comp, "rows": len(df), "ok": int(st.get("ok", 0)),
                       "timeout": int(st.get("timeout", 0)), "error": int(st.get("error", 0))})
    lines += ["## Catalog", "", md_table(pd.DataFrame(counts)) if counts else "_(empty catalog)_", ""]
    if ignored:
        lines += ["Rows left out of this report (`neurovar report --all-versions` includes them, "
                  "`neurovar run GRID --recompute-stale` recomputes them):", ""]
        lines += [f"- `{comp}`: {n} rows, {why}" for comp, reasons in ignored.items() for why, n in reasons.items()]
        lines += [""]
    else:
        lines += ["Every row of the catalog was computed by the current code (no stale rows left out).", ""]
    lines += upgrade_section(root)
    summary = [{"name": n, "kind": v.conjecture.kind, "computation": v.conjecture.computation, **v.counts,
                "verdict": v.status} for n, v in verdicts.items()]
    lines += ["## Verdicts", "",
              "A violated theorem is a probable bug (cell key and rerun command below); a violated derived "
              "statement is a bug in the computation or in our derivation; a violated conjecture is a candidate "
              "counterexample. Rows outside a statement's range (e.g. below a conjectured threshold) are not "
              "counterexamples; a broken check raised on a row.", "",
              md_table(pd.DataFrame(summary)) if summary else "_(no statement reads these computations)_", ""]
    if images:
        lines += ["## Plots", ""]
        for img in images:
            lines += [f"![{img.stem}]({img.name})", ""]
    for v in verdicts.values():
        lines += _section(v, catalogs)
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return Report(path=path, files=sorted([path, *images]), verdicts=verdicts, catalogs=catalogs, ignored=ignored)


__all__ = ["Report", "load_catalogs", "md_table", "write_report"]
