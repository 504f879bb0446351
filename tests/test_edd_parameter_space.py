"""The numerical ED route in parameter space: every model with a parametrization, certified counts.

Values: the Friedland--Ottaviani count of singular vector tuples (the Frobenius ED degree of rank-one
tensors), Eckart--Young for rank-one matrices.
"""

from __future__ import annotations

import pytest

from neurovar.pipeline.compute.edd import edd
from neurovar.pipeline.compute.edd_params import EddParams
from neurovar.pipeline.models import build_model
from neurovar.pipeline.papers import ed_degree_rank_one_tensors


def _cnn_tensor(dims):
    """A linear CNN whose end-to-end filter is ``w_k (x) ... (x) w_1``: rank-one tensors of format ``dims``.

    Filters ``(m_1, ..., m_k)`` with strides ``(m_1, ..., m_{k-1}, 1)``: each layer reads disjoint blocks.
    """
    strides = [*dims[:-1], 1]
    return build_model({"model": "cnn", "filters": list(dims), "strides": strides, "activation": "x"})


@pytest.mark.parametrize("dims", [(2, 2, 2), (2, 2, 3)])
def test_rank_one_tensors_numerical_count_is_the_friedland_ottaviani_number(dims):
    r = edd(_cnn_tensor(dims), EddParams(weights="identity", method="numerical"), seed=0)
    expected = ed_degree_rank_one_tensors(dims)
    assert (r["edd"], r["edd_numerical"], r["numerical_certified"]) == (expected, expected, expected)
    assert r["completeness"] == "trace-test" and r["method"] == "numerical-monodromy-parametric"
    assert "parameter space" in r["numerical_stop_reason"]
    # real critical points: a real tensor has at least one real singular vector tuple, at most all
    assert 1 <= r["real_critical_points"] <= expected


@pytest.mark.slow
def test_rank_one_2x3x3_tensors_ed_degree_15_with_trace_test():
    """Issue size: 18 coordinates, no answer from the exact Gröbner routes in 600 s."""
    r = edd(_cnn_tensor((2, 3, 3)), EddParams(weights="identity", method="numerical"), seed=0)
    assert ed_degree_rank_one_tensors((2, 3, 3)) == 15
    assert (r["edd"], r["numerical_certified"], r["completeness"]) == (15, 15, "trace-test")


def test_numerical_never_refuses_a_model_the_exact_route_accepts():
    """A CNN has no implicit equations: the numerical route works in parameter space and agrees with exact."""
    m = _cnn_tensor((2, 2))
    r = edd(m, EddParams(weights="identity", method="both"), seed=3)
    assert r["edd"] == r["edd_numerical"] == 2 and r["counts_agree"] is True  # Eckart-Young: min(2, 2)
    g = edd(m, EddParams(weights="generic", method="both"), seed=3)  # two independent routes, one number
    assert g["edd_numerical"] == g["edd"] and g["counts_agree"] is True and g["completeness"] == "trace-test"
