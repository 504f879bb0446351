"""Benchmark: exact dimension (Jacobian rank mod 2^61-1) against two baselines, in one process.

Baselines, run on the same architectures in the same process:

(a) float: the same reverse-mode Jacobian in float64 at a Gaussian point, ranked by
    numpy's SVD (what a float autodiff + SVD pipeline does; not exact);
(b) sympy: expand f_theta symbolically, differentiate its coefficients with respect
    to theta, substitute a random rational point and take the exact rank over Q
    (skipped, and reported as such, where it does not finish within the limit).

The exact method as timed: the Jacobian in vectorised Mersenne-61 arithmetic (matrix products
as float64 BLAS products of 21-bit limbs), one reverse pass seeded with random output
combinations for multi-output models, the uint64 matrix copied straight into FLINT's nmod_mat
and ranked there with as many FLINT threads as cores (numpy's LAPACK uses them all too).

Timing: each method gets one untimed warm-up call, then the best of ``--repeat`` rounds of as
many calls as last 0.2 s (``timeit`` autorange); sympy runs once in a child process.

Prints per architecture the seconds of each method and the ratios
``float/exact`` and ``sympy/exact`` (>1 means exact is faster), then the geometric
means. Targets: exact no slower than float (ratio >= 1), >= 50x faster than sympy.

Run: ``python bench/bench_dimension.py [--sympy-limit 60] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import random
import time
import timeit

import numpy as np

from neurovar.pipeline.algebra.field import float_rank
from neurovar.pipeline.compute.dimension import exact_rank, float_jacobian
from neurovar.pipeline.models import build_model

ARCHS = [
    ("mlp", (2, 2, 1), "x^2"), ("mlp", (2, 2, 1), "x^3"), ("mlp", (3, 4, 1), "x^2"), ("mlp", (3, 5, 1), "x^4"),
    ("mlp", (3, 3, 1), "x^3"), ("mlp", (4, 4, 1), "x^3"), ("mlp", (2, 3, 2), "x^3"), ("mlp", (2, 2, 2, 1), "x^2"),
    ("mlp", (3, 3, 3, 1), "x^2"), ("mlp", (2, 3, 3, 1), "x^3"), ("mlp", (3, 4, 4, 1), "x^2"), ("mlp", (4, 6, 6, 6, 1), "x^3"),
    ("mlp", (5, 10, 10, 1), "x^3"), ("mlp", (6, 20, 20, 1), "x^3"), ("mlp", (4, 8, 8, 2), "x^2"), ("mlp", (3, 6, 6, 6, 1), "x^2"),
    ("mlp", (8, 30, 1), "x^3"), ("mlp", (10, 40, 1), "x^2"), ("linear", (6, 3, 6), None), ("linear", (10, 5, 8, 10), None),
    ("mlp", (3, 4, 1), "x^3+2*x"), ("mlp", (6, 24, 24, 1), "x^3"),
]


def spec_of(kind, widths, act):
    d = {"model": kind, "widths": list(widths)}
    if act:
        d["activation"] = act
    return d


def _best_per_call(fn, repeat):
    """Seconds per call: one untimed warm-up call, then the best of ``repeat`` rounds of enough
    calls to last >= 0.2 s (``timeit``'s autorange), so sub-millisecond cases are not timed
    from a single call and neither method pays the model's one-time set-up for the other."""
    result = fn()
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return result, min(timer.repeat(repeat=repeat, number=number)) / number


def time_exact(model, repeat):
    return _best_per_call(lambda: exact_rank(model, seed=0), repeat)


def _float_rank_of(model):
    with np.errstate(all="ignore"):
        return float_rank(float_jacobian(model, seed=0))[0]


def time_float(model, repeat):
    return _best_per_call(lambda: _float_rank_of(model), repeat)


def sympy_rank(kind, widths, act, seed=0):
    """Symbolic baseline: expand f_theta, Jacobian of its coefficients, rank at a rational point."""
    import sympy as sp

    from neurovar.pipeline.models.activation import Activation

    rng = random.Random(seed)
    xs = sp.symbols(f"x0:{widths[0]}")
    a = Activation.parse(act or "x")
    params, h = [], sp.Matrix(xs)
    for l in range(len(widths) - 1):
        W = sp.Matrix(widths[l + 1], widths[l], lambda i, j: sp.Symbol(f"w{l}_{i}_{j}"))
        params += list(W)
        z = W * h
        if l < len(widths) - 2:
            h = z.applyfunc(lambda e: sum(sp.Rational(c.numerator, c.denominator) * e**k for k, c in enumerate(a.coeffs)))
        else:
            h = z
    coeffs = []
    for out in h:
        poly = sp.Poly(sp.expand(out), *xs)
        coeffs += poly.coeffs()
    J = sp.Matrix(coeffs).jacobian(params)
    point = {p: sp.Rational(rng.randint(-50, 50), rng.randint(1, 50)) for p in params}
    return J.subs(point).rank()


def _sympy_worker(args, q):
    t = time.perf_counter()
    r = sympy_rank(*args)
    q.put((r, time.perf_counter() - t))


def time_sympy(kind, widths, act, limit):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_sympy_worker, args=((kind, widths, act), q))
    p.start()
    p.join(limit)
    if p.is_alive():
        p.kill()
        p.join()
        return None, None
    return q.get() if not q.empty() else (None, None)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sympy-limit", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    # numpy's BLAS/LAPACK (the float baseline's SVD) uses every core; let FLINT do the same for
    # the exact rank (in the pipeline each Dask worker process keeps FLINT at one thread)
    from neurovar.pipeline.algebra import flint_c

    flint_c.set_threads(os.cpu_count() or 1)
    print(f"FLINT threads: {flint_c.get_threads()}; direct uint64 -> nmod_mat path: {flint_c.available()}")
    print(f"{'architecture':34s} {'P':>5s} {'dim':>5s} {'exact s':>9s} {'float s':>9s} {'sympy s':>9s} "
          f"{'float/exact':>11s} {'sympy/exact':>11s}  float rank")
    fr, sr = [], []
    for kind, widths, act in ARCHS:
        model = build_model(spec_of(kind, widths, act))
        r_exact, t_exact = time_exact(model, args.repeat)
        r_float, t_float = time_float(model, args.repeat)
        r_sym, t_sym = time_sympy(kind, widths, act, args.sympy_limit)
        if r_sym is not None:
            assert r_sym == r_exact, f"sympy rank {r_sym} != exact {r_exact} for {widths}"
        ratio_f = t_float / t_exact
        fr.append(ratio_f)
        ratio_s = (t_sym / t_exact) if t_sym is not None else None
        if ratio_s is not None:
            sr.append(ratio_s)
        name = f"{kind} {','.join(map(str, widths))} {act or ''}"
        print(f"{name:34s} {model.num_params:5d} {r_exact:5d} {t_exact:9.4f} {t_float:9.4f} "
              f"{(f'{t_sym:9.3f}' if t_sym is not None else '  >limit'):>9s} {ratio_f:11.2f} "
              f"{(f'{ratio_s:11.1f}' if ratio_s is not None else '        n/a'):>11s}  "
              f"{r_float}{'' if r_float == r_exact else ' (wrong)'}")
    gm = lambda v: math.exp(sum(map(math.log, v)) / len(v))
    print(f"\ngeometric mean float/exact = {gm(fr):.2f}   (target >= 1: exact no slower than float)")
    if sr:
        print(f"geometric mean sympy/exact = {gm(sr):.1f} over {len(sr)} architectures where sympy finished "
              f"in {args.sympy_limit:.0f} s   (target >= 50)")
    print(f"sympy did not finish within {args.sympy_limit:.0f} s on {len(ARCHS) - len(sr)} architectures")


if __name__ == "__main__":
    main()
