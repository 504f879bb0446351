"""``neurovar run`` and ``neurovar catalog``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from neurovar.pipeline.errors import SpecError

from .cli import app, console, err_console, fail

catalog_app = typer.Typer(help="Inspect the Parquet catalog.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")


def _quiet_prefect() -> None:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    # the temporary server of a first run migrates its database: give it time
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


@app.command()
def run(
    spec_file: Path = typer.Argument(..., help="a grid file, e.g. grids/quickstart.yaml"),
    results: Path = typer.Option(Path("results"), "--results", help="catalog root"),
    workers: Optional[int] = typer.Option(None, "--workers", help="local Dask workers (default: one per core)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="an existing Dask scheduler, tcp://HOST:8786 (or DASK_SCHEDULER_ADDRESS)"),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="start workers through a batch queue: slurm or pbs (dask-jobqueue)"),
    cluster_config: Optional[Path] = typer.Option(None, "--cluster-config", help="YAML with the job queue settings"),
    dry_run: bool = typer.Option(False, "--dry-run", help="count the cells and show a sample; run nothing"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="recompute cells recorded as timeout or error"),
    recompute_stale: bool = typer.Option(False, "--recompute-stale",
                                         help="also recompute the catalog's stale rows (computed by other code) of the grid's computations"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Run every cell of a grid that is not yet in the catalog."""
    from neurovar.pipeline.grid import load_grid

    try:
        results_folder(results)
        spec = load_grid(spec_file)
        if workers is not None and workers < 1:
            raise SpecError("--workers", f"must be at least 1, got {workers}")
        if cluster is not None:
            from .hpc import load_cluster_config

            load_cluster_config(cluster, cluster_config)
        from .cluster import scheduler_address

        scheduler_address(scheduler)
        cells = spec.cells()
    except SpecError as e:
        fail(str(e))
    extra = stale_extra_cells(spec, cells, results) if recompute_stale else []
    if dry_run:
        from neurovar.catalog import store

        present = set()
        for comp in spec.computations:
            present |= store.keys(comp, results)
        new = [c for c in cells + extra if c.key not in present]
        console.print(f"grid [bold]{spec.name}[/]: {len(cells)} cells, {len(cells) - len(new)} already in {results}, {len(new)} to run")
        for c in new[:10]:
            console.print(f"  {c.describe()}", highlight=False)
        if len(new) > 10:
            console.print(f"  ... and {len(new) - 10} more")
        return
    _quiet_prefect()
    from . import flow as flow_mod

    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err_console, transient=False, disable=as_json,
    )
    state = {"task": None}

    def hook(event, **info):
        if event == "plan":
            if info["skipped"]:
                err_console.print(f"{info['skipped']} of {info['planned']} cells already in the catalog")
            if info["todo"]:
                state["task"] = progress.add_task(spec.name, total=info["todo"], failed=0)
                progress.start()
        elif event == "batch" and state["task"] is not None:
            recs = info["records"]
            bad = sum(1 for r in recs if r["status"] != "ok")
            t = progress.tasks[0]
            progress.update(state["task"], advance=len(recs), failed=t.fields["failed"] + bad)

    flow_mod.PROGRESS_HOOK = hook
    try:
        summary = flow_mod.run_grid(spec, results=str(results), workers=workers, scheduler=scheduler,
                                    retry_failed=retry_failed, spec_path=str(spec_file), cluster=cluster,
                                    cluster_config=str(cluster_config) if cluster_config else None,
                                    **({"extra_cells": extra} if extra else {}))
    except SpecError as e:
        progress.stop()
        fail(str(e))
    finally:
        progress.stop()
        flow_mod.PROGRESS_HOOK = None
    if as_json:
        print(json.dumps(summary))
        return
    if summary["computed"] == 0:
        console.print(f"grid [bold]{spec.name}[/]: all {summary['planned']} cells already in {results}; computed 0 new cells")
    else:
        console.print(
            f"grid [bold]{spec.name}[/]: computed {summary['computed']} new cells "
            f"([green]{summary['ok']} ok[/], {summary['timeout']} timeout, [red]{summary['error']} error[/]) "
            f"in {summary['seconds']:.1f} s; {summary['skipped']} were already in {results}"
        )
    console.print(f"catalog: {results}/  (flow run {summary['flow_run_id']})", highlight=False)


def _show_df(df, limit: int, title: str | None = None) -> None:
    table = Table(title=title, show_lines=False)
    for col in df.columns:
        table.add_column(str(col), overflow="fold")
    for _, row in df.head(limit).iterrows():
        table.add_row(*[json.dumps(v) if isinstance(v, (list, dict)) else str(v) for v in row.tolist()])
    console.print(table)
    if len(df) > limit:
        console.print(f"... {len(df) - limit} more rows (use --limit)")


def stale_extra_cells(spec, cells, results: Path) -> list:
    """The cells of the catalog's stale rows of the grid's computations that the grid does not
    already plan (``neurovar run --recompute-stale``), rebuilt with the current code's keys."""
    from neurovar.catalog import store

    grid_keys = {c.key for c in cells}
    extra = []
    for comp in spec.computations:
        extra += [c for c in store.stale_cells(comp, results) if c.key not in grid_keys]
    return extra


