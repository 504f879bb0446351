"""``neurovar run`` and ``neurovar catalog``."""

from __future__ import annotations

import json
import os
import textwrap
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
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="an existing Dask scheduler, tls://HOST:8786 or tcp://... (or DASK_SCHEDULER_ADDRESS)"),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="start workers through a batch queue: slurm or pbs (dask-jobqueue)"),
    cluster_config: Optional[Path] = typer.Option(None, "--cluster-config", help="YAML with the job queue settings"),
    dry_run: bool = typer.Option(False, "--dry-run", help="count the cells, estimate their CPU and wall time; run nothing"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="recompute cells recorded as timeout or error"),
    recompute_stale: bool = typer.Option(False, "--recompute-stale",
                                         help="also recompute the catalog's stale rows (computed by other code) of the grid's computations"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    worker_timeout: Optional[float] = typer.Option(None, "--worker-timeout",
                                                   help="seconds the cluster has to start its first worker before "
                                                        "the run fails (default 300, NEUROVAR_WORKER_TIMEOUT)"),
    insecure: bool = typer.Option(False, "--insecure", help="no TLS for the scheduler of --cluster (warns on each run)"),
    tls_ca_file: Optional[Path] = typer.Option(None, "--tls-ca-file", help="TLS: the certificate authority (PEM)"),
    tls_cert: Optional[Path] = typer.Option(None, "--tls-cert", help="TLS: this side's certificate (PEM)"),
    tls_key: Optional[Path] = typer.Option(None, "--tls-key", help="TLS: the certificate's private key (PEM)"),
) -> None:
    """Run every cell of a grid that is not yet in the catalog.

    The environment is checked before anything starts (exit 2, one line): a writable
    --results, a scheduler that answers, a batch queue's submit command on PATH.

    Ctrl-C (or SIGTERM) stops the run within seconds: the finished batches stay
    in the catalog, the run's row in _runs says interrupted, and a rerun
    computes only what is missing (exit status 130, or 143 for SIGTERM).
    """
    from neurovar.catalog.rerun import changes_lines, record_upgrade_changes, stale_rows
    from neurovar.pipeline.grid import load_grid

    from . import signals
    from .cluster import default_workers
    from .runs import plan_grid

    pre = {"row": None}
    with signals.handling(record=lambda s: _record_early_interrupt(pre), message=lambda s: "interrupted: no cell ran; rerun to start"):
        try:
            results_folder(results)
            from .cluster import configure_security

            configure_security(insecure, tls_ca_file, tls_cert, tls_key)  # before --scheduler is checked
            if workers is not None and workers < 1:
                raise SpecError("--workers", f"must be at least 1, got {workers}")
            if worker_timeout is not None and not worker_timeout > 0:
                raise SpecError("--worker-timeout", f"must be a positive number of seconds, got {worker_timeout}")
            if not dry_run:  # first: a wrong environment is said within seconds, whatever the grid
                from .environment import check_environment

                check_environment(results, scheduler, cluster, cluster_config)
            spec = load_grid(spec_file)
            n_workers = workers or default_workers()
            before = stale_rows(spec.computations, results) if recompute_stale else None
            cells = spec.cells()
            extra = stale_extra_cells(spec, cells, results) if recompute_stale else []
            # the one plan of the run, made before Prefect (a no-op run starts no server) and handed to the flow
            plan = plan_grid(spec, results, n_workers, retry_failed, extra, cells=cells)
        except SpecError as e:
            fail(str(e))
        _say_lost(plan, results, as_json)
        if dry_run:
            _print_dry_run(spec, plan, results, n_workers)
            return
        if not plan["todo"]:
            _finish_noop(spec, plan, results, n_workers, scheduler, cluster, spec_file, as_json)
            return
        pre.update(spec=spec, plan=plan, results=results, workers=n_workers, scheduler=scheduler, cluster=cluster,
                   spec_path=str(spec_file))
        from neurovar.pipeline.processes import remove_stale_tempdirs

        remove_stale_tempdirs()  # solver folders left by SIGKILLed runs
        _prefect_ready(as_json)
        summary = _run_flow(spec, spec_file, results, workers, scheduler, retry_failed, cluster, cluster_config,
                            as_json, plan, worker_timeout)
    if before is not None:  # what the upgrade changed: counts and each changed value, also in _runs and the report
        summary["stale_changes"] = record_upgrade_changes(before, results, summary["run_id"])
    if as_json:
        print(json.dumps(summary))
    if summary.get("status") == "failed":
        from .runs import interrupted_line

        saved = summary["computed"]
        tail = interrupted_line(saved, saved + summary.get("not_computed", 0)).split(": ", 1)[1]
        fail(f"{summary.get('message', 'the run failed')}; {tail}", code=1)
    if as_json:
        return
    console.print(
        f"grid [bold]{spec.name}[/]: computed {summary['computed']} new cells "
        f"([green]{summary['ok']} ok[/], {summary['timeout']} timeout, [red]{summary['error']} error[/]) "
        f"in {summary['seconds']:.1f} s; {summary['skipped']} were already in {results}"
    )
    console.print(f"catalog: {results}/  (flow run {summary['flow_run_id']})", highlight=False)
    if before is not None:
        console.print("\n".join(changes_lines(summary["stale_changes"])), highlight=False, markup=False, soft_wrap=True)


