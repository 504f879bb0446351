"""bias for (2, 2, 1) networks: one certified solve per stratum, one parameter homotopy per sample."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from neurovar.pipeline.compute.bias import BiasParams, bias
from neurovar.pipeline.models import build_model


def _cubic():
    return build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^3"})


def test_bombieri_weights_give_kostlan_variances():
    # Kostlan forms: coefficient i of x^(3-i) y^i has variance binom(3, i); u ~ N(0, Q^-1) with Q = diag(1/binom)
    m = _cubic()
    assert m.monomials == [(3, 0), (2, 1), (1, 2), (0, 3)]
    assert [1 / w for w in m.bombieri_weights()] == [math.comb(3, i) for i in range(4)]


def test_kostlan_cubics_zero_loss_fraction_matches_edelman_kostlan():
    """A real binary cubic is a sum of two real cubes iff it has one real root (real rank 2; three real
    roots: real rank 3). Edelman--Kostlan (Bull. AMS 1995, Thm 3.1): a Kostlan binary form of degree d
    has sqrt(d) real roots on average, so 3 p3 + (1 - p3) = sqrt(3) and the zero-loss fraction is
    1 - p3 = (3 - sqrt(3)) / 2 = 0.634."""
    expected = 1 - (math.sqrt(3) - 1) / 2
    r = bias(_cubic(), BiasParams(samples=300, weights="bombieri"), seed=0)
    lo, hi = r["intervals"]["zero-loss"]
    assert lo <= expected <= hi
    assert r["certified"] >= 290
    # the other targets go to the boundary (cubics with a double root, approached, not attained)
    assert r["counts"]["zero-loss"] + r["counts"]["boundary"] == 300
    assert r["counts"]["smooth"] == 0  # the network fills V: an interior critical point has zero loss


def test_each_sample_agrees_with_the_root_count_of_its_target():
    """The stratum of every certified sample is decided by the target's real roots (numpy's roots, a
    second opinion): one real root <=> zero loss, three <=> the boundary."""
    from neurovar.pipeline.compute.bias_strata import metric, shallow_strata
    from neurovar.pipeline.compute.bias_param import carry, solve_stratum
    from neurovar.pipeline.compute.bias_strata import classify

    m = _cubic()
    Q, sample = metric(m, "bombieri", None, 0)
    U, _ = sample(np.random.default_rng(5), 40)
    solved = [solve_stratum(s, Q, seed=0) for s in shallow_strata(m)]
    per = {S.stratum.label: carry(S, U, Q, seed=1) for S in solved}
    Qf = np.array([[float(q) for q in row] for row in Q])
    for i, u in enumerate(U):
        if not all(v[i].complete for v in per.values()):
            continue
        nu = float(u @ Qf @ u)
        st = classify({k: v[i].loss for k, v in per.items()}, nu, nu)
        roots = np.roots(u)  # u0 x^3 + u1 x^2 y + u2 x y^2 + u3 y^3 at y = 1
        n_real = int(np.sum(np.abs(roots.imag) < 1e-9))
        assert st == ("zero-loss" if n_real == 1 else "boundary")
        if st == "boundary":  # the minimiser l1^2 l2 has a double root: its discriminant vanishes
            S = next(S for S in solved if S.stratum.label == "boundary")
            y = S.image.evaluate(per["boundary"][i].theta[None, :]).real[0]
            a, b, c, d = y
            disc = b * b * c * c - 4 * a * c ** 3 - 4 * b ** 3 * d - 27 * a * a * d * d + 18 * a * b * c * d
            assert abs(disc) <= 1e-8 * max(abs(y).max(), 1) ** 4


def test_reproducible_with_the_same_seed():
    p = BiasParams(samples=30, weights="bombieri")
    a, b = bias(_cubic(), p, seed=2), bias(_cubic(), p, seed=2)
    assert a["counts"] == b["counts"] and a["certified"] == b["certified"]


@pytest.mark.parametrize("args, field", [
    (["--widths", "2,2,1", "--activation", "x^3", "--dataset-size", "0"], "--dataset-size"),
    (["--widths", "2,2,1", "--activation", "x^3", "--samples", "0"], "--samples"),
    (["--widths", "4,3,1", "--activation", "x^3"], "--widths"),
    (["--widths", "3,2,1", "--activation", "x^3"], "--dataset-size"),
])
def test_bad_input_exits_2_naming_the_field(args, field):
    p = subprocess.run([sys.executable, "-m", "neurovar", "compute", "bias", "--model", "mlp", *args],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert field in p.stderr
    if field == "--widths":
        assert "(2, 2, 1) with x^3" in p.stderr  # what would work instead


def test_four_data_points_zero_loss_iff_the_interpolating_cubic_has_one_real_root():
    """With 4 inputs Q = A^T A is invertible (dim V = 4): the labels are fitted exactly iff the unique
    interpolating binary cubic u = A^-1 t is a sum of two real cubes, i.e. has one real root."""
    from neurovar.pipeline.compute.bias_strata import metric

    m = _cubic()
    r = bias(m, BiasParams(samples=40, dataset_size=4), seed=0)
    _, sample = metric(m, "identity", 4, 0)
    U, off = sample(np.random.default_rng([0, 0xB1A5]), 40)
    assert np.abs(off).max() < 1e-8  # four points, four coefficients: u interpolates the labels
    one_root = sum(int(np.sum(np.abs(np.roots(u).imag) < 1e-9)) == 1 for u in U)
    assert r["certified"] == 40
    assert r["counts"]["zero-loss"] == one_root
    assert r["counts"]["zero-loss"] + r["counts"]["boundary"] == 40
