"""bias for CNNs and lightning attention: the families each model declares, one solve, a homotopy per sample."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from neurovar.pipeline.compute.bias import BiasParams, bias
from neurovar.pipeline.compute.bias_arch import classify_targets, declared, least, solved_strata
from neurovar.pipeline.compute.bias_strata import metric
from neurovar.pipeline.compute.edd import EddParams, edd
from neurovar.pipeline.errors import SpecError
from neurovar.pipeline.models import build_model

CNN2 = {"model": "cnn", "filters": [2, 2], "activation": "x^2"}
ATT = {"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 2}
#: u ~ N(0, Q^-1) with variances (1, 2, 1): the Kostlan quadratic c0 + c1 t + c2 t^2
KOSTLAN2 = "diag:1,1/2,1"


def test_linear_cnn_kostlan_quadratics_zero_loss_is_edelman_kostlan():
    """The linear CNN with filters (2, 2) multiplies two linear polynomials: its real image is the quadratics
    with real roots. Edelman--Kostlan (Bull. AMS 1995, Thm 3.1): a Kostlan quadratic has sqrt(2) real roots on
    average, and it has 0 or 2, so P(real roots) = sqrt(2) / 2 = 0.707: the zero-loss fraction. The other
    targets are nearest to a square c (1 + v t)^2 (the boundary of the real image, where the roots meet)."""
    m = build_model({"model": "cnn", "filters": [2, 2], "activation": "x"})
    r = bias(m, BiasParams(samples=100, weights=KOSTLAN2), seed=0)
    lo, hi = r["intervals"]["zero-loss"]
    assert lo <= math.sqrt(2) / 2 <= hi
    assert hi - lo < 0.19
    # every certified sample is fitted or lands on the boundary; none on the interior (the network fills V)
    assert r["counts"]["zero-loss"] + r["counts"]["boundary"] == r["certified"] >= 95
    assert r["counts"]["uncertified"] == r["uncertified"]
    # a generic quadratic has 2 factorisations (p + q t)(a + b t) with p = 1 (the roots swapped)
    assert r["strata_solutions"]["smooth"] == 2
    # the squares c (x0 + v x1)^2 under this Q are the Bombieri conic of binary quadratics: its ED degree
    # from the exact edd route (the one-neuron network (2, 1, 1), s = x^2) is 2
    conic = edd(build_model({"model": "mlp", "widths": [2, 1, 1], "activation": "x^2"}),
                EddParams(weights="bombieri", real=False))
    assert r["strata_solutions"]["boundary"] == conic["edd"] == 2


def _real_counts(strata, solved, U, Q):
    from neurovar.pipeline.compute.bias_param import carry

    return [m.n_real for m in carry(solved[0], U, Q, seed=3)]


def test_polynomial_cnn_critical_points_are_the_exact_ed_degree():
    m = build_model(CNN2)
    strata, solved = solved_strata(m)
    assert [s.label for s in strata] == ["smooth", "sparse: w1[0] = 0", "sparse: w2 = 0"]
    ex = edd(m, EddParams(real=False))
    assert solved[0].complete and solved[0].count == ex["edd"] * ex["fiber_size"] == 14
    assert solved[1].count == 1  # the plane a x1^2 + b x2^2: one orthogonal projection
    # the real critical points at real targets: non-real ones come in conjugate pairs, and the minimum is attained
    Q, sample = metric(m, "identity", None, 0)
    U, _ = sample(np.random.default_rng(1), 4)
    n_real = _real_counts(strata, solved, U, Q)
    assert all(0 < k <= 14 and k % 2 == 0 for k in n_real)


def test_attention_critical_points_are_the_exact_ed_degree():
    m = build_model(ATT)
    strata, solved = solved_strata(m)
    assert [s.label for s in strata] == ["smooth", "boundary", "sparse: V[0, 0] = 0", "sparse: M = 0"]
    # the hypersurface of pairs of binary quadrics with a common factor: ED degree 6 by the implicit route
    assert solved[0].count == edd(m, EddParams(real=False))["edd"] == 6
    assert solved[1].complete and solved[2].count == 1


@pytest.mark.parametrize("spec", [CNN2, ATT], ids=["cnn", "attention"])
def test_targets_on_the_real_image_have_zero_loss(spec):
    """u = y(theta) for real theta (chart parameters, the network itself): every sample is zero-loss."""
    m = build_model(spec)
    strata, solved = solved_strata(m)
    Q, _ = metric(m, "identity", None, 0)
    rng = np.random.default_rng(5)
    U = solved[0].image.evaluate(rng.standard_normal((4, len(strata[0].names)))).real
    out = classify_targets(strata, solved, U, np.zeros(len(U)), Q, seed=0)
    assert [s for s, _ in out] == ["zero-loss"] * 4
    assert sum(not bad for _, bad in out) >= 3


def test_ties_go_to_the_lower_dimensional_family():
    assert least({"smooth": 1.0, "sparse: a": 1.0}, {"smooth": 3, "sparse: a": 2}, 1.0) == "sparse: a"
    assert least({"smooth": 1.0, "sparse: a": 1.5, "boundary": None}, {"smooth": 3, "sparse: a": 2,
                                                                       "boundary": 2}, 1.0) == "smooth"


def test_routes_are_declared_by_the_models_not_named():
    assert declared(build_model(CNN2)) and declared(build_model(ATT))
    assert not declared(build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^3"}))


@pytest.mark.parametrize("spec, kw, field", [
    ({"model": "cnn", "filters": [3, 2], "activation": "x^2"}, {}, "model.filters"),
    ({"model": "attention", "d": 3, "d_out": 1, "n": 3, "t": 2}, {}, "model.d"),
    (ATT, {"weights": "bombieri"}, "params.weights"),
    (CNN2, {"dataset_size": 5}, "params.dataset_size"),  # 5 inputs: rank 5 < dim V = 6
])
def test_sizes_without_a_route_are_refused_before_running(spec, kw, field):
    from neurovar.pipeline.compute.bias import check

    with pytest.raises(SpecError) as e:
        check(build_model(spec), BiasParams(samples=1, **kw))
    assert e.value.field == field and "use" in str(e.value)


def test_cli_exits_2_naming_the_field_and_what_works():
    p = subprocess.run([sys.executable, "-m", "neurovar", "compute", "bias", "--model", "cnn", "--filters", "3,2",
                        "--activation", "x^2", "--samples", "5"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("error: --filters:") and "use --filters 2,2" in p.stderr
