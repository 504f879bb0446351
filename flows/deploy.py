"""Scheduled runs of a grid: Prefect deployments served here or run by a work pool's workers.

``scheduled_grid`` is the flow a deployment runs. Its parameters are plain JSON
(the grid as a mapping, its path, the catalog root, the Dask scheduler), so the
Prefect server stores them with the deployment and every scheduled run gets the
same grid. Each run resumes the catalog: cells whose key is already there are
skipped, so a nightly schedule computes only what a changed grid or a failed
night left missing, and an unchanged grid costs one planning step.

Two ways to run it:

``neurovar serve GRID --interval 3600``
    registers the deployment with the Prefect server at ``PREFECT_API_URL`` and
    runs its scheduled flow runs in this process (``prefect.serve``) until
    stopped; the schedule is paused when it stops.
``neurovar deploy GRID --cron "0 2 * * *" --work-pool NAME``
    registers the deployment on a (remote) Prefect server with a process work
    pool; ``prefect worker start --pool NAME`` on any machine with neurovar
    installed runs the flow runs.

Schedules need a real Prefect server (``prefect server start``): the temporary
server a plain ``neurovar run`` starts has no scheduler.

Example
-------
>>> dep = grid_deployment("grids/quickstart.yaml", interval=3600, results="/data/results")
>>> dep.name, dep.parameters["spec"]["name"], dep.parameters["results"]
('quickstart', 'quickstart', '/data/results')
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

from prefect import flow

from neurovar.catalog import store
from neurovar.pipeline.errors import SpecError
from neurovar.pipeline.grid import GridSpec, load_grid

from .flow import run_grid

ARTIFACT_PREFIX = "neurovar-"


def _artifact_key(name: str) -> str:
    key = "".join(ch if ch.isalnum() else "-" for ch in f"{ARTIFACT_PREFIX}{name}".lower())
    return key.strip("-")


@flow(name="neurovar-scheduled-grid", log_prints=False, persist_result=False)
def scheduled_grid(spec: dict[str, Any] | None = None, spec_path: str | None = None,
                   results: str = store.DEFAULT_ROOT, scheduler: str | None = None,
                   workers: int | None = None, retry_failed: bool = False) -> dict:
    """Run the missing cells of a grid given as a mapping (``spec``) or a file (``spec_path``).

    ``spec`` wins when both are given (``spec_path`` is then kept as provenance).
    Runs :func:`flows.flow.run_grid`'s logic inside this flow run, and records
    the run's summary (cells planned / skipped / computed, ok / timeout / error)
    as a table artifact keyed ``neurovar-<grid name>`` in the Prefect server.
    """
    if spec is not None:
        grid = GridSpec.from_mapping(spec)
    elif spec_path is not None:
        grid = load_grid(spec_path)
    else:
        raise SpecError("spec", "give the grid as 'spec' (a mapping) or 'spec_path' (a YAML file)")
    summary = run_grid.fn(grid, results=results, workers=workers, scheduler=scheduler,
                          retry_failed=retry_failed, spec_path=spec_path)
    try:
        from prefect.artifacts import create_table_artifact

        row = {k: summary[k] for k in ("spec", "planned", "skipped", "computed", "ok", "timeout", "error", "results", "run_id")}
        create_table_artifact([row], key=_artifact_key(grid.name),
                              description=f"neurovar grid {grid.name}: cells computed by this run")
    except Exception:  # the artifact is a convenience; the catalog is the record
        pass
    return summary


def _schedule_kwargs(cron: str | None, interval: float | None) -> dict:
    if cron is not None and interval is not None:
        raise SpecError("--cron", "give either --cron or --interval, not both")
    if cron is None and interval is None:
        raise SpecError("--cron", "give a schedule: --cron '0 2 * * *' (nightly at 02:00) or --interval SECONDS")
    if interval is not None:
        if interval <= 0:
            raise SpecError("--interval", f"must be a positive number of seconds, got {interval}")
        return {"interval": datetime.timedelta(seconds=interval)}
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
    except Exception:
        raise SpecError("--cron", f"not a cron expression: {cron!r}; e.g. '0 2 * * *' (minute hour day month weekday)") from None
    return {"cron": cron}


def grid_deployment(spec_path: str | Path, cron: str | None = None, interval: float | None = None,
                    results: str | Path = store.DEFAULT_ROOT, scheduler: str | None = None,
                    workers: int | None = None, name: str | None = None, work_pool: str | None = None,
                    paused: bool | None = None):
    """A ``RunnerDeployment`` of :func:`scheduled_grid` for one grid file.

    The grid is validated now and stored in the deployment as a mapping, so a
    worker elsewhere needs no copy of the file. The catalog root is stored as
    given (made absolute when it exists here or its parent does).

    Raises
    ------
    SpecError
        for a bad grid (naming the YAML field), schedule or name.
    """
    from prefect.deployments.runner import EntrypointType

    from .cluster import scheduler_address

    spec = load_grid(spec_path)
    spec.cells()  # every cell validated now, not at 02:00
    sched = _schedule_kwargs(cron, interval)
    scheduler_address(scheduler)
    if workers is not None and workers < 1:
        raise SpecError("--workers", f"must be at least 1, got {workers}")
    name = name or spec.name
    if not name or any(ch in name for ch in "/%&><"):
        raise SpecError("--name", f"a deployment name cannot contain / % & > <, got {name!r}")
    res = Path(results)
    if not res.is_absolute() and (res.exists() or res.absolute().parent.exists()):
        res = res.absolute()
    parameters = {
        "spec": spec.model_dump(mode="json", exclude_defaults=True),
        "spec_path": str(Path(spec_path).absolute()),
        "results": str(res),
        "scheduler": scheduler,
        "workers": workers,
    }
    return scheduled_grid.to_deployment(
        name=name,
        parameters=parameters,
        description=spec.description or f"neurovar grid {spec.name} ({len(spec.computations)} computations)",
        tags=["neurovar", spec.name],
        entrypoint_type=EntrypointType.MODULE_PATH,  # flows.deploy.scheduled_grid: importable wherever neurovar is installed
        work_pool_name=work_pool,
        paused=paused,
        **sched,
    )


def api_url() -> str | None:
    """The Prefect API this process talks to (``PREFECT_API_URL`` or the active profile), or None."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url) if url else None


