"""bias on datasets for (2, 2, 1), (3, 2, 1) and (2, 2, 2, 1) with a generic cubic: the data-value map."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neurovar.pipeline.compute.bias import BiasParams, bias
from neurovar.pipeline.models import build_model


def _run(widths, ds, samples=20, seed=0):
    m = build_model({"model": "mlp", "widths": widths, "activation": "generic:3"})
    return bias(m, BiasParams(samples=samples, dataset_size=ds), seed=seed)


@pytest.mark.parametrize("widths, ds", [([2, 2, 1], 1), ([2, 2, 1], 2), ([3, 2, 1], 1), ([3, 2, 1], 2)])
def test_at_most_as_many_points_as_output_weights_are_always_fitted(widths, ds):
    """f = a_1 s(w_1 . x) + a_2 s(w_2 . x): for N <= 2 points the values (s(w_i . x_j)) form an N x 2 matrix of
    rank N for generic real w, so the output weights solve the labels exactly: zero loss for every sample,
    each certified by a Krawczyk box around a real parameter point of the fibre."""
    r = _run(widths, ds)
    assert r["counts"]["zero-loss"] == 20 and r["certified"] == 20 and r["certified_share"] == 1.0
    assert r["intervals"]["zero-loss"][0] > 0.83  # Wilson 95 % for 20 of 20


def test_reproducible_with_the_same_seed():
    a, b = _run([2, 2, 1], 5, samples=8, seed=4), _run([2, 2, 1], 5, samples=8, seed=4)
    assert a["counts"] == b["counts"] and a["fractions"] == b["fractions"] and a["intervals"] == b["intervals"]
    assert a["certified_share"] == b["certified_share"]


def test_zero_loss_fraction_separates_small_from_large_datasets():
    """Five points: the data-value map R^6 -> R^5 is dominant and the labels are fitted (each sample
    certified). Ten points: the image of R^6 in R^10 has measure zero, so no Gaussian label vector is fitted;
    the 95 % intervals of the zero-loss fraction do not overlap."""
    small, large = _run([2, 2, 1], 5), _run([2, 2, 1], 10)
    assert small["case2"] and not large["case2"]  # rank dPhi = N exactly at a random rational point
    assert small["certified"] >= 18
    assert large["counts"]["zero-loss"] == 0
    assert small["intervals"]["zero-loss"][0] > large["intervals"]["zero-loss"][1]
    assert large["certified"] == 0 and large["certified_share"] == 0.0  # reported, with the reason
    assert "data image of dimension 6 < 10" in next(iter(large["uncertified_reasons"]))


def test_the_witness_is_a_real_point_of_the_fibre():
    """The Krawczyk witness proves a real solution of Phi(theta) = t: rebuild one from the search and check
    the certificate refuses a label vector moved off the image (t + 1 on a point far from any solution)."""
    from neurovar.pipeline.compute.bias_data import _lm, _witness, data_map, dataset
    from neurovar.pipeline.compute.bias_param import fiber_system
    from neurovar.pipeline.numeric import System

    m = build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "generic:3"})
    _, A = dataset(m, 3, 0)
    names, Phi = data_map(m, A)
    image = System.from_mpolys(Phi, names)
    t = np.array([0.5, -1.0, 0.25])
    th, cost = _lm(fiber_system(names, Phi), np.random.default_rng(1).standard_normal((8, 6)) * 0.5,
                   np.tile(t, (8, 1)))
    i = int(np.argmin(cost))
    assert cost[i] < 1e-20
    J = image.jacobian(th[i][None, :])[1][0].real
    assert _witness(names, Phi, th[i], t, J)
    assert not _witness(names, Phi, th[i], t + 1.0, J)


@pytest.mark.parametrize("args, field, says", [
    (["--widths", "2,2,1", "--activation", "generic:3", "--dataset-size", "0"], "--dataset-size", "at least 1"),
    (["--widths", "2,2,1", "--activation", "generic:3", "--dataset-size", "3", "--samples", "0"], "--samples",
     "at least 1"),
    (["--widths", "3,3,1", "--activation", "generic:3", "--dataset-size", "3"], "--widths", "(2, 2, 2, 1)"),
    (["--widths", "2,2,1", "--activation", "generic:3"], "--dataset-size", "set dataset_size"),
])
def test_bad_input_exits_2_naming_the_field(args, field, says):
    p = subprocess.run([sys.executable, "-m", "neurovar", "compute", "bias", "--model", "mlp", *args],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith(f"error: {field}") and says in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_depth_three_fits_one_point_with_a_certificate():
    """(2, 2, 2, 1): f = a_1 s(h_1(x)) + a_2 s(h_2(x)) with output weights a; one point is always fitted."""
    r = _run([2, 2, 2, 1], 1, samples=4)
    assert r["counts"]["zero-loss"] == 4 and r["certified"] == 4 and r["case2"]


def test_an_incomplete_stratum_is_completed_by_the_total_degree_homotopy():
    """The parabola y = (w, w^2) has ED degree 3 (the cubic (w - u1) + 2 w (w^2 - u2) = 0): a set missing two
    of the critical points is completed at the same base, and the union is complete."""
    import flint

    from neurovar.pipeline.compute.bias_param import Stratum, solve_stratum, supplement

    ctx = flint.fmpq_mpoly_ctx.get(("w",), "degrevlex")
    (w,) = ctx.gens()
    S = solve_stratum(Stratum("parabola", ["w"], [w, w * w]), [[1, 0], [0, 1]], seed=0)
    assert S.complete and S.count == 3
    X, complete, why = supplement(S.system, S.image, S.base, S.solutions[:1], 0, "one of three")
    assert complete and len(X) == 3, why
    roots = np.roots([2, 0, 1 - 2 * S.base[1], -S.base[0]])  # 2 w^3 + (1 - 2 u2) w - u1
    assert np.allclose(np.sort_complex(X[:, 0]), np.sort_complex(roots), atol=1e-8)
