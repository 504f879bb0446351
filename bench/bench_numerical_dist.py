"""One large numerical solve spread over 1 and 2 local Dask workers: the speed-up and the serial fraction.

The solve is a certified count of the generic fiber of a polynomial network by
monodromy and the trace test (:func:`neurovar.pipeline.problems.fiber.numerical_fiber`),
by default the plane quintics as sums of 7 fifth powers, ``--widths 3,7,1
--activation x^5`` (21 unknowns; 5040 = 7! decompositions, one orbit of the
permutations of the neurons) over seed 3, its slowest seed of 0-3 (69.5 s in
one process on the loaded 2-core machine of 2026-12-06, against 13-27 s for
seeds 0-2). It runs as a task on a real local cluster
(``LocalCluster`` of single-threaded worker processes, one per core), its
monodromy rounds, trace-test paths and extra witnesses' loops spread over the
other workers in batches sized from the measured seconds per path
(``distribute="always"``, :mod:`neurovar.pipeline.numeric.distribute`). On one
worker its only thread runs the solve, so every round is one batch in that
process (the in-process cost). The count and the completeness must be the same
on every cluster size (asserted).

Printed: the seconds on 1 and 2 workers and the speed-up; the CPU seconds of
each worker process during the solve (on a machine whose cores other work
keeps busy the wall-clock speed-up is not the engine's: the CPU split shows
the extra work that batching costs and how evenly it is shared, and the
1-worker CPU time over the busiest process's is the speed-up to expect on free
cores, waits aside); the serial fraction
``s`` measured on 1 worker (the time outside the spread rounds over the total)
and the Karp-Flatt serial fraction from the 2-worker speed-up; the projected
efficiency at 8, 32 and 128 workers by Amdahl's law ``E(N) = 1 / (N s + 1 - s)``
and by the round model (each round cut into at most ``paths / MIN_CHUNK``
batches of at least ``MIN_TASK_SECONDS``; the serial part unchanged).

The ratios need free cores: on a machine whose cores are busy with other work
the second worker gets less than a core and the figure says so.

Run: python bench/bench_numerical_dist.py [--quick] [--widths 3,7,1 --activation x^5] [--seeds 0,1]
     [--workers 1,2] [--serial]
"""

from __future__ import annotations

import argparse
import os
import time

DEFAULT = dict(widths="3,7,1", activation="x^5", seeds="3")
QUICK = dict(widths="4,5,1", activation="x^3", seeds="0")


def solve(widths: str, activation: str, seed: int, mode: str, time_limit: float) -> dict:
    """One certified fiber count; run as a task on a worker (its loop tasks go to the worker's client)."""
    from neurovar.pipeline.models import build_model
    from neurovar.pipeline.numeric.distribute import LoopExecutor
    from neurovar.pipeline.problems.fiber import numerical_fiber

    client = None
    if mode != "never":
        from distributed import get_client

        client = get_client()
    E = LoopExecutor(mode, client=client)
    model = build_model({"model": "mlp", "widths": [int(w) for w in widths.split(",")], "activation": activation})
    t0 = time.perf_counter()
    r = numerical_fiber(model, seed=seed, distribute=E, time_limit=time_limit)
    return {"seconds": time.perf_counter() - t0, "count": r["fiber_points"], "completeness": r["completeness"],
            "orbits": r["orbits"], "stats": dict(E.stats), "rounds": list(E.round_log), "pid": os.getpid()}


