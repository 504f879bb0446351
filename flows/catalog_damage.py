"""``neurovar catalog doctor``: list the part files no reader can use, and quarantine them.

Readers already skip such a file with one warning line (:mod:`neurovar.catalog.parts`);
the doctor lists them with what is wrong and how many rows of each can still be
named by cell key; ``--repair`` moves them to ``<results>/_quarantine/`` (never
deleting). The next ``neurovar run`` of the grids computes the cells that lived
only in those files, and says how many (:func:`lost_line`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from neurovar.pipeline.errors import SpecError

from .cli import console, fail
from .commands import catalog_app, results_folder


@catalog_app.command("doctor")
def catalog_doctor(results: Path = typer.Option(Path("results"), "--results"),
                   repair: bool = typer.Option(False, "--repair",
                                               help="move the damaged files to RESULTS/_quarantine/ (nothing is deleted)")) -> None:
    """List the part files that cannot be read (empty, truncated, not Parquet, columns that do not
    cast, unfinished .tmp writes); with --repair, quarantine them."""
    from neurovar.catalog import parts

    try:
        results_folder(results, must_exist=True)
    except SpecError as e:
        fail(str(e))
    found = parts.damaged(results)
    if not found:
        console.print(f"{results}: every part file reads cleanly", highlight=False)
        return
    for d in found:
        rows = "" if d.rows is None else f" ({d.rows} row(s) named by cell key)"
        console.print(f"{d.path}: {d.reason}{rows}", highlight=False, soft_wrap=True)
    if not repair:
        console.print(f"{len(found)} damaged file(s): neurovar catalog doctor --repair moves them to "
                      f"{results / parts.QUARANTINE}/", highlight=False, soft_wrap=True)
        return
    moved = parts.quarantine(results, [d.path for d in found])
    rows = sum(d.rows or 0 for d in found)
    console.print(f"quarantined {len(moved)} file(s) in {results / parts.QUARANTINE}/ ({rows} row(s) named by key); "
                  "the next neurovar run of their grids computes the cells that are missing", highlight=False,
                  soft_wrap=True)


def lost_count(todo: list, results: Path) -> int:
    """How many of the cells ``todo`` lived only in damaged or quarantined part files
    (call after planning, which read every part file)."""
    from neurovar.catalog import parts

    lost: set[str] = set()
    for comp in sorted({c.computation for c in todo}):
        lost |= parts.lost_keys(comp, results)
    return sum(1 for c in todo if c.key in lost) if lost else 0  # no damage: no key computed


def lost_line(plan: dict, results: Path) -> str | None:
    """The line a run prints when some of its cells were lost with damaged part files."""
    n = lost_count(plan["todo"], results)
    if not n:
        return None
    return f"{n} cell(s) to run lived only in damaged or quarantined part files; they are computed again"
