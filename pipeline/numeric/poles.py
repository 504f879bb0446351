"""Extra witnesses of a network fibre's trace test from the poles of the traced sums.

For a network with one hidden layer in the *incoming* gauge (every neuron's
first incoming weight is 1) the trace test traces the sums over neurons of
their other incoming weights, ``y = sum_i z_i`` (:func:`~pipeline.numeric.fiber.incoming_sums`).
On the curve ``C / G`` of the parameter line ``p0 + lam v`` these sums are
finite except where a neuron's first incoming weight tends to 0 in projective
terms -- the neuron's point crosses the gauge chart's line at infinity -- and
there each has a simple pole. So the extra witnesses ``C ∩ {beta . y = 1}``
are as many as these *chart crossings*, and the homotopy of parallel
slices ``beta . y = c`` with ``c`` from infinity to 1 joins each crossing to one
extra witness.

In a chart where the crossing neuron ``m`` is ``(u1, 1, u3, ...)`` (its second
incoming weight is 1 and ``u1`` is free) the crossings are the solutions with
``u1 = 0`` of the square system ``{f_theta = p0 + lam v}`` in the other free
weights and ``lam``, and the homotopy's last equation is

    ``(1 - eps) u1 + eps (u1 (beta . y_rest - 1) + beta . ((1, u3, ...) A_m)) = 0``

(``u1`` times ``beta . y - 1`` when the neuron is written back in the incoming
gauge, ``w_m = (1, 1, u3, ...) / u1``, with its output weight times ``u1^d``).
The crossings are found by monodromy (the permutations of the other neurons
act freely: one representative per orbit) over a random line, then tracked to
``(p0, v)``. Measured on the (3, 12, 1) x^7 fibre (a plane septic's 5
decompositions): 348 crossings, where the slice loops of the trace test had
stalled at 343-345 extra witnesses; with all 348 the test passes (residual
8e-11 against a tolerance of 1.2e-6). Nothing here is assumed complete: the
trace test decides.

Example
-------
A general binary quintic has one decomposition as a sum of 3 fifth powers
(Sylvester); along the trace test's line its neurons cross the chart's line at infinity
3 times, so the test has 3 extra witnesses:

>>> import numpy as np
>>> from neurovar.pipeline.models import build_model
>>> from neurovar.pipeline.numeric.fiber import incoming_sums, network_fiber_family
>>> from neurovar.pipeline.numeric.symmetry import network_block_group
>>> model = build_model({"model": "mlp", "widths": [2, 3, 1], "activation": "x^5"})
>>> fam = network_fiber_family(model, seed=0)
>>> image = incoming_sums(model, network_block_group(model, fam.gauge, fam.free), fam.free)
>>> cc = ChartCrossings.for_fiber(model, fam, image, network_fiber_family)
>>> rng = np.random.default_rng(0)
>>> len(cc(fam.base_parameters, fam.trace_direction(rng), np.ones(1, dtype=complex), seed=0))
3
"""

from __future__ import annotations

import numpy as np

from .tracker import TrackerOptions, track


def _line_family(full, n, N):
    """``{full(x; P[:N] + lam P[N:]) = 0}`` in ``(x, lam)``, the parameters ``P = (p0, v)``."""

    class Line:
        is_real = exact = False
        terms = None
        n_variables, n_equations, n_parameters = n + 1, N, 2 * N
        degrees = [8] * N

        def jacobian(self, X, P=None):
            X = np.atleast_2d(np.asarray(X, dtype=np.complex128))
            P = np.broadcast_to(np.asarray(P, dtype=np.complex128), (X.shape[0], 2 * N))
            lam = X[:, n]
            F, Jx, Jp = full.jacobian(X[:, :n], P[:, :N] + lam[:, None] * P[:, N:])
            Jl = np.einsum("bij,bj->bi", Jp, P[:, N:])[:, :, None]
            return F, np.concatenate([Jx, Jl], axis=2), np.concatenate([Jp, Jp * lam[:, None, None]], axis=2)

        def evaluate(self, X, P=None):
            return self.jacobian(X, P)[0]

    return Line()


