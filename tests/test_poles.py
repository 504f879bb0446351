"""Extra witnesses of a network fibre's trace test from the chart crossings (pipeline.problems.crossings).

The traced sums of incoming weights have a simple pole exactly where a neuron's
point crosses the gauge chart's line at infinity, so the extra witnesses are as
many as these crossings and the homotopy of parallel slices from infinity joins
them. The check that does not depend on this module: the trace test's identity
itself. The fibre over ``p0`` of a network with a unique decomposition (a general
plane quintic as a sum of 7 fifth powers: Hilbert, Richmond, Palatini; a general
binary form of degree 2k - 1 as a sum of k powers: Sylvester) is the one orbit of
``theta0``, so ``W`` is known exactly, and the trace of ``W`` together with the
crossings' witnesses must be affine-linear -- and stop being so when one witness
is removed.
"""

import numpy as np
import pytest

from neurovar.pipeline.models import build_model
from neurovar.pipeline.numeric import trace as T
from neurovar.pipeline.problems.fiber import incoming_sums, network_fiber_family
from neurovar.pipeline.problems.crossings import ChartCrossings
from neurovar.pipeline.problems.groups import declared_block_group
from neurovar.pipeline.numeric.trace_forms import ImageForms, LineSystem
from neurovar.pipeline.numeric.tracker import TrackerOptions


def _setup(widths, activation, seed=0):
    model = build_model({"model": "mlp", "widths": list(widths), "activation": activation})
    fam = network_fiber_family(model, seed=seed)
    image = incoming_sums(*declared_block_group(model, fam.gauge, fam.free))
    return model, fam, image


def _pencil(fam, image, W, extra, p0, v, beta):
    rng = np.random.default_rng(3)
    return T._pencil_test(fam.system, p0, v, ImageForms(image), beta, W, extra, TrackerOptions(corrector_tol=1e-8),
                          rng, None, lambda: None, 0.0)


@pytest.mark.parametrize("widths, activation", [((3, 7, 1), "x^5"), ((2, 4, 1), "x^7")])
def test_chart_crossings_complete_the_trace_of_a_unique_decomposition(widths, activation):
    model, fam, image = _setup(widths, activation)
    cc = ChartCrossings.for_fiber(model, fam, image, network_fiber_family)
    assert cc is not None
    rng = np.random.default_rng(11)
    p0 = fam.base_parameters
    v = fam.trace_direction(rng)
    beta = rng.normal(size=image.A.shape[1]) + 1j * rng.normal(size=image.A.shape[1])
    E = cc(p0, v, beta, seed=2, time_limit=300)
    # each is a point of C ∩ {beta . y = 1}, and no two have one image (y, lam)
    S = LineSystem(fam.system, p0, v, "slice", ImageForms(image))
    assert np.abs(S.evaluate(E, beta)).max() < 1e-8
    key = np.c_[image.evaluate(E[:, :-1]), E[:, -1]]
    assert len(T._distinct_images(T._WithLam(image), E)) == len(E) == len(key)
    W = fam.theta0[fam.free][None, :]  # the fibre over p0: the one orbit of theta0
    R = _pencil(fam, image, W, E, p0, v, beta)
    assert R.passed is True, R.reason
    # one witness removed, or the base orbit removed: the trace is not affine-linear
    for drop in (0, len(E) - 1):
        R2 = _pencil(fam, image, W, np.delete(E, drop, axis=0), p0, v, beta)
        assert R2.passed is False and R2.residual > 1e3 * R2.tolerance


def test_chart_crossings_apply_only_to_one_hidden_layer_in_the_incoming_gauge_with_a_monomial_activation():
    for spec in ({"widths": [3, 2, 2, 1], "activation": "x^2"},       # two hidden layers
                 {"widths": [2, 2, 1], "activation": "x^3 + x^2"},    # no rescaling symmetry
                 {"widths": [2, 3, 1], "activation": "x^3", "bias": True}):
        model = build_model({"model": "mlp", **spec})
        fam = network_fiber_family(model, seed=0)  # finite fibres, each in a gauge of its own
        image = incoming_sums(*declared_block_group(model, fam.gauge, fam.free))
        assert ChartCrossings.for_fiber(model, fam, image, network_fiber_family) is None


