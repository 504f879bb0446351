"""Solve a user's square polynomial system: all isolated solutions, each certified.

The public entry point of the engine for systems that are not the project's
own (the kind of call one makes to HomotopyContinuation.jl's ``solve``, Bertini
or ``phc -b``). Equations are strings read by the project's safe parser
(:mod:`pipeline.algebra.parser`: numbers, the declared variables and
``+ - * ^ ( )``; nothing is evaluated).

**Automatic** (``method="auto"``, default). ``bkk`` when no solution can have
a zero coordinate (for every unknown some equation is a nonzero constant
where it vanishes, as ``x_1 ... x_n - 1`` in cyclic-n) and the BKK bound of the
supports is below the Bezout number; otherwise total degree. The first test
is read off the supports; the bound then costs a mixed-volume computation
that stays cheap for such sparse systems (and is abandoned for total degree
after ``AUTO_MAX_LPS`` linear programs).

**BKK** (``method="bkk"``). The polyhedral homotopy from the mixed cells of the
BKK bound (the mixed volume, :mod:`pipeline.numeric.bkk`) solves a generic
member of the family of the system's own supports, one path per solution
(:mod:`pipeline.numeric.polyhedral`); monodromy in its coefficients, stopped at
the bound, finds what the paths missed; then one parameter homotopy to the
target (:mod:`pipeline.numeric.coeff_monodromy`). ``completeness =
"bkk-bound"`` when the target has as many certified distinct solutions as the
bound: by Bernstein's theorem there are no other isolated ones.

**Total degree** (``method="total-degree"``). The start system
``x_i^{d_i} - 1`` (``d_i`` the degree of equation ``i``) has ``prod d_i``
solutions; the homotopy ``(1 - phi) (x_i^{d_i} - 1) + phi f_i`` with the gamma
trick (:mod:`pipeline.numeric.tracker`) is tracked in *projective* coordinates:
the equations are homogenised with ``x_0`` and a random affine chart
``c . (x_0, x) = 1`` is added, so that the paths of solutions at infinity stay
bounded and end with ``x_0 = 0`` instead of diverging. By Bezout and the gamma
trick, with probability one every isolated solution of the target is the end
of one of these paths; the finite ends (``x_0 != 0``) are dehomogenised,
refined by Newton's method and certified by Krawczyk's method on the original
equations. ``completeness = "total-degree"`` when every path reached ``t = 1``.

**Trace test.** Paths to a positive-dimensional set at infinity (cyclic-n)
often fail near ``t = 1``; a failed path could have been heading to a finite
solution, so the set is then tested instead: the system is embedded in the
family of all its coefficients (same supports), whose generic member has as
many isolated solutions as the target when these are all nonsingular and none
is lost at infinity, and the trace test of Leykin--Rodriguez--Sottile
(:func:`~pipeline.numeric.trace.trace_test`) on a random line of coefficients
through the target decides whether the certified solutions are all of them
(``completeness = "trace-test"``; it fails when one is removed). With
``trace="always"`` it runs after a complete total-degree run too. Otherwise
the count is a lower bound (``completeness = "none"``, ``count = None``).

**Monodromy** (``method="monodromy"``). The system is embedded in the family
``F(x) = p`` of its constant terms; monodromy loops around a random ``p0``
(:func:`~pipeline.numeric.count.certified_count`) give the generic fibre,
certified by Krawczyk and completed by the trace test, and a parameter
homotopy from ``p0`` to ``p = 0`` carries it to the target (every isolated
solution of the target is the end of such a path). ``completeness =
"trace-test"`` when the generic fibre passed the trace test and every path
ended. A finite group of symmetries ``F(g x) = F(x)`` (e.g. the cyclic shifts of
cyclic-n) is passed as ``group_action(x) -> array (k, n)`` of the images of
``x``; each new solution brings its orbit.

:func:`certify_points` certifies a given list of approximate solutions.

Example
-------
>>> r = solve(["x^2 + y^2 - 5", "x*y - 2"], ["x", "y"])
>>> r.count, r.certified, r.real, r.completeness
(4, 4, 4, 'total-degree')
>>> sorted(round(float(x.real)) for x in r.solutions[:, 0])
[-2, -1, 1, 2]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import product
from math import prod
from typing import Callable, Sequence

import numpy as np

from ..algebra.parser import PolynomialSyntaxError, parse_system
from .certify import certify
from .newton import condition_numbers, newton
from .system import System
from .tracker import TrackerOptions, track

METHODS = ("auto", "total-degree", "bkk", "monodromy")
#: linear programs allowed to the BKK bound when ``auto`` tries it (beyond: total degree)
AUTO_MAX_LPS = 20000


class SystemInputError(ValueError):
    """A system that cannot be solved as given; ``field`` names what to fix."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass
class SolveResult:
    """The isolated solutions of a square system.

    Attributes
    ----------
    solutions : complex array (count, n)
        The certified distinct finite solutions (Krawczyk), in the order of ``variables``.
    count : int or None
        The number of isolated solutions when the set is complete and every
        solution certified; None when ``certified`` is only a lower bound.
    certified, real : int
        Certified distinct solutions; those certified real.
    completeness : str
        ``total-degree`` (every path of a total-degree homotopy ended),
        ``bkk-bound`` (as many certified solutions as the BKK bound),
        ``trace-test`` (monodromy, generic fibre certified complete by the
        trace test) or ``none``.
    singular : int
        Finite path ends where the Jacobian is singular (not certified, not counted).
    """

    variables: tuple[str, ...]
    solutions: np.ndarray
    count: int | None
    certified: int
    real: int
    completeness: str
    reason: str
    method: str
    paths: dict = field(default_factory=dict)
    singular: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        """A JSON-ready record; each solution a list of ``[re, im]`` pairs."""
        return {"variables": list(self.variables), "count": self.count, "certified": self.certified,
                "real": self.real, "singular": self.singular, "completeness": self.completeness,
                "reason": self.reason, "method": self.method, "paths": self.paths,
                "seconds": round(self.seconds, 3),
                "solutions": [[[float(z.real), float(z.imag)] for z in x] for x in self.solutions]}


def parse_square_system(equations: str | Sequence[str], variables: Sequence[str]) -> System:
    """The :class:`System` of ``equations`` in ``variables``, refused unless square and well formed.

    >>> parse_square_system("x^2 - y; y - 1", ["x", "y"]).n_equations
    2
    >>> parse_square_system(["x^2 - 1"], ["x", "y"])
    Traceback (most recent call last):
    ...
    neurovar.pipeline.numeric.solve.SystemInputError: equations: 1 equation in 2 variables; a square system needs 2
    """
    variables = [v.strip() for v in variables]
    if not variables or any(not v for v in variables):
        raise SystemInputError("variables", "give the unknowns' names, e.g. 'variables: x, y'")
    if len(set(variables)) != len(variables):
        raise SystemInputError("variables", f"a name is listed twice in {', '.join(variables)}")
    eqs = [e for e in ([equations] if isinstance(equations, str) else list(equations))]
    eqs = [s.strip() for e in eqs for s in e.split(";") if s.strip()]
    if not eqs:
        raise SystemInputError("equations", "no equations given")
    if len(eqs) != len(variables):
        raise SystemInputError("equations", f"{len(eqs)} equation{'s' * (len(eqs) != 1)} in {len(variables)} "
                                            f"variables; a square system needs {len(variables)}")
    try:
        _, polys = parse_system(eqs, variables)
    except PolynomialSyntaxError as e:
        raise SystemInputError("equations", str(e)) from None
    for i, f in enumerate(polys):
        if f.total_degree() < 1:
            raise SystemInputError("equations", f"equation {i + 1} ({eqs[i]}) is a constant")
    return System.from_mpolys(polys, variables)


def _exact_rows(system: System) -> list[dict]:
    rows: list[dict] = [dict() for _ in range(system.n_equations)]
    for i, e, c in system.terms:
        rows[i][e] = c
    return rows