class ChartCrossings:
    """``witnesses(p0, v, beta, seed, time_limit) -> (x, lam)`` points of ``C ∩ {beta . y = 1}`` (see the module).

    Build with :meth:`for_fiber`, which returns None where the construction
    does not apply (not one hidden layer, bias, another gauge, another image).
    """

    def __init__(self, model, fam, A, d0: int, k: int, family):
        self.model, self.fam, self.A, self.d0, self.k, self.family = model, fam, np.asarray(A), d0, k, family
        self.N = fam.full.n_equations
        self._families = None

    def _build(self):
        """The crossing chart (marked neuron ``(0, 1, u3, ...)``) and the slice chart (``(u1, 1, u3, ...)``)."""
        from ..models.base import Gauge

        if self._families is None:
            d0, m = self.d0, self.k - 1  # the marked neuron: the last
            cross = {d0 * i: 1 for i in range(m)} | {d0 * m: 0, d0 * m + 1: 1}
            eps = {d0 * i: 1 for i in range(m)} | {d0 * m + 1: 1}
            self._families = (self.family(self.model, Gauge(kind="chart-crossing", fixed=cross), draws=1),
                              self.family(self.model, Gauge(kind="chart-crossing-slice", fixed=eps), draws=1))
        self.cfam, self.efam = self._families

    @classmethod
    def for_fiber(cls, model, fam, image, family):
        """``family(model, gauge, draws=1)`` builds a fibre family in another gauge
        (:func:`~pipeline.numeric.fiber.network_fiber_family`)."""
        widths = tuple(getattr(model, "widths", ()))
        if image is None or len(widths) != 3 or widths[2] != 1 or getattr(model, "bias", False):
            return None
        d0, k = widths[0], widths[1]
        if d0 < 2 or k < 2 or _monomial_degree(model) is None or dict(fam.gauge.fixed) != {d0 * i: 1 for i in range(k)}:
            return None
        if fam.squared_up or fam.full.n_equations != len(fam.free):
            return None
        return cls(model, fam, image.A, d0, k, family)

    def _crossings(self, p0, v, seed, time_limit):
        """The chart crossings over ``(p0, v)``: monodromy over a random line, then tracked there."""
        from .monodromy import monodromy_solve
        from .symmetry import BlockPermutationGroup

        d0, k, N = self.d0, self.k, self.N
        free = list(self.cfam.free)
        n = len(free)
        S = _line_family(self.cfam.full, n, N)
        first_out = d0 * k
        pos = {q: i for i, q in enumerate(free)}
        blocks = np.array([[pos[d0 * i + j] for j in range(1, d0)] + [pos[first_out + i]] for i in range(k - 1)])
        group = BlockPermutationGroup(n + 1, [blocks])
        rng = np.random.default_rng([seed, 0xC805])
        th = (rng.normal(size=self.model.num_params) + 1j * rng.normal(size=self.model.num_params)) / np.sqrt(2)
        for q, val in self.cfam.gauge.fixed.items():
            th[q] = val
        c = self.cfam.full.evaluate(th[free][None, :], np.zeros(N))[0]
        lam0 = complex(np.exp(2j * np.pi * rng.random()) * 0.5)
        vs = v * np.sqrt(np.mean(np.abs(c) ** 2) / np.mean(np.abs(v) ** 2))
        Pstar = np.r_[c - lam0 * vs, vs]
        opts = TrackerOptions(endgame=False, corrector_tol=1e-4, singular_condition=1e12, equilibrated=True)
        R = monodromy_solve(S, np.r_[th[free], lam0], Pstar, group=group, seed=int(rng.integers(2**31)),
                            stall_loops=4, stall_rule="loops", certify=False, time_limit=time_limit, options=opts)
        return _track_all(S, R.solutions, Pstar, np.r_[p0, v], rng), free

    def __call__(self, p0, v, beta, seed: int = 0, time_limit: float | None = None) -> np.ndarray:
        d0, k, N = self.d0, self.k, self.N
        p0, v, beta = (np.asarray(a, dtype=np.complex128).ravel() for a in (p0, v, beta))
        self._build()
        C, cfree = self._crossings(p0, v, seed, time_limit)
        if not len(C):
            return np.zeros((0, len(self.fam.free) + 1), dtype=np.complex128)
        efree = list(self.efam.free)
        pe = {q: i for i, q in enumerate(efree)}
        m = k - 1
        p0pos = {q: i for i, q in enumerate(self.fam.free)}  # rows of the traced forms A
        Ab = self.A @ beta  # beta . y = sum over the traced weights z of z (A beta)[z]
        iu = [pe[d0 * m]] + [pe[d0 * m + j] for j in range(2, d0)]  # u1, u3, ...
        rest = [[pe[d0 * i + j] for i in range(m)] for j in range(1, d0)]  # y_rest's weights, by coordinate
        wr = [Ab[[p0pos[d0 * i + j] for i in range(m)]] for j in range(1, d0)]
        wm = Ab[[p0pos[d0 * m + j] for j in range(1, d0)]]  # beta . ((1, u3, ...) A_m) = wm[0] + wm[1:] . (u3, ...)
        H = _SliceFromInfinity(self.efam.full, len(efree), N, p0, v, iu, rest, wr, wm)
        th = np.zeros((len(C), self.model.num_params), dtype=np.complex128)
        for q, val in self.cfam.gauge.fixed.items():
            th[:, q] = val
        th[:, cfree] = C[:, :-1]
        start = np.c_[th[:, efree], C[:, -1]]
        Z = _track_all(H, start, np.zeros(1), np.ones(1), np.random.default_rng([seed, 0xE95]))
        if not len(Z):
            return np.zeros((0, len(self.fam.free) + 1), dtype=np.complex128)
        # back to the incoming gauge: w_m = (1, 1, u3, ...) / u1, output weight times u1^d
        th = np.zeros((len(Z), self.model.num_params), dtype=np.complex128)
        for q, val in self.efam.gauge.fixed.items():
            th[:, q] = val
        th[:, efree] = Z[:, :-1]
        u1 = th[:, d0 * m].copy()
        th[:, d0 * m:d0 * m + d0] /= u1[:, None]
        th[:, d0 * k + m] *= u1 ** _monomial_degree(self.model)
        return np.c_[th[:, list(self.fam.free)], Z[:, -1]]


