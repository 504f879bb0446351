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


def condition_numbers(system, x, p) -> np.ndarray:
    """2-norm condition numbers of ``dF/dx`` at a batch of points."""
    _, Jx, _ = system.jacobian(x, p)
    out = np.full(Jx.shape[0], np.inf)  # a non-finite Jacobian (an overflowing point): infinitely ill-conditioned
    finite = np.isfinite(Jx).all(axis=(1, 2))
    try:
        sv = np.linalg.svd(Jx[finite], compute_uv=False)
    except np.linalg.LinAlgError:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        out[finite] = np.where(sv[:, -1] > 0, sv[:, 0] / sv[:, -1], np.inf)
    return out
