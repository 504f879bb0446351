"""Batched linear solves and Newton's method at fixed parameters (shared by the tracker and the certifier)."""

from __future__ import annotations

import numpy as np


def _solve(A, b):
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.einsum("bij,bj->bi", _inverse(A), b)


def _inverse(A):
    """Batched inverses; a singular matrix gets its pseudo-inverse, a non-finite one NaN (its path then fails)."""
    try:
        return np.linalg.inv(A)
    except np.linalg.LinAlgError:
        pass
    out = np.full(A.shape[:-2] + A.shape[-1:] + A.shape[-2:-1], np.nan, dtype=np.result_type(A, np.complex128))
    finite = np.isfinite(A).all(axis=(-2, -1))
    try:
        out[finite] = np.linalg.pinv(A[finite])
    except np.linalg.LinAlgError:  # an SVD that does not converge (overflowing entries): one at a time
        for i in zip(*np.nonzero(finite)):
            try:
                out[i] = np.linalg.pinv(A[i])
            except np.linalg.LinAlgError:
                pass
    return out


def quiet_overflow(fn):
    """``fn`` run without numpy's overflow and invalid-value warnings: a diverging path overflows, and
    its status (or a failed Newton step) says so. A fresh ``np.errstate`` per call: safe in threads."""
    import functools

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            return fn(*args, **kwargs)
    return run


def _norm(v):
    return np.sqrt((np.abs(v) ** 2).sum(axis=-1))


def newton(system, x, p, iterations: int = 6, tol: float = 1e-13):
    """Newton's method at fixed parameters ``p`` on a batch; returns ``(x, last step norm)``."""
    x = np.array(x, dtype=np.complex128)
    last = np.full(x.shape[0], np.inf)
    for _ in range(iterations):
        F, Jx, _ = system.jacobian(x, p)
        dx = _solve(Jx, -F)
        last = _norm(dx)
        good = np.isfinite(last)
        x[good] += dx[good]
        if np.all(last[good] <= tol * (1 + _norm(x[good]))):
            break
    return x, last


def condition_numbers(system, x, p, equilibrate: bool = False) -> np.ndarray:
    """2-norm condition numbers of ``dF/dx`` at a batch of points.

    ``equilibrate``: the rows, then the columns, are scaled to unit max-norm first.
    Scaling an equation or a variable changes no solution and no multiplicity, so
    this number does not depend on the units: a simple root with one large variable
    (a neuron whose point in the projective plane is near the gauge chart's line at
    infinity: incoming weights ~20, output weight ~1e-9) has a raw condition number
    of 1e11 and an equilibrated one of ~1e2. (Not the default: on the attention ED
    system it let monodromy keep an endpoint that Krawczyk's test then could not
    certify.)
    """
    _, Jx, _ = system.jacobian(x, p)
    out = np.full(Jx.shape[0], np.inf)  # a non-finite Jacobian (an overflowing point): infinitely ill-conditioned
    finite = np.isfinite(Jx).all(axis=(1, 2))
    Jx = Jx[finite]
    if equilibrate:
        Jx = Jx / np.where((r := np.abs(Jx).max(axis=2, keepdims=True)) > 0, r, 1.0)
        Jx = Jx / np.where((c := np.abs(Jx).max(axis=1, keepdims=True)) > 0, c, 1.0)
    try:
        sv = np.linalg.svd(Jx, compute_uv=False)
    except np.linalg.LinAlgError:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        out[finite] = np.where(sv[:, -1] > 0, sv[:, 0] / sv[:, -1], np.inf)
    return out
