"""``neurovar report`` and ``neurovar check``: the conjecture registry against the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neurovar.pipeline.errors import SpecError

from .cli import app, console, fail


@app.command()
def report(
    results: Path = typer.Option(Path("results"), "--results", help="catalog root"),
    out: Optional[Path] = typer.Option(None, "--out", help="folder for report.md and the plots (default RESULTS/report)"),
    html: bool = typer.Option(False, "--html", help="also write report.html: one self-contained page, plots embedded"),
    all_versions: bool = typer.Option(False, "--all-versions", help="read stale rows too (rows computed by other code)"),
) -> None:
    """Write report.md (one section per theorem and conjecture) and PNG plots for a catalog."""
    from neurovar.catalog.report import write_report

    from .commands import print_ignored, results_folder

    try:
        results_folder(results, must_exist=True)
        rep = write_report(results, out, all_versions=all_versions)
    except SpecError as e:
        fail(str(e))
    print_ignored(rep.ignored)
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
    all_versions: bool = typer.Option(False, "--all-versions", help="read stale rows too (rows computed by other code)"),
) -> None:
    """Print each statement's verdict on the catalog; exit 1 if a theorem or derived statement is
    violated or a check is broken (raised)."""
    from neurovar.catalog.conjectures import REGISTRY, check_catalog

    from .commands import print_ignored, results_folder

    unknown = [n for n in name if n not in REGISTRY]
    if unknown:
        fail(f"--name: unknown entry {unknown[0]!r}; choose from {', '.join(REGISTRY)}")
    try:
        results_folder(results, must_exist=True)
        verdicts = check_catalog(results, name or None, all_versions=all_versions)
    except SpecError as e:
        fail(str(e))
    from .output import print_check_table

    print_check_table(console, verdicts, f"catalog {results}")
    ignored: dict = {}
    for v in verdicts:
        if v.ignored:
            ignored.setdefault(v.conjecture.computation, v.ignored)
    print_ignored(ignored)
    bad = [v for v in verdicts if v.status in ("violated", "broken")]
    for v in verdicts:
        for why, count in v.outside_reasons():
            console.print(f"{v.conjecture.name}: {count} row(s) outside the statement's range, not counterexamples: "
                          f"{why}", highlight=False, soft_wrap=True)
        for _, row in v.broken.head(3).iterrows():
            console.print(f"{v.conjecture.name}: broken check on cell {row.get('cell_key')}: {row['_reason']}",
                          highlight=False, soft_wrap=True)
        for item in v.violations()[:3]:
            tag = {"theorem": "probable bug", "derived": "bug in the computation or the derivation",
                   "conjecture": "candidate counterexample"}[v.conjecture.kind]
            console.print(f"{v.conjecture.name}: {tag} in cell {item['cell_key']}: expected {item['expected']}, "
                          f"observed {item['observed']}", highlight=False)
            if "certificate" in item:
                console.print(f"  certificate: {item['certificate']}", highlight=False)
            if item.get("rerun"):
                console.print(f"  rerun: {item['rerun']}", highlight=False, soft_wrap=True)
    if bad:
        raise SystemExit(1)
