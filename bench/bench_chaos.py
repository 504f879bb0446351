"""Chaos: SIGKILL Dask workers during a run, then the scheduler itself; count what was lost.

Part 1 runs a grid of 26400 cells (dimensions of MLPs, 132 per seed, over 200 seeds; long enough
for a kill every 10 s to land at least five times while batches run) with
``neurovar run --scheduler`` on a cluster of real processes: one ``dask
scheduler`` and three ``dask worker`` processes (each with its nanny) on
127.0.0.1. Every ``--kill-every`` seconds a random worker process gets SIGKILL
(its nanny starts a new one); at least ``--min-kills`` kills happen. The first
worker has 4 threads (``--threads``), as a plain ``dask worker`` on a 4-core
node: its batches run at once, each with a cell runner of its own, and a kill
takes all of them. Then every
part file of the catalog is read raw: each cell must appear exactly once
(lost 0, duplicated 0). The same grid runs undisturbed on the same cluster
for the baseline wall time.

Part 2 starts the grid again in a fresh catalog and SIGKILLs the scheduler once
some batches are saved: the run must exit non-zero within 30 s with a clear
message, the catalog must load with every saved cell once, and ``_runs`` must
say ``failed``. A rerun on a new scheduler completes exactly the missing cells.

Part 3 damages the catalog during a run: once some batches are saved, three
compactions get SIGKILL at random moments, and a random part file is cut to
half its size. When the run ends, ``neurovar catalog doctor --repair`` quarantines
the file, and a rerun must name and compute exactly the cells that lived only in it;
after a last compaction every cell is in the catalog once (lost 0, duplicated 0).

    python bench/bench_chaos.py                  # the full size: 26400 cells, a kill every 10 s
    python bench/bench_chaos.py --seeds 3 --kill-every 2 --min-kills 3   # quicker

The test ``tests/test_chaos.py`` runs the same code on a smaller grid.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import neurovar_cmd  # noqa: E402
from tests.servers import dask_scheduler, start_worker, stop, wait_workers  # noqa: E402

#: a batch may be on a killed worker several times before the scheduler gives up on it
SCHEDULER_ENV = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "50"}


def chaos_grid(seeds: int) -> str:
    """Dimensions of MLPs: 132 architectures and activations per seed, about 12 ms each in a worker."""
    return f"""
name: chaos
computations: [dimension]
model: mlp
axes:
  input_dim: [3, 4, 5]
  hidden: [3, 4, 5, 6, 7, 8]
  depth: [2, 3, 4]
  output_dim: [1]
  activation: ["x^2", "x^3", "x^4"]
  seed: {list(range(seeds))}
