"""``method: both`` over many seeds on the test suite's ED and fiber tables: how often the numerical count is trusted.

For every case and seed the exact count and the numerical one run on the same data. A trusted numerical
count (Krawczyk certificates, distinct solutions, the trace test or the exact count agreeing) must equal
the exact one; anything else is a lower bound. The table prints, per case, the theory's number, the seeds
trusted, the lower bounds, the trusted counts that differ from the exact one on the same seed (which must
be 0), and the seeds whose instance is special (the exact count differs from the theory for a generic one,
e.g. a random quartic curve with a singular point; both methods are compared on it all the same).

    python bench/bench_both_sweep.py              # 10 seeds per case
    python bench/bench_both_sweep.py --seeds 3 --quick
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from math import comb, factorial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurovar.pipeline.compute.edd import edd  # noqa: E402
from neurovar.pipeline.compute.edd_params import EddParams  # noqa: E402
from neurovar.pipeline.compute.fiber import fiber  # noqa: E402
from neurovar.pipeline.models import build_model  # noqa: E402
from neurovar.pipeline.numeric.families import ed_degree_generic_hypersurface, random_hypersurface  # noqa: E402
from neurovar.pipeline.papers import ATTENTION_HYPERSURFACE  # noqa: E402

TRUSTED = ("trace-test", "exact-agrees")


def cases(quick: bool):
    for n, d in [(2, 2), (2, 3), (3, 2)] + ([] if quick else [(2, 4), (3, 3)]):
        yield (f"hypersurface n={n} d={d}", ed_degree_generic_hypersurface(n, d),
               lambda s, n=n, d=d: _edd(None, EddParams(equations=random_hypersurface(n, d, seed=s),
                                                        weights="identity", method="both", real=False), s))
    for w in [(2, 1, 2), (3, 1, 2)] + ([] if quick else [(3, 1, 3), (3, 2, 3), (4, 2, 3)]):
        m = build_model({"model": "linear", "widths": list(w)})
        yield (f"linear {w}", comb(min(w[0], w[-1]), min(w)),
               lambda s, m=m: _edd(m, EddParams(weights="identity", method="both", real=False), s))
    if not quick:
        yield ("attention hypersurface, generic Q", 14,
               lambda s: _edd(None, EddParams(equations=ATTENTION_HYPERSURFACE, weights="generic", method="both",
                                              real=False), s))
    for w, a in [((2, 2, 1), "x^3")] + ([] if quick else [((2, 3, 1), "x^5")]):
        m = build_model({"model": "mlp", "widths": list(w), "activation": a})
        yield (f"fiber {w} {a}", factorial(w[1]), lambda s, m=m: _fiber(m, s))


def _edd(m, params, seed):
    r = edd(m, params, seed=seed)
    return r["edd"], r["edd_numerical"], r["completeness"]


def _fiber(m, seed):
    r = fiber(m, method="both", confirm=False, seed=seed)
    return r["fiber_points"], r["fiber_points_numerical"], r["completeness"]


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="the cheap cases only")
    args = ap.parse_args(argv)
    rows = []
    print(f"{'case':38s} {'theory':>6s} {'trusted':>8s} {'lower bounds':>13s} {'wrong':>6s} "
          f"{'exact != theory':>16s} {'s/seed':>7s}")
    for name, expected, run in cases(args.quick):
        t0 = time.perf_counter()
        trusted = lower = wrong = exact_wrong = 0
        for seed in range(args.seeds):
            exact, num, completeness = run(seed)
            exact_wrong += exact != expected  # a special instance (e.g. a singular random curve), not an error
            if completeness in TRUSTED:
                trusted += 1
                wrong += num != exact  # what must never happen: a trusted count that is not the exact one
            else:
                lower += 1
        per = (time.perf_counter() - t0) / args.seeds
        rows.append({"case": name, "expected": expected, "trusted": trusted, "lower_bounds": lower,
                     "wrong_trusted": wrong, "exact_wrong": exact_wrong, "seconds_per_seed": round(per, 2)})
        print(f"{name:38s} {expected:6d} {trusted:8d} {lower:13d} {wrong:6d} {exact_wrong:16d} {per:7.1f}",
              flush=True)
    print(json.dumps({"wrong_trusted": sum(r["wrong_trusted"] for r in rows),
                      "exact_wrong": sum(r["exact_wrong"] for r in rows)}))
    return rows


if __name__ == "__main__":
    main()