def run(widths, activation, seeds, workers: int, time_limit: float) -> dict:
    """The solves of ``seeds``, one after the other, as tasks on a fresh cluster of ``workers`` processes."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, \
            Client(lc) as client:
        client.wait_for_workers(workers)
        # warm-up: every worker imports the engine before the clock starts
        client.run(lambda: __import__("neurovar.pipeline.problems.fiber"))
        out = []
        for s in seeds:
            cpu0 = client.run(time.process_time)
            r = client.submit(solve, widths, activation, s, "always", time_limit, pure=False).result()
            cpu1 = client.run(time.process_time)
            # CPU seconds of each worker process during the solve: the coordinator's, and the others'
            r["cpu"] = sorted((cpu1[a] - cpu0[a] for a in cpu0), reverse=True)
            out.append(r)
        return out


def model_projection(one: list, Ns=(8, 32, 128)) -> dict:
    """Serial fraction of the 1-worker runs and the projected efficiency at ``Ns`` workers."""
    from neurovar.pipeline.numeric.distribute import MIN_CHUNK, MIN_TASK_SECONDS

    total = sum(r["seconds"] for r in one)
    spread = sum(r["stats"]["spread_seconds"] for r in one)
    s = max(0.0, 1.0 - spread / total)
    rounds = [rd for r in one for rd in r["rounds"]]
    out = {"serial_fraction": s, "serial_seconds": total - spread, "total": total, "rounds": len(rounds)}
    for N in Ns:
        amdahl = 1.0 / (N * s + 1.0 - s)
        t = total - spread
        for paths, sec, _ in rounds:
            cap = max(1, min(N, paths // MIN_CHUNK, int(sec / MIN_TASK_SECONDS) or 1))
            t += sec / cap
        out[N] = (amdahl, total / t / N)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"a small case ({QUICK['widths']} {QUICK['activation']}, "
                                                         "seconds): checks that the bench works, not the speed-up")
    ap.add_argument("--widths", default=None, help=f"network widths (default {DEFAULT['widths']})")
    ap.add_argument("--activation", default=None, help=f"x^r (default {DEFAULT['activation']})")
    ap.add_argument("--seeds", default=None, help=f"solves timed one after the other (default {DEFAULT['seeds']})")
    ap.add_argument("--workers", default="1,2", help="cluster sizes; the first is the baseline")
    ap.add_argument("--serial", action="store_true", help="also time the solves in this process, no cluster")
    ap.add_argument("--time-limit", type=float, default=3600.0, help="seconds per solve")
    args = ap.parse_args()
    base = QUICK if args.quick else DEFAULT
    widths, activation = args.widths or base["widths"], args.activation or base["activation"]
    seeds = [int(s) for s in (args.seeds or base["seeds"]).split(",")]
    sizes = [int(v) for v in args.workers.split(",")]
    print(f"fiber of ({widths}) with {activation}, seeds {seeds}; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    if args.serial:
        t0 = time.perf_counter()
        ser = [solve(widths, activation, s, "never", args.time_limit) for s in seeds]
        print(f"in-process, not spread: {time.perf_counter() - t0:.1f} s, counts "
              f"{[r['count'] for r in ser]} ({', '.join(sorted({r['completeness'] for r in ser}))})")
    runs = {}
    for w in sizes:
        t0 = time.perf_counter()
        rs = run(widths, activation, seeds, w, args.time_limit)
        wall = time.perf_counter() - t0
        runs[w] = rs
        sec = sum(r["seconds"] for r in rs)
        st = [r["stats"] for r in rs]
        speed = sum(r["seconds"] for r in runs[sizes[0]]) / sec
        print(f"{w} worker(s): {sec:.1f} s solving ({wall:.1f} s with the cluster's start), speed-up x{speed:.2f} "
              f"against {sizes[0]}; counts {[r['count'] for r in rs]} ({', '.join(r['completeness'] for r in rs)}); "
              f"batches local/remote {sum(s['local_chunks'] for s in st)}/{sum(s['remote_chunks'] for s in st)}, "
              f"spread rounds {sum(s['spread_rounds'] for s in st)} ({sum(s['spread_seconds'] for s in st):.1f} s)")
        cpu = [sum(r["cpu"][i] for r in rs) for i in range(w)]
        cpu1 = sum(sum(r["cpu"]) for r in runs[sizes[0]])
        print(f"   CPU seconds per worker process {[round(c, 1) for c in cpu]} (total {sum(cpu):.1f}, "
              f"x{sum(cpu) / cpu1:.2f} the {sizes[0]}-worker total); on free cores the speed-up would be about "
              f"x{cpu1 / max(cpu):.2f} (the {sizes[0]}-worker CPU time over the busiest process's)")
        for a, b in zip(runs[sizes[0]], rs):
            assert (a["count"], a["completeness"]) == (b["count"], b["completeness"]), \
                f"the count depends on the cluster size: {a['count']} {a['completeness']} " \
                f"vs {b['count']} {b['completeness']}"
        if args.serial:
            for a, b in zip(ser, rs):
                assert (a["count"], a["completeness"]) == (b["count"], b["completeness"]), "in-process differs"
    if sum(r["seconds"] for r in runs[sizes[0]]) < 60:
        print("note: the baseline solve took under 60 s; give --seeds 3,1,2,0 (solved one after the other) "
              "for a longer run")
    m = model_projection(runs[sizes[0]])
    print(f"serial fraction on {sizes[0]} worker(s): s = {m['serial_fraction']:.3f} ({m['serial_seconds']:.1f} of "
          f"{m['total']:.1f} s outside the {m['rounds']} spread rounds)")
    if 2 in runs and sizes[0] == 1:
        S = sum(r["seconds"] for r in runs[1]) / sum(r["seconds"] for r in runs[2])
        kf = (1 / S - 0.5) / 0.5
        print(f"Karp-Flatt serial fraction from the 2-worker speed-up x{S:.2f}: e = {kf:.3f}")
    for N in (8, 32, 128):
        a, r = m[N]
        print(f"projected efficiency on {N:3d} workers: Amdahl {a:.0%}, round model {r:.0%}")


if __name__ == "__main__":
    main()