def results_folder(results: Path, must_exist: bool = False) -> Path:
    """``--results`` checked: a folder (or, for a run, a path where one can be made); raises SpecError."""
    if results.exists() and not results.is_dir():
        raise SpecError("--results", f"{results} is a file, not a folder: name the catalog's folder")
    if must_exist and not results.is_dir():
        raise SpecError("--results", f"no catalog at {results}: run a grid first (neurovar run grids/quickstart.yaml)")
    return results


def print_ignored(ignored: dict[str, dict[str, int]]) -> None:
    """One line per computation that left rows out (stale rows), with the reason."""
    for comp, reasons in ignored.items():
        for why, n in reasons.items():
            console.print(f"{comp}: ignored {n} row(s), {why} (--all-versions includes them; "
                          f"neurovar run --recompute-stale recomputes them)", highlight=False)


@catalog_app.command("ls")
def catalog_ls(results: Path = typer.Option(Path("results"), "--results"),
               all_versions: bool = typer.Option(False, "--all-versions", help="count stale rows too")) -> None:
    """List the computations in the catalog with their row counts (current rows; stale rows counted apart)."""
    from neurovar.catalog import store

    try:
        results_folder(results, must_exist=True)
    except SpecError as e:
        fail(str(e))
    table = Table("computation", "rows", "ok", "timeout", "error", "stale", "files")
    for comp in store.present_computations(results):
        df = store.load(comp, results, parse_json=False, all_versions=all_versions)
        c = df["status"].value_counts()
        table.add_row(comp, str(len(df)), str(c.get("ok", 0)), str(c.get("timeout", 0)), str(c.get("error", 0)),
                      str(len(store.stale(comp, results))), str(len(store.part_files(comp, results))))
    console.print(table)


@catalog_app.command("stale")
def catalog_stale(results: Path = typer.Option(Path("results"), "--results"),
                  limit: int = typer.Option(30, "--limit", help="rows shown per computation"),
                  as_json: bool = typer.Option(False, "--json", help="print {computation: [cell_key, ...]}")) -> None:
    """List the stale rows per computation: rows computed by code other than the current one."""
    from neurovar.catalog import store

    try:
        results_folder(results, must_exist=True)
    except SpecError as e:
        fail(str(e))
    out = {}
    for comp in store.present_computations(results):
        df = store.stale(comp, results)
        out[comp] = df
    if as_json:
        print(json.dumps({c: df["cell_key"].tolist() for c, df in out.items()}))
        return
    total = 0
    for comp, df in out.items():
        total += len(df)
        console.print(f"{comp}: {len(df)} stale row(s) (current code fingerprint {store.current_fingerprint(comp)})",
                      highlight=False)
        if len(df):
            df = df.assign(reason=df["code_fingerprint"].map(store.stale_reason))
            cols = [c for c in ("cell_key", "widths", "activation", "status", "git_revision", "reason") if c in df]
            _show_df(df[cols], limit)
    if total:
        console.print(f"{total} stale row(s): neurovar run GRID --recompute-stale recomputes them", highlight=False)


def _parse_where(where: list[str]) -> dict:
    out = {}
    for w in where:
        if "=" not in w:
            raise SpecError("--where", f"expected COLUMN=VALUE, got {w!r}")
        k, v = w.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


@catalog_app.command("show")
def catalog_show(
    computation: str = typer.Argument(...),
    results: Path = typer.Option(Path("results"), "--results"),
    where: list[str] = typer.Option([], "--where", help="COLUMN=VALUE (JSON values: --where widths=[2,2,1])"),
    columns: Optional[str] = typer.Option(None, "--columns", help="comma-separated columns"),
    limit: int = typer.Option(30, "--limit"),
    all_versions: bool = typer.Option(False, "--all-versions", help="show stale rows too"),
) -> None:
    """Show the rows of one computation."""
    from neurovar.catalog import store

    try:
        results_folder(results, must_exist=True)
        df = store.load(computation, results, filters=_parse_where(where), all_versions=all_versions)
        ignored = dict(df.attrs.get("ignored", {}))
        if columns:
            cols = [c.strip() for c in columns.split(",")]
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise SpecError("--columns", f"unknown column {missing[0]!r}")
            df = df[cols]
        else:
            keep = [c for c in df.columns if c not in store.PROVENANCE or c in ("status", "seconds")]
            df = df[[c for c in keep if df[c].notna().any()]] if len(df) else df[keep]
    except SpecError as e:
        fail(str(e))
    _show_df(df, limit, title=f"{computation} ({len(df)} rows)")
    print_ignored({computation: ignored})


@catalog_app.command("runs")
def catalog_runs(results: Path = typer.Option(Path("results"), "--results")) -> None:
    """One row per flow run."""
    from neurovar.catalog import store

    df = store.load_runs(results)
    cols = ["run_id", "spec_name", "started", "ended", "cells_planned", "cells_skipped", "cells_ok",
            "cells_timeout", "cells_error", "status", "flow_run_id"]
    _show_df(df[cols], 100, title="runs")


@catalog_app.command("compact")
def catalog_compact(results: Path = typer.Option(Path("results"), "--results")) -> None:
    """Merge each computation's part files into one."""
    from neurovar.catalog import store

    for comp in store.present_computations(results):
        before, rows = store.compact(comp, results)
        console.print(f"{comp}: {before} files -> 1 file, {rows} rows")
