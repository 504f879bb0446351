"""``neurovar reproduce``: the literature registry's cells as one grid, then published vs computed.

All selected claims' grid fragments are expanded into cells and run as one grid through the
``neurovar-grid`` Prefect flow (:func:`flows.flow.run_grid`): the same Dask cluster choice, the
same catalog, the same resume (cells already in the catalog are not recomputed). Each claim is then
compared (:mod:`catalog.literature.compare`) and the reproduction report is written as markdown,
HTML and JSON (:mod:`catalog.literature.report`). Exit status 1 when a claim ``differs``.

Example
-------
>>> from neurovar.catalog.literature import load_registry
>>> claims = select_claims(load_registry(), ["alexander-hirschowitz"], quick=True)
>>> per_claim, cells = plan(claims)
>>> len(per_claim["ah-quadrics-5-variables"]), len(cells) <= sum(len(v) for v in per_claim.values())
(3, True)
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import typer

from neurovar.pipeline.errors import SpecError

from .cli import app, console, err_console, fail


@dataclass
class ReproduceSpec:
    """The union of the claims' cells, shaped like a :class:`GridSpec` for the flow (name, hash, cells)."""

    name: str
    cells_list: list
    description: str | None = None

    @property
    def spec_hash(self) -> str:
        return hashlib.sha256(" ".join(sorted(c.key for c in self.cells_list)).encode()).hexdigest()[:16]

    @property
    def computations(self) -> list[str]:
        return sorted({c.computation for c in self.cells_list})

    def cells(self):
        return list(self.cells_list)


def select_claims(papers: dict, names: list[str], quick: bool):
    """The claims of the named papers (all papers when none is named), only the quick ones with ``quick``."""
    unknown = [n for n in names if n not in papers]
    if unknown:
        raise SpecError("PAPER", f"unknown paper {unknown[0]!r}; choose from {', '.join(papers)}")
    chosen = [papers[n] for n in names] if names else list(papers.values())
    return [c for p in chosen for c in p.claims if c.quick or not quick]


def plan(claims, timeout_s: float | None = None):
    """Cells per claim and the deduplicated union (order kept)."""
    from neurovar.catalog.literature import claim_cells

    per_claim = {c.id: claim_cells(c, timeout_s) for c in claims}
    union = {}
    for cells in per_claim.values():
        for cell in cells:
            union.setdefault(cell.key, cell)
    return per_claim, list(union.values())


def load_rows(cells, results: str | Path) -> dict[str, dict]:
    """The catalog rows of ``cells`` by cell key (latest row per key)."""
    from neurovar.catalog import store

    rows: dict[str, dict] = {}
    want = {c.key for c in cells}
    for comp in sorted({c.computation for c in cells}):
        df = store.load(comp, results)
        if len(df) == 0:
            continue
        df = df[df["cell_key"].isin(want)]
        for rec in df.to_dict("records"):
            rows[rec["cell_key"]] = rec
    return rows


def reproduce(papers: dict, names: list[str], quick: bool, results: str | Path, workers: int | None = None,
              scheduler: str | None = None, cluster: str | None = None, cluster_config: str | None = None,
              retry_failed: bool = False, timeout_s: float | None = None, progress=None) -> dict:
    """Run and compare; returns ``{"results": [ClaimResult], "summary": {...}, "run": flow summary}``."""
    from neurovar.catalog.literature.compare import compare_claim

    from . import flow as flow_mod

    claims = select_claims(papers, names, quick)
    per_claim, cells = plan(claims, timeout_s)
    spec = ReproduceSpec(name="reproduce-quick" if quick else "reproduce", cells_list=cells)
    t0 = time.perf_counter()
    flow_mod.PROGRESS_HOOK = progress
    try:
        run = flow_mod.run_grid(spec, results=str(results), workers=workers, scheduler=scheduler,
                                retry_failed=retry_failed, spec_path=None, cluster=cluster,
                                cluster_config=cluster_config)
    finally:
        flow_mod.PROGRESS_HOOK = None
    rows = load_rows(cells, results)
    out = [compare_claim(c, per_claim[c.id], rows) for c in claims]
    wall = time.perf_counter() - t0
    return {"results": out, "summary": summarize(out, wall, quick, len(cells)), "run": run}


def summarize(results, wall: float, quick: bool, cells: int) -> dict:
    """Counts by status, and the confirmed (read or derived) claims with a numbered place."""
    from collections import Counter

    by = Counter(r.status for r in results)
    confirmed = [r for r in results if r.claim.confirmed]
    numbered = [r for r in confirmed if r.claim.numbered]
    ok_num = [r for r in numbered if r.status == "reproduced"]
    return {
        "claims": len(results), "papers": len({r.claim.paper for r in results}), "cells": cells,
        "reproduced": by.get("reproduced", 0), "differs": by.get("differs", 0), "unreached": by.get("unreached", 0),
        "confirmed": len(confirmed), "confirmed_reproduced": sum(r.status == "reproduced" for r in confirmed),
        "numbered_confirmed_reproduced": len(ok_num),
        "papers_numbered_confirmed_reproduced": len({r.claim.paper for r in ok_num}),
        "papers_reproduced": len({r.claim.paper for r in results if r.status == "reproduced"}),
        "wall_seconds": round(wall, 1), "quick": quick,
    }




