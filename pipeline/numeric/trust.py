"""When a numerical count is a count: the one trust rule of the numerical routes.

A number of solutions found by monodromy is reported as a **count** only when

1. every solution (orbit representative) is Krawczyk-certified,
2. the certified solutions are pairwise distinct (disjoint boxes; for orbits:
   proven different orbits, and the group acts freely on each), and
3. the trace test passed (``completeness = "trace-test"``) -- or an exact count
   computed independently agrees (``completeness = "exact-agrees"``).

Otherwise it is a **lower bound**, with ``completeness = "none"`` and the
reason. A stalled monodromy is never a certificate (it only says that no
new solution turned up), and neither is reaching a target count that came from
a conjecture.

Example
-------
>>> v = verdict(found=4, certified=4, trace_passed=True)
>>> v.count, v.completeness
(4, 'trace-test')
>>> v = verdict(found=7, certified=7, trace_passed=False, trace_reason="residual 1e-2")
>>> v.count, v.lower_bound, v.completeness
(None, 7, 'none')
>>> verdict(found=8, certified=8, trace_passed=None, exact=8).completeness
'exact-agrees'
"""

from __future__ import annotations

from dataclasses import dataclass

COMPLETENESS = ("trace-test", "exact-agrees", "none")


@dataclass
class Verdict:
    """A numerical count, or a lower bound with the reason.

    Attributes
    ----------
    count : int or None
        The count (Python int), or None when it is only a lower bound.
    lower_bound : int
        What was found (certified distinct points; ``orbits * |G|`` with a group).
    completeness : str
        ``trace-test``, ``exact-agrees`` or ``none``.
    reason : str
    """

    count: int | None
    lower_bound: int
    completeness: str
    reason: str

    @property
    def trusted(self) -> bool:
        return self.count is not None


def verdict(found: int, certified: int | None, trace_passed: bool | None, *, exact: int | None = None,
            trace_reason: str = "", group_order: int = 1, free: bool | None = True) -> Verdict:
    """Apply the trust rule.

    Parameters
    ----------
    found : int
        Distinct solutions (orbit representatives with a group) found.
    certified : int or None
        Of those, Krawczyk-certified and proven pairwise distinct (None: not certified).
    trace_passed : bool or None
        Outcome of :func:`pipeline.numeric.trace.trace_test` (None: not run or inconclusive).
    exact : int, optional
        An independent exact count of the same points (``found * group_order`` is compared).
    trace_reason : str
        The trace test's reason, copied into a failing verdict.
    group_order : int
        ``|G|`` when ``found`` counts orbits of a group acting freely.
    free : bool or None
        Whether the group's action was proven free on every found orbit.

    Returns
    -------
    Verdict
    """
    points = int(found) * int(group_order)
    problems = []
    if certified is None:
        problems.append("solutions not certified")
    elif certified != found:
        problems.append(f"only {certified} of {found} solutions certified pairwise distinct")
    if group_order > 1 and not free:
        problems.append("the group action was not proven free on every orbit")
    if problems:
        return Verdict(None, int(certified or 0) * int(group_order) if free else int(certified or 0),
                       "none", "; ".join(problems))
    if exact is not None and int(exact) == points:
        return Verdict(points, points, "exact-agrees", "an exact count agrees")
    if trace_passed:
        return Verdict(points, points, "trace-test", trace_reason or "trace test passed")
    why = trace_reason or ("trace test not run" if trace_passed is None else "trace test failed")
    if exact is not None:
        why += f"; the exact count {exact} differs"
    return Verdict(None, points, "none", f"lower bound: {why}")


__all__ = ["COMPLETENESS", "Verdict", "verdict"]
