"""Predictor--corrector path tracking of parameter homotopies, vectorised over paths.

The homotopy is ``H(x, t) = F(x; P(t))`` with the straight-line parameter path
``P(t) = p0 + phi(t) (p1 - p0)`` and the *gamma trick* reparametrisation
``phi(t) = gamma t / (1 + (gamma - 1) t)`` (``phi(0) = 0``, ``phi(1) = 1``; with
``gamma = 1`` it is the straight line). For two generic complex parameter points
the straight segment avoids the discriminant with probability one (it has real
codimension two); when the start or the target is special (real data ``u``, a
start system) a random complex ``gamma`` bends the path off the real segment.

All paths advance together: one step evaluates the system and its Jacobians
for every active path at once (numpy, complex128), a fourth-order Runge--Kutta
predictor follows ``dx/dt = -(dF/dx)^{-1} (dF/dp) P'(t)`` (its first stage
reuses the previous step's corrector Jacobian, so a step costs four Jacobians,
not five), two Newton steps with the Jacobian frozen at the predicted point
correct, and each path keeps its own step size (after a success scaled by
the fifth root of the ratio of a target to the observed predictor error -- the
first Newton correction -- between 0.5x and 4x; halved on failure), masked in
and out of the batch.
Monodromy loops (:func:`track_loops`) chain their two legs per path.

Endpoints are refined by Newton's method and classified:

``regular``      Newton converges and the Jacobian is well conditioned.
``singular``     the Jacobian at the endpoint is (numerically) singular; the
                 endpoint is estimated by the Cauchy endgame (the mean of the
                 path over loops ``t = 1 - r e^{i theta}`` until it closes up,
                 which also gives the winding number).
``at_infinity``  the path diverges (``|x|`` beyond ``infinity_threshold``).
``failed``       step size underflow or too many steps before the end.

Example
-------
>>> import numpy as np
>>> from neurovar.pipeline.numeric.system import System
>>> S = System.from_text("x^2 - a", ["x"], ["a"])
>>> R = track(S, np.array([[1.0], [-1.0]]), p0=np.array([1.0]), p1=np.array([4.0]), gamma=0.6+0.8j)
>>> np.round(R.solutions.real.ravel(), 8).tolist(), R.status.tolist()
([2.0, -2.0], ['regular', 'regular'])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .budget import expired
from .newton import _inverse, _norm, _solve, condition_numbers, newton

REGULAR, SINGULAR, AT_INFINITY, FAILED = "regular", "singular", "at_infinity", "failed"


@dataclass
class TrackerOptions:
    """Tolerances of :func:`track` (defaults suit systems scaled to ``|x| ~ 1``)."""

    corrector_tol: float = 1e-7
    initial_step: float = 0.02
    max_step: float = 0.1
    min_step: float = 1e-13
    max_steps: int = 4000
    infinity_threshold: float = 1e8
    singular_condition: float = 1e10
    #: compare the equilibrated condition number (rows and columns scaled) with ``singular_condition``
    equilibrated: bool = False
    endgame_radius: float = 0.02
    endgame_samples: int = 16
    max_winding: int = 6
    endgame: bool = True
    grow_after: int = 2
    #: Step-size control: after an accepted step, ``h *= clip(0.9 (predictor_tol * (1 + |x|) / e)^(1/5),
    #: 0.5, 4)`` where ``e`` is the first Newton correction (the RK4 predictor's error, ~h^5).
    #: ``None``: double after ``grow_after`` successes in a row instead.
    predictor_tol: float | None = 1e-3


@dataclass
class TrackResult:
    """Endpoints of tracked paths.

    Attributes
    ----------
    solutions : ndarray, shape (B, n)
        Endpoints (refined; for singular ones the endgame estimate).
    status : ndarray of str, shape (B,)
        ``regular``, ``singular``, ``at_infinity`` or ``failed``.
    condition : ndarray, shape (B,)
        Condition number of ``dF/dx`` at the endpoint.
    winding : ndarray of int, shape (B,)
        Winding number from the endgame (1 for regular endpoints, 0 if unknown).
    steps : ndarray of int, shape (B,)
        Accepted plus rejected steps per path.
    """

    solutions: np.ndarray
    status: np.ndarray
    condition: np.ndarray
    winding: np.ndarray
    steps: np.ndarray
    extra: dict = field(default_factory=dict)

    @property
    def regular(self) -> np.ndarray:
        return self.status == REGULAR

    def counts(self) -> dict:
        return {k: int((self.status == k).sum()) for k in (REGULAR, SINGULAR, AT_INFINITY, FAILED)}


class ParameterPath:
    """``P(t) = p0 + phi(t) (p1 - p0)`` with the gamma reparametrisation.

    ``p0, p1`` have shape (m,) or (B, m); ``gamma`` is a scalar or one value per path (B,).
    """

    def __init__(self, p0, p1, gamma=1.0):
        self.p0 = np.atleast_2d(np.asarray(p0, dtype=np.complex128))
        self.dp = np.atleast_2d(np.asarray(p1, dtype=np.complex128)) - self.p0
        self.gamma = np.atleast_1d(np.asarray(gamma, dtype=np.complex128))

    def _rows(self, a, idx):
        return a if a.shape[0] == 1 else a[idx]

    def __call__(self, t, idx):
        """``P(t)`` for the rows ``idx``."""
        return self.bind(idx).point(t, 0.0)[0]

    def bind(self, idx):
        """The paths of rows ``idx``, gathered once (a step evaluates them at several ``t``)."""
        return _BoundPath(self._rows(self.p0, idx), self._rows(self.dp, idx), self._rows(self.gamma, idx))


class _BoundPath:
    __slots__ = ("p0", "dp", "g")

    def __init__(self, p0, dp, g):
        self.p0, self.dp, self.g = p0, dp, g

    def point(self, t, dt):
        """``P(t)`` and ``P'(t) dt``."""
        g = self.g
        den = 1 + (g - 1) * t
        phi = g * t / den
        return self.p0 + phi[:, None] * self.dp, (g / den**2 * dt)[:, None] * self.dp


