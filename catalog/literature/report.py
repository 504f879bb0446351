"""The reproduction report: per paper a table of claims with status, each linked to its catalog rows.

:func:`write_reproduction` writes ``reproduction.md`` (terminals, Git hosting), the self-contained
``reproduction.html`` (the status plot embedded as a data URI, no server needed),
``reproduction.json`` (every claim and cell, for scripts) and ``status.png``.

Example
-------
>>> import tempfile
>>> from neurovar.catalog.literature import load_registry, claim_cells
>>> from neurovar.catalog.literature.compare import compare_claim
>>> from neurovar.pipeline.cells import run_cell
>>> reg = load_registry()
>>> claim = reg["talk"].claims[0]
>>> cells = claim_cells(claim)
>>> res = [compare_claim(claim, cells, {c.key: run_cell(c) for c in cells})]
>>> summary = {"claims": 1, "papers": 1, "cells": 1, "reproduced": 1, "differs": 0, "unreached": 0,
...            "wall_seconds": 0.5, "numbered_confirmed_reproduced": 0, "papers_numbered_confirmed_reproduced": 0}
>>> sorted(p.name for p in write_reproduction(res, summary, reg, tempfile.mkdtemp()))
['reproduction.html', 'reproduction.json', 'reproduction.md', 'status.png']
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from .. import html as H
from .compare import ClaimResult

STATUS_COLORS = {"reproduced": "#2e7d32", "differs": "#c62828", "unreached": "#ef8f00"}


def _anchor(claim_id: str) -> str:
    return "rows-" + claim_id


def _md_cell(v) -> str:
    return str("" if v is None else v).replace("|", "\\|").replace("\n", " ")


def status_plot(results: list[ClaimResult], path: Path) -> Path | None:
    """Stacked bars: claims per paper by status."""
    if not results:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    papers = list(dict.fromkeys(r.claim.paper for r in results))
    counts = {s: [sum(1 for r in results if r.claim.paper == p and r.status == s) for p in papers]
              for s in STATUS_COLORS}
    fig, ax = plt.subplots(figsize=(max(5, 0.7 * len(papers) + 2), 3.2), dpi=100)
    bottom = [0] * len(papers)
    for s, color in STATUS_COLORS.items():
        ax.bar(papers, counts[s], bottom=bottom, color=color, label=s)
        bottom = [b + c for b, c in zip(bottom, counts[s])]
    ax.set_ylabel("claims")
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    fig.tight_layout()
    tmp = path.with_name("." + path.name + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path


def _summary_line(s: dict) -> str:
    return (f"{s['claims']} claims from {s['papers']} papers ({s['cells']} cells): **{s['reproduced']} reproduced**, "
            f"**{s['differs']} differ**, **{s['unreached']} unreached**; wall time {s['wall_seconds']} s"
            f"{' (--quick)' if s.get('quick') else ''}. {s['numbered_confirmed_reproduced']} reproduced claims were read "
            f"(or derived from a stated formula) at a numbered theorem, proposition, section or table, in "
            f"{s['papers_numbered_confirmed_reproduced']} papers; claims marked unconfirmed were not read in the source "
            f"and do not count.")


def markdown(results: list[ClaimResult], summary: dict, papers: dict, image: str | None) -> str:
    lines = ["# Reproduction of published results", "",
             f"Written {datetime.now(timezone.utc).isoformat(timespec='seconds')}.", "", _summary_line(summary), ""]
    if image:
        lines += [f"![claims per paper by status]({image})", ""]
    for key in dict.fromkeys(r.claim.paper for r in results):
        p = papers[key]
        lines += [f"## {p.authors}: {p.title}", "", f"{p.venue}, {p.year}" + (f". {p.url}" if p.url else ""), "",
                  "| place | claim | source | status | computed | published | rows |", "|---|---|---|---|---|---|---|"]
        for r in (r for r in results if r.claim.paper == key):
            c = r.claim
            lines.append("| " + " | ".join(_md_cell(x) for x in (
                c.place, f"{c.claim} (`{c.id}`)", c.source, r.status, r.computed, r.published)) +
                f" | [{len(r.cells)} cell{'s' if len(r.cells) != 1 else ''}](#{_anchor(c.id)}) |")
        lines.append("")
    bad = [r for r in results if r.status != "reproduced"]
    if bad:
        lines += ["## Differs and unreached", ""]
        for r in bad:
            if r.status == "differs":
                b = r.first_bad
                lines.append(f"- **differs** `{r.claim.id}` ({r.claim.place}): computed {r.computed}, published "
                             f"{r.published}; cell `{b.cell_key if b else '-'}`; rerun: `{b.rerun if b else '-'}`")
            else:
                lines.append(f"- **unreached** `{r.claim.id}`: {r.reason}. What would reach it: {r.reach}")
        lines.append("")
    lines += ["## Rows", "", "Each claim's cells: the catalog row's key (`neurovar catalog show COMPUTATION --where "
              "'cell_key=\"KEY\"'` prints the row), its comparison, and the command that recomputes it.", ""]
    for r in results:
        lines += [f'<a id="{_anchor(r.claim.id)}"></a>', "", f"### {r.claim.id}", "",
                  "| computation | cell_key | status | computed | expected | reason | rerun |",
                  "|---|---|---|---|---|---|---|"]
        for o in r.cells:
            lines.append("| " + " | ".join(_md_cell(x) for x in (
                o.computation or "", f"`{o.cell_key}`", o.status, o.computed, o.expected, o.reason or "",
                f"`{o.rerun}`" if o.rerun else "")) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def html_page(results: list[ClaimResult], summary: dict, papers: dict, image: Path | None) -> str:
    body = ["<h1>Reproduction of published results</h1>",
            f"<p>Written {H.esc(datetime.now(timezone.utc).isoformat(timespec='seconds'))}.</p>",
            "<p>" + H.inline(_summary_line(summary)) + "</p>"]
    if image is not None:
        body.append(f'<p><img alt="claims per paper by status" src="{H.data_uri(image)}"></p>')
    for key in dict.fromkeys(r.claim.paper for r in results):
        p = papers[key]
        body.append(f'<h2 id="paper-{H.esc(key)}">{H.esc(p.authors)}: {H.esc(p.title)}</h2>')
        body.append(f"<p>{H.esc(p.venue)}, {p.year}" + (f'. <a href="{H.esc(p.url)}">{H.esc(p.url)}</a>' if p.url else "")
                    + "</p>")
        rows, ids = [], []
        for r in (r for r in results if r.claim.paper == key):
            c = r.claim
            src = f'<span class="{"unconfirmed" if not c.confirmed else ""}">{H.esc(c.source)}</span>'
            rows.append([H.esc(c.place), f"{H.esc(c.claim)} (<code>{H.esc(c.id)}</code>)", src,
                         f'<span class="{r.status}">{r.status}</span>', H.esc(r.computed), H.esc(r.published),
                         f'<a href="#{_anchor(c.id)}">{len(r.cells)} cell{"s" if len(r.cells) != 1 else ""}</a>'])
            ids.append("claim-" + c.id)
        body.append(H.table(["place", "claim", "source", "status", "computed", "published", "rows"], rows, ids,
                            raw_columns={0, 1, 2, 3, 4, 5, 6}))
    bad = [r for r in results if r.status != "reproduced"]
    if bad:
        body.append("<h2>Differs and unreached</h2><ul>")
        for r in bad:
            if r.status == "differs":
                b = r.first_bad
                body.append(f'<li><span class="differs">differs</span> <code>{H.esc(r.claim.id)}</code>: computed '
                            f"{H.esc(r.computed)}, published {H.esc(r.published)}; cell <code>"
                            f"{H.esc(b.cell_key if b else '-')}</code>; rerun <code>{H.esc(b.rerun if b else '-')}</code></li>")
            else:
                body.append(f'<li><span class="unreached">unreached</span> <code>{H.esc(r.claim.id)}</code>: '
                            f"{H.esc(r.reason)}. What would reach it: {H.esc(r.reach)}</li>")
        body.append("</ul>")
    body.append("<h2>Rows</h2>")
    for r in results:
        body.append(f'<h3 id="{_anchor(r.claim.id)}">{H.esc(r.claim.id)}</h3>')
        body.append(H.table(["computation", "cell_key", "status", "computed", "expected", "reason", "rerun"],
                            [[o.computation or "", o.cell_key, o.status, o.computed, o.expected, o.reason or "",
                              o.rerun or ""] for o in r.cells], ["cell-" + o.cell_key for o in r.cells]))
    return H.page("Reproduction of published results", "\n".join(body))


def write_reproduction(results: list[ClaimResult], summary: dict, papers: dict, out: str | Path,
                       catalog_root: str | Path | None = None) -> list[Path]:
    """Write reproduction.md, reproduction.html, reproduction.json and status.png into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    img = status_plot(results, out / "status.png")
    md = markdown(results, summary, papers, img.name if img else None)
    files = []
    for name, text in (("reproduction.md", md), ("reproduction.html", html_page(results, summary, papers, img)),
                       ("reproduction.json", json.dumps(
                           {"summary": summary, "catalog": str(catalog_root) if catalog_root else None,
                            "claims": [{**r.as_dict(), "rows": [{**o.__dict__, "show": o.show} for o in r.cells]}
                                       for r in results]},
                           indent=1, default=str))):
        path = out / name
        tmp = path.with_name("." + name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
        files.append(path)
    return files + ([img] if img else [])


__all__ = ["html_page", "markdown", "status_plot", "write_reproduction"]
