"""Voronoi cells of points of plane curves, with exact boundary equations.

For a subset ``C`` of the plane and a point ``q`` of ``C``, the Voronoi cell is
``Vor(q) = {u : ||u - q|| < ||u - c|| for every c in C, c != q}``: the data
``u`` whose nearest point on ``C`` is ``q``. At a smooth interior point it is a
segment of the normal line; at a singular point (the cusp of ``y^2 + x^3 = 0``)
or at a relative boundary point of a real curve (the end of an arc) it is
full-dimensional, so ``q`` is the global minimiser of ``||u - c||`` with
positive probability over ``u``.

Boundary equation (exact, over Q)
---------------------------------
A point ``u`` on the boundary of ``Vor(q)`` is equidistant from ``q`` and from
another nearest point ``c(t)``, which is then a critical point of the distance
from ``u``::

    E1(u, t) = ||u - q||^2 - ||u - c(t)||^2 = 2 u.(c(t) - q) - ||c(t)||^2 + ||q||^2 = 0,
    E2(u, t) = (u - c(t)) . c'(t) = 0.

After dividing out the factor ``h(t) = gcd(c_x(t) - q_x, c_y(t) - q_y)`` (the
parameters of ``q`` itself, where both equations hold trivially), the resultant
``Res_t(E1, E2)`` is a polynomial in ``u = (x, y)`` over Q that vanishes on the
boundary. It is factored over Q (FLINT); the factors on which independently
computed boundary points lie form the boundary equation, the others are
reported as discarded (they come from critical points that are never the
nearest ones, or from the parameter of ``q``). When the curve is an arc
``c([lo, hi])`` the cell is also cut by the normal line at ``q`` (``q`` an end
point) and by the perpendicular bisector of ``q`` and the other end point.

Area and Monte Carlo
--------------------
The area of ``Vor(q)`` in a box is the integral over ``x`` of the length of
``{y : (x, y) in Vor(q)}``; for each ``x`` the interval ends are real roots of
the exact boundary equation in ``y`` (or the box edges), so the integrand is
exact up to floating-point root finding and the integral is a Gauss--Legendre
quadrature between the ``x`` where the roots change (real roots of the
discriminant). It is a numerical method and labelled as one (``area_method``).
The Monte Carlo estimate draws uniform points in the box and decides, for each,
whether ``q`` is its nearest point: the minimum of ``||u - c(t)||^2`` over the
domain is attained at a real root of its derivative in ``t`` (a polynomial of
degree ``2 deg c - 1``, solved for all samples at once as companion-matrix
eigenvalues) or at an end point.

Example
-------
>>> curve = parse_curve(equation="y^2 + x^3", param="-t^2, t^3")
>>> b = voronoi_boundary(curve, parse_point("0,0"))
>>> b.equation_text
'128*x^3 - 32*x^2 + 72*x*y^2 + 2*x - 27*y^4 - y^2'
"""


from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import flint
import numpy as np

from ..errors import SpecError
from .plane_curves import (XY, XYT, PlaneCurve, _point_kind, _relative_residual, _upoly, coefficient_array,
                           evaluate_xy, in_cell, nearest_distance_sq, numeric_boundary_points, parse_box,
                           parse_curve, parse_point)


# --------------------------------------------------------------------------- exact boundary
@dataclass
class BoundaryFactor:
    polynomial: object  # flint.fmpq_mpoly in XY
    role: str  # "equidistant", "normal line", "bisector"
    kept: bool = False
    points_on: int = 0

    @property
    def text(self) -> str:
        return _text(self.polynomial)


@dataclass
class VoronoiBoundary:
    """The exact boundary of ``Vor(q)``: kept factors, their product, and the discarded ones."""

    point: tuple[Fraction, Fraction]
    kind: str  # "singular", "boundary", "smooth", "unknown"
    factors: list[BoundaryFactor]
    resultant_text: str
    numeric_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    @property
    def kept(self) -> list[BoundaryFactor]:
        return [f for f in self.factors if f.kept]

    @property
    def equation(self):
        p = XY.constant(1)
        for f in self.kept:
            p = p * f.polynomial
        return p

    @property
    def equation_text(self) -> str:
        return _text(self.equation)


def _text(p) -> str:
    return _primitive_text(p)


def _primitive(p):
    """The integer primitive polynomial with positive leading coefficient (as fmpq_mpoly)."""
    from math import gcd, lcm

    d = p.to_dict()
    if not d:
        return p
    den = 1
    for c in d.values():
        den = lcm(den, int(c.q))
    g = 0
    for c in d.values():
        g = gcd(g, abs(int(c * den)))
    sign = 1 if p.leading_coefficient() > 0 else -1
    return p * flint.fmpq(den * sign, g)


def _primitive_text(p) -> str:
    return str(_primitive(p))


