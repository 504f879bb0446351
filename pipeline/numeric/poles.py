"""Systems and tracking for extra witnesses of a trace test from the poles of traced forms.

The engine's side of the chart crossings (:mod:`pipeline.problems.crossings`):
the square system of a parameter line ``{F(x; p0 + lam v) = 0}`` in ``(x, lam)``
(:func:`line_family`), the homotopy of parallel slices ``beta . y = c`` with
``c`` from infinity to 1, written in the chart of one marked block whose first
chart coordinate ``u1`` tends to 0 (:class:`SliceFromInfinity`), and tracking
that retries failed paths along other arcs (:func:`track_all`). Nothing here
knows what the unknowns mean.

Example
-------
>>> import numpy as np
>>> from neurovar.pipeline.numeric.system import System
>>> L = line_family(System.from_text("x^2 - p", ["x"], ["p"]), 1, 1)   # x^2 = p0 + lam v
>>> L.evaluate(np.array([[2.0, 1.0]]), np.array([1.0, 3.0])).real.tolist()
[[0.0]]
"""

from __future__ import annotations

import numpy as np

from .tracker import TrackerOptions


def line_family(full, n, N):
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


def track_all(system, X, p_from, p_to, rng, attempts: int = 4, loop_tracker=None, endgame: bool = True):
    """Endpoints of the paths from ``X`` (failed ones tracked again along other arcs); the ones that ended.

    ``loop_tracker`` (a :class:`~pipeline.numeric.distribute.LoopExecutor`) spreads the paths over a cluster."""
    from .distribute import track_paths

    opts = TrackerOptions(corrector_tol=1e-8, singular_condition=1e14, equilibrated=True, endgame=endgame)
    X = np.atleast_2d(X)
    ends = np.full(X.shape, np.nan, dtype=np.complex128)
    done = np.zeros(len(X), dtype=bool)
    for _ in range(attempts):
        idx = np.flatnonzero(~done)
        if not len(idx):
            break
        Y, status = track_paths(system, X[idx], p_from, p_to, int(rng.integers(2**31)), opts, loop_tracker)
        good = np.isin(status, ["regular", "singular"]) & np.isfinite(Y).all(axis=1)
        ends[idx[good]], done[idx[good]] = Y[good], True
    return ends[done]


def converged(system, X, p):
    """The rows of ``X`` at which Newton's method at ``p`` converges (quadratically, nearby), refined."""
    from .newton import _norm, newton

    X = np.atleast_2d(X)
    if not len(X):
        return X
    Y, last = newton(system, X, p, iterations=8)
    size = 1 + _norm(Y)
    ok = np.isfinite(last) & (last <= 1e-10 * size) & (_norm(Y - X) <= 1e-4 * size)
    return Y[ok]


class SliceFromInfinity:
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


__all__ = ["SliceFromInfinity", "converged", "line_family", "track_all"]
