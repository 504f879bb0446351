"""Benchmark of ``bias`` on (2, 2, 1), s = x^3, Kostlan targets: the parameter homotopy against solving from scratch.

Both routes certify the same thing per sample: the complete real critical sets of the
three strata (network, one neuron, merging neurons) at the sample's target ``u``.

* ``scratch`` (the baseline): each sample solves every stratum anew by monodromy,
  Krawczyk and the trace test (:func:`~pipeline.compute.bias_param.solve_stratum`),
  then tracks the set to its ``u``: what a per-sample solver has to do.
* ``carried``: the strata are solved once; every sample costs one straight-line
  homotopy per solution, all samples in one vectorised call
  (:func:`~pipeline.compute.bias_param.carry`), and Krawczyk at ``u``.

Both are measured in this process; the script prints samples per second and the
ratio (goal: >= 20x at 1000 samples). Run: ``python bench/bench_bias.py [SAMPLES] [SCRATCH]``;
``python bench/bench_bias.py arch [SAMPLES] [SCRATCH]`` runs the same comparison on the CNN (filters 2,2,
``x^2``) and attention (``d = 2``) cells with their declared families.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from neurovar.pipeline.compute.bias_arch import arch_strata  # noqa: E402
from neurovar.pipeline.compute.bias_param import carry, solve_stratum  # noqa: E402
from neurovar.pipeline.compute.bias_strata import metric, shallow_strata  # noqa: E402
from neurovar.pipeline.models import build_model  # noqa: E402


def compare(strata, Q, U, scratch: int, label: str = "") -> float:
    """Samples per second from scratch (``scratch`` samples) and carried (all of ``U``); prints and returns the ratio.
    Families without parameters (the zero function) cost nothing on either route."""
    strata = [s for s in strata if s.names]
    samples = len(U)
    t0 = time.perf_counter()
    ok_scratch = 0
    for i in range(scratch):
        solved = [solve_stratum(s, Q, seed=100 + i) for s in strata]
        ok_scratch += all(r[0].complete for r in (carry(S, U[i:i + 1], Q, seed=i) for S in solved))
    t_scratch = time.perf_counter() - t0

    t0 = time.perf_counter()
    solved = [solve_stratum(s, Q, seed=0) for s in strata]
    t_solve = time.perf_counter() - t0
    per = [carry(S, U, Q, seed=1) for S in solved]
    t_carried = time.perf_counter() - t0
    ok = sum(all(p[i].complete for p in per) for i in range(samples))

    rate_s, rate_c = scratch / t_scratch, samples / t_carried
    tag = f"{label}: " if label else ""
    print(f"{tag}scratch : {scratch} samples in {t_scratch:.1f} s = {rate_s:.3f} samples/s ({ok_scratch} certified)")
    print(f"{tag}carried : {samples} samples in {t_carried:.1f} s (one solve {t_solve:.1f} s) = {rate_c:.2f} "
          f"samples/s ({ok} certified)")
    print(f"{tag}speed-up: {rate_c / rate_s:.1f}x (goal >= 20x at 1000 samples)")
    return rate_c / rate_s


def main(samples: int = 1000, scratch: int = 5) -> float:
    m = build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^3"})
    Q, sample = metric(m, "bombieri", None, 0)
    U, _ = sample(np.random.default_rng(0), samples)
    return compare(shallow_strata(m), Q, U, scratch)


def architectures(samples: int = 200, scratch: int = 2) -> dict[str, float]:
    """The same comparison on the CNN and attention cells (their declared families, Q = I)."""
    out = {}
    for label, spec in (("cnn 2,2 x^2", {"model": "cnn", "filters": [2, 2], "activation": "x^2"}),
                        ("attention d=2", {"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 2})):
        m = build_model(spec)
        Q, sample = metric(m, "identity", None, 0)
        U, _ = sample(np.random.default_rng(0), samples)
        out[label] = compare(arch_strata(m), Q, U, scratch, label)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["arch"]:
        architectures(*(int(a) for a in args[1:3]))
    else:
        main(*(int(a) for a in args[:2]))
