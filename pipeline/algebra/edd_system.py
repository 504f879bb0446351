"""Critical points of ``||x - u||_Q^2`` on the smooth part of a variety, exactly.

``M = V(f_1, ..., f_m)`` in ``C^n`` of codimension ``c`` (the ``f_i`` generate a
radical ideal), ``Q`` symmetric, ``u`` generic. ``x in M_reg`` is critical iff
``Q (x - u)`` lies in the normal space, spanned by the gradients.

Lagrange system (``g = A f``: ``c`` random combinations; ``g = f`` when ``m = c``)::

    f_i(x) = 0,   Q (x - u) = sum_j l_j grad g_j(x),
    s * det(J_g(x) C) - 1 = 0        (C random n x c)
    t * (w . l) - 1 = 0              (w random)

The ``s`` equation (Rabinowitsch) keeps only points where ``J_g`` has rank
``c``: for a radical ideal these are smooth points of ``M`` (the rank of the
Jacobian of the generators is ``<= c`` everywhere and ``= c`` exactly on
``M_reg``). The ``t`` equation keeps the critical points of positive loss
(``l != 0``); the zero-loss points ``(ker Q + u) ∩ M_reg`` (``l = 0``) are
computed separately in coordinates ``x = u + K z`` of ``ker Q + u``.

Each part is solved by msolve over ``GF(p)``: a finite part gives its number of
distinct points; a positive-dimensional part its dimension (Hilbert polynomial
of the leading ideal; the auxiliary unknowns are regular functions of ``x``, so
the dimension is that of the projection to ``x``-space) and its degree in
``x``-space (the number of points cut out by ``dim`` random affine hyperplanes
in ``x``). A second prime repeats everything; over ``Q`` msolve counts the real
critical points of the finite parts and, for positive-dimensional parts, splits
the hyperplane section into Galois orbits (degrees of the components over ``Q``).

A curve part of degree <= 2 is also decomposed over ``C`` (:func:`curve_components`):
a prime ``p`` is chosen for which two hyperplane sections split into
``GF(p)``-rational points; the line through a point of one section and a point
of the other lies on the curve iff the generators of the elimination ideal
(the curve's ideal in ``x``-space, ``msolve -e``) vanish on it, and the affine
span of the section points is the curve's linear span. A degree-2 curve is two
lines (skew: span 3, meeting: span 2) or an irreducible conic (span 2, no line).

Example
-------
>>> from fractions import Fraction as Fr
>>> from neurovar.pipeline.algebra.parser import parse_system
>>> ctx, f = parse_system("x^2 + y^2 - 1", ["x", "y"])
>>> r = critical_set(f, [[Fr(1), Fr(0)], [Fr(0), Fr(1)]], [Fr(3, 7), Fr(2, 5)])
>>> r["edd"], r["real_critical_points"]
(2, 2)
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Sequence

import flint
import numpy as np

from . import msolve
from .msolve_points import rational_points
from .field import MSOLVE_PRIMES
from .lagrange import lagrange_rows
from .weights import kernel_basis

#: Random coefficients (combinations, Rabinowitsch forms, slicing hyperplanes) are drawn from [-R, R].
RANDOM_COEFF = 10_000


def _q(v) -> flint.fmpq:
    v = Fraction(v)
    return flint.fmpq(v.numerator, v.denominator)


def _det(M: list[list]):
    """Determinant of a small square matrix of polynomials (Laplace expansion along the first row)."""
    k = len(M)
    if k == 1:
        return M[0][0]
    total = None
    for j in range(k):
        minor = [row[:j] + row[j + 1:] for row in M[1:]]
        term = M[0][j] * _det(minor)
        total = term if total is None else (total + term if j % 2 == 0 else total - term)
    return total


class _Ring:
    """The polynomial ring ``Q[x_1..x_n, aux...]`` of one system."""

    def __init__(self, base: Sequence[str], aux: Sequence[str]):
        self.names = list(base) + list(aux)
        self.ctx = flint.fmpq_mpoly_ctx.get(tuple(self.names), "degrevlex")
        self.gens = self.ctx.gens()
        self.base = self.gens[: len(base)]
        self.aux = dict(zip(aux, self.gens[len(base):]))

    def const(self, v):
        return self.ctx.constant(_q(v))


def _rand(rng, shape=None):
    return rng.integers(-RANDOM_COEFF, RANDOM_COEFF + 1, size=shape)


def _lift(f, targets):
    """``f(targets)``: substitute polynomials of another ring for the variables of ``f``."""
    return f.compose(*targets, ctx=targets[0].context())


def _slice(ring: _Ring, polys: list, coords: list, dim: int, rng) -> list:
    """Append ``dim`` random affine hyperplanes in ``coords``."""
    out = list(polys)
    for _ in range(dim):
        h = ring.const(int(_rand(rng)))
        for z in coords:
            h = h + int(_rand(rng)) * z
        out.append(h)
    return out


def _part(ring: _Ring, polys: list, coords: list, prime: int, rng_seed, timeout, real: bool,
          classify: bool = False) -> dict:
    """Solve one part: finite count, or dimension/degree of a positive-dimensional one."""
    names = ring.names
    t0 = time.perf_counter()
    r = msolve.solve(polys, names, characteristic=prime, timeout=timeout)
    out = {"kind": r.kind, "count": r.distinct if r.kind == "finite" else 0, "multiplicity_count": r.count,
           "dimension": None, "degree": None, "components_over_Q": None, "real": None, "curve": None}
    solver = r.seconds
    if r.kind == "finite":
        out["dimension"] = 0
        if real:
            rq = msolve.solve(polys, names, characteristic=0, timeout=timeout)
            out["real"] = len(rq.real_solutions)
            solver += rq.seconds
    elif r.kind == "positive_dimensional":
        out["count"] = None
        t1 = time.perf_counter()
        dim = msolve.ideal_dimension_degree(polys, names, characteristic=prime, timeout=timeout).dimension
        solver += time.perf_counter() - t1
        rng = np.random.default_rng(rng_seed)
        cut = _slice(ring, polys, coords, dim, rng)
        rs = msolve.solve(cut, names, characteristic=prime, timeout=timeout)
        out["dimension"] = dim
        out["degree"] = rs.distinct if rs.kind == "finite" else None
        solver += rs.seconds
        if real and rs.kind == "finite":
            out["components_over_Q"], sec = _orbit_degrees(cut, names, timeout)
            solver += sec
        if classify and dim == 1 and out["degree"] is not None and out["degree"] <= 2:
            t1 = time.perf_counter()
            out["curve"] = curve_components(polys, names, len(coords), out["degree"], seed=rng_seed,
                                            timeout=timeout)
            solver += time.perf_counter() - t1
    out["seconds"] = time.perf_counter() - t0
    out["solver_seconds"] = solver
    return out


def _orbit_degrees(polys, names, timeout) -> tuple[list[int] | None, float]:
    """Degrees of the irreducible factors over Q of the eliminating polynomial (Galois orbits)."""
    text = msolve.format_input(polys, names, 0)
    raw, sec = msolve._run(["-P", "1"], text, timeout)
    tree = msolve.parse_output(raw)
    for item in tree[1:]:
        if isinstance(item, list) and len(item) >= 6 and isinstance(item[3], list):
            deg, coeffs = item[5][1][0]
            den = 1
            for c in coeffs:
                den = den * Fraction(c).denominator // np.gcd(den, Fraction(c).denominator)
            p = flint.fmpz_poly([int(Fraction(c) * den) for c in coeffs])
            _, factors = p.factor()
            return sorted(f.degree() for f, e in factors), sec
    return None, sec


def _next_prime(n: int) -> int:
    n += 1
    while not flint.fmpz(n).is_prime():
        n += 1
    return n


def _poly_text(g: dict, names: Sequence[str]) -> str:
    terms = []
    for e, c in g.items():
        mono = "*".join(f"{v}^{k}" for v, k in zip(names, e) if k)
        terms.append(f"{c}*{mono}" if mono else f"{c}")
    return " + ".join(terms) or "0"


def curve_components(polys: list, names: Sequence[str], ncoords: int, degree: int, seed=0,
                     timeout: float | None = None, max_primes: int = 40) -> dict | None:
    """Lines and linear span of a curve: the projection to the first ``ncoords`` variables of ``V(polys)``.

    The curve's ideal in ``x = names[:ncoords]`` is the elimination ideal ``J``
    (msolve's reduced Gröbner basis for the order eliminating the other
    variables, over ``GF(p)``). Two random affine hyperplanes cut the curve in
    ``degree`` points each; primes ``p`` are tried (from ``2^30`` up) until both
    sections are ``GF(p)``-rational (components conjugate over a number field
    ``K`` split over ``GF(p)`` when ``p`` splits in ``K``). Then

    * a line component through a point ``P`` of the first section meets the
      second one in a point ``R``; the line ``PR`` lies on the curve iff every
      generator of ``J`` (degree ``<= e``) vanishes at ``e + 1`` further points
      of it — an exact test, so ``lines`` is the number of line components;
    * ``linear_span`` is the dimension of the affine span of the ``2 * degree``
      points (a lower bound for the curve's span, equal to it for generic
      sections); ``linear_span_upper`` is ``ncoords`` minus the number of
      independent affine-linear forms in ``J`` (an upper bound, as ``J`` may
      be smaller than the curve's radical ideal).

    For ``degree <= 2`` this decides ``components_over_C``: a conic is
    irreducible (no line, span 2), two lines are two components (span 3: skew,
    span 2: meeting in a point).

    Returns
    -------
    dict or None
        ``lines``, ``linear_span``, ``linear_span_upper``, ``components_over_C``
        (None when ``degree > 2``), ``prime``; None when no prime in
        ``max_primes`` tries split both sections.

    Example
    -------
    >>> from neurovar.pipeline.algebra.parser import parse_system
    >>> ctx, f = parse_system("x*y; z - 1", ["x", "y", "z"])   # two lines meeting at (0, 0, 1)
    >>> c = curve_components(f, ["x", "y", "z"], 3, 2)
    >>> c["lines"], c["linear_span"], c["components_over_C"]
    (2, 2, 2)
    """
    names = list(names)
    coords, aux = names[:ncoords], names[ncoords:]
    order = aux + coords
    rng = np.random.default_rng([*np.atleast_1d(seed).tolist(), 31337])
    hyper = [[int(v) for v in _rand(rng, ncoords + 1)] for _ in range(2)]
    p = 1 << 30
    for _ in range(max_primes):
        p = _next_prime(p)
        gb = msolve.groebner_basis(polys, order, characteristic=p, eliminate=len(aux), timeout=timeout)
        J = [{e[len(aux):]: c for e, c in g.items()} for g in gb if all(not any(e[: len(aux)]) for e in g)]
        if not J:
            return None
        texts = [_poly_text(g, coords) for g in J]
        sections = []
        for h in hyper:
            lin = " + ".join([str(h[0])] + [f"{c}*{v}" for c, v in zip(h[1:], coords)])
            pts = rational_points(texts + [lin], coords, characteristic=p, timeout=timeout)
            if pts is None or len(pts) != degree:
                break
            sections.append(pts)
        if len(sections) < 2:
            continue
        top = max(sum(e) for g in J for e in g)
        lines = 0
        for P in sections[0]:
            for R in sections[1]:
                if all(msolve.evaluate_mod_p(g, [(a + lam * (b - a)) % p for a, b in zip(P, R)], p) == 0
                       for lam in range(2, top + 3) for g in J):
                    lines += 1
        pts = sections[0] + sections[1]
        diffs = [[(a - b) % p for a, b in zip(pt, pts[0])] for pt in pts[1:]]
        span = flint.nmod_mat(diffs, p).rank() if diffs else 0
        linear_forms = sum(1 for g in J if max(sum(e) for e in g) <= 1)
        comps = None
        if degree == 1:
            comps = 1
        elif degree == 2:
            comps = 2 if lines == 2 else (1 if lines == 0 else None)
        return {"lines": lines, "linear_span": span, "linear_span_upper": ncoords - linear_forms,
                "components_over_C": comps, "prime": p}
    return None


def codimension(equations: list, n: int, prime: int = MSOLVE_PRIMES[0], timeout=None) -> int:
    """``n - dim V(equations)``."""
    names = list(equations[0].context().names())
    d = msolve.ideal_dimension_degree(equations, names, characteristic=prime, timeout=timeout).dimension
    if d < 0:
        raise ValueError("equations: the variety is empty; give equations with a common zero")
    return n - d


def _systems(equations: list, Q, u, c: int, seed: int):
    """The positive-loss Lagrange system and the zero-loss system (with their rings and coordinates)."""
    n = len(u)
    m = len(equations)
    rng = np.random.default_rng([seed, 4242])
    base = [f"x{i}" for i in range(n)]
    # -- positive loss: unknowns x, l_1..l_c, s, t
    R = _Ring(base, [f"l{j}" for j in range(c)] + ["s", "t"])
    x = list(R.base)
    F = [_lift(f, x) for f in equations]
    if m == c:
        G = F
    else:
        A = _rand(rng, (c, m))
        G = [sum((int(A[j, i]) * F[i] for i in range(m)), R.const(0)) for j in range(c)]
    J = [[g.derivative(i) for i in range(n)] for g in G]  # c x n
    C = _rand(rng, (n, c))
    JC = [[sum((int(C[i, k]) * J[j][i] for i in range(n)), R.const(0)) for k in range(c)] for j in range(c)]
    detJC = _det(JC)
    w = _rand(rng, c)
    lam = [R.aux[f"l{j}"] for j in range(c)]
    lagrange = lagrange_rows(x, u, lam, J, Q)
    s, t = R.aux["s"], R.aux["t"]
    positive = F + lagrange + [s * detJC - 1, t * sum((int(w[j]) * lam[j] for j in range(c)), R.const(0)) - 1]
    # -- zero loss: x = u + K z, unknowns z, s
    K = kernel_basis(Q)
    k = len(K)
    Z = _Ring([f"z{i}" for i in range(k)], ["s"])
    xz = []
    for i in range(n):
        e = Z.const(u[i])
        for j in range(k):
            if K[j][i]:
                e = e + _q(K[j][i]) * Z.base[j]
        xz.append(e)
    detz = _lift(detJC, xz + [Z.const(0)] * (c + 2))
    zero = [_lift(f, xz) for f in equations] + [Z.aux["s"] * detz - 1] if k else None
    return (R, positive, x), (Z, zero, list(Z.base)), k


def critical_set(equations: list, Q, u, seed: int = 0, primes: Sequence[int] = MSOLVE_PRIMES[:2],
                 confirm: bool = True, real: bool = True, timeout: float | None = None,
                 codim: int | None = None) -> dict:
    """Critical points of ``||x - u||_Q^2`` on ``V(equations)_reg``.

    Parameters
    ----------
    equations : list of flint.fmpq_mpoly
        Generators of a radical ideal (one ring, ``n`` variables).
    Q : n x n nested sequence of Fraction
        Symmetric weight matrix.
    u : sequence of Fraction
        The data point (generic).
    primes : two primes below 2^31
        The count is made modulo the first and, with ``confirm``, the second.
    real : bool
        Also count real critical points over Q (finite parts).

    Returns
    -------
    dict
        ``edd`` (isolated critical points on ``M_reg``: positive-loss and zero-loss;
        None when the positive-loss part is positive-dimensional, whose isolated
        points are not separated), ``positive_loss_points``, ``zero_loss_points``,
        ``positive_dimensional`` (list of ``{dimension, degree, zero_loss,
        components_over_Q, components_over_C, lines, linear_span}``; the last three
        from :func:`curve_components` for curves of degree <= 2, else None), ``real_critical_points``, ``prime``,
        ``primes_agree``, ``solver_seconds``, ``codimension``, ``kernel_dimension``.
    """
    n = len(u)
    if not equations:
        raise ValueError("equations: give at least one polynomial")
    if codim is None:
        codim = codimension(equations, n, primes[0], timeout)
    if codim == 0:
        raise ValueError("equations: they vanish identically (M is the whole space); nothing to minimise over")
    (R, positive, x), (Z, zero, z), k = _systems(equations, Q, u, codim, seed)

    def run(prime, with_real, classify=False):
        pos = _part(R, positive, x, prime, [seed, 17], timeout, with_real, classify)
        zl = _part(Z, zero, z, prime, [seed, 19], timeout, with_real, classify) if zero is not None else None
        return pos, zl

    t0 = time.perf_counter()
    pos, zl = run(primes[0], real, classify=True)
    solver = sum(p["solver_seconds"] for p in (pos, zl) if p is not None)
    agree = None
    if confirm and len(primes) > 1:
        pos2, zl2 = run(primes[1], False)
        solver += sum(p["solver_seconds"] for p in (pos2, zl2) if p is not None)
        keys = ("kind", "count", "dimension", "degree")
        agree = all(pos[q] == pos2[q] for q in keys) and (zl is None or all(zl[q] == zl2[q] for q in keys))
    pos_dim = []
    for part, is_zero in ((pos, False), (zl, True)):
        if part is not None and part["kind"] == "positive_dimensional":
            curve = part["curve"] or {}
            pos_dim.append({"dimension": part["dimension"], "degree": part["degree"], "zero_loss": is_zero,
                            "components_over_Q": part["components_over_Q"],
                            "components_over_C": curve.get("components_over_C"), "lines": curve.get("lines"),
                            "linear_span": curve.get("linear_span")})
    pos_pts = pos["count"] if pos["kind"] != "positive_dimensional" else None
    zl_pts = 0 if zl is None else (zl["count"] if zl["kind"] != "positive_dimensional" else 0)
    edd = None if pos_pts is None else pos_pts + zl_pts
    real_pts = None
    if real:
        parts = [p for p in (pos, zl) if p is not None and p["kind"] != "positive_dimensional"]
        real_pts = sum(p["real"] or 0 for p in parts) if pos_pts is not None else None
    return {
        "edd": edd,
        "positive_loss_points": pos_pts,
        "zero_loss_points": zl_pts,
        "positive_dimensional": pos_dim,
        "real_critical_points": real_pts,
        "prime": primes[0],
        "primes_agree": agree,
        "solver_seconds": solver,
        "total_seconds": time.perf_counter() - t0,
        "codimension": codim,
        "kernel_dimension": k,
    }


def random_point(n: int, seed: int, scale: int = 10**6) -> list[Fraction]:
    """A seeded random rational data point ``u`` (numerators up to ``scale``, denominators up to 97)."""
    rng = np.random.default_rng([seed, 9001])
    return [Fraction(int(a), int(b)) for a, b in zip(rng.integers(-scale, scale + 1, n), rng.integers(1, 98, n))]


__all__ = ["codimension", "critical_set", "curve_components", "random_point"]
