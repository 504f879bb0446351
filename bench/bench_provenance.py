"""What precise provenance costs planning: fingerprints, cell keys and the catalog's done-set.

1. ``code_fingerprint`` of every (computation, model): cold (no cache at all), with the on-disk
   source cache only, and cached in the process (what each planned cell pays).
2. Cell keys of N cells with their real (computation, model) fingerprints, against, in the same
   process, keys whose code part is a constant (baseline: hashing the cell alone). Ratio.
3. ``store.keys`` (the cells already done, stale rows left out) on an N-row catalog, against
   reading the same rows' keys without the staleness test (baseline). Ratio.

    python bench/bench_provenance.py [--cells 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _best(f, repeat: int = 3) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=100_000)
    n = ap.parse_args().cells
    os.environ["NEUROVAR_CACHE_DIR"] = tempfile.mkdtemp(prefix="nv-bench-cache-")

    from neurovar.catalog import store
    from neurovar.pipeline import cells as cells_mod
    from neurovar.pipeline import provenance as P
    from neurovar.pipeline.compute import computations
    from neurovar.pipeline.models import MODELS

    pairs = [(c, m) for c in computations() for m in (None, *MODELS)]

    def all_fingerprints():
        for c, m in pairs:
            try:
                P.code_fingerprint(c, m)
            except Exception:  # noqa: BLE001 - e.g. a model a computation does not build
                pass

    P.clear_caches()
    P._disk_cache.cache_clear()
    t = time.perf_counter()
    all_fingerprints()
    cold = time.perf_counter() - t
    P.clear_caches()
    P._disk_cache.cache_clear()
    t = time.perf_counter()
    all_fingerprints()
    disk = time.perf_counter() - t
    cached = _best(all_fingerprints) / len(pairs)
    print(f"fingerprints of {len(pairs)} (computation, model) pairs: cold {cold:.2f} s, "
          f"on-disk cache {disk:.2f} s, in-process {cached * 1e6:.1f} us each")

    make = cells_mod.make_cell
    spec = [make("dimension", {"model": "mlp", "widths": [2, 3, 1], "activation": "x^2"}, seed=s) for s in range(n // 2)]
    spec += [make("dimension", {"model": "cnn", "filters": [3, 2], "activation": "x^2"}, seed=s) for s in range(n - n // 2)]
    real = _best(lambda: [cells_mod.cell_key(c) for c in spec], 2)
    fp = cells_mod.code_fingerprint
    cells_mod.code_fingerprint = lambda comp, model=None: "0" * 16
    try:
        base = _best(lambda: [cells_mod.cell_key(c) for c in spec], 2)
    finally:
        cells_mod.code_fingerprint = fp
    print(f"cell keys of {n} cells: {n / real:,.0f} keys/s with fingerprints, {n / base:,.0f} keys/s without; "
          f"ratio {real / base:.2f}")

    root = Path(tempfile.mkdtemp(prefix="nv-bench-catalog-"))
    recs = [cells_mod.run_cell(c) for c in (spec[0], spec[-1])]
    for part in range(10):
        rows = [{**recs[i % 2], "cell_key": f"k{part}-{i}"} for i in range(n // 10)]
        store.write_records(rows, "dimension", root)

    def baseline():
        t = store._read_table("dimension", root, columns=["cell_key", "status", "written_at"])
        return set(store._dedupe(t.to_pandas())["cell_key"])

    new = _best(lambda: store.keys("dimension", root))
    old = _best(baseline)
    print(f"done-set of a {n}-row catalog: {new:.3f} s with the staleness test, {old:.3f} s without; "
          f"ratio {new / old:.2f}")
    print("(measured on whatever else the machine is running; compare ratios, not seconds)")


if __name__ == "__main__":
    main()
