"""Benchmark of the edd computation: the msolve solve alone against the whole cell, and phc -b.

For each case the script prints
  * ``msolve``: one msolve call counting the positive-loss Lagrange system mod p
    (the baseline, measured in this process);
  * ``cell``: the whole ``edd`` cell (codimension, second prime, real critical points
    over Q, zero-loss part, positive-dimensional parts), and ``cell/solver``:
    the cell's wall time over the total time spent inside msolve (target <= 2);
  * ``phc``: when PHCpack's ``phc`` is on PATH (Debian package ``phcpack``), the
    number of regular solutions ``phc -b`` finds for the same system (floating
    point homotopy continuation; a second opinion) and its time.

A second table times mlp cells both ways: implicit equations (the baseline) against
parameter space counted by image (``param/implicit``), on varieties where both apply.

Run: ``/work/venv/bin/python bench/bench_edd.py``
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from neurovar.pipeline.algebra import msolve  # noqa: E402
from neurovar.pipeline.algebra.edd_system import _systems, random_point  # noqa: E402
from neurovar.pipeline.algebra.field import MSOLVE_PRIMES  # noqa: E402
from neurovar.pipeline.algebra.parser import parse_system  # noqa: E402
from neurovar.pipeline.algebra.weights import weight_matrix  # noqa: E402
from neurovar.pipeline.compute.edd import EddParams, edd  # noqa: E402
from neurovar.pipeline.papers import ATTENTION_HYPERSURFACE  # noqa: E402

CASES = [
    ("circle, diag(4,1)", "x^2 + y^2 - 1", "diag:4,1"),
    ("plane cubic, identity", "3*x^3 - 5*x^2*y + 7*x*y^2 + 2*y^3 + 11*x^2 - 13*x*y + 17*y^2 + 19*x - 23*y + 29",
     "identity"),
    ("quadric surface, generic", "x^2 + 2*y^2 - 3*z^2 + x*y - 5*y*z + 7*x - 1", "generic"),
    ("attention quartic, generic", ATTENTION_HYPERSURFACE, "generic"),
    ("attention quartic, psd:1", ATTENTION_HYPERSURFACE, "psd:1"),
]


def phc_count(polys, names, timeout=300):
    """Regular solutions found by ``phc -b`` (None if phc is missing)."""
    exe = shutil.which("phc")
    if exe is None:
        return None, None
    ren = {n: f"v{i}" for i, n in enumerate(names)}
    lines = []
    for f in polys:
        text = str(f)
        text = re.sub(r"\b([A-Za-z_]\w*)\b", lambda m: ren.get(m.group(1), m.group(1)), text)
        text = re.sub(r"(\d+)/(\d+)", lambda m: repr(int(m.group(1)) / int(m.group(2))), text)
        text = re.sub(r"(?<![\w.])(\d{12,})(?![\w.])", lambda m: repr(float(int(m.group(1)))), text)
        lines.append(text.replace("**", "^") + ";")
    with tempfile.TemporaryDirectory() as tmp:
        fin, fout = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        open(fin, "w").write(f"{len(polys)} {len(names)}\n" + "\n".join(lines) + "\n")
        t0 = time.perf_counter()
        subprocess.run([exe, "-b", fin, fout], capture_output=True, timeout=timeout, input="")
        sec = time.perf_counter() - t0
        regu = re.findall(r"#regu :\s*(\d+)", open(fout).read()) if os.path.exists(fout) else []
    return (int(regu[-1]) if regu else None), sec


def main():
    if shutil.which("phc") is None:
        print("phc not found (apt-get install phcpack); the phc columns are skipped")
    print(f"{'case':30s} {'edd':>4s} {'msolve s':>9s} {'cell s':>8s} {'cell/solver':>11s} {'cell/msolve':>11s}"
          f" {'phc':>4s} {'phc s':>7s} {'phc/msolve':>10s}")
    for name, eqs, weights in CASES:
        ctx, f = parse_system(eqs)
        n = len(ctx.names())
        Q = weight_matrix(weights, n, seed=0)
        u = random_point(n, 0)
        (R, positive, _), _, _ = _systems(f, Q, u, 1, 0)
        t0 = time.perf_counter()
        base = msolve.solve(positive, R.names, characteristic=MSOLVE_PRIMES[0])
        t_ms = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = edd(None, EddParams(equations=eqs, weights=weights), seed=0)
        t_cell = time.perf_counter() - t0
        pc, pt = phc_count(positive, R.names)
        print(f"{name:30s} {str(out['edd']):>4s} {t_ms:9.3f} {t_cell:8.3f} {t_cell / out['solver_seconds']:11.2f}"
              f" {t_cell / t_ms:11.1f} {str(pc):>4s} {(pt or 0):7.2f} {((pt or 0) / t_ms):10.1f}")
        assert base.distinct == out["positive_loss_points"]
    mlp_table()


MLP_CASES = [((2, 1, 1), "x^3", "generic"), ((2, 1, 1), "x^5", "generic"), ((3, 1, 1), "x^2", "bombieri"),
             ((2, 2, 1), "x^4", "bombieri")]


def mlp_table():
    from neurovar.pipeline.models import build_model

    print(f"\n{'mlp case':34s} {'edd':>4s} {'implicit s':>10s} {'param s':>8s} {'param/implicit':>14s}")
    for widths, act, weights in MLP_CASES:
        model = build_model({"model": "mlp", "widths": list(widths), "activation": act})
        times, counts = [], []
        for method in ("exact-implicit", "exact-parametric"):
            t0 = time.perf_counter()
            out = edd(model, EddParams(weights=weights, method=method, real=False), seed=0)
            times.append(time.perf_counter() - t0)
            counts.append(out["edd"])
        assert counts[0] == counts[1], (widths, act, counts)
        name = f"{widths} {act} {weights}"
        print(f"{name:34s} {counts[0]:4d} {times[0]:10.3f} {times[1]:8.3f} {times[1] / times[0]:14.1f}")


if __name__ == "__main__":
    main()
