"""The exact implicit route of ``edd``: the saturated Lagrange system of implicit equations, msolve mod p.

The recipe (saturation, the zero-loss part, positive-dimensional components, real
points over Q) is :func:`pipeline.algebra.edd_system.critical_set`. Real critical
points are decided first from certified complex ones (:mod:`.edd_real`: the
exact count mod p, and as many disjoint Krawczyk boxes, each meeting or missing
``R^n``); only when that does not decide them are they counted over ``Q``
(msolve's real root isolation, 57 times the complex count on the attention ED
degree). ``method`` says which: ``exact-implicit-modp+real-krawczyk`` or
``exact-implicit-modp``.
"""

from __future__ import annotations

from ..algebra.edd_system import critical_set
from ..algebra.weights import kernel_basis


def exact_implicit(var, Q, u, confirm: bool, real: bool, seed: int, krawczyk: bool = True) -> dict:
    """The ``edd`` record of the implicit route for a variety with ``equations`` and ``codim``
    (``krawczyk=False``: real points over ``Q`` only, as an independent check of a numerical route's).

    With Krawczyk, the certified boxes are computed in a daemon thread while msolve
    counts in this one (its subprocesses wait on another core): the boxes need the
    exact count only at the end. An error or Ctrl-C in the count is raised at once,
    as without the boxes; the thread's work is bounded by its own time budget.
    """
    import threading

    from .edd_real import certified_boxes, decide

    method = "exact-implicit-modp"
    krawczyk = krawczyk and real and not kernel_basis(Q)  # an invertible Q: no zero-loss part, all positive loss
    if not krawczyk:
        out = critical_set(var.equations, Q, u, seed=seed, confirm=confirm, real=real, codim=var.codim)
    else:
        found: dict = {}

        def boxes():
            try:
                found["boxes"] = certified_boxes(var, Q, u, seed=seed)
            except Exception as e:  # never the count's business: then msolve counts the real points over Q
                found["boxes"] = (0, 0, 0, f"not certified: {e}")

        worker = threading.Thread(target=boxes, daemon=True, name="neurovar-real-points")
        worker.start()
        out = critical_set(var.equations, Q, u, seed=seed, confirm=confirm, real=False, codim=var.codim)
        worker.join()
        n_real = None
        if out["edd"] is not None and not out["positive_dimensional"] and not out["zero_loss_points"]:
            n_real, _ = decide(found["boxes"], out["edd"])
        if n_real is None:  # not decided from the complex points: over Q
            out = critical_set(var.equations, Q, u, seed=seed, confirm=confirm, real=True, codim=var.codim)
        else:
            out["real_critical_points"], method = n_real, method + "+real-krawczyk"
    out.pop("total_seconds")
    out.update(fiber_size=None, parameter_points=None, method=method)
    return out
