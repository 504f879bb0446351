"""Extra witnesses of a network fibre's trace test from the poles of the traced sums.

The construction reads only the model's declared layout (:mod:`pipeline.problems.groups`):
one factor of blocks (neurons), one part per block, and the weights of each
block's scaling symmetry, ``+1`` on the *incoming* coordinates and negative on
the others (``t^-r`` on a neuron's outgoing weights for ``s = x^r``), with a
gauge that sets every block's first incoming coordinate to 1.

The trace test traces the sums over blocks of their other incoming coordinates,
``y = sum_i z_i`` (:func:`~pipeline.problems.fiber.incoming_sums`). On the curve
``C / G`` of the parameter line ``p0 + lam v`` these sums are finite except
where a block's first incoming coordinate tends to 0 in projective terms -- the
block's point crosses the gauge chart's line at infinity -- and there each has a
simple pole. So the extra witnesses ``C ∩ {beta . y = 1}`` are as many as these
*chart crossings*, and the homotopy of parallel slices ``beta . y = c`` with
``c`` from infinity to 1 joins each crossing to one extra witness.

In a chart where the crossing block ``m`` is ``(u1, 1, u3, ...)`` (its second
incoming coordinate is 1 and ``u1`` is free) the crossings are the solutions
with ``u1 = 0`` of the square system ``{f_theta = p0 + lam v}`` in the other
free coordinates and ``lam``, and the homotopy's last equation is

    ``(1 - eps) u1 + eps (u1 (beta . y_rest - 1) + beta . ((1, u3, ...) A_m)) = 0``

(``u1`` times ``beta . y - 1`` when the block is written back in the gauge:
every coordinate of weight ``w`` times ``u1^-w``). The crossings are found by
monodromy (the permutations of the other blocks act freely: one representative
per orbit) over a random line, then tracked to ``(p0, v)``. Measured on the
(3, 12, 1) x^7 fibre (a plane septic's 5 decompositions): 348 crossings, where
the slice loops of the trace test had stalled at 343-345 extra witnesses; with
all 348 the test passes (residual 8e-11 against a tolerance of 1.2e-6). Nothing
here is assumed complete: the trace test decides.

The same homotopy run backwards joins the extra witnesses already found to
their crossings (:meth:`ChartCrossings._from_witnesses`), so the monodromy
starts from them and not from one point: on the septic all 343 witnesses of the
slice loops mapped to crossings, and the first loop over the line space found
the 5 missing (a loop of the slice family, which only moves ``beta``, had gained
0-3 at the end). Built from scratch the crossings had taken ~490 s.

Example
-------
A general binary quintic has one decomposition as a sum of 3 fifth powers
(Sylvester); along the trace test's line its neurons cross the chart's line at infinity
3 times, so the test has 3 extra witnesses:

>>> import numpy as np
>>> from neurovar.pipeline.models import build_model
>>> from neurovar.pipeline.problems.fiber import incoming_sums, network_fiber_family
>>> from neurovar.pipeline.problems.groups import declared_block_group
>>> model = build_model({"model": "mlp", "widths": [2, 3, 1], "activation": "x^5"})
>>> fam = network_fiber_family(model, seed=0)
>>> group, weights = declared_block_group(model, fam.gauge, fam.free)
>>> image = incoming_sums(group, weights)
>>> cc = ChartCrossings.for_fiber(model, fam, image, network_fiber_family)
>>> rng = np.random.default_rng(0)
>>> len(cc(fam.base_parameters, fam.trace_direction(rng), np.ones(1, dtype=complex), seed=0))
3
"""

from __future__ import annotations

import numpy as np

from ..algebra.gauge import Gauge
from ..numeric.poles import SliceFromInfinity, converged, line_family, track_all
from ..numeric.newton import quiet_overflow
from ..numeric.tracker import TrackerOptions


