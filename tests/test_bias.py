"""The implicit bias of data: strata of the global minimiser, reproducible, with intervals."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np

import pytest

from neurovar.pipeline.compute.bias import BiasParams, bias
from neurovar.pipeline.models import build_model
from neurovar.pipeline.stats import wilson_interval


def _run(widths, ds, samples=12, seed=3, act="generic:3"):
    return bias(build_model({"model": "mlp", "widths": widths, "activation": act}),
                BiasParams(samples=samples, dataset_size=ds), seed=seed)


@pytest.mark.parametrize("ds", [1, 2, 3, 5, 10])
def test_one_neuron_over_dataset_sizes_reproducible_and_certified(ds):
    a, b = _run([1, 1, 1], ds), _run([1, 1, 1], ds)
    assert a["counts"] == b["counts"] and a["fractions"] == b["fractions"]
    assert a["samples"] == sum(a["counts"].values()) == 12
    assert a["certified"] == 12 and a["uncertified"] == 0  # k = 1: the exact critical points decide
    assert a["route"] == "one neuron, closed form (exact)"
    for s, (lo, hi) in a["intervals"].items():
        assert (lo, hi) == pytest.approx(wilson_interval(a["counts"][s], 12))
        assert lo <= a["fractions"][s] <= hi
    if ds == 1:
        # one point is always interpolated: a s(w a_1) = y_1 (hand: any w with s(w a_1) != 0)
        assert a["counts"]["zero-loss"] == 12
    if ds >= 3:
        # three or more points cannot be fitted by two parameters: never zero loss
        assert a["counts"]["zero-loss"] == 0


def test_two_neurons_sparse_subnetwork_attains_the_minimum_for_small_data():
    r = _run([1, 2, 1], 1, samples=10)
    assert r["counts"]["zero-loss"] == 10
    # one neuron already interpolates one data point: the zero-loss set meets the sparse stratum
    assert r["sparse_attains"] == 10 and r["sparse_attains_interval"][0] > 0.6
    assert r["certified"] == 10  # one datum: the exact one-neuron minimum (zero) decides
    g = _run([1, 2, 1], None, samples=10)
    # every real critical point by msolve: each sample certified, the grid search agreeing with it
    assert g["certified"] == 10 and g["uncertified"] == 0 and sum(g["counts"].values()) == 10
    assert g["search_disagreements"] == 0
    assert g["route"] == "two neurons, critical points by msolve (exact)"
    # generic cubic, Q = I: the minimiser is never a sparse subnetwork away from zero loss (a dead neuron's
    # output weight moves the loss by -2 a <s(w x), residual> and the s(w x) span V)
    assert g["counts"]["sparse: neuron removed"] == g["counts"]["sparse: zero W1"] == 0
    # three data: the critical set is a curve of zero loss; a sign change of the 3 x 3 minor proves it
    three = _run([1, 2, 1], 3, samples=4)
    assert three["certified"] == 4 and three["counts"]["zero-loss"] + three["uncertified"] == 4


def _moments(atoms):
    """``m_j = sum_i a_i w_i^j``, j = 0..3, for atoms ``(a_i, w_i)`` (complex allowed: conjugate pairs)."""
    return [Fraction(sum(a * w**j for a, w in atoms).real).limit_denominator(10**6) for j in range(4)]


def test_exact_two_neuron_minimum_on_hand_derived_moment_vectors():
    """s(z) = 1 + z + z^2 + z^3, so f = a1 s(w1 x) + a2 s(w2 x) has coefficients m_j = a1 w1^j + a2 w2^j.
    A moment vector (m0..m3) with m0 m2 != m1^2 comes from exactly one pair of atoms: the roots of the
    recurrence z^2 - p z - q with m_{j+2} = p m_{j+1} + q m_j. Real roots: in the real image (zero loss);
    complex roots (1, 0, -1, 0) from w = +-i: outside the real image, the minimum is positive and sits on
    the closure's boundary (confluent diagonal or infinity), not on a sparse subnetwork."""
    from neurovar.pipeline.compute.bias_exact import exact_two_neuron
    from neurovar.pipeline.compute.bias_search import Problem, search

    s = [Fraction(1)] * 4
    inside = exact_two_neuron(s, None, _moments([(1, 1), (1, 2)]))  # (2, 3, 5, 9)
    assert inside.certified and inside.loss < 1e-20
    assert sorted(inside.w) == pytest.approx([1.0, 2.0])
    t = _moments([(0.5, 1j), (0.5, -1j)])
    assert t == [1, 0, -1, 0]
    out = exact_two_neuron(s, None, t)
    assert out.certified and out.kind == "finite" and out.where in ("diagonal", "infinity")
    # the numerical search (grid + Nelder-Mead) does not go below the certified minimum
    _, _, l_search = search(Problem(s, None, np.array([float(v) for v in t])), 2, 0, False)
    assert out.loss > 0.05 and l_search == pytest.approx(out.loss, rel=1e-6)


@pytest.mark.parametrize("args,flag", [(["--samples", "0"], "--samples"), (["--dataset-size", "0"], "--dataset-size")])
def test_bad_input_exits_2_naming_the_flag(cli, args, flag):
    p = cli("compute", "bias", "--model", "mlp", "--widths", "1,1,1", "--activation", "generic:3", *args)
    assert p.returncode == 2, p.stderr
    assert flag in p.stderr


def test_cli_record(cli):
    p = cli("compute", "bias", "--model", "mlp", "--widths", "1,1,1", "--activation", "generic:3", "--samples", "5",
            "--dataset-size", "3", "--json")
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    assert rec["samples"] == 5 and sum(rec["counts"].values()) == 5