def _say_lost(plan, results, as_json) -> None:
    from .catalog_damage import lost_line

    line = lost_line(plan, results)
    if line:
        (err_console if as_json else console).print(line, highlight=False, soft_wrap=True)


def _record_early_interrupt(pre: dict) -> None:
    """The ``_runs`` row of a run interrupted before its flow started (or before it wrote its own)."""
    from . import flow as flow_mod
    from .runs import finish_run_row, new_run_row

    if pre.get("spec") is None or flow_mod.CURRENT.get("row") is not None:
        return
    row = new_run_row(pre["spec"], pre["plan"], pre["workers"], pre["scheduler"], pre["cluster"], pre["spec_path"])
    finish_run_row(row, {}, "interrupted", pre["results"])


def _finish_noop(spec, plan, results, workers, scheduler, cluster, spec_file, as_json) -> None:
    """A run with nothing to compute: its ``_runs`` row, one line, no Prefect server."""
    from .runs import record_noop_run

    row = record_noop_run(spec, plan, results, workers, scheduler, cluster, str(spec_file))
    if as_json:
        print(json.dumps({"run_id": row["run_id"], "flow_run_id": None, "spec": spec.name, "planned": plan["planned"],
                          "skipped": plan["skipped"], "computed": 0, "ok": 0, "timeout": 0, "error": 0,
                          "seconds": 0.0, "results": str(results), "status": "ok"}))
        return
    console.print(f"grid [bold]{spec.name}[/]: all {plan['planned']} cells already in {results}; computed 0 new cells "
                  f"(run {row['run_id']})", highlight=False, soft_wrap=True)


def _print_dry_run(spec, plan, results, workers: int) -> None:
    """Cells, batches, estimated CPU time (the computations' cost models) and wall time on ``workers``."""
    from .runs import DRY_RUN_WARN_SECONDS, _duration, dry_run_estimate

    est = dry_run_estimate(plan, workers)
    new = plan["todo"]
    console.print(f"grid [bold]{spec.name}[/]: {plan['planned']} cells, {plan['skipped']} already in {results}, "
                  f"{len(new)} to run in {est['batches']} batches")
    per = ", ".join(f"{c} {_duration(t)}" for c, t in sorted(est["by_computation"].items()))
    console.print(f"estimated CPU time {_duration(est['cpu_seconds'])}" + (f" ({per})" if per else "")
                  + f"; wall time about {_duration(est['wall_seconds'])} on {workers} worker{'s' if workers != 1 else ''}",
                  highlight=False)
    if est["worst_cpu_seconds"] > est["cpu_seconds"] * 1.5:
        console.print(f"at most {_duration(est['worst_cpu_seconds'] / workers)} wall if every cell ran to its timeout_s",
                      highlight=False)
    if est["warn"]:
        err_console.print(f"[bold yellow]warning:[/] the estimated wall time is above {_duration(DRY_RUN_WARN_SECONDS)}; "
                          "consider constraints (max_params, max_cells), fewer axis values, or --scheduler/--cluster",
                          highlight=False, soft_wrap=True)
    width = max(40, min(console.width, 100))
    for c in new[:10]:  # wrapped between fields, the continuation indented under the cell
        console.print(textwrap.fill(c.describe(), width=width, initial_indent="  ", subsequent_indent="      ",
                                    break_long_words=False, break_on_hyphens=False), highlight=False, soft_wrap=True)
    if len(new) > 10:
        console.print(f"  ... and {len(new) - 10} more")


def _prefect_ready(as_json: bool) -> None:
    """Use ``PREFECT_API_URL``, else a server from ``neurovar server start``, else start Prefect's
    temporary server now (a Ctrl-C meanwhile is handled like any other)."""
    _quiet_prefect()
    from . import server as server_mod

    if os.environ.get("PREFECT_API_URL"):
        return
    url = server_mod.running_server_url()
    if url:
        os.environ["PREFECT_API_URL"] = url
        return
    from prefect.server.api.server import SubprocessASGIServer

    srv = SubprocessASGIServer()
    srv.start()
    if not as_json:
        from .output import temporary_server_line

        err_console.print(temporary_server_line(srv.address), highlight=False, soft_wrap=True)


