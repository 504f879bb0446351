"""``neurovar serve`` and ``neurovar deploy``: scheduled grid runs on a Prefect server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from neurovar.pipeline.errors import SpecError

from .cli import app, console, fail


def _deployments(specs: list[Path], cron, interval, results, scheduler, workers, name, work_pool=None):
    from . import deploy as d

    if name is not None and len(specs) > 1:
        raise SpecError("--name", "give --name only with a single grid file (each grid's deployment is named after it)")
    deps = [d.grid_deployment(s, cron=cron, interval=interval, results=results, scheduler=scheduler,
                              workers=workers, name=name, work_pool=work_pool) for s in specs]
    names = [dep.name for dep in deps]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SpecError("SPEC", f"two grids are both named {sorted(dup)[0]!r}; rename one ('name:' in the YAML)")
    return deps


def _schedule_text(cron, interval) -> str:
    return f"cron {cron!r}" if cron else f"every {interval:g} s"


@app.command()
def serve(
    specs: list[Path] = typer.Argument(..., help="one or more grid files, e.g. grids/quickstart.yaml"),
    cron: Optional[str] = typer.Option(None, "--cron", help="cron schedule, e.g. '0 2 * * *' (02:00 nightly)"),
    interval: Optional[float] = typer.Option(None, "--interval", help="run every this many seconds"),
    results: Path = typer.Option(Path("results"), "--results", help="catalog root"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="a Dask scheduler tcp://HOST:8786 (default: a local cluster per run)"),
    workers: Optional[int] = typer.Option(None, "--workers", help="local Dask workers per run (without --scheduler)"),
    name: Optional[str] = typer.Option(None, "--name", help="deployment name (default: the grid's name)"),
    limit: int = typer.Option(1, "--limit", help="flow runs at the same time in this process"),
) -> None:
    """Register scheduled deployments of grids with the Prefect server and run them here until stopped.

    Needs a real Prefect server (PREFECT_API_URL); every run resumes the catalog,
    computing only the cells that are missing.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from . import deploy as d

    try:
        if limit < 1:
            raise SpecError("--limit", f"must be at least 1, got {limit}")
        deps = _deployments(specs, cron, interval, results, scheduler, workers, name)
        url = d.check_server()
    except SpecError as e:
        fail(str(e))
    for dep in deps:
        console.print(f"serving [bold]{d.scheduled_grid.name}/{dep.name}[/] ({_schedule_text(cron, interval)}), "
                      f"catalog {dep.parameters['results']}", highlight=False, soft_wrap=True)
    console.print(f"Prefect server {url}; stop with Ctrl-C (the schedules are paused on exit)", highlight=False, soft_wrap=True)
    d.serve(deps, limit=limit)


@app.command()
def deploy(
    specs: list[Path] = typer.Argument(..., help="one or more grid files"),
    cron: Optional[str] = typer.Option(None, "--cron", help="cron schedule, e.g. '0 2 * * *'"),
    interval: Optional[float] = typer.Option(None, "--interval", help="run every this many seconds"),
    work_pool: str = typer.Option("neurovar", "--work-pool", help="process work pool (created if missing)"),
    results: Path = typer.Option(Path("results"), "--results", help="catalog root as the workers see it"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="a Dask scheduler tcp://HOST:8786 the workers reach"),
    workers: Optional[int] = typer.Option(None, "--workers", help="local Dask workers per run (without --scheduler)"),
    name: Optional[str] = typer.Option(None, "--name", help="deployment name (default: the grid's name)"),
) -> None:
    """Register scheduled deployments of grids on a (remote) Prefect server, run by a process work pool.

    Start the workers that run them with: prefect worker start --pool NAME
    (on machines with neurovar installed, PREFECT_API_URL pointing at the server).
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from . import deploy as d

    try:
        deps = _deployments(specs, cron, interval, results, scheduler, workers, name, work_pool)
        url = d.check_server()
        ids = d.deploy(deps, work_pool)
    except SpecError as e:
        fail(str(e))
    for dep, dep_id in zip(deps, ids):
        console.print(f"deployment [bold]{d.scheduled_grid.name}/{dep.name}[/] ({_schedule_text(cron, interval)}) "
                      f"id {dep_id}, work pool {work_pool!r}, catalog {dep.parameters['results']}", highlight=False, soft_wrap=True)
    console.print(f"on {url}. Run its flow runs with:  prefect worker start --pool {work_pool}", highlight=False, soft_wrap=True)