def _layout(model, fam):
    """``(incoming, others, weights)`` per block (flat indices) when the construction applies, else None."""
    factors = tuple(model.symmetries().blocks)
    if len(factors) != 1 or factors[0].weights is None:
        return None
    f = factors[0]
    k, m, _ = f.shape
    w = f.weights
    if m != 1 or k < 2 or 1 not in w or min(w) >= 0 or any(x >= 0 and x != 1 for x in w):
        return None
    inc = [[q for q, x in zip(b[0], w) if x == 1] for b in f.blocks]
    oth = [[(q, x) for q, x in zip(b[0], w) if x != 1] for b in f.blocks]
    covered = {q for b in f.blocks for q in b[0]}
    if len(inc[0]) < 2 or len(covered) != model.num_params or dict(fam.gauge.fixed) != {i[0]: 1 for i in inc}:
        return None
    return inc, oth


class ChartCrossings:
    """``witnesses(p0, v, beta, seed, time_limit, loop_tracker, known) -> (x, lam)``: points of ``C ∩ {beta . y = 1}``
    (see the module; ``loop_tracker`` spreads the paths over a cluster, ``known`` witnesses seed the crossings).

    Build with :meth:`for_fiber`, which returns None where the construction
    does not apply (a layout not declared as above, another gauge, a squared-up system, no image).
    """

    def __init__(self, model, fam, A, inc, oth, family):
        self.model, self.fam, self.A, self.inc, self.oth, self.family = model, fam, np.asarray(A), inc, oth, family
        self.k = len(inc)
        self.N = fam.full.n_equations
        self._families = None

    def _build(self):
        """The crossing chart (marked block ``(0, 1, u3, ...)``) and the slice chart (``(u1, 1, u3, ...)``)."""
        if self._families is None:
            inc, m = self.inc, self.k - 1  # the marked block: the last
            cross = {inc[i][0]: 1 for i in range(m)} | {inc[m][0]: 0, inc[m][1]: 1}
            eps = {inc[i][0]: 1 for i in range(m)} | {inc[m][1]: 1}
            self._families = (self.family(self.model, Gauge(kind="chart-crossing", fixed=cross), draws=1),
                              self.family(self.model, Gauge(kind="chart-crossing-slice", fixed=eps), draws=1))
        self.cfam, self.efam = self._families

    @classmethod
    def for_fiber(cls, model, fam, image, family):
        """``family(model, gauge, draws=1)`` builds a fibre family in another gauge
        (:func:`~pipeline.problems.fiber.network_fiber_family`)."""
        if image is None or fam.squared_up or fam.full.n_equations != len(fam.free):
            return None
        lay = _layout(model, fam)
        return None if lay is None else cls(model, fam, image.A, *lay, family)

    def _crossings(self, p0, v, seed, time_limit, seeds=None, loop_tracker=None):
        """The chart crossings over ``(p0, v)``: monodromy over a random line, then tracked there.

        ``seeds``: crossings over ``(p0, v)`` already known (:meth:`_from_witnesses`); the monodromy
        then runs over ``(p0, v)`` itself from them (``v`` scaled to ``p0``'s size, ``lam`` inversely:
        the same line) and only has to reach the crossings missing."""
        from ..numeric.monodromy import monodromy_solve
        from ..numeric.symmetry import BlockPermutationGroup

        N = self.N
        free = list(self.cfam.free)
        n = len(free)
        S = line_family(self.cfam.full, n, N)
        pos = {q: i for i, q in enumerate(free)}
        blocks = np.array([[pos[q] for q in self.inc[i][1:]] + [pos[q] for q, _ in self.oth[i]]
                           for i in range(self.k - 1)])
        group = BlockPermutationGroup(n + 1, [blocks])
        rng = np.random.default_rng([seed, 0xC805])
        opts = TrackerOptions(endgame=False, corrector_tol=1e-4, singular_condition=1e12, equilibrated=True)
        if seeds is not None and len(seeds):
            # seeded, the loops only have to reach the few crossings missing, and one loop over the whole
            # line space reaches nearly all (plane septic: the 5 missing of 348 in the first loop, where the
            # slice loops had gained 0-3 a loop): stop at the first loop that finds nothing (the trace test
            # decides whether any is still missing, and its slice loops continue then)
            r = np.sqrt(np.mean(np.abs(p0) ** 2) / np.mean(np.abs(v) ** 2))
            R = monodromy_solve(S, seeds * np.r_[np.ones(n), 1 / r], np.r_[p0, r * v], group=group,
                                seed=int(rng.integers(2**31)), stall_loops=1, stall_rule="loops", certify=False,
                                time_limit=time_limit, options=opts, loop_tracker=loop_tracker)
            return R.solutions * np.r_[np.ones(n), r], free
        th = (rng.normal(size=self.model.num_params) + 1j * rng.normal(size=self.model.num_params)) / np.sqrt(2)
        for q, val in self.cfam.gauge.fixed.items():
            th[q] = val
        c = self.cfam.full.evaluate(th[free][None, :], np.zeros(N))[0]
        lam0 = complex(np.exp(2j * np.pi * rng.random()) * 0.5)
        vs = v * np.sqrt(np.mean(np.abs(c) ** 2) / np.mean(np.abs(v) ** 2))
        Pstar = np.r_[c - lam0 * vs, vs]
        R = monodromy_solve(S, np.r_[th[free], lam0], Pstar, group=group, seed=int(rng.integers(2**31)),
                            stall_loops=4, stall_rule="loops", certify=False, time_limit=time_limit, options=opts,
                            loop_tracker=loop_tracker)
        return track_all(S, R.solutions, Pstar, np.r_[p0, v], rng, loop_tracker=loop_tracker), free

    def _slice_homotopy(self, p0, v, beta):
        """The homotopy of parallel slices from infinity (:class:`SliceFromInfinity`) and its chart's free indices."""
        N, inc = self.N, self.inc
        efree = list(self.efam.free)
        pe = {q: i for i, q in enumerate(efree)}
        m, d0 = self.k - 1, len(inc[0])
        p0pos = {q: i for i, q in enumerate(self.fam.free)}  # rows of the traced forms A
        Ab = self.A @ beta  # beta . y = sum over the traced coordinates z of z (A beta)[z]
        iu = [pe[inc[m][0]]] + [pe[inc[m][j]] for j in range(2, d0)]  # u1, u3, ...
        rest = [[pe[inc[i][j]] for i in range(m)] for j in range(1, d0)]  # y_rest's coordinates, by position
        wr = [Ab[[p0pos[inc[i][j]] for i in range(m)]] for j in range(1, d0)]
        wm = Ab[[p0pos[inc[m][j]] for j in range(1, d0)]]  # beta . ((1, u3, ...) A_m) = wm[0] + wm[1:] . (u3, ...)
        return SliceFromInfinity(self.efam.full, len(efree), N, p0, v, iu, rest, wr, wm), efree

    def _theta(self, X, gauge, free):
        """Full parameter vectors of the rows of ``X`` (``free`` coordinates, then ``lam``) in ``gauge``."""
        th = np.zeros((len(X), self.model.num_params), dtype=np.complex128)
        for q, val in gauge.fixed.items():
            th[:, q] = val
        th[:, free] = X[:, :-1]
        return th

    @quiet_overflow
    def _from_witnesses(self, E, p0, v, beta, rng, far: float = 10.0, loop_tracker=None):
        """The crossings joined to known extra witnesses ``E`` (``(x, lam)`` in the gauge).

        Each witness is tracked along the slices ``beta . y = c`` to ``|c| = far`` (the slice's
        parameter ``beta / c``), where the crossing neuron is the one whose incoming weights have
        grown like ``c``; it is moved to the marked block, written in the slice chart
        (``eps = 1 / (2 - c)`` there) and tracked to ``eps = 0``. ``far`` is small: the gauge chart
        is ill-conditioned near the crossing (on the plane septic at ``|c| = 100`` the output weight
        is ~1e-14 and every path ended singular; at 10 the crossing neuron's incoming weights are
        already 3-100 times the others'), while the slice chart is well-conditioned there. Which
        witness gives which crossing does not matter: every crossing is checked by Newton's method
        on its own system."""
        from ..numeric.trace_forms import ImageForms, LinearImage, LineSystem

        inc, oth, m = self.inc, self.oth, self.k - 1
        L = LineSystem(self.fam.system, p0, v, "slice", ImageForms(LinearImage(self.A)))
        c = far * np.exp(2j * np.pi * rng.random())
        Z = track_all(L, E, beta, beta / c, rng, loop_tracker=loop_tracker, endgame=False)
        if not len(Z):
            return Z
        th = self._theta(Z, self.fam.gauge, list(self.fam.free))
        size = np.stack([np.abs(th[:, inc[i][1:]]).max(axis=1) for i in range(self.k)], axis=1)
        cross = size.argmax(axis=1)
        cols = [list(inc[i]) + [q for q, _ in oth[i]] for i in range(self.k)]
        for b in np.unique(cross[cross != m]):  # the crossing neuron to the marked block
            rows = np.flatnonzero(cross == b)[:, None]
            th[rows, cols[b] + cols[m]] = th[rows, cols[m] + cols[b]]
        z2 = th[:, inc[m][1]].copy()
        th[:, inc[m]] /= z2[:, None]
        for q, w in oth[m]:
            th[:, q] *= z2 ** (-w)
        H, efree = self._slice_homotopy(p0, v, beta)
        ends = track_all(H, np.c_[th[:, efree], Z[:, -1]], np.array([1 / (2 - c)]), np.zeros(1), rng,
                         loop_tracker=loop_tracker, endgame=False)
        if not len(ends):
            return ends
        th = self._theta(ends, self.efam.gauge, efree)
        C = np.c_[th[:, list(self.cfam.free)], ends[:, -1]]
        return converged(line_family(self.cfam.full, len(self.cfam.free), self.N), C, np.r_[p0, v])

    @quiet_overflow
    def __call__(self, p0, v, beta, seed: int = 0, time_limit: float | None = None, loop_tracker=None,
                 known=None) -> np.ndarray:
        """``known``: extra witnesses already found (``(x, lam)``), which seed the crossings' monodromy."""
        inc = self.inc
        p0, v, beta = (np.asarray(a, dtype=np.complex128).ravel() for a in (p0, v, beta))
        empty = np.zeros((0, len(self.fam.free) + 1), dtype=np.complex128)
        self._build()
        seeds = None
        if known is not None and len(known):
            seeds = self._from_witnesses(np.atleast_2d(np.asarray(known, dtype=np.complex128)), p0, v, beta,
                                         np.random.default_rng([seed, 0x5EED]), loop_tracker=loop_tracker)
        C, cfree = self._crossings(p0, v, seed, time_limit, seeds, loop_tracker)
        if not len(C):
            return empty
        H, efree = self._slice_homotopy(p0, v, beta)
        th = self._theta(C, self.cfam.gauge, cfree)
        Z = track_all(H, np.c_[th[:, efree], C[:, -1]], np.zeros(1), np.ones(1), np.random.default_rng([seed, 0xE95]),
                      loop_tracker=loop_tracker)
        if not len(Z):
            return empty
        # back to the gauge: every coordinate of the marked block of weight w times u1^-w
        m = self.k - 1
        th = self._theta(Z, self.efam.gauge, efree)
        u1 = th[:, inc[m][0]].copy()
        th[:, inc[m]] /= u1[:, None]
        for q, w in self.oth[m]:
            th[:, q] *= u1 ** (-w)
        return np.c_[th[:, list(self.fam.free)], Z[:, -1]]


__all__ = ["ChartCrossings"]