NO_SERVER = (
    "schedules need a running Prefect server, and PREFECT_API_URL is not set. "
    "The temporary server that `neurovar run` starts has no scheduler, so a scheduled "
    "deployment would never run. Start one with `prefect server start` (or `docker compose up -d "
    "prefect-server`), then `export PREFECT_API_URL=http://127.0.0.1:4200/api` "
    "(and PREFECT_API_AUTH_STRING=user:password if the server sets PREFECT_SERVER_API_AUTH_STRING)"
)


def check_server() -> str:
    """The API URL of a reachable Prefect server; raises SpecError('PREFECT_API_URL', ...) otherwise."""
    url = api_url()
    if not url:
        raise SpecError("PREFECT_API_URL", NO_SERVER)
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        exc = client.api_healthcheck()
        if exc is not None:
            raise SpecError("PREFECT_API_URL", f"no Prefect server answers at {url} ({type(exc).__name__}: {exc}); "
                            "start one with `prefect server start` or fix the URL")
        try:
            client.read_work_pools(limit=1)  # an authenticated call: a wrong PREFECT_API_AUTH_STRING fails here
        except Exception as e:
            raise SpecError("PREFECT_API_AUTH_STRING", f"the Prefect server at {url} refused the request ({e}); "
                            "set PREFECT_API_AUTH_STRING to the server's PREFECT_SERVER_API_AUTH_STRING") from None
    return url


def serve(deployments: list, limit: int | None = 1) -> None:
    """Serve deployments here until interrupted (their schedules are paused on shutdown).

    ``limit`` caps concurrent flow runs of this process (default 1: the runs of a
    schedule never overlap, so two runs never compute the same cell).
    """
    import prefect

    try:
        prefect.serve(*deployments, limit=limit, print_starting_message=False)
    finally:
        pause(deployments)


def pause(deployments: list) -> None:
    """Pause the schedules of served ``deployments`` (a warning for each that could not be).

    Prefect's runner pauses them itself on shutdown, but from inside its
    cancelled task group: when Ctrl-C lands while a flow run is being submitted
    or watched, that pause is cancelled with everything else and the schedule
    stays active (a stopped ``serve`` whose runs keep being scheduled, with no
    process left to run them). This second pause, after the runner has gone,
    always happens; pausing twice is harmless.
    """
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for dep in deployments:
            try:
                client.pause_deployment(client.read_deployment_by_name(dep.full_name).id)
            except Exception as e:  # the server went away: nothing is left to schedule runs either
                print(f"warning: could not pause {dep.full_name}: {e}", file=sys.stderr)


def ensure_process_pool(name: str) -> bool:
    """Create the process work pool ``name`` if missing; returns True if it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            return True
    if pool.type != "process":
        raise SpecError("--work-pool", f"work pool {name!r} has type {pool.type!r}; use a process pool "
                        f"(prefect work-pool create NAME --type process)")
    return False


def deploy(deployments: list, work_pool: str) -> list:
    """Register deployments with the Prefect server for the process work pool ``work_pool``."""
    import prefect

    ensure_process_pool(work_pool)
    return prefect.deploy(*deployments, work_pool_name=work_pool, build=False, push=False,
                          print_next_steps_message=False, ignore_warnings=True)
