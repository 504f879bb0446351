"""Benchmark: threshold search over a family against the direct exact method, in one process.

Baseline (the straightforward exact method): for every tuple and every r, expand
``p_i^r`` with python-flint and take the exact rank of the integer coefficient
matrix (``fmpz_mat.rank``). New: :func:`independence_threshold` (batched rank
test mod p of values at random points for all tuples and all r, exact checks
only where a minor vanishes). Both must give the same histogram of ``min_r``;
the script asserts it and prints seconds and the ratio baseline/new (> 1 means
the new method is faster).

Run: ``python bench/bench_independence.py [--max-r 20]``
"""

from __future__ import annotations

import argparse
import time

from neurovar.pipeline.algebra.tuple_families import parse_family
from neurovar.pipeline.compute.independence import exact_rank
from neurovar.pipeline.compute.independence_threshold import independence_threshold

FAMILIES = [
    "binary_linear:k=4,coef=2",
    "binary_linear:k=6,coef=2",
    "box:nvars=2,deg=2,k=3,coef=1,homogeneous=1",
    "box:nvars=2,deg=2,k=4,coef=1,homogeneous=1",
    "box:nvars=3,deg=1,k=4,coef=1,homogeneous=1",
    "random:nvars=2,deg=3,coef=3,count=4,tuples=100",
]


def baseline(family: str, max_r: int) -> dict[str, int]:
    fam = parse_family(family)
    hist: dict[str, int] = {}
    for batch in fam.batches():
        for t in range(len(batch.tuples)):
            polys = batch.polys(t)
            dependent = [r for r in range(1, max_r + 1) if exact_rank([p**r for p in polys]) < len(polys)]
            top = max(dependent, default=0)
            key = str(top + 1) if top < max_r else f">{max_r}"
            hist[key] = hist.get(key, 0) + 1
    return dict(sorted(hist.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-r", type=int, default=20)
    args = ap.parse_args()
    print(f"{'family':48s} {'tuples':>7s} {'baseline s':>11s} {'new s':>8s} {'ratio':>7s}")
    ratios = []
    for fam in FAMILIES:
        t0 = time.perf_counter()
        base = baseline(fam, args.max_r)
        t1 = time.perf_counter()
        new = independence_threshold(family=fam, max_r=args.max_r)
        t2 = time.perf_counter()
        assert dict(sorted(new["min_r_histogram"].items())) == base, (fam, base, new["min_r_histogram"])
        ratio = (t1 - t0) / (t2 - t1)
        ratios.append(ratio)
        print(f"{fam:48s} {new['tuples_tested']:7d} {t1 - t0:11.3f} {t2 - t1:8.3f} {ratio:7.1f}")
    geo = 1.0
    for r in ratios:
        geo *= r
    print(f"geometric mean ratio baseline/new: {geo ** (1 / len(ratios)):.1f}")


if __name__ == "__main__":
    main()
