"""Points of a variety given by equations alone, and its dimension, numerically.

``V = V(F)`` in ``C^n`` for any number ``m`` of generators ``F`` (of any
codimension; ``m`` may exceed ``n``). A random complex point is moved onto
``V ∩ H``, ``H = {a . x = 1}`` a random affine hyperplane, by Newton's method
with a *rank-revealing* step: the step is ``-J^+ F`` with ``J^+`` the
pseudo-inverse of the Jacobian of ``(F, a . x - 1)`` truncated at its numerical
rank (singular values above ``RANK_TOL`` times the largest). Near ``V`` that
rank is ``codim V + 1`` and the truncated step is Newton's method for a
constant-rank system: quadratic convergence (three or four steps from
``|F| ~ 1e-4`` on the 2x2 minors of 2x3x3 tensors). The hyperplane keeps the
iteration away from the vertex of a cone (homogeneous generators): plain
Gauss--Newton is drawn there, where every singular value vanishes, and
converges linearly to 0.

At the point found the Jacobian of ``F`` has a clear gap in its singular
values; its numerical rank is the codimension of ``V`` at a smooth point of a
top-dimensional component (a random start lands on one with probability one
when ``V`` is irreducible). The gap is reported; an exact check of the rank,
modulo a prime at a point of ``V`` over ``GF(p)``, is
:func:`pipeline.algebra.msolve_points.jacobian_rank_mod_p`.

Example
-------
>>> import numpy as np
>>> from neurovar.pipeline.numeric.system import System
>>> F = System.from_text("x*z - y^2; y*w - z^2; x*w - y*z", ["x", "y", "z", "w"])   # twisted cubic cone
>>> W = witness_point(F, np.random.default_rng(0))
>>> W.codimension, W.dimension, bool(np.abs(F.evaluate(W.point[None, :])).max() < 1e-12), W.gap > 1e8
(2, 2, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpecError

#: Singular values below this fraction of the largest are zero (numerical rank).
RANK_TOL = 1e-8


@dataclass
class WitnessPoint:
    """A point of ``V(F)`` and the numerical rank of the Jacobian of ``F`` there.

    Attributes
    ----------
    point : complex array (n,)
    codimension : int
        Numerical rank of ``dF`` at ``point``.
    dimension : int
        ``n - codimension``.
    gap : float
        ``sigma_c / sigma_{c+1}`` (``inf`` when ``c = n``): how clearly the rank is revealed.
    residual : float
        ``max |F(point)|``.
    """

    point: np.ndarray
    codimension: int
    dimension: int
    gap: float
    residual: float


def numerical_rank(sv: np.ndarray, tol: float = RANK_TOL) -> int:
    """Singular values (descending) above ``tol`` times the largest."""
    if not len(sv) or sv[0] == 0:
        return 0
    return int((sv > tol * sv[0]).sum())


def project(F, x, a=None, iterations: int = 60) -> tuple[np.ndarray, bool]:
    """Newton projection of ``x`` onto ``V(F)`` (``∩ {a . x = 1}`` when ``a`` is given), rank-revealing steps.

    Returns the last iterate and whether it converged (a step below the unit
    round-off relative to ``|x|`` and a residual at rounding level).
    """
    x = np.asarray(x, dtype=np.complex128).copy()
    for _ in range(iterations):
        Fx, J, _ = F.jacobian(x[None, :])
        r, Jr = Fx[0], J[0]
        if a is not None:
            r, Jr = np.r_[r, a @ x - 1], np.vstack([Jr, a[None, :]])
        if not np.all(np.isfinite(r)) or not np.all(np.isfinite(Jr)):
            return x, False
        U, s, Vh = np.linalg.svd(Jr, full_matrices=False)
        k = max(numerical_rank(s), 1)
        dx = -(Vh[:k].conj().T @ ((U[:, :k].conj().T @ r) / s[:k]))
        x = x + dx
        if np.abs(dx).max() <= 1e-14 * (1 + np.abs(x).max()):
            break
    scale = 1 + np.abs(x).max()
    res = np.abs(F.evaluate(x[None, :])[0]).max()
    return x, bool(np.all(np.isfinite(x)) and res <= 1e-10 * scale ** max(F.degrees + [1]))


def witness_point(F, rng, attempts: int = 20) -> WitnessPoint:
    """A random point of ``V(F)`` and the dimension there (see the module docstring).

    Tries a random affine hyperplane first (cones), then none (a finite ``V``
    misses a generic hyperplane). Raises :class:`SpecError` (field
    ``equations``) when no start converges.
    """
    n = F.n_variables
    for k in range(attempts):
        x0 = (rng.normal(size=n) + 1j * rng.normal(size=n)) / np.sqrt(2)
        a = None
        if k % 4 != 3:
            a = (rng.normal(size=n) + 1j * rng.normal(size=n)) / np.sqrt(2 * n)
            x0 = x0 / (a @ x0)  # on the hyperplane
        x, ok = project(F, x0, a)
        if not ok:
            continue
        _, J, _ = F.jacobian(x[None, :])
        sv = np.linalg.svd(J[0], compute_uv=False)
        c = numerical_rank(sv)
        gap = float(sv[c - 1] / sv[c]) if 0 < c < len(sv) and sv[c] > 0 else np.inf
        return WitnessPoint(x, c, n - c, gap, float(np.abs(F.evaluate(x[None, :])[0]).max()))
    raise SpecError("equations", f"no point of the variety was found by Newton projection from {attempts} random "
                                 "points: check that the equations have a common complex zero")


def sample_point(F, rng, codimension: int | None = None, attempts: int = 20) -> np.ndarray:
    """A random point of ``V(F)`` where ``dF`` has rank ``codimension`` (a smooth point of a top component)."""
    for _ in range(attempts):
        W = witness_point(F, rng)
        if codimension is None or W.codimension == codimension:
            return W.point
    raise SpecError("equations", f"no smooth point (Jacobian rank {codimension}) found among {attempts} points "
                                 "of the variety")


__all__ = ["RANK_TOL", "WitnessPoint", "numerical_rank", "project", "sample_point", "witness_point"]
