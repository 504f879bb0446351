"""The implicit bias of data: strata of the global minimiser, reproducible, with intervals."""

from __future__ import annotations

import json

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
    g = _run([1, 2, 1], None, samples=10)
    assert g["uncertified"] == 10 and sum(g["counts"].values()) == 10


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