def _progress(spec_name: str, as_json: bool):
    """The progress hook: a rich bar on a terminal, plain lines (every 10 s or 5 %) otherwise."""
    import sys

    from .runs import ProgressLines

    bar_ok = console.is_terminal and err_console.is_terminal and not as_json
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err_console, transient=False, disable=not bar_ok,
    )
    state = {"task": None, "lines": None}

    def hook(event, **info):
        if event == "plan":
            if info["skipped"] and not as_json:
                err_console.print(f"{info['skipped']} of {info['planned']} cells already in the catalog")
            if info["todo"]:
                if bar_ok:
                    state["task"] = progress.add_task(spec_name, total=info["todo"], failed=0)
                    progress.start()
                else:
                    state["lines"] = ProgressLines(spec_name, info["todo"], sys.stderr if as_json else sys.stdout)
        elif event == "batch":
            recs = info["records"]
            if state["task"] is not None:
                bad = sum(1 for r in recs if r["status"] != "ok")
                t = progress.tasks[0]
                progress.update(state["task"], advance=len(recs), failed=t.fields["failed"] + bad)
            if state["lines"] is not None:
                from collections import Counter

                state["lines"].update(Counter(r["status"] for r in recs))
        elif event == "tick" and state["lines"] is not None:
            state["lines"].update()

    return progress, hook


def _run_flow(spec, spec_file, results, workers, scheduler, retry_failed, cluster, cluster_config, as_json,
              plan, worker_timeout) -> dict:
    from . import flow as flow_mod

    progress, hook = _progress(spec.name, as_json)
    flow_mod.PROGRESS_HOOK = hook
    try:
        return flow_mod.run_grid(spec, results=str(results), workers=workers, scheduler=scheduler,
                                 retry_failed=retry_failed, spec_path=str(spec_file), cluster=cluster,
                                 cluster_config=str(cluster_config) if cluster_config else None,
                                 plan=plan, worker_timeout=worker_timeout)
    except SpecError as e:
        progress.stop()
        fail(str(e))
    finally:
        progress.stop()
        flow_mod.PROGRESS_HOOK = None


def _show_df(df, limit: int, title: str | None = None, short: dict[str, str] | None = None) -> None:
    """The first ``limit`` rows in the terminal's width: short headers with a legend, or one block per row."""
    from neurovar.catalog.columns import cell_text

    from .output import fit_table, initials, print_lines

    headers = [str(c) for c in df.columns]
    rows = [[cell_text(v) for v in row.tolist()] for _, row in df.head(limit).iterrows()]
    if title:
        console.print(title, highlight=False)
    print_lines(console, fit_table(headers, rows, console.width, short=short or initials(headers)))
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
        console.print(f"{comp}: {len(df)} stale row(s)", highlight=False)
        if len(df):
            df = df.assign(reason=df["code_fingerprint"].map(store.stale_reason))
            cols = [c for c in ("cell_key", "model", "widths", "activation", "status", "git_revision", "reason") if c in df]
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
    columns: Optional[str] = typer.Option(None, "--columns", help="comma-separated columns, or 'all' (default: the inputs that vary and the main outputs)"),
    limit: int = typer.Option(30, "--limit"),
    all_versions: bool = typer.Option(False, "--all-versions", help="show stale rows too"),
) -> None:
    """Show the rows of one computation."""
    from neurovar.catalog import store

    try:
        results_folder(results, must_exist=True)
        df = store.load(computation, results, filters=_parse_where(where), all_versions=all_versions)
        ignored = dict(df.attrs.get("ignored", {}))
        if columns and columns.strip() == "all":
            pass
        elif columns:
            cols = [c.strip() for c in columns.split(",")]
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise SpecError("--columns", f"unknown column {missing[0]!r}")
            df = df[cols]
        else:
            from neurovar.catalog.columns import default_columns

            df = df[default_columns(df, computation)]
    except SpecError as e:
        fail(str(e))
    _show_df(df, limit, title=f"{computation} ({len(df)} rows)")
    print_ignored({computation: ignored})


@catalog_app.command("runs")
def catalog_runs(results: Path = typer.Option(Path("results"), "--results")) -> None:
    """One row per flow run."""
    from neurovar.catalog import store

    df = store.load_runs(results)
    _show_df(_runs_view(df), 100, title="runs", short=RUNS_SHORT)


#: the headers of ``catalog runs`` at 80 columns (explained in a legend line)
RUNS_SHORT = {"planned": "plan", "skipped": "skip", "timeout": "t/o", "error": "err"}


def _runs_view(df):
    """One short row per run: when, how long, what it found and did, how it ended."""
    import pandas as pd

    out = pd.DataFrame({
        "run_id": df["run_id"], "grid": df["spec_name"],
        "started": df["started"].map(lambda t: t.strftime("%m-%d %H:%M:%S") if pd.notna(t) else ""),
        "secs": [f"{(e - s).total_seconds():.1f}" if pd.notna(e) and pd.notna(s) else "" for s, e in zip(df["started"], df["ended"])],
        "planned": df["cells_planned"], "skipped": df["cells_skipped"], "ok": df["cells_ok"],
        "timeout": df["cells_timeout"], "error": df["cells_error"], "status": df["status"],
    })
    return out


@catalog_app.command("compact")
def catalog_compact(results: Path = typer.Option(Path("results"), "--results")) -> None:
    """Merge each computation's part files into one (an unreadable file is left where it is)."""
    from neurovar.catalog import store

    for comp in store.present_computations(results):
        before, rows = store.compact(comp, results)
        after = len(store.part_files(comp, results))
        console.print(f"{comp}: {before} files -> {after} file{'s' if after != 1 else ''}, {rows} rows", highlight=False)
