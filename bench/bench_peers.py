"""Benchmark: this project against Singular and Macaulay2 on the same problems.

Problems (``--quick``: the first dimension problem and the fiber only):

* ``dim (3,5,1) x^4``, ``dim (5,5,3,1) x^2``, ``dim (2,2,3,4,1) x^3``, ``dim (4,6,6,6,1) x^3``:
  the dimension of the neurovariety, the rank of the Jacobian of the
  parametrization. Ours: the ``dimension`` cell (exact rank mod 2^61-1 and the
  float cross-check). Peers: forward-mode derivatives of ``f_theta`` at the same
  ``theta0`` (exported from our model, entries in ``GF(32003)``), one column per
  parameter, written on the monomials of degree ``r^(L-1)`` in ``x``
  (``coeffs`` / ``coefficients``), and the rank of that matrix over ``GF(32003)``.
* ``fiber (2,4,1) x^7``: the number of points of the generic fiber in the
  gauge slice (24 = 4! by Sylvester's theorem). Ours: the ``fiber`` cell (its
  exact route, confirmed with a second prime). Peers: the polynomial system
  the cell solves, built by ``fiber_system`` (point identities at unisolvent
  points) over ``GF(32003)`` and written out; Singular ``vdim(std(I))``, M2
  ``degree I``.
* ``edd attention generic``: the ED degree of the attention hypersurface
  (``--model attention --d 2 --d-out 1 --n 2 --t 2 --weights generic``, 14).
  Ours: the ``edd`` cell without real points (``real=False``, the count the
  peers make), and with them (the default) in the columns ``real s`` (seconds
  per call, timed like ``ours s``) and ``real/cx`` (the ratio of the two, from
  interleaved rounds of both; the goal is <= 3: real points decided from certified complex ones,
  :mod:`neurovar.pipeline.compute.edd_real`). Peers: our
  Lagrange system (:func:`neurovar.pipeline.algebra.edd_system._systems`, the
  same ``Q`` and ``u``) over ``GF(32003)``; Singular ``vdim(std(I))`` on it, M2
  the same generators without the two Rabinowitsch equations, saturated by the
  determinant and by the multiplier form they invert, then ``degree``.

Timing. Ours is per cell as inside a grid: the cell's function called in this
process, after one untimed warm-up call (no interpreter start-up), the median
of ``--repeat`` rounds of as many calls as last 0.2 s. A peer is timed as a
process (``Singular -q --no-rc FILE``, ``M2 --script FILE``): wall clock, start-up
included, median of ``--peer-repeat`` runs; the seconds of the computation
inside it (its own timer) are printed too. ``peer/ours`` > 1 means we are
faster. A peer runs in its own process group with ``--timeout`` seconds and
``--memory-gb`` of address space; on expiry the group is killed. A peer that
is not installed is skipped with a message (``which Singular M2``).

The fiber problem also prints where a cell's time goes (``--no-breakdown`` to
skip): the Jacobian rank, building the system per prime, Singular on both
primes in one process, and msolve per prime (the fallback route).

Run: ``python bench/bench_peers.py [--quick | --attention-only] [--repeat 3] [--peer-repeat 3] [--timeout 300]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import timeit

import numpy as np

from neurovar.pipeline.algebra.field import MSOLVE_PRIMES, PrimeField
from neurovar.pipeline.algebra.msolve_format import _expanded, _terms
from neurovar.pipeline.models import build_model

PEER_PRIME = 32003

DIMENSION_PROBLEMS = [((3, 5, 1), 4), ((5, 5, 3, 1), 2), ((2, 2, 3, 4, 1), 3), ((4, 6, 6, 6, 1), 3)]
FIBER_PROBLEM = ((2, 4, 1), 7)
ATTENTION = {"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 2}


# ----------------------------------------------------------------------------- timing
def per_call(fn, repeat: int) -> float:
    """Seconds per call: one warm-up call, then the median of ``repeat`` autoranged rounds."""
    fn()
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return statistics.median(t / number for t in timer.repeat(repeat=repeat, number=number))


def run_peer(argv: list[str], script: str, suffix: str, timeout: float, memory_gb: float) -> dict:
    """Run a peer on ``script`` in its own process group; kill the group after ``timeout`` seconds."""

    def limits():
        lim = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        path = os.path.join(tmp, "problem" + suffix)
        with open(path, "w") as fh:
            fh.write(script)
        t0 = time.perf_counter()
        proc = subprocess.Popen([*argv, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=tmp, start_new_session=True, preexec_fn=limits)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return {"status": "timeout", "seconds": time.perf_counter() - t0, "answer": None, "inner": None}
        seconds = time.perf_counter() - t0
    answer = inner = None
    for line in out.splitlines():
        if line.startswith("ANSWER "):
            answer = int(line.split()[1])
        elif line.startswith("INNER "):
            inner = float(line.split()[1])
    if proc.returncode != 0 or answer is None:
        low = (err + out).lower()
        status = "out of memory" if ("memory" in low or "alloc" in low or proc.returncode < 0) else "failed"
        return {"status": status, "seconds": seconds, "answer": None, "inner": None,
                "message": (err or out).strip()[-300:]}
    return {"status": "ok", "seconds": seconds, "answer": answer, "inner": inner}


def peers_available() -> dict:
    found = {}
    for name, exe in (("Singular", "Singular"), ("M2", "M2")):
        path = shutil.which(exe)
        if path is None:
            print(f"{name} is not installed (Debian package {'singular' if name == 'Singular' else 'macaulay2'}): "
                  f"its columns are skipped")
        found[name] = path
    return found


def peer_time(argv, script, suffix, args) -> dict:
    runs = []
    for _ in range(args.peer_repeat):
        runs.append(run_peer(argv, script, suffix, args.timeout, args.memory_gb))
        if runs[-1]["status"] != "ok":  # a timeout or out of memory is not retried
            break
    ok = [r for r in runs if r["status"] == "ok"]
    if not ok:
        return runs[0]
    answers = {r["answer"] for r in ok}
    inner = [r["inner"] for r in ok if r["inner"] is not None]
    return {"status": "ok" if len(answers) == 1 else "answers differ", "answer": ok[0]["answer"],
            "seconds": statistics.median(r["seconds"] for r in ok),
            "inner": statistics.median(inner) if inner else None}


# ----------------------------------------------------------------------------- writing the systems
def _poly_lines(polys, variables, p):
    return [s for s in (_expanded(_terms(f, variables), p) for f in polys) if s is not None]


def _singular_count(polys, variables, p) -> str:
    names = ",".join(f"x{i}" for i in range(len(variables)))
    return (f'system("--ticks-per-sec", 1000);\nring R = {p}, ({names}), dp;\n'
            f"ideal I = {','.join(_poly_lines(polys, variables, p))};\n"
            "int t0 = timer;\nideal G = std(I);\nint v = vdim(G);\n"
            'print("INNER " + string(timer - t0) + "e-3");\n'
            'print("ANSWER " + string(v));\nquit;\n')


def _m2_ring(n, p, extra=""):
    return f"R = ZZ/{p}[{','.join(f'x{i}' for i in range(n))}{extra}];\n"


def _m2_count(polys, variables, p) -> str:
    return (_m2_ring(len(variables), p)
            + f"I = ideal({','.join(_poly_lines(polys, variables, p))});\n"
            + "t0 = cpuTime();\nd = degree I;\nassert(dim I == 0);\n"
            + 'print("INNER " | toString(cpuTime() - t0));\nprint("ANSWER " | toString d);\n')


def _m2_saturated_count(gens, sat, variables, p) -> str:
    return (_m2_ring(len(variables), p)
            + f"I = ideal({','.join(_poly_lines(gens, variables, p))});\n"
            + "t0 = cpuTime();\n"
            + "".join(f"I = saturate(I, {h});\n" for h in _poly_lines(sat, variables, p))
            + "d = degree I;\nassert(dim I == 0);\n"
            + 'print("INNER " | toString(cpuTime() - t0));\nprint("ANSWER " | toString d);\n')


def _layers_mod(widths, r, p, seed=0):
    model = build_model({"model": "mlp", "widths": list(widths), "activation": f"x^{r}"})
    theta = model.random_parameters(PrimeField(p), np.random.default_rng([seed, 3203]))
    return model, [np.asarray(W, dtype=object) for W, _ in model.layers(theta)]


def _singular_dimension(widths, r, p) -> str:
    _, Ws = _layers_mod(widths, r, p)
    d0, L, deg = widths[0], len(Ws), r ** (len(Ws) - 1)
    mats = "".join(f"matrix W{i + 1}[{W.shape[0]}][{W.shape[1]}] = {','.join(str(int(v)) for v in W.ravel())};\n"
                   for i, W in enumerate(Ws))
    return f"""system("--ticks-per-sec", 1000);
