"""Benchmarks of the numerical engine (pipeline.numeric), each against a baseline run in the same process.

1. Path-tracking throughput: >= 1000 paths of the attention ED parameter homotopy tracked as one
   vectorised batch, against tracking a sample of the same paths one at a time.
2. Monodromy vs msolve on the fiber of the (4, 5, 1) cubic network (20 unknowns, 120 points):
   times and counts (monodromy by the stall criterion, with and without the permutation group),
   msolve under a time limit.
3. phc -b (PHCpack's blackbox solver, if installed) on the attention ED system with generic Q,
   against monodromy + tracking to the same data + Krawczyk certification, both with the stall
   criterion (no target) and with the target 14 taken from the exact count (labelled).
4. The CLI call a user runs (``neurovar compute edd --model attention ... --method numerical``, a whole
   process: start-up, monodromy, certificates, trace test, real count) against ``phc -b`` on the same
   data rescaled, on a quiet machine and with a busy process beside both: both ratios.

5. The standard systems (``--only standard``): cyclic-5..7 and katsura-5..8, whose counts are
   published (cyclic: 70, 156, 924; katsura-n: 2^n), solved by :func:`pipeline.numeric.solve.solve`
   (default start: BKK for cyclic-n, total degree for katsura-n; Krawczyk; a completeness certificate)
   against ``phc -b`` and, where the ``bertini2`` wheel runs, Bertini 2 (its Python API, adaptive precision,
   see bench/_bertini.py), one thread each, in one run: counts, CPU times and the ratios per system.

Run: python bench/bench_numerical.py [--msolve-timeout 120] [--only throughput|phc|cli|fiber|standard]
     [--systems cyclic5,katsura6,...] [--time-limit 1800] [--bertini-max-paths 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction

import numpy as np

from neurovar.pipeline.algebra import msolve
from neurovar.pipeline.numeric import ed_lagrange_family, monodromy_solve, track, waring_family

ATTENTION = ("y1^2*y6^2 + y4^2*y3^2 + y1*y3*y5^2 + y2^2*y4*y6 - 2*y1*y4*y3*y6 - y2*y1*y6*y5"
             " - y2*y4*y3*y5")
VARS = [f"y{i}" for i in range(1, 7)]


def generic_pd_matrix(n, seed):
    A = np.random.default_rng(seed).integers(-3, 4, size=(n, n))
    return (A.T @ A + np.eye(n, dtype=np.int64)).tolist()


def bench_throughput(n_paths: int, n_single: int):
    fam = ed_lagrange_family(ATTENTION, VARS, Q=generic_pd_matrix(6, 5))
    rng = np.random.default_rng(0)
    pairs = [fam.start_pair(rng) for _ in range(n_paths)]
    X = np.array([x for x, _ in pairs])
    P0 = np.array([p for _, p in pairs])
    P1 = P0 + 0.5 * (rng.normal(size=P0.shape) + 1j * rng.normal(size=P0.shape))
    t = time.perf_counter()
    R = track(fam.system, X, P0, P1)
    batch = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(n_single):
        track(fam.system, X[i:i + 1], P0[i], P1[i])
    single = time.perf_counter() - t
    print(f"[throughput] attention ED parameter homotopy, {n_paths} paths: {R.counts()}")
    print(f"  vectorised batch: {batch:.2f} s = {n_paths / batch:.0f} paths/s, "
          f"{int(R.steps.sum()) / batch:.0f} path-steps/s")
    print(f"  one path at a time ({n_single} paths): {n_single / single:.1f} paths/s")
    print(f"  ratio batch/single throughput: {(n_paths / batch) / (n_single / single):.1f}x")


def bench_fiber(msolve_timeout: float):
    from neurovar.pipeline.models import build_model
    from neurovar.pipeline.problems.fiber import numerical_fiber

    n, d, k = 4, 3, 5
    fam = waring_family(n, d, k)
    print("[fiber] (4,5,1) network, s = x^3, gauge w_i1 = 1: 20 unknowns, theory 5! * 1 = 120 points")
    model = build_model({"model": "mlp", "widths": [4, 5, 1], "activation": "x^3"})
    mono = None
    for label, sym in (("with the permutation group", True), ("every point tracked", False)):
        t = time.perf_counter()
        r = numerical_fiber(model, seed=0, use_symmetries=sym)
        secs = time.perf_counter() - t
        mono = mono or secs  # ratios below: against the run with the group
        print(f"  monodromy, stall criterion ({label}): {r['count']} points ({r['certified']} certified "
              f"distinct), stop {r['stop_reason']}, {r['loops']} loops, {r['paths_tracked']} paths, {secs:.1f} s")
    # msolve over F_p on the same system at an integer image point
    rng = np.random.default_rng(1)
    x0 = rng.integers(-5, 6, size=fam.system.n_variables)
    p = np.rint(fam.system.evaluate(x0[None, :].astype(complex), np.zeros(fam.system.n_parameters))[0].real)
    sub = fam.system
    polys = []
    for i in range(sub.n_equations):
        terms = []
        for eq, e, c in sub.terms:
            if eq != i or any(e[sub.n_variables:]):
                continue
            mono_s = "*".join(f"{sub.variables[j]}^{e[j]}" if e[j] > 1 else sub.variables[j]
                              for j in range(sub.n_variables) if e[j])
            terms.append(f"({c})*{mono_s}")
        terms.append(f"({-int(p[i])})")
        polys.append(" + ".join(terms))
    t = time.perf_counter()
    try:
        res = msolve.solve(polys, list(sub.variables), timeout=msolve_timeout)
        ms = time.perf_counter() - t
        print(f"  msolve (F_p): {res.kind}, {res.distinct} points, {ms:.1f} s")
        print(f"  ratio msolve/monodromy time: {ms / mono:.2f}x")
    except msolve.MsolveTimeout:
        ms = time.perf_counter() - t
        print(f"  msolve (F_p): no answer within the {msolve_timeout:.0f} s limit")
        print(f"  ratio msolve/monodromy time: > {ms / mono:.2f}x")


def _phc_input(fam, u) -> str:
    S = fam.system
    lines = [str(S.n_equations)]
    for i in range(S.n_equations):
        terms = []
        for eq, e, c in S.terms:
            if eq != i:
                continue
            coef = Fraction(c)
            for j in range(S.n_parameters):
                coef *= Fraction(u[j]) ** e[S.n_variables + j]
            if coef == 0:
                continue
            mono_s = "*".join(f"{S.variables[j]}**{e[j]}" if e[j] > 1 else S.variables[j]
                              for j in range(S.n_variables) if e[j])
            c_s = f"{coef.numerator}/{coef.denominator}" if coef.denominator != 1 else f"{coef.numerator}"
            terms.append(f"({c_s})" + (f"*{mono_s}" if mono_s else ""))
        lines.append(" + ".join(terms).replace("lambda", "lam") + ";")
    return "\n".join(lines) + "\n"


def bench_phc(repeats: int = 5, phc_repeats: int = 3):
    phc = shutil.which("phc")
    fam = ed_lagrange_family(ATTENTION, VARS, Q=generic_pd_matrix(6, 5))
    u = [Fraction(v) for v in (1, -2, 3, 1, 2, -1)]
    print("[attention ED, generic Q] theory 14 (msolve agrees); ours = monodromy + track to u + certify")
    # one untimed run first (numpy/flint first-call costs; phc's own start-up is inside its time)
    monodromy_solve(fam.system, start_pair=fam.start_pair, seed=99, real_parameters=u)
    times = {}
    for label, target in (("stall criterion, no target", None), ("target 14 from the exact count", 14)):
        ts = []
        for seed in range(repeats):
            t = time.perf_counter()
            R = monodromy_solve(fam.system, start_pair=fam.start_pair, seed=seed, real_parameters=u,
                                target_count=target)
            ts.append(time.perf_counter() - t)
            rc = R.real_certification
            print(f"  ours ({label}), seed {seed}: {R.count} found, {R.certified} certified at p0, "
                  f"{rc.n_distinct} certified at u ({R.real_count} real), {R.loops} loops, "
                  f"{R.paths_tracked} paths, stop {R.stop_reason}, {ts[-1]:.2f} s")
        times[label] = float(np.median(ts))
    if phc is None:
        print("  phc not installed (apt-get install phcpack): skipped")
        return
    tphcs = []
    for k in range(phc_repeats):  # phc -b is randomised too: median of its runs
        with tempfile.TemporaryDirectory() as tmp:
            inp, out = os.path.join(tmp, "in"), os.path.join(tmp, "out")
            with open(inp, "w") as fh:
                fh.write(_phc_input(fam, u))
            t = time.perf_counter()
            subprocess.run([phc, "-b", inp, out], capture_output=True, timeout=1800, check=False)
            tphcs.append(time.perf_counter() - t)
            text = open(out).read() if os.path.exists(out) else ""
        m = re.search(r"Number of regular solutions\s*:\s*(\d+)", text)
        regular = m.group(1) if m else "?"
        m = re.search(r"Number of singular solutions\s*:\s*(\d+)", text)
        singular = m.group(1) if m else "?"
        m = re.search(r"Number of real solutions\s*:\s*(\d+)", text)
        real = m.group(1) if m else "?"
        print(f"  phc -b run {k}: {regular} regular, {singular} singular, {real} real, {tphcs[-1]:.1f} s")
    tphc = float(np.median(tphcs))
    for label, t in times.items():
        print(f"  ratio phc/ours time ({label}; medians of {phc_repeats} and {repeats} runs): "
              f"{tphc:.2f} s / {t:.2f} s = {tphc / t:.2f}x")


CLI_ARGS = ["compute", "edd", "--model", "attention", "--d", "2", "--d-out", "1", "--n", "2", "--t", "2",
            "--weights", "generic", "--method", "numerical", "--json"]


def _cli_data(seed: int):
    """The ``Q``, ``u`` and hypersurface the CLI cell solves (``--weights generic --seed seed``)."""
    from neurovar.pipeline.algebra.edd_system import random_point
    from neurovar.pipeline.algebra.weights import weight_matrix
    from neurovar.pipeline.compute.edd_params import EddParams
    from neurovar.pipeline.compute.edd_varieties import variety_of
    from neurovar.pipeline.models import build_model

    m = build_model({"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 2})
    var = variety_of(m, EddParams(method="numerical"), "exact-implicit")
    n = len(var.names)
    return var.equations[0], list(var.names), weight_matrix("generic", n, seed=seed), random_point(n, seed)


def _compile_package():
    """Byte-compile neurovar's modules once, as ``pip install`` does for a regular install.

    An editable install compiles each module on first import and caches it in ``__pycache__``; with
    ``PYTHONDONTWRITEBYTECODE=1`` in the environment (as on the shared bench machine) nothing is cached
    and every CLI process compiles its ~50 modules from source again (~0.1 s), which is not what a
    user's installation pays. Python still reads existing bytecode under that setting.
    """
    import compileall

    import neurovar.catalog
    import neurovar.flows
    import neurovar.pipeline

    for pkg in (neurovar.pipeline, neurovar.flows, neurovar.catalog):
        for path in pkg.__path__:
            compileall.compile_dir(path, quiet=1)


def _run_cli(seed: int):
    # the console script of this interpreter's environment (what `pip install -e .` puts on a venv's PATH),
    # not a version manager's shell shim in front of it
    exe = os.path.join(os.path.dirname(sys.executable), "neurovar")
    if not os.path.exists(exe):
        exe = shutil.which("neurovar")
    t = time.perf_counter()
    out = subprocess.run([exe, *CLI_ARGS, "--seed", str(seed)], capture_output=True, text=True, timeout=1800)
    dt = time.perf_counter() - t
    text = out.stdout
    row = json.loads(text[text.index("{"): text.rindex("}") + 1])
    return dt, row


def _run_phc(phc: str, text: str):
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        with open(inp, "w") as fh:
            fh.write(text)
        t = time.perf_counter()
        subprocess.run([phc, "-b", inp, out], capture_output=True, timeout=1800, check=False)
        dt = time.perf_counter() - t
        res = open(out).read() if os.path.exists(out) else ""
    m = re.search(r"Number of regular solutions\s*:\s*(\d+)", res)
    return dt, int(m.group(1)) if m else None


def bench_cli_phc(seed: int = 0, repeats: int = 5):
    """What a user runs: ``neurovar compute edd ... --method numerical`` (a whole process) against
    ``phc -b`` on the same system, quiet and with a busy process beside both (medians of ``repeats``).

    The CLI's data (``Q`` with entries ~10^2-10^3, ``u`` ~10^4) is rescaled for phc (``Q / max|Q|``,
    ``u / max|u|``): the attention variety is a cone (its equation is homogeneous), so this is the same
    problem with every critical point scaled by one factor, and phc finds all its regular roots.
    """
    phc = shutil.which("phc")
    G, names, Q, u = _cli_data(seed)
    if len({sum(e) for e in G.monoms()}) != 1:
        raise SystemExit("the attention equation is not homogeneous: rescaling u would change the problem")
    sq = max(abs(q) for row in Q for q in row)
    su = max(abs(v) for v in u)
    fam = ed_lagrange_family(G, names, Q=[[q / sq for q in row] for row in Q])
    phc_text = _phc_input(fam, [v / su for v in u])
    _compile_package()
    print(f"[CLI: neurovar {' '.join(CLI_ARGS)} --seed {seed}] against phc -b on the same system, rescaled")
    ratios = {}
    for label in ("quiet", "busy"):
        busy = None
        if label == "busy":  # one process spinning beside both, on a machine with few cores
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            ours, theirs = [], []
            for k in range(repeats):
                dt, row = _run_cli(seed)
                ours.append(dt)
                print(f"  {label}: ours run {k}: edd {row.get('edd')}, completeness {row.get('completeness')}, "
                      f"{row.get('numerical_real_points')} real, {dt:.2f} s (process)")
                if phc is not None:
                    dt, regular = _run_phc(phc, phc_text)
                    theirs.append(dt)
                    print(f"  {label}: phc -b run {k}: {regular} regular solutions, {dt:.2f} s")
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
        if phc is None:
            print("  phc not installed (apt-get install phcpack): ratio skipped")
            continue
        ratios[label] = float(np.median(theirs)) / float(np.median(ours))
        print(f"  ratio phc/ours ({label}, medians of {repeats}): {np.median(theirs):.2f} s / "
              f"{np.median(ours):.2f} s = {ratios[label]:.2f}x")
    return ratios


PUBLISHED = {"cyclic5": 70, "cyclic6": 156, "cyclic7": 924, "katsura5": 32, "katsura6": 64, "katsura7": 128,
             "katsura8": 256}


def _phc_cpu(phc: str, text: str):
    """``(wall s, CPU s, regular solutions)`` of ``phc -b`` (its regular solutions summed over the
    summaries it prints: with a stable mixed volume, those with zero coordinates come first)."""
    import resource

    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        with open(inp, "w") as fh:
            fh.write(text)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([phc, "-b", inp, out], capture_output=True, timeout=3600, check=False)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        res = open(out).read() if os.path.exists(out) else ""
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = re.findall(r"Number of regular solutions\s*:\s*(\d+)", res)
    return wall, cpu, sum(int(k) for k in found) if found else None


def bench_standard(names, time_limit: float = 1800.0, bertini_max_paths: int = 1000):
    """cyclic-n and katsura-n: ours (in this process, one BLAS thread) against ``phc -b`` (one thread).

    Ours is :func:`~pipeline.numeric.solve.solve` with its default start (``auto``: the BKK start for
    cyclic-n, whose solutions all lie in the torus; total degree for katsura-n). Wall times and CPU
    times (on a loaded machine the CPU times are the fairer comparison); a table of the ratios at the end.
    """
    from threadpoolctl import threadpool_limits

    from neurovar.pipeline.numeric.solve import cyclic, katsura, solve

    phc = shutil.which("phc")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from bench._bertini import bertini_time, unavailable

    no_bertini = unavailable()
    if no_bertini:
        print(f"  Bertini 2 column skipped: {no_bertini}")
    print("[standard systems] solve (default start, Krawczyk, completeness certificate) against phc -b, "
          "one thread each")
    solve(*katsura(2))  # first-call costs (numpy, flint, scipy's HiGHS) outside the timings
    solve(*katsura(3), method="bkk")
    rows = []
    for name in names:
        eqs, xs = (cyclic if name.startswith("cyclic") else katsura)(int(name[6:] if name[0] == "c" else name[7:]))
        with threadpool_limits(limits=1):
            t, c = time.perf_counter(), time.process_time()
            r = solve(eqs, xs, time_limit=time_limit)
            ours, ours_cpu = time.perf_counter() - t, time.process_time() - c
        line = (f"  {name}: ours {r.count} ({r.method}, {r.completeness}, {r.certified} certified, published "
                f"{PUBLISHED.get(name)}) {ours:.2f} s wall, {ours_cpu:.2f} s CPU")
        row = [name, PUBLISHED.get(name), r.count, r.completeness, ours, ours_cpu, None, None, None, None, None]
        if phc is not None:
            text = f"{len(eqs)}\n" + "\n".join(e + ";" for e in eqs) + "\n"
            try:
                wall, cpu, regular = _phc_cpu(phc, text)
            except subprocess.TimeoutExpired:
                wall, cpu, regular = float("nan"), float("nan"), None
            row[6:9] = [regular, wall, cpu]
            line += (f"; phc -b {regular} regular {wall:.2f} s wall, {cpu:.2f} s CPU; ratio phc/ours "
                     f"{wall / ours:.2f}x wall, {cpu / ours_cpu:.2f}x CPU")
        bezout = r.paths.get("bezout", 0)
        if not no_bertini and bezout > bertini_max_paths:
            line += f"; Bertini 2 skipped ({bezout} total-degree paths > --bertini-max-paths {bertini_max_paths})"
        elif not no_bertini:  # Bertini 2's Python API in this process, one thread: CPU seconds of the solve
            c = time.process_time()
            _, found = bertini_time(eqs, xs)
            row[9:] = [found, time.process_time() - c]
            line += f"; Bertini 2 {found} regular {row[10]:.2f} s CPU, ratio {row[10] / ours_cpu:.2f}x"
        print(line, flush=True)
        rows.append(row)
    print("\n  | system | published | ours | completeness | ours CPU s | phc -b | phc CPU s | phc/ours CPU "
          "| Bertini 2 | Bertini CPU s | Bertini/ours CPU |")
    print("  |---|---|---|---|---|---|---|---|---|---|---|")
    for name, pub, cnt, comp, ow, oc, reg, pw, pc, bf, bc in rows:
        ratio = f"{pc / oc:.2f}x" if pc is not None else "-"
        bert = f"{bf} | {bc:.2f} | {bc / oc:.2f}x" if bc is not None else "- | - | -"
        print(f"  | {name} | {pub} | {cnt} | {comp} | {oc:.2f} | {reg} | "
              f"{'-' if pc is None else f'{pc:.2f}'} | {ratio} | {bert} |")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--msolve-timeout", type=float, default=120.0)
    ap.add_argument("--paths", type=int, default=1000)
    ap.add_argument("--single", type=int, default=40)
    ap.add_argument("--only", choices=["throughput", "phc", "cli", "fiber", "standard"], default=None)
    ap.add_argument("--systems", default=",".join(PUBLISHED))
    ap.add_argument("--time-limit", type=float, default=1800.0, help="seconds for one of our solves (standard)")
    ap.add_argument("--bertini-max-paths", type=int, default=1000,
                    help="Bertini 2 (total degree) only on systems with at most this many paths (standard)")
    args = ap.parse_args()
    if args.only in (None, "standard"):
        bench_standard(args.systems.split(","), args.time_limit, args.bertini_max_paths)
    if args.only in (None, "throughput"):
        bench_throughput(args.paths, args.single)
    if args.only in (None, "phc"):
        bench_phc()
    if args.only in (None, "cli"):
        bench_cli_phc()
    if args.only in (None, "fiber"):
        bench_fiber(args.msolve_timeout)


if __name__ == "__main__":
    main()