def _track_core(system, path, x, t_of_s, dt_of_s, s_start, s_end, opts: TrackerOptions,
                on_reach=None):
    """Track all rows of ``x`` from ``s_start`` to ``s_end`` (scalars) along ``t(s)``.

    Returns ``(x, s, code, steps)`` with code 0 = reached, 1 = step underflow,
    2 = diverged, 3 = too many steps.

    ``on_reach(rows, x)``, if given, is called with the rows that just reached
    ``s_end``; it may change their paths (``path`` is per row) and return the
    rows to track again from ``s_start`` (used to chain the legs of monodromy
    loops without waiting for the slowest path of the first leg).
    """
    B = x.shape[0]
    x = x.copy()
    s = np.full(B, float(s_start))
    h = np.full(B, min(opts.initial_step, s_end - s_start))
    code = np.full(B, -1)
    steps = np.zeros(B, dtype=np.int64)
    streak = np.zeros(B, dtype=np.int64)
    length = s_end - s_start
    self_grow = opts.grow_after
    if length <= 0:
        code[:] = 0
        return x, s, code, steps

    def point(bound, ss):
        """Parameters at ``t(s)`` and their derivative in ``s`` (shared by the stages at one s)."""
        return bound.point(t_of_s(ss), dt_of_s(ss))

    def velocity(xs, P, dP):
        _, Jx, Jp = system.jacobian(xs, P)
        return _solve(Jx, -np.einsum("bij,bj->bi", Jp, dP))

    # k1 of the next step, kept per path: after a rejected step it is exactly the k1 just used
    # (same point); after an accepted step it is taken from the corrector's Jacobian (at the
    # predicted point, within the corrector's tolerance of the new point). One Jacobian and one
    # solve fewer per step; the predictor stays a predictor, the corrector decides acceptance.
    k1_cache = np.zeros_like(x)
    have_k1 = np.zeros(B, dtype=bool)
    while True:
        idx = np.flatnonzero(code < 0)
        if len(idx) == 0:
            break
        if expired():  # past the solve's deadline (pipeline.numeric.budget): unfinished paths fail
            code[idx] = 3
            break
        xs, ss = x[idx], s[idx]
        hs = np.minimum(h[idx], s_end - ss)
        bound = path.bind(idx)
        fresh = ~have_k1[idx]
        if fresh.any():
            k1_cache[idx[fresh]] = velocity(xs[fresh], *point(path.bind(idx[fresh]), ss[fresh]))
        k1 = k1_cache[idx]
        Pm, dPm = point(bound, ss + 0.5 * hs)
        k2 = velocity(xs + 0.5 * hs[:, None] * k1, Pm, dPm)
        k3 = velocity(xs + 0.5 * hs[:, None] * k2, Pm, dPm)
        s1 = ss + hs
        p1, dp1 = point(bound, s1)
        k4 = velocity(xs + hs[:, None] * k3, p1, dp1)
        xp = xs + (hs / 6)[:, None] * (k1 + 2 * k2 + 2 * k3 + k4)
        # corrector: two Newton steps with the Jacobian frozen at the predicted point (one
        # Jacobian and one factorisation per step; the second step only evaluates F)
        F, Jx, Jp = system.jacobian(xp, p1)
        Jinv = _inverse(Jx)
        norms = []
        for k in range(2):
            if k:
                F = system.evaluate(xp, p1)
            dx = -np.einsum("bij,bj->bi", Jinv, F)
            xp = xp + dx
            norms.append(_norm(dx))
        scale = 1.0 + _norm(xp)
        n1, n2 = norms
        ok = (np.isfinite(n2) & np.isfinite(n1) & (n2 <= opts.corrector_tol * scale)
              & (n1 <= 0.05 * scale) & ((n2 <= 0.5 * n1) | (n1 <= opts.corrector_tol * scale)))
        steps[idx] += 1
        acc, rej = idx[ok], idx[~ok]
        x[acc] = xp[ok]
        s[acc] = np.where(s_end - s1[ok] < 1e-14 * max(1.0, length), s_end, s1[ok])
        have_k1[idx] = True
        if len(acc):
            k1_cache[acc] = -np.einsum("bij,bj->bi", Jinv[ok], np.einsum("bij,bj->bi", Jp[ok], dp1[ok]))
        streak[acc] += 1
        if opts.predictor_tol is not None:
            with np.errstate(divide="ignore"):
                fac = 0.9 * (opts.predictor_tol * scale[ok] / n1[ok]) ** 0.2
            h[acc] = np.minimum(hs[ok] * np.clip(fac, 0.5, 4.0), opts.max_step * length)
        else:
            grow = streak[acc] >= self_grow
            h[acc] = np.where(grow, np.minimum(hs[ok] * 2.0, opts.max_step * length), hs[ok])
        h[rej] = hs[~ok] * 0.5
        streak[rej] = 0
        code[acc[s[acc] >= s_end]] = 0
        code[acc[_norm(x[acc]) > opts.infinity_threshold]] = 2
        code[rej[h[rej] < opts.min_step * max(1.0, length)]] = 1
        code[idx[(steps[idx] >= opts.max_steps) & (code[idx] < 0)]] = 3
        if on_reach is not None:
            reached = acc[code[acc] == 0]
            if len(reached):
                again = np.asarray(on_reach(reached, x), dtype=np.int64)
                if len(again):
                    code[again] = -1
                    s[again] = s_start
                    h[again] = min(opts.initial_step, length)
                    streak[again] = 0
                    have_k1[again] = False
    return x, s, code, steps


