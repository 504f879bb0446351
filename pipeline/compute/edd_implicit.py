"""The exact implicit route of ``edd``: the saturated Lagrange system of implicit equations, msolve mod p.

The recipe (saturation, the zero-loss part, positive-dimensional components, real
points over Q) is :func:`pipeline.algebra.edd_system.critical_set`.
"""

from __future__ import annotations

from ..algebra.edd_system import critical_set


def exact_implicit(var, Q, u, confirm: bool, real: bool, seed: int) -> dict:
    """The ``edd`` record of the implicit route for a variety with ``equations`` and ``codim``."""
    out = critical_set(var.equations, Q, u, seed=seed, confirm=confirm, real=real, codim=var.codim)
    out.pop("total_seconds")
    out.update(fiber_size=None, parameter_points=None, method="exact-implicit-modp")
    return out