def _total_degree_homotopy(F: System, rng):
    """``(H, starts, p0, p1)``: the homogenised total-degree homotopy in a random chart."""
    n = F.n_variables
    rows = _exact_rows(F)
    deg = [max(sum(e) for e in r) for r in rows]
    chart = (rng.normal(size=n + 1) + 1j * rng.normal(size=n + 1)) / np.sqrt(n + 1)
    H = []
    for i, r in enumerate(rows):
        a, b = tuple(int(j == i) for j in range(n)) + (0,) * n, (0,) * n + tuple(int(j == i) for j in range(n))
        d = deg[i]
        h = {}
        for e, c in r.items():  # b_i * f_i^h(x0, x)
            h[(d - sum(e),) + tuple(e) + b] = c
        xi = tuple(d * int(j == i) for j in range(n))
        h[(0,) + xi + a] = h.get((0,) + xi + a, 0) + 1  # a_i * (x_i^d - x0^d)
        h[(d,) + (0,) * n + a] = h.get((d,) + (0,) * n + a, 0) - 1
        H.append(h)
    lin = {tuple(int(j == k) for j in range(n + 1)) + (0,) * (2 * n): complex(chart[k]) for k in range(n + 1)}
    lin[(0,) * (3 * n + 1)] = -1
    H.append(lin)
    names = ["x_0"] + [f"x_{j + 1}" for j in range(n)]
    system = System(H, names, [f"a{j}" for j in range(n)] + [f"b{j}" for j in range(n)])
    roots = [np.exp(2j * np.pi * np.arange(d) / d) for d in deg]
    Z = np.array([(1,) + z for z in product(*roots)], dtype=np.complex128)
    Z /= (Z @ chart)[:, None]
    return system, Z, np.r_[np.ones(n), np.zeros(n)], np.r_[np.zeros(n), np.ones(n)], deg


def _certified_solutions(F: System, X: np.ndarray):
    """Newton-refined, Krawczyk-certified distinct rows of ``X``: ``(solutions, certified, real, uncertified)``."""
    if not len(X):
        return np.zeros((0, F.n_variables), dtype=np.complex128), 0, 0, 0
    Xr, _ = newton(F, X, None)
    C = certify(F, Xr)
    keep = C.distinct
    return C.centers[keep], int(keep.sum()), int((C.real & keep).sum()), int((~C.certified).sum())


