"""The trace test's pencil: the fibre over ``t = 0`` tracked to ``t1`` and ``2 t1``, and its verdict.

:func:`_pencil_test` is the numerical core of :func:`~pipeline.numeric.trace.trace_test`
(see that module for the mathematics); the helpers here compare points by
their images and tell paths that jumped onto another's end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .budget import expired
from .trace_forms import LineSystem
from .tracker import newton, track

EPS = np.finfo(float).eps
#: The pencil's step ``|t1|`` as a fraction of the median ``|q(w) - 1|`` over the solutions: a short step
#: keeps the endpoints near the start points (on a Waring fibre a step of 0.5 sent paths near neurons
#: colliding, ``|x| ~ 1e4``, where the tracker gave up; 0.02 does not), while a missing solution still
#: leaves a residual ``~ t1^2`` far above the endpoints' error (tested with one solution removed)
TAU = 0.02


@dataclass
class TraceTestResult:
    """Outcome of :func:`trace_test`.

    Attributes
    ----------
    passed : bool or None
        True: the traces are affine-linear (the set is complete); False: they
        are not (a solution is missing); None: inconclusive (a path failed or
        the endpoints are too ill-conditioned to decide).
    residual : float
        ``max |T(0) - 2 T(t1) + T(t2)|`` over the trace coordinates.
    tolerance : float
        The bound the residual had to meet (from the endpoints' accuracy).
    scale : float
        ``sum |coordinates|`` over the tracked points (the size of the traces).
    extra_witnesses : int
        Points (orbits) of ``C ∩ {a . x = 1}`` found.
    seconds : float
    reason : str
    line : TraceLine or None
        The line tested with the extra witnesses found on it, for a later
        test to continue on (``trace_test(..., line=result.line)``).
    """

    passed: bool | None
    residual: float
    tolerance: float
    scale: float
    extra_witnesses: int
    seconds: float
    reason: str
    line: object = None


def _first_equal(P: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """For each row of ``P``, the index of the first row equal to it (relative distance ``tol``); -1 if not finite."""
    from .monodromy import SolutionSet

    seen, rows = SolutionSet(P.shape[1], tol=tol), []
    first = np.full(len(P), -1, dtype=np.int64)
    for i, p in enumerate(P):
        if not np.all(np.isfinite(p)):
            continue
        hit = int(seen.locate(p[None, :])[0])
        if hit < 0:
            seen.add(p[None, :])
            rows.append(i)
            first[i] = i
        else:
            first[i] = rows[hit]
    return first


def _collided(ends, K: int, image) -> np.ndarray:
    """Paths of one target (the first ``K`` ends, the last ``K``) that ended on the image point ``(y, lam)`` of another.

    Both are tracked again along bent arcs: a path that jumped onto another's end lands elsewhere, and for
    a complete fibre the set of endpoints does not depend on the arcs.
    """
    out = np.zeros(len(ends), dtype=bool)
    for j in range(2):
        idx = np.arange(j * K, (j + 1) * K)
        idx = idx[np.isfinite(ends[idx]).all(axis=1)]
        if not len(idx):
            continue
        first = _first_equal(_WithLam(image).evaluate(ends[idx]))
        dup = first != np.arange(len(idx))
        out[idx[dup]] = out[idx[first[dup]]] = True
    return out


def _distinct_images(image, X) -> np.ndarray:
    """Indices of one point per distinct image ``y(x)`` (relative distance 1e-8)."""
    X = np.atleast_2d(X)
    return np.flatnonzero(_first_equal(image.evaluate(X)) == np.arange(len(X)))


class _WithLam:
    """``(x, lam) -> (y(x), lam)``: the image curve's point of a point of ``C``."""

    def __init__(self, image):
        self.image = image

    def evaluate(self, X):
        return np.c_[self.image.evaluate(X[:, :-1]), X[:, -1]]


def _distinct(X):
    return X[_first_equal(X) == np.arange(len(X))]


def _outcome(res: TraceTestResult) -> str:
    """One test in a few words: ``"1449 extra: failed, residual 3.1e-02"``."""
    what = {True: "passed", False: f"failed, residual {res.residual:.1e}"}.get(
        res.passed, res.reason.removeprefix("inconclusive: "))
    return f"{res.extra_witnesses} extra: {what}"


def _pencil_test(system, p0, v, forms, beta0, W, extra, opts, rng, loop_tracker, remaining,
                 t_start) -> TraceTestResult:
    """Track ``W`` and the extra witnesses along the pencil ``phi = t`` to ``t1`` and ``2 t1``; the verdict."""
    from .monodromy import SolutionSet

    n = system.n_variables
    start = np.vstack([np.c_[W, np.zeros(len(W))], extra])
    K = start.shape[0]
    ax = np.abs(forms(W)[0] @ beta0 - 1)
    tau = TAU * float(np.median(ax)) if len(ax) else TAU
    t1 = tau * np.exp(2j * np.pi * rng.random())
    pencil = LineSystem(system, p0, v, "pencil", forms, beta=beta0)
    starts = np.vstack([start, start])
    targets = np.r_[np.full(K, t1), np.full(K, 2 * t1)][:, None]
    if loop_tracker is not None and hasattr(loop_tracker, "track"):  # spread over the cluster when large
        ends, status = loop_tracker.track(pencil, starts, np.zeros(1), targets, 1.0, opts)
        status = status.astype(object)
    else:
        R = track(pencil, starts, np.zeros(1), targets, gamma=1.0, options=opts)
        status, ends = R.status.astype(object), R.solutions.copy()
    # a failed path is tracked again along a bent arc (random gamma): for a complete fibre the set of
    # endpoints does not depend on the arcs; for an incomplete one any choice leaves a proper subset,
    # whose trace is not affine-linear; two paths onto one point are caught below
    for _ in range(3):
        bad = np.flatnonzero(~np.isin(status, ["regular", "singular"]) | _collided(ends, K, forms.ysys))
        if not len(bad) or (remaining() is not None and remaining() <= 0):
            break
        R2 = track(pencil, starts[bad], np.zeros(1), targets[bad], gamma=None,
                   seed=int(rng.integers(2**31)), options=opts)
        status[bad], ends[bad] = R2.status, R2.solutions
    status = status.astype(str)
    Z = np.vstack([start, ends])
    params = np.r_[np.zeros(K), np.full(K, t1), np.full(K, 2 * t1)][:, None]
    # refine every point (the start points too: their accuracy enters the tolerance); an endpoint
    # the tracker called singular only because its Jacobian is badly scaled (far points of the
    # curve) is accepted when Newton's method converges to it quadratically
    Z, last = newton(pencil, Z, params, iterations=8)
    Z2, last2 = newton(pencil, Z, params, iterations=1)
    size_z = 1 + np.abs(Z).max(axis=1)
    ok = np.r_[np.ones(K, dtype=bool), np.isin(status, ["regular", "singular"])]
    ok &= np.isfinite(last2) & (last2 <= 1e-10 * size_z)
    if not ok.all():
        # the tracker stops every running path at the deadline (they end "failed"): that is no
        # property of the curve, and the reason says which it was
        why = ("were stopped by the time limit before their end" if expired()
               else "did not end at a simple solution")
        return TraceTestResult(None, np.inf, 0.0, 0.0, len(extra), time.perf_counter() - t_start,
                               f"inconclusive: {int((~ok).sum())} trace path(s) {why}")
    Yz, Jz = forms(Z[:, :n])
    coords = np.c_[Yz, Z[:, n]]  # the image coordinates and lam
    # first-order error through y: the largest row sum of |dy| at each point
    wA = np.maximum(1.0, np.abs(Jz).sum(axis=2).max(axis=1))
    for j in range(3):  # two paths onto one point (a path jumped): no verdict
        block = coords[j * K:(j + 1) * K]
        if len(SolutionSet(block.shape[1], tol=1e-8).add(block)) != K:
            return TraceTestResult(None, np.inf, 0.0, 0.0, len(extra), time.perf_counter() - t_start,
                                   "inconclusive: two trace paths ended at one point")
    T = coords.reshape(3, K, -1).sum(axis=1)
    resid = float(np.abs(T[0] - 2 * T[1] + T[2]).max())
    size = float(np.abs(coords).sum(axis=0).max())
    # endpoint error: the last Newton correction (a converged simple root's forward error is of the
    # order of the next correction), floored at the unit round-off, through the traced functions
    # (the rows of dy) and the three-term combination (weights 1, 2, 1)
    err = (last2 + 4 * EPS * size_z) * wA
    weights = np.r_[np.ones(K), 2 * np.ones(K), np.ones(K)]
    tol = float(100 * (weights * err).sum())
    seconds = time.perf_counter() - t_start
    if not np.isfinite(tol) or tol > 1e-6 * max(size, 1.0):
        return TraceTestResult(None, resid, tol, size, len(extra), seconds,
                               f"inconclusive: endpoints too ill-conditioned (tolerance {tol:.1e})")
    passed = resid <= tol
    reason = (f"trace affine-linear: residual {resid:.1e} <= {tol:.1e}" if passed
              else f"trace not affine-linear: residual {resid:.1e} > {tol:.1e} (solutions are missing)")
    return TraceTestResult(bool(passed), resid, tol, size, len(extra), seconds, reason)