def track_loops(system, X, p0, P1, G1, G2, options: TrackerOptions | None = None):
    """Track each row of ``X`` (solutions at ``p0``) around its loop ``p0 -> P1[i] -> p0``.

    The two legs are gamma-trick segments with constants ``G1[i]`` (out) and
    ``G2[i]`` (back). All loops advance in one batch and a path starts its
    second leg as soon as it ends its first, so a round costs the slowest
    *loop*, not the slowest first leg plus the slowest second leg.

    Returns ``(Y, ok)``: the endpoints at ``p0`` (refined by Newton's method)
    and the mask of the loops that stayed on track and end at a regular
    solution.

    >>> from neurovar.pipeline.numeric.system import System
    >>> S = System.from_text("x^2 - a", ["x"], ["a"])
    >>> Y, ok = track_loops(S, np.array([[1.0 + 0j]]), np.array([1.0 + 0j]),
    ...                     np.array([[0.5 - 1j]]), np.array([0.6 + 0.8j]), np.array([0.8 - 0.6j]))
    >>> bool(ok[0]), bool(abs(abs(Y[0, 0]) - 1) < 1e-12)
    (True, True)
    """
    opts = options or TrackerOptions(endgame=False)
    X = np.atleast_2d(np.asarray(X, dtype=np.complex128))
    B = X.shape[0]
    Y = np.full_like(X, np.nan)
    ok = np.zeros(B, dtype=bool)
    if B == 0:
        return Y, ok
    p0 = np.asarray(p0, dtype=np.complex128).ravel()
    P1 = np.asarray(P1, dtype=np.complex128).reshape(B, -1)
    G2 = np.asarray(G2, dtype=np.complex128).reshape(B)
    path = ParameterPath(np.broadcast_to(p0, P1.shape).copy(), P1, np.asarray(G1, dtype=np.complex128).reshape(B).copy())
    leg = np.zeros(B, dtype=np.int64)

    def on_reach(rows, x):
        rows = rows[leg[rows] == 0]
        leg[rows] = 1
        path.p0[rows] = P1[rows]
        path.dp[rows] = p0[None, :] - P1[rows]
        path.gamma[rows] = G2[rows]
        return rows

    ident = lambda s: s.astype(np.complex128)
    one = lambda s: np.ones_like(s, dtype=np.complex128)
    x, _, code, _ = _track_core(system, path, X, ident, one, 0.0, 1.0, opts, on_reach=on_reach)
    done = np.flatnonzero((code == 0) & (leg == 1))
    if len(done):
        xr, last = newton(system, x[done], p0)
        cond = condition_numbers(system, xr, p0, opts.equilibrated)
        good = (cond < opts.singular_condition) & (last <= 1e-8 * (1 + _norm(xr)))
        Y[done[good]] = xr[good]
        ok[done[good]] = True
    return Y, ok