def _monomial_degree(model) -> int | None:
    """``d`` when the activation is ``c x^d`` (the incoming gauge's rescaling is then a symmetry), else None."""
    coeffs = tuple(getattr(getattr(model, "activation", None), "coeffs", ()) or ())
    nonzero = [i for i, c in enumerate(coeffs) if c != 0]
    return nonzero[0] if len(nonzero) == 1 and nonzero[0] >= 1 else None


def _track_all(system, X, p_from, p_to, rng, attempts: int = 4):
    """Endpoints of the paths from ``X`` (failed ones tracked again along other arcs); the ones that ended."""
    opts = TrackerOptions(corrector_tol=1e-8, singular_condition=1e14, equilibrated=True)
    X = np.atleast_2d(X)
    ends = np.full(X.shape, np.nan, dtype=np.complex128)
    done = np.zeros(len(X), dtype=bool)
    for _ in range(attempts):
        idx = np.flatnonzero(~done)
        if not len(idx):
            break
        T = track(system, X[idx], p_from, p_to, gamma=None, seed=int(rng.integers(2**31)), options=opts)
        good = np.isin(T.status, ["regular", "singular"]) & np.isfinite(T.solutions).all(axis=1)
        ends[idx[good]], done[idx[good]] = T.solutions[good], True
    return ends[done]


class _SliceFromInfinity:
    """``{f = p0 + lam v, (1 - eps) u1 + eps u1 (beta . y - 1) = 0}`` in the chart of the marked neuron (parameter ``eps``)."""

    is_real = exact = False
    terms = None
    n_parameters = 1

    def __init__(self, full, n, N, p0, v, iu, rest, wr, wm):
        """``iu``: positions of ``u1, u3, ...``; ``rest[j]``, ``wr[j]``: positions and ``beta``-weights of the
        other neurons' traced weights of coordinate ``j``; ``wm``: the marked neuron's ``beta``-weights."""
        self.full, self.n, self.N, self.p0, self.v = full, n, N, p0, v
        self.iu, self.rest, self.wr, self.wm = iu, rest, wr, wm
        self.n_variables, self.n_equations = n + 1, N + 1
        self.degrees = [8] * (N + 1)

    def jacobian(self, X, P=None):
        X = np.atleast_2d(np.asarray(X, dtype=np.complex128))
        B, n, N = X.shape[0], self.n, self.N
        eps = np.broadcast_to(np.asarray(P, dtype=np.complex128).reshape(-1), (B,))
        x, lam = X[:, :n], X[:, n]
        F, Jx, Jp = self.full.jacobian(x, self.p0[None, :] + lam[:, None] * self.v[None, :])
        Fo = np.zeros((B, N + 1), dtype=np.complex128)
        Jxo = np.zeros((B, N + 1, n + 1), dtype=np.complex128)
        Jpo = np.zeros((B, N + 1, 1), dtype=np.complex128)
        Fo[:, :N], Jxo[:, :N, :n], Jxo[:, :N, n] = F, Jx, Jp @ self.v
        u1, us = x[:, self.iu[0]], x[:, self.iu[1:]]
        yr = sum(x[:, rows] @ wr for rows, wr in zip(self.rest, self.wr))
        g = u1 * (yr - 1) + self.wm[0] + us @ self.wm[1:]
        Fo[:, N] = (1 - eps) * u1 + eps * g
        Jxo[:, N, self.iu[0]] = (1 - eps) + eps * (yr - 1)
        for t, j in enumerate(self.iu[1:]):
            Jxo[:, N, j] = eps * self.wm[1 + t]
        for rows, wr in zip(self.rest, self.wr):
            Jxo[:, N, rows] += (eps * u1)[:, None] * wr[None, :]
        Jpo[:, N, 0] = g - u1
        return Fo, Jxo, Jpo

    def evaluate(self, X, P=None):
        return self.jacobian(X, P)[0]


__all__ = ["ChartCrossings"]
