"""``neurovar report`` and ``neurovar check``: the conjecture registry against the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from neurovar.pipeline.errors import SpecError

from .cli import app, console, fail


@app.command()
def report(
    results: Path = typer.Option(Path("results"), "--results", help="catalog root"),
    out: Optional[Path] = typer.Option(None, "--out", help="folder for report.md and the plots (default RESULTS/report)"),
    html: bool = typer.Option(False, "--html", help="also write report.html: one self-contained page, plots embedded"),
) -> None:
    """Write report.md (one section per theorem and conjecture) and PNG plots for a catalog."""
    from neurovar.catalog.report import write_report

    try:
        rep = write_report(results, out)
    except SpecError as e:
        fail(str(e))
    console.print(f"wrote {rep.path} and {len(rep.files) - 1} plot(s)", highlight=False)
    if html:
        from neurovar.catalog.html import write_markdown_page

        console.print(f"wrote {write_markdown_page(rep.path)} (self-contained, plots embedded)", highlight=False)
    for f in rep.files:
        if f != rep.path:
            console.print(f"  {f}", highlight=False)
    if rep.theorem_violations:
        console.print(f"[bold red]{rep.theorem_violations} row(s) violate a theorem[/] (see the report)")


@app.command()
def check(
    results: Path = typer.Option(Path("results"), "--results", help="catalog root"),
    name: list[str] = typer.Option([], "--name", help="check only these registry entries (repeatable)"),
) -> None:
    """Print each theorem's and conjecture's verdict on the catalog; exit 1 if a theorem is violated."""
    from neurovar.catalog.conjectures import REGISTRY, check_catalog

    unknown = [n for n in name if n not in REGISTRY]
    if unknown:
        fail(f"--name: unknown entry {unknown[0]!r}; choose from {', '.join(REGISTRY)}")
    try:
        verdicts = check_catalog(results, name or None)
    except SpecError as e:
        fail(str(e))
    table = Table(title=f"catalog {results}")
    table.add_column("name", no_wrap=True)
    for col in ("kind", "computation", "supports", "violates", "n/a", "verdict"):
        table.add_column(col, no_wrap=col != "computation")
    style = {"violated": "bold red", "counterexample": "bold yellow", "supported": "green", "no data": "dim"}
    for v in verdicts:
        n = v.counts
        table.add_row(v.conjecture.name, v.conjecture.kind, v.conjecture.computation, str(n["supports"]),
                      str(n["violates"]), str(n["not_applicable"]), f"[{style[v.status]}]{v.status}[/]")
    console.print(table)
    bad = [v for v in verdicts if v.status == "violated"]
    for v in verdicts:
        for item in v.violations()[:3]:
            tag = "probable bug" if v.conjecture.kind == "theorem" else "candidate counterexample"
            console.print(f"{v.conjecture.name}: {tag} in cell {item['cell_key']}: expected {item['expected']}, "
                          f"observed {item['observed']}", highlight=False)
            if "certificate" in item:
                console.print(f"  certificate: {item['certificate']}", highlight=False)
            if item.get("rerun"):
                console.print(f"  rerun: {item['rerun']}", highlight=False, soft_wrap=True)
    if bad:
        raise SystemExit(1)