def solve(equations: str | Sequence[str], variables: Sequence[str], *, method: str = "auto",
          seed: int = 0, time_limit: float | None = None, group_action: Callable | None = None,
          stall_loops: int = 5, trace: str = "auto", options: TrackerOptions | None = None) -> SolveResult:
    """All isolated solutions of a square system, certified (see the module docstring).

    Parameters
    ----------
    equations : str or sequence of str
        The equations (``;``-separated in one string, or one per entry), each ``= 0``.
    variables : sequence of str
        The unknowns, as many as equations.
    method : str
        ``auto`` (default: ``bkk`` when every solution must lie in the torus and
        the BKK bound is below Bezout's, else ``total-degree``), ``total-degree``,
        ``bkk`` or ``monodromy``.
    seed : int
        Draws the gamma constant, the chart and the monodromy's loops.
    time_limit : float, optional
        Seconds for the monodromy (its count is then a lower bound if cut).
    group_action : callable, optional
        Monodromy only: ``group_action(x) -> array (k, n)``, images of ``x`` under
        symmetries with ``F(g x) = F(x)``.
    trace : str
        Total degree: ``auto`` (the trace test when a path failed), ``always`` or ``never``.

    Raises
    ------
    SystemInputError
        A non-square system, a symbol that is not a variable, no equations.
    """
    t0 = time.perf_counter()
    if method not in METHODS:
        raise SystemInputError("method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    if trace not in ("auto", "always", "never"):
        raise SystemInputError("trace", f"must be one of auto, always, never, got {trace!r}")
    F = parse_square_system(equations, variables)
    rng = np.random.default_rng([seed, 0x501])
    if method == "monodromy":
        return _monodromy(F, rng, seed, time_limit, group_action, stall_loops, t0)
    if group_action is not None:
        raise SystemInputError("group_action", "a group action is used by method monodromy only")
    if method in ("auto", "bkk"):
        got = _bkk(F, method, seed, time_limit, stall_loops, t0)
        if got is not None:
            return got
        method = "total-degree"
    system, Z, p0, p1, deg = _total_degree_homotopy(F, rng)
    T = track(system, Z, p0, p1, gamma=None, seed=int(rng.integers(2**31)), options=options)
    status = T.status
    x0 = T.solutions[:, 0]
    scale = np.abs(T.solutions).max(axis=1)
    finite = np.isin(status, ["regular", "singular"]) & (np.abs(x0) > 1e-8 * scale)
    X = T.solutions[finite, 1:] / x0[finite, None]
    cond = condition_numbers(F, X, None) if len(X) else np.zeros(0)
    simple = (status[finite] == "regular") & (cond < 1e10)
    sols, cert, real, uncertified = _certified_solutions(F, X[simple])
    failed = int((status == "failed").sum())
    paths = {"total": len(Z), "bezout": prod(deg), **T.counts(), "finite": int(finite.sum()),
             "at_infinity": int(len(Z) - finite.sum() - failed)}
    singular = int((~simple).sum())
    crossed = int(simple.sum()) - cert - uncertified  # two paths on one solution: one jumped
    doubtful = failed + singular + uncertified + crossed  # paths that may have missed or not proven a solution
    completeness = "total-degree" if not doubtful else "none"
    reason = f"{len(Z)} paths of the total-degree homotopy: {cert} certified distinct finite solutions"
    if doubtful:
        reason += (f"; {failed} failed, {singular} finite singular end(s), {uncertified} end(s) not certified"
                   + (f", {crossed} end(s) on another path's solution" if crossed else ""))
    if cert and trace != "never" and (doubtful or trace == "always"):
        T = coefficient_trace_test(F, sols, seed, time_limit)
        reason += f"; trace test on the coefficients' family: {T.reason}"
        if T.passed:
            completeness = "trace-test"  # the certified solutions are all of them: the other ends are not
    count = cert if completeness != "none" else None
    if count is None:
        reason += ": a lower bound"
    return SolveResult(tuple(F.variables), sols, count, cert, real, completeness, reason,
                       method, paths, singular, time.perf_counter() - t0)


def _bkk(F: System, method: str, seed, time_limit, stall_loops, t0) -> SolveResult | None:
    """Monodromy in the coefficients, stopped at the BKK bound (:mod:`~pipeline.numeric.coeff_monodromy`);
    None when ``auto`` prefers total degree (a zero coordinate is possible, the bound is Bezout's, or
    computing it needs more than ``AUTO_MAX_LPS`` linear programs)."""
    from .bkk import WorkLimit, bkk_cells, supports_of, torus_only
    from .coeff_monodromy import coefficient_monodromy

    A = supports_of(F)
    bezout = prod(max(sum(int(v) for v in a) for a in S) for S in A)
    if method == "auto" and not torus_only(A):
        return None
    try:
        cells, with_origin = bkk_cells(A, seed, AUTO_MAX_LPS if method == "auto" else None)
    except WorkLimit:
        return None
    bound = cells.volume
    if method == "auto" and bound >= bezout:
        return None
    R = coefficient_monodromy(F, bound, with_origin, seed=seed, time_limit=time_limit, stall_loops=stall_loops,
                              cells=cells)
    complete = R.completeness != "none" and not R.uncertified
    reason = f"BKK bound {bound} (Bezout {bezout}); " + R.reason + ("" if complete else ": a lower bound")
    return SolveResult(tuple(F.variables), R.solutions, R.certified if complete else None, R.certified, R.real,
                       R.completeness, reason, "bkk", {"bezout": bezout, **R.paths}, R.singular,
                       time.perf_counter() - t0)


def coefficient_trace_test(F: System, solutions, seed: int = 0, time_limit: float | None = None):
    """The trace test of ``solutions`` in the family of all of ``F``'s coefficients (same supports).

    Returns a :class:`~pipeline.numeric.trace.TraceTestResult`.

    >>> F = parse_square_system("x^2 + y^2 - 5; x*y - 2", ["x", "y"])
    >>> X = solve("x^2 + y^2 - 5; x*y - 2", ["x", "y"]).solutions
    >>> coefficient_trace_test(F, X).passed, coefficient_trace_test(F, X[1:]).passed
    (True, False)
    """
    from .trace import trace_test

    terms = [(i, e, c) for i, r in enumerate(_exact_rows(F)) for e, c in r.items()]
    K = len(terms)
    fam: list[dict] = [dict() for _ in range(F.n_equations)]
    for k, (i, e, _) in enumerate(terms):
        fam[i][tuple(e) + tuple(int(j == k) for j in range(K))] = 1
    G = System(fam, list(F.variables), [f"c{k}" for k in range(K)])
    p0 = np.array([complex(c) for _, _, c in terms])
    return trace_test(G, solutions, p0, seed=seed, time_limit=time_limit)


def _monodromy(F: System, rng, seed, time_limit, group_action, stall_loops, t0) -> SolveResult:
    """The generic fibre of ``F(x) = p`` by monodromy and the trace test, tracked to ``p = 0``."""
    from .count import certified_count

    n = F.n_variables
    rows = _exact_rows(F)
    fam = []
    for i, r in enumerate(rows):
        h = {tuple(e) + (0,) * n: c for e, c in r.items()}
        key = (0,) * n + tuple(int(j == i) for j in range(n))
        h[key] = Fraction(-1)
        fam.append(h)
    G = System(fam, list(F.variables), [f"p{j}" for j in range(n)])
    x0 = (rng.normal(size=n) + 1j * rng.normal(size=n)) / np.sqrt(2)
    p0 = F.evaluate(x0[None, :])[0]
    C = certified_count(G, x0, p0, seed=seed, time_limit=time_limit, stall_loops=stall_loops,
                        group_action=group_action)
    W = C.monodromy.solutions
    T = track(G, W, C.monodromy.parameters, np.zeros(n), gamma=None, seed=int(rng.integers(2**31)))
    ended = np.isin(T.status, ["regular", "singular", "at_infinity"])
    regular = T.status == "regular"
    sols, cert, real, uncertified = _certified_solutions(F, T.solutions[regular])
    complete = C.completeness == "trace-test" and C.count is not None and bool(ended.all())
    reason = f"generic fibre of F(x) = p: {C.reason}; {len(W)} paths to p = 0, {dict(T.counts())}"
    if uncertified:
        reason += f"; {uncertified} end(s) not certified"
    paths = {"total": len(W), **T.counts(), "loops": C.monodromy.loops}
    return SolveResult(tuple(F.variables), sols, cert if complete and not uncertified else None, cert, real,
                       "trace-test" if complete else "none", reason, "monodromy", paths,
                       int((T.status == "singular").sum()), time.perf_counter() - t0)


def certify_points(equations: str | Sequence[str], variables: Sequence[str], points) -> dict:
    """Krawczyk certificates of given approximate solutions (refined by Newton's method first).

    Returns ``certified``, ``distinct``, ``real`` (one bool per point) and the
    refined ``centers``.

    >>> r = certify_points("x^2 - 2", ["x"], [[1.41421], [-1.4142], [1.4142]])
    >>> r["certified"], r["distinct"], r["real"]
    ([True, True, True], [True, True, False], [True, True, True])
    """
    F = parse_square_system(equations, variables)
    P = np.atleast_2d(np.asarray(points, dtype=np.complex128))
    if P.shape[1] != F.n_variables:
        raise SystemInputError("points", f"each point needs {F.n_variables} coordinates, got {P.shape[1]}")
    C = certify(F, P)
    return {"certified": C.certified.tolist(), "distinct": C.distinct.tolist(), "real": C.real.tolist(),
            "centers": C.centers}


def cyclic(n: int) -> tuple[list[str], list[str]]:
    """``(equations, variables)`` of cyclic-n (Bjorck--Froberg): 70 solutions for n = 5, 156 for 6, 924 for 7.

    >>> cyclic(3)[0]
    ['x0 + x1 + x2', 'x0*x1 + x1*x2 + x2*x0', 'x0*x1*x2 - 1']
    """
    xs = [f"x{i}" for i in range(n)]
    eqs = [" + ".join("*".join(xs[(i + j) % n] for j in range(k)) for i in range(n)) for k in range(1, n)]
    return eqs + ["*".join(xs) + " - 1"], xs


def katsura(n: int) -> tuple[list[str], list[str]]:
    """``(equations, variables)`` of katsura-n (``n + 1`` unknowns): ``2^n`` solutions.

    >>> katsura(1)[0]
    ['x1*x1 + x0*x0 + x1*x1 - x0', 'x0 + 2*x1 - 1']
    """
    xs = [f"x{i}" for i in range(n + 1)]
    eqs = []
    for m in range(n):
        terms = [f"{xs[abs(l)]}*{xs[abs(m - l)]}" for l in range(-n, n + 1) if abs(m - l) <= n]
        eqs.append(" + ".join(terms) + f" - {xs[m]}")
    return eqs + [" + ".join([xs[0]] + [f"2*{x}" for x in xs[1:]]) + " - 1"], xs


__all__ = ["METHODS", "SolveResult", "SystemInputError", "certify_points", "coefficient_trace_test", "cyclic",
           "katsura", "parse_square_system", "solve"]
