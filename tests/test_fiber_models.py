"""Every model on the numerical fiber's paths: the certified count against the exact count (msolve/Singular).

For each model the problem layer builds the fiber system from the model's
declarations alone; the numerical count is ``orbits x group_order`` (the group
never enumerated) and must equal the exact count over GF(p) of the same gauge
slice, with the trace test as the certificate of completeness. The exact
counts are the declared finite group's orders where the fiber is only the
known symmetries: ``m!`` neuron permutations of a residual block, the swap of
the rows ``V`` and ``K`` of single-row attention (``v X X^T k^T`` is symmetric in
``v, k``), and none for a convolutional network (Kohn, Merkh, Montufar,
Trager; Shahverdi, Marchetti, Kohn).
"""

from math import factorial

import pytest

from neurovar.pipeline.compute.fiber import fiber
from neurovar.pipeline.models import build_model

CASES = [
    ({"model": "resnet", "widths": [2, 2], "blocks": 1, "activation": "x^2"}, factorial(2), "block-group"),
    ({"model": "resnet", "widths": [3, 3], "blocks": 1, "activation": "x^2"}, factorial(3), "block-group"),
    ({"model": "attention", "d": 2, "d_out": 1, "n": 1, "t": 2}, 2, "block-group"),
    ({"model": "attention", "d": 3, "d_out": 1, "n": 1, "t": 2}, 2, "block-group"),
    ({"model": "cnn", "filters": [2, 2], "activation": "x^2"}, 1, "none"),
    ({"model": "cnn", "filters": [3, 2], "activation": "x^3"}, 1, "none"),
]


@pytest.mark.parametrize("spec, order, path", CASES, ids=lambda v: str(v) if isinstance(v, int) else None)
def test_numerical_orbits_times_group_order_is_the_exact_count(spec, order, path):
    r = fiber(build_model(spec), method="both", numerical_time_limit=300)
    assert r["positive_dimensional"] is False and r["status"] == "ok"
    assert r["group_order"] == order and r["fast_paths"].split(",")[0] == path
    assert r["orbits"] * r["group_order"] == r["fiber_points_numerical"] == r["fiber_points"]  # exact: msolve
    assert r["fiber_points"] == order and r["only_known_symmetries"] is True
    assert r["completeness"] == "trace-test" and r["counts_agree"] is True
