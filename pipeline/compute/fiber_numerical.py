"""The numerical route of :mod:`pipeline.compute.fiber`: monodromy on the gauged fiber system
(:func:`pipeline.problems.fiber.numerical_fiber`), the trust rule against an exact count, and the
numerical columns of a fiber row."""

from __future__ import annotations

from .fiber_system import slice_rank


def _numerical(model, g, seed, time_limit, stall_loops, prime, distribute=None) -> dict:
    """Run monodromy when the slice fiber is finite and non-trivial; None otherwise.

    The time limit (default :data:`~pipeline.numeric.budget.DEFAULT_TIME_LIMIT`)
    is a deadline for everything numerical, the slice rank included.
    """
    from ..numeric.budget import DEFAULT_TIME_LIMIT, deadline
    from ..problems.fiber import numerical_fiber
    from .cluster import distribute_mode, loop_client

    with deadline(time_limit if time_limit is not None else DEFAULT_TIME_LIMIT):
        n, rank = slice_rank(model, g, prime, seed)
        if n == 0 or rank < n:
            return {"positive_dimensional": rank < n, "free": n}
        r = numerical_fiber(model, g, seed, stall_loops=stall_loops, distribute=distribute_mode(distribute),
                            client=loop_client())
    return {**r, "positive_dimensional": False, "free": n}


def _exact_agrees(num, exact) -> None:
    """The trust rule with msolve's count: a certified set whose size equals it is a count (``exact-agrees``)."""
    from ..numeric.trust import verdict

    if exact is None or num["trusted"]:
        return
    found = num["count"] // num["group_order"]
    v = verdict(found, num["certified_orbits"], False, exact=exact, trace_reason=num["reason"],
                group_order=num["group_order"], free=num["free"])
    if v.trusted:
        num.update(fiber_points=v.count, trusted=True, completeness=v.completeness, reason=v.reason)


def _numerical_fields(num) -> dict:
    if num is None or "count" not in num:
        return {"fiber_points_numerical": None, "numerical_certified": None, "numerical_stop_reason": None,
                "numerical_seconds": None, "counts_agree": None, "completeness": None, "orbits": None,
                "group_order": None, "fast_paths": None}
    return {"fiber_points_numerical": num["count"],
            "numerical_certified": num["certified"],
            "numerical_stop_reason": f"{num['stop_reason']}; {num['reason']}",
            "numerical_seconds": float(num["seconds"]), "counts_agree": None,
            "completeness": num["completeness"], "orbits": num["orbits"], "group_order": num["group_order"],
            "fast_paths": num["fast_paths"]}


def _numerical_record(model, g, fiber_dim, sym, expected, num, prime) -> dict:
    if "count" not in num:  # positive-dimensional, or nothing free: decided by the exact rank
        points = None if num["positive_dimensional"] else 1
        method, count_unknowns, count_eqs = "exact-modp-jacobian", num["free"], None
    else:
        points = num["fiber_points"]
        method = "numerical-monodromy" if num["trusted"] else "numerical-lower-bound"
        count_unknowns, count_eqs = num["num_unknowns"], num["num_equations"]
    known = None
    if expected is not None and (points is not None or num["positive_dimensional"]):
        known = points == expected and fiber_dim == sym
    return {
        "fiber_dimension": fiber_dim,
        "symmetry_dimension": sym,
        "fiber_points": points,
        "positive_dimensional": num["positive_dimensional"],
        "expected_fiber_points": expected,
        "only_known_symmetries": known,
        "reduced": None,
        "gauge_kind": g.kind,
        "residual_symmetries": g.residual_order,
        "num_unknowns": count_unknowns,
        "num_equations": count_eqs,
        "prime": prime,  # of the exact slice Jacobian rank
        "primes_agree": None,
        "second_prime_points": None,
        "method": method,
        "solver_seconds": float(num.get("seconds", 0.0)),
        **_numerical_fields(num),
        "status": "ok",
    }