def _divide_out(p, h):
    """Divide ``p`` by ``h`` as often as it divides (exact)."""
    while not p.is_zero():
        qt, r = divmod(p, h)
        if not r.is_zero():
            break
        p = qt
    return p


def voronoi_boundary(curve: PlaneCurve, q, n_rays: int = 32, box=None) -> VoronoiBoundary:
    """The exact boundary equation of ``Vor(q)`` (see the module docstring).

    Needs a parametrisation (``--param``); the factors kept are those on which
    boundary points found numerically (:func:`numeric_boundary_points`, by
    bisection along ``n_rays`` rays from ``q``) lie.
    """
    if not curve.has_param:
        raise SpecError("--param", "the elimination needs a parametrisation \"cx(t), cy(t)\" of the curve")
    kind, ts = _point_kind(curve, q)
    x, y, t = XYT.gens()
    qx, qy = (flint.fmpq(v.numerator, v.denominator) for v in q)
    px, py = curve.param_polys()
    E1 = 2 * x * (px - qx) + 2 * y * (py - qy) - (px * px + py * py) + (qx * qx + qy * qy)
    E2 = (x - px) * px.derivative("t") + (y - py) * py.derivative("t")
    hx = _upoly(curve.cx) - qx
    hy = _upoly(curve.cy) - qy
    g = hx.gcd(hy)
    h = sum((XYT.constant(g[i]) * t**i for i in range(g.degree() + 1)), XYT.constant(0))
    E1, E2 = _divide_out(E1, h), _divide_out(E2, h)
    R = E1.resultant(E2, "t")
    Rxy = R.project_to_context(XY) if hasattr(R, "project_to_context") else R
    factors: list[BoundaryFactor] = []
    if not Rxy.is_zero() and Rxy.total_degree() > 0:
        _, fl = Rxy.factor()
        for f, _m in fl:
            if f.total_degree() > 0:
                factors.append(BoundaryFactor(_primitive(f), "equidistant"))
    X, Y = XY.gens()
    if curve.interval is not None:
        ends = [curve.interval[0], curve.interval[1]]
        for e in ends:
            fe = flint.fmpq(e.numerator, e.denominator)
            ex = _upoly(curve.cx)(fe)
            ey = _upoly(curve.cy)(fe)
            if (ex, ey) == (qx, qy):
                dx = _upoly(curve.cx).derivative()(fe)
                dy = _upoly(curve.cy).derivative()(fe)
                if dx != 0 or dy != 0:
                    factors.append(BoundaryFactor(_primitive((X - qx) * dx + (Y - qy) * dy), "normal line"))
            else:
                bis = 2 * X * (ex - qx) + 2 * Y * (ey - qy) - (ex * ex + ey * ey) + (qx * qx + qy * qy)
                factors.append(BoundaryFactor(_primitive(bis), "bisector"))
    unique: list[BoundaryFactor] = []
    for f in factors:  # the normal line at an end point is also a factor of the resultant
        same = next((g for g in unique if g.polynomial == f.polynomial), None)
        if same is None:
            unique.append(f)
        elif f.role not in same.role:
            same.role += " / " + f.role
    factors = unique
    pts = numeric_boundary_points(curve, q, n_rays=n_rays, box=box)
    for f in factors:
        for u in pts:
            if _relative_residual(f.polynomial, u) < 1e-7:
                f.points_on += 1
        f.kept = f.points_on > 0
    return VoronoiBoundary(q, kind, factors, _primitive_text(Rxy) if not Rxy.is_zero() else "0", pts)


# --------------------------------------------------------------------------- area and Monte Carlo
def _real_roots_in(coeffs_high_first: np.ndarray, lo: float, hi: float) -> list[float]:
    c = np.trim_zeros(np.asarray(coeffs_high_first, dtype=float), "f")
    if len(c) < 2:
        return []
    r = np.roots(c)
    r = r[np.abs(r.imag) < 1e-9 * (1 + np.abs(r.real))].real
    return sorted(float(v) for v in r if lo < v < hi)


def _x_breakpoints(P, box) -> list[float]:
    """``x`` in the box where the real roots in ``y`` of ``P`` can change: the discriminant,
    the leading coefficient and the box's horizontal edges."""
    xmin, xmax, ymin, ymax = box
    out = {xmin, xmax}
    X, Y = XY.gens()
    polys = []
    if P.degrees()[1] >= 2:
        polys.append(P.discriminant("y"))
    dy = P.degrees()[1]
    lc = XY.constant(0)
    for (i, j), c in P.to_dict().items():
        if j == dy:
            lc = lc + XY.constant(c) * X**i
    polys.append(lc)
    for yv in (ymin, ymax):
        fy = Fraction(yv).limit_denominator(10**12)
        polys.append(P.subs({"y": flint.fmpq(fy.numerator, fy.denominator)}))
    for pp in polys:
        if pp.is_zero() or pp.total_degree() < 1:
            continue
        d = pp.to_dict()
        deg = max(e[0] for e in d)
        c = np.zeros(deg + 1)
        for (i, _j), v in d.items():
            c[deg - i] = float(Fraction(int(v.p), int(v.q)))
        out.update(_real_roots_in(c, xmin, xmax))
    return sorted(out)