def _cauchy_endgame(system, path, x_start, r, opts):
    """Cauchy endgame: loops ``t = 1 - r e^{2 pi i s}``; returns (estimate, winding, closed mask)."""
    B = x_start.shape[0]
    M = opts.endgame_samples
    t_of_s = lambda s: 1 - r * np.exp(2j * np.pi * s)
    dt_of_s = lambda s: -2j * np.pi * r * np.exp(2j * np.pi * s)
    x = x_start.copy()
    total = x_start.copy()  # sum of samples (s = 0 included, the closing sample excluded)
    winding = np.zeros(B, dtype=np.int64)
    alive = np.ones(B, dtype=bool)
    scale0 = 1 + _norm(x_start)
    for c in range(1, opts.max_winding + 1):
        for k in range(M):
            idx = np.flatnonzero(alive & (winding == 0))
            if len(idx) == 0:
                break
            sub = _SubPath(path, idx)
            xs, _, code, _ = _track_core(system, sub, x[idx], t_of_s, dt_of_s,
                                         (c - 1) + k / M, (c - 1) + (k + 1) / M, opts)
            alive[idx[code != 0]] = False
            x[idx] = xs
            if k < M - 1:
                total[idx] += xs
        idx = np.flatnonzero(alive & (winding == 0))
        closed = _norm(x[idx] - x_start[idx]) <= 1e-6 * scale0[idx]
        winding[idx[closed]] = c
        total[idx[~closed]] += x[idx[~closed]]
    est = np.where((winding > 0)[:, None], total / np.maximum(winding * M, 1)[:, None], x)
    return est, winding, alive & (winding > 0)


class _SubPath:
    """A :class:`ParameterPath` restricted to rows ``idx`` of the batch."""

    def __init__(self, path, rows):
        self.path, self.rows = path, rows

    def bind(self, idx):
        return self.path.bind(self.rows[idx])