@app.command("reproduce")
def reproduce_command(
    paper: list[str] = typer.Argument(None, help="paper keys (default: every paper in the registry)"),
    results: Path = typer.Option(Path("results"), "--results", help="catalog root"),
    quick: bool = typer.Option(False, "--quick", help="only the claims marked quick (minutes on 2 cores)"),
    out: Optional[Path] = typer.Option(None, "--out", help="folder for reproduction.md/.html/.json (default RESULTS/reproduce)"),
    registry: Optional[Path] = typer.Option(None, "--registry", help="a folder of paper files (default: the installed registry)"),
    workers: Optional[int] = typer.Option(None, "--workers", help="local Dask workers (default: one per core)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="an existing Dask scheduler, tcp://HOST:8786"),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="slurm or pbs (dask-jobqueue)"),
    cluster_config: Optional[Path] = typer.Option(None, "--cluster-config", help="YAML with the job queue settings"),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="seconds per cell for every claim (default: each claim's timeout_s)"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="recompute cells recorded as timeout or error"),
    list_only: bool = typer.Option(False, "--list", help="list the selected claims and their cells; run nothing"),
    as_json: bool = typer.Option(False, "--json", help="print the per-claim results as JSON"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="also one line per reproduced claim (the HTML report has every claim)"),
) -> None:
    """Recompute the published values of the literature registry and compare them; exit 1 if one differs."""
    from neurovar.catalog.literature import load_registry
    from neurovar.catalog.literature.report import write_reproduction

    try:
        papers = load_registry(registry)
        if workers is not None and workers < 1:
            raise SpecError("--workers", f"must be at least 1, got {workers}")
        if timeout is not None and timeout <= 0:
            raise SpecError("--timeout", f"must be a positive number of seconds, got {timeout}")
        claims = select_claims(papers, paper or [], quick)
        per_claim, cells = plan(claims, timeout)
        if cluster is not None:
            from .hpc import load_cluster_config

            load_cluster_config(cluster, cluster_config)
        from .cluster import scheduler_address

        scheduler_address(scheduler)
    except SpecError as e:
        fail(str(e))
    if list_only:
        from .output import fit_table

        rows = [[c.paper, c.id, c.place, len(per_claim[c.id]), c.source, "yes" if c.quick else ""] for c in claims]
        for line in fit_table(["paper", "claim", "place", "cells", "source", "quick"], rows, console.width):
            console.print(line, highlight=False, soft_wrap=True)
        console.print(f"{len(claims)} claims, {len(cells)} distinct cells")
        return
    from .commands import _prefect_ready

    _prefect_ready(as_json)  # as `neurovar run`: a kept server if there is one, else a temporary one (and its UI)
    state = {"n": 0, "todo": 0}

    def progress(event, **info):
        if event == "plan":
            state["todo"] = info["todo"]
            err_console.print(f"reproduce: {info['planned']} cells, {info['skipped']} already in {results}, "
                              f"{info['todo']} to compute", soft_wrap=True, highlight=False)
        elif event == "batch":
            state["n"] += len(info["records"])

    try:
        res = reproduce(papers, paper or [], quick, results, workers=workers, scheduler=scheduler,
                        cluster=cluster, cluster_config=str(cluster_config) if cluster_config else None,
                        retry_failed=retry_failed, timeout_s=timeout, progress=progress)
    except SpecError as e:
        fail(str(e))
    out_dir = Path(out) if out is not None else Path(results) / "reproduce"
    files = write_reproduction(res["results"], res["summary"], papers, out_dir, results)
    s = res["summary"]
    if as_json:
        print(json.dumps({"summary": s, "claims": [r.as_dict() for r in res["results"]]}, default=str))
    else:
        from .output import reproduce_lines

        title = f"reproduce{' --quick' if quick else ''}: {s['claims']} claims from {s['papers']} papers"
        for line in reproduce_lines(res["results"], title, console.width, verbose):
            console.print(line, highlight=False, soft_wrap=True)
        console.print(f"{s['reproduced']} reproduced, {s['differs']} differ, {s['unreached']} unreached "
                      f"({s['numbered_confirmed_reproduced']} reproduced claims read or derived from a numbered place "
                      f"in {s['papers_numbered_confirmed_reproduced']} papers; claims reproduced in "
                      f"{s['papers_reproduced']} papers) in {s['wall_seconds']} s", highlight=False)
        main = next((f for f in files if str(f).endswith(".html")), files[0])
        console.print(f"report: {main} (beside it: " + ", ".join(Path(f).name for f in files if f != main) + ")",
                      highlight=False)
    if s["differs"]:
        raise SystemExit(1)
