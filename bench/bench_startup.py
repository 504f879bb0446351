"""Where the seconds of ``neurovar run`` go: wall-clock times as a user sees them.

Runs the quickstart grid (90 cells) as a subprocess, the way a user does:

1. a first run with Prefect's temporary server (no ``PREFECT_API_URL``);
2. a rerun with nothing to do (target: at most 3 s; it starts no server);
3. a run that computes with a server from ``neurovar server start`` already up
   (the catalog emptied first), against run 1 in the same process;

and prints the phases of one run measured in-process: importing Prefect,
starting the temporary server, a first empty flow run, starting a
``LocalCluster``, the workers' first batch (their cell runner's imports).

``--only one-cell``: the start-up of a one-cell call (``neurovar compute ...``,
what scripts run), as CPU time (user + sys, so a busy machine distorts it
little): a tiny cell against, in the same process, an interpreter that only
imports the libraries such a call needs (numpy with one BLAS thread,
python-flint, pydantic with one model built, click). Their ratio is what
neurovar's own code and imports add (1.0 would be nothing).

    python bench/bench_startup.py [--workers 2] [--only run|one-cell]
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import neurovar_cmd  # noqa: E402

PHASES = r'''
import time
t = time.perf_counter()
def lap(what):
    global t
    n = time.perf_counter(); print(f"  {what:34s} {n - t:6.2f} s", flush=True); t = n
if __name__ == "__main__":
    import prefect; lap("import prefect")
    from neurovar.flows import flow; lap("import the flow module")
    from prefect.server.api.server import SubprocessASGIServer
    s = SubprocessASGIServer(); s.start(); lap("temporary Prefect server start")
    from prefect import flow as pflow
    @pflow
    def empty(): return 1
    empty(); lap("first (empty) flow run")
    empty(); lap("second (empty) flow run")
    from neurovar.flows.cluster import dask_client
    from neurovar.pipeline.cells import make_cell
    from neurovar.pipeline.runner import run_batch
    with dask_client(None, WORKERS) as c:
        c.wait_for_workers(WORKERS); lap(f"LocalCluster({WORKERS}) start")
        cell = make_cell("dimension", {"model": "linear", "widths": [2, 1, 2]}, timeout_s=60)
        c.gather(c.map(run_batch, [[cell]] * WORKERS, pure=False)); lap("first batch per worker (runner start)")
    lap("LocalCluster close")
    s.stop(); lap("temporary server stop")
'''


def timed(args: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.monotonic()
    p = subprocess.run(neurovar_cmd() + args, capture_output=True, text=True, env=env, timeout=1800)
    return time.monotonic() - t0, p


#: the libraries a one-cell call cannot do without, loaded as it loads them (one BLAS thread, a model built)
LIBRARIES = ("import numpy, numpy.random, flint, click\n"
             "from pydantic import BaseModel\n"
             "class Spec(BaseModel):\n    x: int = 0\n")
ONE_CELL = ["compute", "dimension", "--model", "linear", "--widths", "2,1,2", "--json"]


def cpu_seconds(cmd: list[str], env: dict) -> float:
    """User + sys CPU seconds of one process (and of the processes it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert p.returncode == 0, p.stderr
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def one_cell(env: dict, repeats: int = 7) -> dict:
    """CPU seconds of ``neurovar compute`` on a tiny cell against its libraries' imports (medians)."""
    for folder in ("neurovar", "pipeline", "flows", "catalog"):  # as `pip install` leaves them
        compileall.compile_dir(str(ROOT / folder), quiet=1)
    libs, call = [], []
    for _ in range(repeats):  # interleaved, so that a change of load hits both alike
        libs.append(cpu_seconds([sys.executable, "-c", LIBRARIES], {**env, "OPENBLAS_NUM_THREADS": "1"}))
        call.append(cpu_seconds(neurovar_cmd() + ONE_CELL, env))
    out = {"libraries": statistics.median(libs), "one_cell": statistics.median(call)}
    print(f"one-cell call start-up, CPU seconds (medians of {repeats}):")
    print(f"  {'libraries it needs (numpy, python-flint, pydantic, click)':64s} {out['libraries']:6.3f} s")
    print(f"  {'neurovar ' + ' '.join(ONE_CELL):64s} {out['one_cell']:6.3f} s")
    print(f"  ratio call / libraries: {out['one_cell'] / out['libraries']:.2f}")
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", choices=["run", "one-cell"], default=None)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="neurovar-startup-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PREFECT_HOME": str(tmp / "prefect-home"), "PREFECT_LOGGING_LEVEL": "WARNING",
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}  # as `neurovar run` sets them
    env.pop("PREFECT_API_URL", None)
    out = {}
    if args.only in (None, "one-cell"):
        out.update(one_cell(env))
    if args.only == "one-cell":
        return out
    grid = str(ROOT / "grids" / "quickstart.yaml")
    res = str(tmp / "results")
    out["first"], p = timed(["run", grid, "--results", res, "--workers", str(args.workers)], env)
    assert p.returncode == 0, p.stderr
    out["noop"], p = timed(["run", grid, "--results", res, "--workers", str(args.workers)], env)
    assert p.returncode == 0 and "computed 0 new cells" in p.stdout, p.stderr
    out["server_start"], p = timed(["server", "start", "--port", str(_free_port())], env)
    assert p.returncode == 0, p.stderr
    try:
        shutil.rmtree(res)
        out["with_server"], p = timed(["run", grid, "--results", res, "--workers", str(args.workers)], env)
        assert p.returncode == 0 and "temporary server" not in p.stderr, p.stderr
        shutil.rmtree(res)
        out["temporary_again"], p = timed(["run", grid, "--results", res, "--workers", str(args.workers)],
                                          {**env, "PREFECT_HOME": str(tmp / "prefect-home-2")})
    finally:
        subprocess.run(neurovar_cmd() + ["server", "stop"], env=env, capture_output=True, timeout=60)
    print(f"quickstart, {args.workers} workers, wall clock:")
    print(f"  first run (temporary server, new PREFECT_HOME)  {out['first']:6.1f} s")
    print(f"  rerun with nothing to do                        {out['noop']:6.1f} s   (target <= 3 s)")
    print(f"  `neurovar server start` (once)                  {out['server_start']:6.1f} s")
    print(f"  run with that server running                    {out['with_server']:6.1f} s")
    print(f"  run with a temporary server (new PREFECT_HOME)  {out['temporary_again']:6.1f} s   "
          f"(with server / temporary = {out['with_server'] / out['temporary_again']:.2f})")
    print("phases of one run, in-process:")
    subprocess.run([sys.executable, "-c", PHASES.replace("WORKERS", str(args.workers))], env=env, timeout=600)
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
