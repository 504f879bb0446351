"""One large numerical solve spread over 1, 2 and 4 local Dask workers: the speed-up.

The solve is a certified ED degree by monodromy and the trace test
(:func:`neurovar.pipeline.numeric.count.certified_count`): a general cubic
hypersurface in ``C^n`` (ED degree ``3 (1 + 2 + ... + 2^(n-1))``, 45 for
``n = 4``), started as a task on a real local cluster (``LocalCluster``,
single-threaded worker processes), its monodromy rounds and trace-test paths
spread over the workers as loop tasks (``distribute="always"``). The same solve
runs in this process without a cluster (``distribute="never"``) as the serial
reference. Times are printed as ratios against the 1-worker time measured in
the same process; the counts must agree on every cluster size.

The ratios depend on free cores: on a machine with fewer cores than workers
the extra workers only add task overhead.

Run: python bench/bench_numerical_dist.py [--n 4] [--workers 1,2,4] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import time


def solve(n: int, mode: str) -> dict:
    from neurovar.pipeline.numeric.count import certified_count
    from neurovar.pipeline.numeric.families import ed_lagrange_family, random_hypersurface

    fam = ed_lagrange_family(random_hypersurface(n, 3, seed=0), [f"x{i + 1}" for i in range(n)])
    t0 = time.perf_counter()
    C = certified_count(fam.system, start_pair=fam.start_pair, seed=0, distribute=mode)
    return {"seconds": time.perf_counter() - t0, "count": C.count, "completeness": C.completeness,
            "found": C.orbits, "loops": C.loops, "pid": os.getpid()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4, help="variables of the cubic (ED degree 3 (2^n - 1))")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--repeat", type=int, default=1, help="runs per cluster size (the fastest is kept)")
    args = ap.parse_args()
    from distributed import Client, LocalCluster

    expected = 3 * (2 ** args.n - 1)
    print(f"general cubic in C^{args.n}: ED degree {expected}; {os.cpu_count()} cores")
    serial = min((solve(args.n, "never") for _ in range(args.repeat)), key=lambda r: r["seconds"])
    print(f"in-process, not spread: {serial['seconds']:.2f} s, count {serial['count']} ({serial['completeness']})")
    times = {}
    for w in [int(v) for v in args.workers.split(",")]:
        with LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, \
                Client(lc) as client:
            client.wait_for_workers(w)
            runs = [client.submit(solve, args.n, "always", pure=False).result() for _ in range(args.repeat)]
        r = min(runs, key=lambda r: r["seconds"])
        times[w] = r["seconds"]
        base = times[min(times)]
        print(f"{w} worker(s): {r['seconds']:.2f} s, speed-up x{base / r['seconds']:.2f} against 1 worker, "
              f"count {r['count']} ({r['completeness']}), chunks local/remote "
              f"{r['loops']['local_chunks']}/{r['loops']['remote_chunks']}")
        assert r["count"] == serial["count"], "the count depends on the cluster size"


if __name__ == "__main__":
    main()