def track(system, starts, p0, p1, *, gamma=1.0, options: TrackerOptions | None = None,
          seed: int | None = None) -> TrackResult:
    """Track solutions of ``F(x; p0) = 0`` to ``F(x; p1) = 0``.

    Parameters
    ----------
    system : System
    starts : array, shape (B, n)
        Solutions at ``p0``.
    p0, p1 : array, shape (m,) or (B, m)
        Start and target parameters (one pair for all paths, or one per path).
    gamma : complex, array of shape (B,), or None
        Gamma-trick constant (one for all paths or one per path); ``None``
        draws a random unit complex number (use it when ``p0`` or ``p1`` is
        not generic, e.g. real data).
    options : TrackerOptions, optional
    seed : int, optional
        Seed for the random ``gamma``.

    Returns
    -------
    TrackResult

    Example
    -------
    >>> import numpy as np
    >>> from neurovar.pipeline.numeric.system import System
    >>> S = System.from_text("x^3 - a", ["x"], ["a"])
    >>> R = track(S, np.array([[1.0]]), p0=[1.0], p1=[1e-30], gamma=None, seed=1)
    >>> str(R.status[0]), int(R.winding[0]), bool(abs(R.solutions[0, 0]) < 1e-6)
    ('singular', 3, True)
    """
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging path overflows: its status says so
        return _track(system, starts, p0, p1, gamma, options, seed)


def _track(system, starts, p0, p1, gamma, options, seed) -> TrackResult:
    opts = options or TrackerOptions()
    x = np.atleast_2d(np.asarray(starts, dtype=np.complex128))
    if gamma is None:
        rng = np.random.default_rng(seed)
        gamma = np.exp(2j * np.pi * rng.random())
    path = ParameterPath(p0, p1, gamma)
    B = x.shape[0]
    status = np.full(B, FAILED, dtype=object)
    winding = np.zeros(B, dtype=np.int64)
    cond = np.full(B, np.inf)
    if B == 0:
        return TrackResult(x, status.astype(str), cond, winding, np.zeros(0, dtype=np.int64))
    ident = lambda s: s.astype(np.complex128)
    one = lambda s: np.ones_like(s, dtype=np.complex128)
    s_eg = 1.0 - opts.endgame_radius if opts.endgame else 1.0
    x_eg, _, code, steps = _track_core(system, path, x, ident, one, 0.0, s_eg, opts)
    status[code == 2] = AT_INFINITY
    out = x_eg.copy()
    go = np.flatnonzero(code == 0)
    if opts.endgame and len(go):
        sub = _SubPath(path, go)
        xe, _, code2, st2 = _track_core(system, sub, x_eg[go], ident, one, s_eg, 1.0, opts)
        steps[go] += st2
        out[go] = xe
        reached = go[code2 == 0]
        status[go[code2 == 2]] = AT_INFINITY
        tail = go[code2 == 1]  # failed near t = 1: singular or diverging endpoint
    else:
        reached, tail = go, np.zeros(0, dtype=np.int64)
    p_end = path(np.ones(B, dtype=np.complex128), np.arange(B))
    if len(reached):
        xr, last = newton(system, out[reached], p_end[reached])
        out[reached] = xr
        cond[reached] = condition_numbers(system, xr, p_end[reached], opts.equilibrated)
        good = (cond[reached] < opts.singular_condition) & (last <= 1e-8 * (1 + _norm(xr)))
        status[reached[good]] = REGULAR
        winding[reached[good]] = 1
        tail = np.concatenate([tail, reached[~good]])
    if len(tail):
        if opts.endgame:
            sub = _SubPath(path, tail)
            est, w, closed = _cauchy_endgame(system, sub, x_eg[tail], opts.endgame_radius, opts)
            big = _norm(est) > opts.infinity_threshold ** 0.5
            out[tail[closed & ~big]] = est[closed & ~big]
            winding[tail] = w
            status[tail[closed & ~big]] = SINGULAR
            status[tail[big]] = AT_INFINITY
            grew = _norm(out[tail]) > 1e4 * (1 + _norm(x_eg[tail]))
            status[tail[~closed & grew]] = AT_INFINITY
            cond[tail] = condition_numbers(system, out[tail], p_end[tail], opts.equilibrated)
        else:
            status[tail] = SINGULAR
    return TrackResult(out, status.astype(str), cond, winding, steps)