constraints: {{max_ambient_dim: 3000}}
timeout_s: 120
"""


def _env(tmp: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "TMPDIR": str(tmp), "PREFECT_LOGGING_LEVEL": "WARNING", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def raw_keys(results: Path) -> list[str]:
    """Every ``cell_key`` of every part file, duplicates included."""
    import pyarrow.parquet as pq

    from neurovar.catalog import store

    return [k for f in store.part_files("dimension", results)
            for k in pq.read_table(f, columns=["cell_key"]).column("cell_key").to_pylist()]


def worker_processes(workers: list[subprocess.Popen]) -> list:
    """The worker processes (children of the ``dask worker`` nannies), not the nannies."""
    import psutil

    out = []
    for w in workers:
        try:
            for c in psutil.Process(w.pid).children():
                try:
                    if "resource_tracker" not in " ".join(c.cmdline()):
                        out.append(c)
                except psutil.Error:  # a worker that just died is a zombie until its nanny reaps it
                    pass
        except psutil.NoSuchProcess:
            pass
    return out


def start_cluster(stack: ExitStack, tmp: Path, n_workers: int,
                  threads: tuple[int, ...] = (1,)) -> tuple[str, subprocess.Popen, list]:
    """A scheduler and ``n_workers`` workers; worker ``i`` has ``threads[i]`` threads (the last entry repeats)."""
    os.environ.update(SCHEDULER_ENV)
    addr, sched = stack.enter_context(dask_scheduler(tmp))
    env = {**_env(tmp), **SCHEDULER_ENV}
    workers = [start_worker(tmp, addr, f"w{i}", env, nthreads=threads[min(i, len(threads) - 1)])
               for i in range(n_workers)]
    for w in workers:
        stack.callback(stop, w)
    wait_workers(addr, n_workers, timeout=120)
    return addr, sched, workers


def run_cmd(grid: Path, results: Path, addr: str, tmp: Path) -> subprocess.Popen:
    return subprocess.Popen(neurovar_cmd() + ["run", str(grid), "--results", str(results), "--scheduler", addr, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp))


def run_with_worker_kills(grid: Path, results: Path, addr: str, workers: list, tmp: Path, kill_every: float,
                          min_kills: int, seed: int = 0) -> dict:
    """Run the grid, SIGKILL a random worker when the first batch is saved and every ``kill_every`` s after; the figures."""
    rng = random.Random(seed)
    kills: list[float] = []
    t0 = time.monotonic()
    proc = run_cmd(grid, results, addr, tmp)
    done = threading.Event()

    from neurovar.catalog import store

    def killer():
        while not store.part_files("dimension", results):  # kill while batches run, not while Prefect starts
            if done.wait(0.1):
                return
        wait = 0.0  # the first kill as soon as batches run: a fast machine finishes a small grid in seconds
        while not done.wait(wait):
            procs = worker_processes(workers)
            if not procs:  # every worker is being restarted by its nanny: look again shortly
                wait = 0.1
                continue
            try:
                rng.choice(procs).send_signal(signal.SIGKILL)
                kills.append(time.monotonic() - t0)
            except Exception:
                pass
            wait = kill_every

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    out, err = proc.communicate(timeout=3600)
    done.set()
    th.join()
    wall = time.monotonic() - t0
    keys = raw_keys(results)
    summary = json.loads(out.strip().splitlines()[-1]) if proc.returncode == 0 else {}
    planned = summary.get("planned", 0)
    return {"returncode": proc.returncode, "stderr": err[-2000:], "wall_seconds": wall, "kills": len(kills),
            "kill_times": [round(k, 1) for k in kills], "cells": planned, "rows": len(keys),
            "lost": planned - len(set(keys)), "duplicated": len(keys) - len(set(keys)),
            "errors": summary.get("error", None), "min_kills_met": len(kills) >= min_kills}


def run_undisturbed(grid: Path, results: Path, addr: str, tmp: Path) -> dict:
    t0 = time.monotonic()
    proc = run_cmd(grid, results, addr, tmp)
    out, err = proc.communicate(timeout=3600)
    return {"returncode": proc.returncode, "wall_seconds": time.monotonic() - t0, "stderr": err[-2000:]}


def run_with_scheduler_kill(grid: Path, results: Path, addr: str, sched: subprocess.Popen, tmp: Path,
                            after_parts: int = 2) -> dict:
    """SIGKILL the scheduler once ``after_parts`` batches are saved; time until the run exits."""
    from neurovar.catalog import store

    proc = run_cmd(grid, results, addr, tmp)
    deadline = time.monotonic() + 900
    while len(store.part_files("dimension", results)) < after_parts and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    t_kill = time.monotonic()
    stop(sched, signal.SIGKILL)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    keys = raw_keys(results)
    runs = store.load_runs(results)
    return {"returncode": proc.returncode, "exit_seconds_after_kill": time.monotonic() - t_kill, "stderr": err,
            "rows": len(keys), "duplicated": len(keys) - len(set(keys)),
            "run_status": runs.sort_values("started")["status"].iloc[-1] if len(runs) else None,
            "catalog_loads": len(store.load("dimension", results, parse_json=False)) == len(set(keys))}


#: a compaction of the chaos catalog, saying when it starts (after its imports)
COMPACT = "import sys; from neurovar.catalog import store; print('start', flush=True); store.compact('dimension', sys.argv[1])"


def run_with_damage(grid: Path, results: Path, addr: str, tmp: Path, seed: int = 0, after_parts: int = 3,
                    compaction_kills: int = 3) -> dict:
    """Cut a random part file mid-run and SIGKILL a compaction; repair, rerun, compact; the figures."""
    import re

    import pyarrow.parquet as pq

    from neurovar.catalog import store

    rng = random.Random(seed)
    proc = run_cmd(grid, results, addr, tmp)
    while len(store.part_files("dimension", results)) < after_parts and proc.poll() is None:
        time.sleep(0.1)
    states, killed = [], []
    for i in range(compaction_kills):  # SIGKILL a compaction at a random moment of its reads, write or removals
        compaction = subprocess.Popen([sys.executable, "-c", COMPACT, str(results)], stdout=subprocess.PIPE, text=True,
                                      env=_env(tmp))
        compaction.stdout.readline()  # imported; compacting now
        # the first kill at once, so that one always lands mid-compaction however fast the machine
        time.sleep(0.0 if i == 0 else rng.uniform(0.0, 0.4))
        compaction.send_signal(signal.SIGKILL)
        compaction.wait()
        killed.append(compaction.returncode == -signal.SIGKILL)
        left = [p.name for p in (results / "dimension").iterdir()]
        states.append({"parts": sum(n.startswith("part-") for n in left),
                       "compacted": sum(n.startswith("compact-") for n in left),
                       "tmp": sum(n.endswith(".tmp") for n in left)})
    victim = rng.choice(store.part_files("dimension", results))
    victim_keys = set(pq.read_table(victim, columns=["cell_key"]).column("cell_key").to_pylist())
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    out, err = proc.communicate(timeout=3600)
    first = {"returncode": proc.returncode, "stderr": err[-2000:]}
    others = {k for f in store.part_files("dimension", results) if f != victim
              for k in pq.read_table(f, columns=["cell_key"]).column("cell_key").to_pylist()}
    doctor = subprocess.run(neurovar_cmd() + ["catalog", "doctor", "--repair", "--results", str(results)],
                            capture_output=True, text=True, env=_env(tmp))
    proc = run_cmd(grid, results, addr, tmp)
    out, err = proc.communicate(timeout=3600)
    summary = json.loads(out.strip().splitlines()[-1]) if proc.returncode == 0 else {}
    said = re.search(r"(\d+) cell\(s\) to run lived only in damaged", err)
    subprocess.run(neurovar_cmd() + ["catalog", "compact", "--results", str(results)], capture_output=True, env=_env(tmp))
    keys = raw_keys(results)
    planned = summary.get("planned", 0)
    return {"first_run": first, "compaction_killed": any(killed), "compaction_kills_landed": sum(killed),
            "after_kill": states,
            "victim_rows": len(victim_keys), "lived_only_there": len(victim_keys - others),
            "quarantined": "quarantined 1 file(s)" in doctor.stdout, "returncode": proc.returncode,
            "stderr": err[-2000:], "rerun_said": int(said.group(1)) if said else 0,
            "rerun_computed": summary.get("computed"), "cells": planned, "rows": len(keys),
            "lost": planned - len(set(keys)), "duplicated": len(keys) - len(set(keys))}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200, help="grid size: 132 cells per seed (200 -> 26400 cells)")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", default="4,1",
                    help="threads of each worker, comma-separated, the last repeating (default: one worker of 4 "
                         "threads, as a plain 'dask worker' on a 4-core node, and single-threaded ones)")
    ap.add_argument("--kill-every", type=float, default=10.0)
    ap.add_argument("--min-kills", type=int, default=5)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args(argv)
    threads = tuple(int(t) for t in str(args.threads).split(","))
    tmp = Path(tempfile.mkdtemp(prefix="neurovar-chaos-"))
    grid = tmp / "chaos.yaml"
    grid.write_text(chaos_grid(args.seeds))
    report: dict = {}
    with ExitStack() as stack:
        addr, sched, workers = start_cluster(stack, tmp, args.workers, threads)
        report["chaos"] = run_with_worker_kills(grid, tmp / "chaos", addr, workers, tmp, args.kill_every, args.min_kills)
        if not args.no_baseline:
            report["undisturbed"] = run_undisturbed(grid, tmp / "calm", addr, tmp)
        report["scheduler_kill"] = run_with_scheduler_kill(grid, tmp / "sk", addr, sched, tmp)
    with ExitStack() as stack:  # a new scheduler; the rerun completes what the killed one left
        addr, sched, workers = start_cluster(stack, tmp, args.workers, threads)
        before = len(set(raw_keys(tmp / "sk")))
        proc = run_cmd(grid, tmp / "sk", addr, tmp)
        out, err = proc.communicate(timeout=3600)
        summary = json.loads(out.strip().splitlines()[-1]) if proc.returncode == 0 else {"stderr": err[-2000:]}
        keys = raw_keys(tmp / "sk")
        report["rerun"] = {"returncode": proc.returncode, "skipped": summary.get("skipped"), "saved_before": before,
                           "computed": summary.get("computed"), "rows": len(keys), "unique": len(set(keys)),
                           "cells": summary.get("planned")}
    with ExitStack() as stack:  # part 3: a damaged part file and SIGKILLed compactions
        addr, sched, workers = start_cluster(stack, tmp, args.workers, threads)
        report["damage"] = run_with_damage(grid, tmp / "damage", addr, tmp)
    c = report["chaos"]
    print(f"chaos: {c['cells']} cells on {args.workers} workers (threads {args.threads}), {c['kills']} worker SIGKILLs (every {args.kill_every:g} s): "
          f"lost {c['lost']}, duplicated {c['duplicated']}, error rows {c['errors']}, wall {c['wall_seconds']:.1f} s")
    if "undisturbed" in report:
        u = report["undisturbed"]
        print(f"undisturbed: wall {u['wall_seconds']:.1f} s (chaos / undisturbed = {c['wall_seconds'] / u['wall_seconds']:.2f})")
    s = report["scheduler_kill"]
    print(f"scheduler SIGKILL: exit {s['returncode']} after {s['exit_seconds_after_kill']:.1f} s, _runs status "
          f"{s['run_status']}, {s['rows']} rows saved, duplicated {s['duplicated']}; stderr: {s['stderr'].strip()}")
    r = report["rerun"]
    print(f"rerun: exit {r['returncode']}, skipped {r['skipped']}, computed {r['computed']}, {r['unique']} of {r['cells']} "
          f"cells in the catalog, {r['rows'] - r['unique']} duplicated")
    d = report["damage"]
    print(f"damage: a part file of {d['victim_rows']} rows cut mid-run ({d['lived_only_there']} cells lived only there), "
          f"{d['compaction_kills_landed']} of {len(d['after_kill'])} compactions SIGKILLed mid-way "
          f"(leaving {d['after_kill']}); doctor --repair quarantined it ({d['quarantined']}); "
          f"the rerun said {d['rerun_said']} and computed {d['rerun_computed']}; {d['rows'] - d['duplicated']} "
          f"of {d['cells']} cells in the catalog: lost {d['lost']}, duplicated {d['duplicated']}")
    return report


if __name__ == "__main__":
    main()