def test_crossings_seeded_from_known_witnesses_reach_the_missing_ones():
    """Known extra witnesses, tracked along the parallel slices to infinity, are the crossings (one each), and
    the crossings' monodromy seeded with all but three of them returns the full set: the trace test passes."""
    from neurovar.pipeline.numeric.poles import line_family

    model, fam, image = _setup((3, 7, 1), "x^5")
    cc = ChartCrossings.for_fiber(model, fam, image, network_fiber_family)
    rng = np.random.default_rng(11)
    p0, v = fam.base_parameters, fam.trace_direction(rng)
    beta = rng.normal(size=image.A.shape[1]) + 1j * rng.normal(size=image.A.shape[1])
    E = cc(p0, v, beta, seed=2, time_limit=300)
    C = cc._from_witnesses(E, p0, v, beta, np.random.default_rng(5))
    S = line_family(cc.cfam.full, len(cc.cfam.free), cc.N)
    assert np.abs(S.evaluate(C, np.r_[p0, v])).max() < 1e-8
    # one crossing per witness (35: the trace of the base orbit and 35 witnesses is affine-linear, test above),
    # and no two alike (their lam, a point of the line, differ)
    assert len(C) == len(E) == 35
    assert len(np.unique(np.round(C[:, -1], 8))) == len(C)
    E2 = cc(p0, v, beta, seed=3, time_limit=300, known=E[:-3])
    W = fam.theta0[fam.free][None, :]
    R = _pencil(fam, image, W, E2, p0, v, beta)
    assert R.passed is True and R.extra_witnesses == 35, R.reason


def test_trace_test_completes_a_stalled_slice_monodromy_from_the_seeded_crossings():
    """With no slice loops at all (stall 0: only the few witnesses bridged from the base fibre), the
    crossings seeded from them give the rest and the union passes the trace test: 35 extra witnesses
    for the base orbit of a general plane quintic (one decomposition: Hilbert, Richmond, Palatini)."""
    model, fam, image = _setup((3, 7, 1), "x^5")
    cc = ChartCrossings.for_fiber(model, fam, image, network_fiber_family)
    group, _ = declared_block_group(model, fam.gauge, fam.free)
    W = fam.theta0[fam.free][None, :]
    R = T.trace_test(fam.system, W, fam.base_parameters, group=group, seed=4, stall_loops=0, image=image,
                     direction=fam.trace_direction, witnesses=cc, time_limit=600)
    assert R.passed is True and R.extra_witnesses == 35, R.reason
    # without the crossings the same stalled set fails (a missing witness is never a pass)
    R0 = T.trace_test(fam.system, W, fam.base_parameters, group=group, seed=4, stall_loops=0, image=image,
                      direction=fam.trace_direction, extend_rounds=0, time_limit=600)
    assert R0.passed is not True


def test_a_test_continued_on_its_line_starts_from_the_extra_witnesses_found_there():
    """``trace_test(..., line=earlier.line)`` keeps the earlier test's direction and slice and starts from its
    extra witnesses: with no slice loops at all the plane quintic's stalled set fails, the same line
    continued with loops reaches all 35 and passes, and continued once more without loops it passes
    at once, from the 35 carried (a long run's failed line is not searched again from nothing)."""
    model, fam, image = _setup((3, 7, 1), "x^5")
    group, _ = declared_block_group(model, fam.gauge, fam.free)
    W = fam.theta0[fam.free][None, :]
    kw = dict(group=group, seed=4, image=image, direction=fam.trace_direction, time_limit=600)
    R0 = T.trace_test(fam.system, W, fam.base_parameters, stall_loops=0, extend_rounds=0, **kw)
    assert R0.passed is not True and len(R0.line.witnesses) < 35
    R1 = T.trace_test(fam.system, W, fam.base_parameters, line=R0.line, **kw)
    assert R1.passed is True and R1.extra_witnesses == 35, R1.reason
    assert np.array_equal(R1.line.v, R0.line.v) and np.array_equal(R1.line.beta, R0.line.beta)
    R2 = T.trace_test(fam.system, W, fam.base_parameters, stall_loops=0, extend_rounds=0, line=R1.line, **kw)
    assert R2.passed is True and R2.extra_witnesses == 35, R2.reason
    # a line over another base is not this one: ignored, the stalled set fails again
    import dataclasses

    other = dataclasses.replace(R1.line, p0=2 * R1.line.p0)
    R3 = T.trace_test(fam.system, W, fam.base_parameters, stall_loops=0, extend_rounds=0, line=other, **kw)
    assert R3.passed is not True and len(R3.line.witnesses) == len(R0.line.witnesses)