def cell_area(curve: PlaneCurve, boundary: VoronoiBoundary, box, nodes: int = 24, pieces: int = 16) -> float:
    """Area of ``Vor(q)`` inside ``box`` by quadrature of the exact boundary (see the module docstring)."""
    xmin, xmax, ymin, ymax = box
    P = boundary.equation
    if P.total_degree() < 1:
        return 0.0
    Cxy = coefficient_array(P)
    brk = _x_breakpoints(P, box)
    gx, gw = np.polynomial.legendre.leggauss(nodes)
    xs, ws = [], []
    for a, b in zip(brk[:-1], brk[1:]):
        edges = np.linspace(a, b, pieces + 1)
        for lo, hi in zip(edges[:-1], edges[1:]):
            xs.append(0.5 * (hi - lo) * gx + 0.5 * (hi + lo))
            ws.append(0.5 * (hi - lo) * gw)
    xs, ws = np.concatenate(xs), np.concatenate(ws)
    mids, lens, owner = [], [], []
    for k, xv in enumerate(xs):
        cy = (Cxy * (xv ** np.arange(Cxy.shape[0]))[:, None]).sum(axis=0)  # coefficients in y, lowest first
        ys = [ymin] + _real_roots_in(cy[::-1], ymin, ymax) + [ymax]
        for y0, y1 in zip(ys[:-1], ys[1:]):
            if y1 > y0:
                mids.append((xv, 0.5 * (y0 + y1)))
                lens.append(y1 - y0)
                owner.append(k)
    mids = np.array(mids)
    inside = in_cell(curve, boundary.point, mids)
    length = np.zeros(len(xs))
    np.add.at(length, np.array(owner), np.where(inside, np.array(lens), 0.0))
    return float((length * ws).sum())


@dataclass
class MonteCarlo:
    samples: int
    hits: int
    fraction: float
    interval: tuple[float, float]
    points: np.ndarray
    inside: np.ndarray


def monte_carlo(curve: PlaneCurve, q, box, samples: int = 100_000, seed: int = 0, chunk: int = 20_000) -> MonteCarlo:
    """Uniform samples in ``box``; the fraction whose nearest point of the curve is ``q``, with its Wilson interval."""
    from ..stats import wilson_interval

    if samples < 1:
        raise SpecError("--samples", f"must be at least 1, got {samples}")
    rng = np.random.default_rng([seed, 0x0B0])
    xmin, xmax, ymin, ymax = box
    U = np.column_stack([rng.uniform(xmin, xmax, samples), rng.uniform(ymin, ymax, samples)])
    inside = np.concatenate([in_cell(curve, q, U[i : i + chunk]) for i in range(0, samples, chunk)])
    hits = int(inside.sum())
    return MonteCarlo(samples, hits, hits / samples, wilson_interval(hits, samples), U, inside)


def voronoi_report(curve: PlaneCurve, q, box, samples: int = 100_000, seed: int = 0) -> dict:
    """Everything the ``neurovar voronoi`` command prints, as a dict."""
    b = voronoi_boundary(curve, q, box=box)
    area = cell_area(curve, b, box)
    box_area = (box[1] - box[0]) * (box[3] - box[2])
    mc = monte_carlo(curve, q, box, samples, seed)
    worst = max((min(_relative_residual(b.equation, u), 1.0) for u in b.numeric_points), default=None)
    return {
        "point": f"({q[0]}, {q[1]})",
        "kind": b.kind,
        "boundary_equation": b.equation_text,
        "boundary_factors": [{"equation": f.text, "role": f.role, "numeric_points_on": f.points_on} for f in b.kept],
        "discarded_factors": [{"equation": f.text, "role": f.role} for f in b.factors if not f.kept],
        "resultant": b.resultant_text,
        "numeric_boundary_points": len(b.numeric_points),
        "max_relative_residual": worst,
        "box": list(box),
        "area": area,
        "area_fraction": area / box_area,
        "area_method": "Gauss-Legendre quadrature in x of the cell's y-intervals, ends at real roots of the exact boundary equation",
        "samples": mc.samples,
        "hits": mc.hits,
        "mc_fraction": mc.fraction,
        "mc_interval_95": list(mc.interval),
        "area_in_interval": bool(mc.interval[0] <= area / box_area <= mc.interval[1]),
        "seed": seed,
        "_boundary": b,
        "_mc": mc,
    }


__all__ = ["XY", "PlaneCurve", "VoronoiBoundary", "parse_curve", "parse_point", "parse_box", "voronoi_boundary",
           "numeric_boundary_points", "nearest_distance_sq", "in_cell", "evaluate_xy", "coefficient_array",
           "cell_area", "monte_carlo", "voronoi_report"]