ring S = {p}, (x(1..{d0})), dp;
{mats}list W = {','.join(f'W{i + 1}' for i in range(L))}; int L = {L}; int r = {r};
int t0 = timer;
matrix X[{d0}][1] = x(1..{d0});
list Z; list A; list G; matrix Acur = X; matrix Gi; int i; int j;
for (i = 1; i <= L; i++) {{
  Z[i] = W[i] * Acur;
  if (i < L) {{
    Acur = Z[i]; Gi = Z[i];
    for (j = 1; j <= nrows(Acur); j++) {{ Gi[j,1] = r * Acur[j,1]^(r-1); Acur[j,1] = Acur[j,1]^r; }}
    A[i] = Acur; G[i] = Gi;
  }}
}}
ideal D; int cnt; int l; int a; int b; int k; matrix H; matrix P; matrix Wl; matrix Gk;
for (l = 1; l <= L; l++) {{
  if (l == 1) {{ P = X; }} else {{ P = A[l-1]; }}
  Wl = W[l];
  for (a = 1; a <= nrows(Wl); a++) {{
    for (b = 1; b <= ncols(Wl); b++) {{
      H = 0 * Z[l]; H[a,1] = P[b,1];
      for (i = l; i <= L; i++) {{
        if (i > l) {{ H = W[i] * H; }}
        if (i < L) {{ Gk = G[i]; for (j = 1; j <= nrows(H); j++) {{ H[j,1] = Gk[j,1] * H[j,1]; }} }}
      }}
      cnt++; D[cnt] = H[1,1];
    }}
  }}
}}
matrix C = coeffs(D, maxideal({deg}));
int rk = rank(C);
print("INNER " + string(timer - t0) + "e-3");
print("ANSWER " + string(rk));
quit;
"""


def _m2_dimension(widths, r, p) -> str:
    _, Ws = _layers_mod(widths, r, p)
    d0, L, deg = widths[0], len(Ws), r ** (len(Ws) - 1)
    mats = ", ".join("matrix(S, {" + ", ".join("{" + ", ".join(str(int(v)) for v in row) + "}" for row in W) + "})"
                     for W in Ws)
    return f"""S = ZZ/{p}[x_1..x_{d0}];
W = {{{mats}}};
L = {L}; r = {r};
t0 = cpuTime();
X = transpose vars S;
Z = new MutableList; A = new MutableList; G = new MutableList; Acur = X;
for i from 0 to L-1 do (
  Z#i = (W#i) * Acur;
  if i < L-1 then (
    G#i = matrix apply(entries Z#i, row -> apply(row, z -> r * z^(r-1)));
    Acur = matrix apply(entries Z#i, row -> apply(row, z -> z^r));
    A#i = Acur));
D = flatten for l from 0 to L-1 list (
  P := if l == 0 then X else A#(l-1);
  flatten for a from 0 to numrows(W#l)-1 list for b from 0 to numcols(W#l)-1 list (
    H := mutableMatrix(S, numrows(W#l), 1); H_(a,0) = P_(b,0); H = matrix H;
    for i from l to L-1 do (
      if i > l then H = (W#i) * H;
      if i < L-1 then H = matrix apply(numrows H, j -> {{(G#i)_(j,0) * H_(j,0)}}));
    H_(0,0)));
C = last coefficients(matrix{{D}}, Monomials => basis({deg}, S));
rk = rank C;
print("INNER " | toString(cpuTime() - t0));
print("ANSWER " | toString rk);
"""


# ----------------------------------------------------------------------------- problems
def dimension_problem(widths, r):
    from neurovar.pipeline.compute.dimension import dimension

    model = build_model({"model": "mlp", "widths": list(widths), "activation": f"x^{r}"})
    return {
        "name": f"dim {tuple(widths)} x^{r}",
        "ours": lambda: dimension(model, seed=0)["dimension"],
        "Singular": _singular_dimension(widths, r, PEER_PRIME),
        "M2": _m2_dimension(widths, r, PEER_PRIME),
    }


def fiber_problem(widths, r):
    from neurovar.pipeline.algebra.gauge import choose_gauge
    from neurovar.pipeline.compute.fiber import fiber, fiber_system

    model = build_model({"model": "mlp", "widths": list(widths), "activation": f"x^{r}"})
    g = choose_gauge(model)
    S = fiber_system(model, g, PEER_PRIME, np.random.default_rng([0, PEER_PRIME, 0xF1BE]))
    last = {}

    def ours():
        rec = fiber(model, seed=0)
        last["method"] = rec["method"]
        return rec["fiber_points"]

    return {
        "name": f"fiber {tuple(widths)} x^{r}",
        "ours": ours, "last": last, "model": model, "gauge": g,
        "Singular": _singular_count(S.polys, S.variables, PEER_PRIME),
        "M2": _m2_count(S.polys, S.variables, PEER_PRIME),
    }


def attention_problem():
    from neurovar.pipeline.algebra.edd_system import _systems, random_point
    from neurovar.pipeline.algebra.weights import weight_matrix
    from neurovar.pipeline.compute.edd import EddParams, edd
    from neurovar.pipeline.compute.edd_varieties import variety_of

    model = build_model(ATTENTION)
    params = EddParams(weights="generic", real=False)
    var = variety_of(model, params, "exact")
    n = len(var.names)
    Q = weight_matrix("generic", n, seed=0, features=var.features)
    u = random_point(n, 0)
    (R, positive, _), _, _ = _systems(var.equations, Q, u, var.codim, 0)
    names = list(R.names)
    s_idx, t_idx = names.index("s"), names.index("t")
    det = positive[-2].derivative(s_idx)  # s * det - 1
    form = positive[-1].derivative(t_idx)  # t * (w . l) - 1
    keep = [v for v in names if v not in ("s", "t")]
    gens = positive[:-2]
    with_real = EddParams(weights="generic")
    return {
        "name": "edd attention generic",
        "ours": lambda: edd(model, params, seed=0)["edd"],
        "ours_real": lambda: edd(model, with_real, seed=0)["edd"],
        "Singular": _singular_count(positive, names, PEER_PRIME),
        "M2": _m2_saturated_count(gens, [det, form], keep, PEER_PRIME),
    }


def fiber_breakdown(prob, repeat) -> dict:
    """Where the fiber cell's time goes (seconds per call)."""
    from neurovar.pipeline.algebra import msolve, singular
    from neurovar.pipeline.compute.dimension import exact_rank
    from neurovar.pipeline.compute.fiber import fiber
    from neurovar.pipeline.compute.fiber_system import fiber_system, slice_jacobian_rank

    model, g = prob["model"], prob["gauge"]
    primes = MSOLVE_PRIMES[:2]
    systems = [fiber_system(model, g, p, np.random.default_rng([0, p, 0xF1BE])) for p in primes]
    out = {
        "exact_rank": per_call(lambda: exact_rank(model, 0), repeat),
        "system_per_prime": per_call(
            lambda: fiber_system(model, g, primes[0], np.random.default_rng([0, primes[0], 0xF1BE])), repeat),
        "slice_jacobian_per_prime": per_call(lambda: slice_jacobian_rank(model, systems[0]), repeat),
    }
    if singular.singular_executable():
        batch = [(S.polys, S.variables, S.prime) for S in systems]
        out["singular_both_primes"] = per_call(lambda: singular.count_solutions(batch), repeat)
        out["singular_one_prime"] = per_call(lambda: singular.count_solutions(batch[:1]), repeat)
    out["msolve_per_prime"] = per_call(lambda: msolve.solve(systems[0].polys, systems[0].variables,
                                                            characteristic=primes[0]), 1)
    out["cell_msolve_route"] = per_call(lambda: fiber(model, seed=0, solver="msolve"), 1)
    out["cell_one_prime"] = per_call(lambda: fiber(model, seed=0, confirm=False), repeat)
    return out


# ----------------------------------------------------------------------------- main
def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only (3,5,1) x^4 and the fiber")
    ap.add_argument("--attention-only", action="store_true", help="only the attention ED row (complex and real)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of our timing (median)")
    ap.add_argument("--peer-repeat", type=int, default=3, help="runs of each peer (median)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per peer run (then its group is killed)")
    ap.add_argument("--memory-gb", type=float, default=4.0, help="address-space limit of a peer run")
    ap.add_argument("--no-breakdown", action="store_true", help="skip the fiber cell's time breakdown")
    args = ap.parse_args(argv)
    for name in ("repeat", "peer_repeat"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    exes = peers_available()
    peer_argv = {"Singular": [exes["Singular"], "-q", "--no-rc"] if exes["Singular"] else None,
                 "M2": [exes["M2"], "--script"] if exes["M2"] else None}
    suffix = {"Singular": ".sing", "M2": ".m2"}
    problems = [dimension_problem(*DIMENSION_PROBLEMS[0]), fiber_problem(*FIBER_PROBLEM)]
    if not args.quick:
        problems[1:1] = [dimension_problem(*p) for p in DIMENSION_PROBLEMS[1:]]
        problems.append(attention_problem())
    if args.attention_only:
        problems = [attention_problem()]

    print(f"{'problem':26s} {'answer':>7s} {'ours s':>9s} {'real s':>8s} {'real/cx':>7s} {'peer':>8s} {'peer s':>9s}"
          f" {'inner s':>8s} {'peer/ours':>9s} {'ours/peer':>9s}  note")
    rows = []
    for prob in problems:
        answer = prob["ours"]()
        ours = per_call(prob["ours"], args.repeat)
        note = f"route {prob['last']['method']}" if "last" in prob else ""
        real = f"{'':8s} {'':7s}"
        row = {"problem": prob["name"], "answer": answer, "ours_seconds": ours, "note": note, "peers": {}}
        if "ours_real" in prob:
            t0 = time.perf_counter()
            prob["ours_real"]()  # warm-up, as for ours; it pays for the process's one generic solve of the variety
            row["real_first_call_seconds"] = time.perf_counter() - t0
            # the ratio from interleaved rounds (complex, real, complex, ...): a shared machine's load drifts
            # between two separate timings by more than the ratio measured
            cx, rl = [], []
            for _ in range(max(args.repeat, 5)):
                cx.append(per_call(prob["ours"], 1))
                rl.append(per_call(prob["ours_real"], 1))
            row["real_seconds"] = statistics.median(rl)
            row["real_over_complex"] = row["real_seconds"] / statistics.median(cx)
            real = f"{row['real_seconds']:8.4f} {row['real_over_complex']:7.2f}"
        for peer in ("Singular", "M2"):
            if peer_argv[peer] is None:
                print(f"{prob['name']:26s} {answer!s:>7s} {ours:9.4f} {real} {peer:>8s}   skipped: not installed")
                continue
            res = peer_time(peer_argv[peer], prob[peer], suffix[peer], args)
            row["peers"][peer] = res
            if res["status"] != "ok":
                print(f"{prob['name']:26s} {answer!s:>7s} {ours:9.4f} {real} {peer:>8s} {res['seconds']:9.3f} {'':8s}"
                      f" {'':9s} {'':9s}  {res['status']} {res.get('message', '')[:60]}")
                continue
            agree = "" if res["answer"] == answer else f"  ANSWER DIFFERS: peer {res['answer']}"
            res["ratio_peer_over_ours"] = res["seconds"] / ours
            res["ratio_ours_over_peer"] = ours / res["seconds"]
            inner = f"{res['inner']:8.3f}" if res["inner"] is not None else f"{'':8s}"
            print(f"{prob['name']:26s} {answer!s:>7s} {ours:9.4f} {real} {peer:>8s} {res['seconds']:9.3f} {inner}"
                  f" {res['ratio_peer_over_ours']:9.2f} {res['ratio_ours_over_peer']:9.2f}  {note}{agree}")
        rows.append(row)

    summary = {"rows": rows}
    fib = next((p for p in problems if p["name"].startswith("fiber")), None)
    if fib is not None and not args.no_breakdown:
        summary["fiber_breakdown"] = fiber_breakdown(fib, args.repeat)
        print("\nwhere the fiber cell's time goes (seconds per call):")
        for k, v in summary["fiber_breakdown"].items():
            print(f"  {k:28s} {v:8.4f}")
    frow = next((r for r in rows if r["problem"].startswith("fiber")), None)
    if frow is not None and "Singular" in frow["peers"] and frow["peers"]["Singular"]["status"] == "ok":
        summary["fiber_ours_over_singular"] = frow["peers"]["Singular"]["ratio_ours_over_peer"]
        print(f"\nfiber {FIBER_PROBLEM[0]} x^{FIBER_PROBLEM[1]}: ours/Singular = "
              f"{summary['fiber_ours_over_singular']:.2f} (target <= 2)")
    arow = next((r for r in rows if "real_over_complex" in r), None)
    if arow is not None:
        summary["attention_real_over_complex"] = arow["real_over_complex"]
        print(f"\nedd attention with real points / complex count = {arow['real_over_complex']:.2f} (target <= 3); "
              f"first call of the process {arow['real_first_call_seconds']:.3f} s (the generic solve, once)")
    print(json.dumps(summary, default=float))
    return summary


if __name__ == "__main__":
    main()
