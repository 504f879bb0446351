"""Real plane curves for the Voronoi computations: parsing, and the floating-point nearest-point tools.

A :class:`PlaneCurve` is a polynomial parametrisation ``t -> (c_x(t), c_y(t))`` on
``R`` or on an interval, and/or an implicit equation ``F(x, y) = 0``, with exact
rational coefficients. The numerical part decides whether a point ``q`` of the
curve is the nearest point to data ``u`` (:func:`in_cell`, all samples at once
through companion-matrix eigenvalues) and finds boundary points of the Voronoi
cell independently of any elimination (:func:`numeric_boundary_points`); both
are numerical methods, used as the cross-check of :mod:`pipeline.algebra.voronoi`.

Example
-------
>>> c = parse_curve(equation="y^2 + x^3", param="-t^2, t^3")
>>> bool(in_cell(c, (0, 0), [[0.5, 0.0]])[0]), bool(in_cell(c, (0, 0), [[-0.5, 0.0]])[0])
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import flint
import numpy as np

from ..errors import SpecError
from .parser import PolynomialSyntaxError, parse_polynomial, polynomial_variables

XY = flint.fmpq_mpoly_ctx.get(("x", "y"), "lex")
XYT = flint.fmpq_mpoly_ctx.get(("x", "y", "t"), "lex")

# --------------------------------------------------------------------------- input
@dataclass(frozen=True)
class PlaneCurve:
    """A real plane curve: a polynomial parametrisation ``t -> (c_x(t), c_y(t))``
    on ``R`` or on an interval, and/or an implicit equation ``F(x, y) = 0``.

    ``cx``, ``cy`` are coefficient lists (lowest degree first, exact rationals).
    """

    cx: tuple[Fraction, ...] | None = None
    cy: tuple[Fraction, ...] | None = None
    equation: object | None = None  # flint.fmpq_mpoly in XY
    interval: tuple[Fraction, Fraction] | None = None

    @property
    def has_param(self) -> bool:
        return self.cx is not None

    def param_polys(self):
        """``(c_x, c_y)`` as polynomials in ``XYT`` (in ``t`` only)."""
        t = XYT.gen(2)
        return tuple(sum((XYT.constant(flint.fmpq(c.numerator, c.denominator)) * t**i
                          for i, c in enumerate(cs)), XYT.constant(0)) for cs in (self.cx, self.cy))

    def points(self, t: np.ndarray) -> np.ndarray:
        """Points ``c(t)`` in floating point, shape ``(len(t), 2)``."""
        return np.stack([np.polyval([float(c) for c in reversed(cs)], t) for cs in (self.cx, self.cy)], axis=1)


def _fq(v: Fraction) -> flint.fmpq:
    v = Fraction(v)
    return flint.fmpq(v.numerator, v.denominator)


def _upoly(cs) -> flint.fmpq_poly:
    return flint.fmpq_poly([_fq(c) for c in cs])


def _fraction(text: str, field_name: str) -> Fraction:
    try:
        v = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise SpecError(field_name, f"expected rational numbers such as 0, -1/2 or 0.25, got {text.strip()!r}") from None
    return v


def parse_point(text: str, field_name: str = "--point") -> tuple[Fraction, Fraction]:
    """``"x,y"`` with rational coordinates."""
    parts = [p for p in str(text).split(",")]
    if len(parts) != 2:
        raise SpecError(field_name, f"a point of the plane has two coordinates, e.g. 0,0; got {text!r}")
    return _fraction(parts[0], field_name), _fraction(parts[1], field_name)


def parse_box(text: str, field_name: str = "--box") -> tuple[float, float, float, float]:
    """``"xmin,xmax,ymin,ymax"``."""
    parts = str(text).split(",")
    if len(parts) != 4:
        raise SpecError(field_name, f"expected xmin,xmax,ymin,ymax such as -1,1,-1,1; got {text!r}")
    b = [float(_fraction(p, field_name)) for p in parts]
    if not (b[0] < b[1] and b[2] < b[3]):
        raise SpecError(field_name, f"need xmin < xmax and ymin < ymax, got {text!r}")
    return tuple(b)


def parse_curve(equation: str | None = None, param: str | None = None, interval: str | None = None) -> PlaneCurve:
    """Validate a plane curve given by ``F(x, y)`` and/or ``"c_x(t), c_y(t)"``.

    Errors name the flag: ``--curve`` (not a polynomial in x and y, e.g. three
    variables), ``--param`` (not two polynomials in t, or not on the curve),
    ``--interval``.

    >>> try:
    ...     parse_curve(equation="x^2 + y^2 + z^2 - 1")
    ... except SpecError as e:
    ...     print(e.field)
    --curve
    """
    if equation is None and param is None:
        raise SpecError("--curve", "give the curve's equation in x, y (--curve) or a parametrisation in t (--param)")
    F = cx = cy = None
    if equation is not None:
        try:
            names = polynomial_variables(equation)
        except PolynomialSyntaxError as e:
            raise SpecError("--curve", str(e)) from None
        extra = [v for v in names if v not in ("x", "y")]
        if extra:
            raise SpecError("--curve", f"a plane curve is a polynomial in x and y only; got the variables "
                            f"{', '.join(names)} (parametrise it with --param \"cx(t), cy(t)\")")
        try:
            F = parse_polynomial(equation, ctx=XY)
        except PolynomialSyntaxError as e:
            raise SpecError("--curve", str(e)) from None
        if F.total_degree() < 1:
            raise SpecError("--curve", f"{equation!r} is constant, not a curve")
    if param is not None:
        comps = [s for s in str(param).split(",")]
        if len(comps) != 2:
            raise SpecError("--param", f"a plane curve has two coordinates \"cx(t), cy(t)\", got {len(comps)} "
                            f"component(s) in {param!r}")
        cs = []
        for s in comps:
            try:
                names = polynomial_variables(s)
                if any(v != "t" for v in names):
                    raise SpecError("--param", f"the coordinates are polynomials in t only, got the variables {', '.join(names)}")
                p = parse_polynomial(s, variables=["t"])
            except PolynomialSyntaxError as e:
                raise SpecError("--param", str(e)) from None
            d = p.to_dict()
            deg = max((e[0] for e in d), default=0)
            cs.append(tuple(Fraction(int(d.get((i,), 0).p), int(d.get((i,), 0).q)) if (i,) in d else Fraction(0)
                            for i in range(deg + 1)))
        cx, cy = cs
        if max(len(cx), len(cy)) < 2:
            raise SpecError("--param", "both coordinates are constant: that is a point, not a curve")
    iv = None
    if interval is not None:
        if param is None:
            raise SpecError("--interval", "an interval of parameters needs --param")
        parts = str(interval).split(",")
        if len(parts) != 2:
            raise SpecError("--interval", f"expected lo,hi such as -1,1; got {interval!r}")
        lo, hi = (_fraction(p, "--interval") for p in parts)
        if not lo < hi:
            raise SpecError("--interval", f"need lo < hi, got {interval!r}")
        iv = (lo, hi)
    curve = PlaneCurve(cx, cy, F, iv)
    if F is not None and cx is not None:
        px, py = curve.param_polys()
        if not F.compose(px, py, ctx=XYT).is_zero():
            raise SpecError("--param", "the parametrisation does not satisfy the curve's equation (F(cx(t), cy(t)) != 0)")
    return curve


def _point_kind(curve: PlaneCurve, q) -> tuple[str, list]:
    """Classify ``q`` (singular / boundary / smooth) and find its parameters ``t0`` (rational roots)."""
    ts: list[Fraction] = []
    if curve.has_param:
        tq = _upoly(curve.cx) - _fq(q[0])
        tr = _upoly(curve.cy) - _fq(q[1])
        h = tq.gcd(tr)
        if h.degree() < 1:
            raise SpecError("--point", f"({q[0]}, {q[1]}) is not a point of the parametrised curve")
        for r, _ in h.roots() if hasattr(h, "roots") else []:
            ts.append(Fraction(int(r.p), int(r.q)))
        if curve.interval is not None:
            lo, hi = curve.interval
            if not any(lo <= t <= hi for t in ts) and ts:
                raise SpecError("--point", f"({q[0]}, {q[1]}) is the image of t = {ts[0]}, outside --interval")
            if any(t in (lo, hi) for t in ts):
                return "boundary", ts
    if curve.equation is not None:
        F = curve.equation
        vals = [F.subs({"x": flint.fmpq(q[0].numerator, q[0].denominator), "y": flint.fmpq(q[1].numerator, q[1].denominator)})]
        if not vals[0].is_zero():
            raise SpecError("--point", f"({q[0]}, {q[1]}) does not satisfy the curve's equation")
        grad = [F.derivative(v).subs({"x": flint.fmpq(q[0].numerator, q[0].denominator),
                                      "y": flint.fmpq(q[1].numerator, q[1].denominator)}) for v in ("x", "y")]
        return ("singular" if all(g.is_zero() for g in grad) else "smooth"), ts
    if curve.has_param:
        # without an equation: q is singular for the image when c'(t0) = 0 or it has several preimages
        dx = _upoly(curve.cx).derivative()
        dy = _upoly(curve.cy).derivative()
        crit = any(dx(flint.fmpq(t.numerator, t.denominator)) == 0 and dy(flint.fmpq(t.numerator, t.denominator)) == 0 for t in ts)
        return ("singular" if crit or len(ts) > 1 else "smooth"), ts
    return "unknown", ts


# --------------------------------------------------------------------------- numerics
def coefficient_array(p) -> np.ndarray:
    """Float coefficients ``C[i, j]`` of ``x^i y^j`` of a polynomial in ``XY``."""
    d = p.to_dict()
    dx = max((e[0] for e in d), default=0)
    dy = max((e[1] for e in d), default=0)
    C = np.zeros((dx + 1, dy + 1))
    for (i, j), c in d.items():
        C[i, j] = float(Fraction(int(c.p), int(c.q)))
    return C


def evaluate_xy(p, U: np.ndarray) -> np.ndarray:
    """``p(u)`` at the rows of ``U`` in floating point."""
    C = coefficient_array(p)
    U = np.atleast_2d(U)
    xs = U[:, 0][:, None] ** np.arange(C.shape[0])[None, :]
    ys = U[:, 1][:, None] ** np.arange(C.shape[1])[None, :]
    return np.einsum("ni,ij,nj->n", xs, C, ys)


def _relative_residual(p, u) -> float:
    """``|p(u)| / ||grad p(u)||``: a first-order estimate of the distance from ``u`` to ``{p = 0}``."""
    val = abs(evaluate_xy(p, u)[0])
    gx = evaluate_xy(p.derivative("x"), u)[0] if p.degrees()[0] > 0 else 0.0
    gy = evaluate_xy(p.derivative("y"), u)[0] if p.degrees()[1] > 0 else 0.0
    gn = float(np.hypot(gx, gy))
    return val / gn if gn > 0 else (0.0 if val == 0 else float("inf"))


def _poly_float(cs) -> np.ndarray:
    return np.array([float(c) for c in cs])


def _distance_derivative_coeffs(curve: PlaneCurve, U: np.ndarray) -> np.ndarray:
    """Coefficients (lowest first) of ``d/dt ||u - c(t)||^2 / 2`` for each row ``u`` of ``U``."""
    cx, cy = _poly_float(curve.cx), _poly_float(curve.cy)
    dcx = np.polynomial.polynomial.polyder(cx) if len(cx) > 1 else np.zeros(1)
    dcy = np.polynomial.polynomial.polyder(cy) if len(cy) > 1 else np.zeros(1)
    A = np.polynomial.polynomial.polyadd(np.polynomial.polynomial.polymul(cx, dcx),
                                         np.polynomial.polynomial.polymul(cy, dcy))
    n = len(A)
    out = np.zeros((U.shape[0], n))
    out[:, :] = A
    out[:, : len(dcx)] -= U[:, :1] * dcx[None, :]
    out[:, : len(dcy)] -= U[:, 1:2] * dcy[None, :]
    return out


def nearest_distance_sq(curve: PlaneCurve, U: np.ndarray) -> np.ndarray:
    """``min_t ||u - c(t)||^2`` over the curve's domain for each row of ``U`` (floating point).

    The minimum over ``R`` is attained at a real critical point of the squared
    distance; all complex roots of its derivative (companion-matrix eigenvalues,
    for all rows at once) are candidates through their real parts, which can only
    add values above the true minimum. On an interval the end points are added
    and candidates outside it are dropped.
    """
    U = np.atleast_2d(np.asarray(U, dtype=float))
    C = _distance_derivative_coeffs(curve, U)
    n = C.shape[1] - 1  # degree; the leading coefficient does not depend on u
    lead = C[0, -1]
    comp = np.zeros((U.shape[0], n, n))
    comp[:, 1:, :-1] = np.eye(n - 1) if n > 1 else 0
    comp[:, :, -1] = -C[:, :-1] / lead
    roots = np.linalg.eigvals(comp).real if n > 0 else np.zeros((U.shape[0], 0))
    if curve.interval is not None:
        lo, hi = float(curve.interval[0]), float(curve.interval[1])
        roots = np.concatenate([np.clip(roots, lo, hi), np.full((U.shape[0], 1), lo), np.full((U.shape[0], 1), hi)], axis=1)
    cx, cy = _poly_float(curve.cx), _poly_float(curve.cy)
    px = np.polynomial.polynomial.polyval(roots, cx)
    py = np.polynomial.polynomial.polyval(roots, cy)
    D = (px - U[:, :1]) ** 2 + (py - U[:, 1:2]) ** 2
    return D.min(axis=1)


def in_cell(curve: PlaneCurve, q, U: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """Whether ``q`` is a nearest point of the curve to each row of ``U`` (floating point)."""
    U = np.atleast_2d(np.asarray(U, dtype=float))
    qf = np.array([float(q[0]), float(q[1])])
    dq = ((U - qf) ** 2).sum(axis=1)
    dmin = nearest_distance_sq(curve, U)
    return dq <= dmin * (1 + rtol) + 1e-14


def _dense_min(curve: PlaneCurve, u: np.ndarray, t0s, exclude: float = 1e-12) -> tuple[float, float]:
    """``min ||u - c(t)||^2`` over the curve's points other than ``q`` (parameters ``t0s``).

    Every local minimum of the squared distance on a dense parameter grid is
    refined by Newton's method (clipped to the domain); refined parameters within
    ``exclude`` of a parameter of ``q`` are ``q`` itself and are dropped, so a
    competitor arbitrarily close to ``q`` (beyond the normal line at an end point)
    still counts. Purely numerical and independent of :func:`nearest_distance_sq`.
    """
    if curve.interval is not None:
        lo, hi = float(curve.interval[0]), float(curve.interval[1])
    else:
        scale = 2.0 + float(np.abs(u).max())
        lo, hi = -scale, scale
    ts = np.unique(np.concatenate([np.linspace(lo, hi, 2001), np.asarray(t0s, dtype=float)]))
    P = curve.points(ts)
    D = ((P - u) ** 2).sum(axis=1)
    left = np.r_[True, D[1:] <= D[:-1]]
    right = np.r_[D[:-1] <= D[1:], True]
    cand = np.flatnonzero(left & right)
    cand = cand[np.argsort(D[cand])][:8]
    P_ = np.polynomial.polynomial
    cx, cy = _poly_float(curve.cx), _poly_float(curve.cy)
    dcx, dcy = P_.polyder(cx), P_.polyder(cy)
    ddcx = P_.polyder(dcx) if len(dcx) > 1 else np.zeros(1)
    ddcy = P_.polyder(dcy) if len(dcy) > 1 else np.zeros(1)

    def dist(t):
        return (P_.polyval(t, cx) - u[0]) ** 2 + (P_.polyval(t, cy) - u[1]) ** 2

    t = ts[cand].astype(float)
    d = dist(t)
    for _ in range(40):  # Newton on d/dt, all candidates at once; a step that does not decrease is halved
        ex, ey = P_.polyval(t, cx) - u[0], P_.polyval(t, cy) - u[1]
        vx, vy = P_.polyval(t, dcx), P_.polyval(t, dcy)
        g = ex * vx + ey * vy
        H = vx * vx + vy * vy + ex * P_.polyval(t, ddcx) + ey * P_.polyval(t, ddcy)
        step = np.where(H > 0, -g / np.where(H > 0, H, 1.0), -np.sign(g) * 1e-3)
        for _half in range(30):
            tn = np.clip(t + step, lo, hi)
            dn = dist(tn)
            worse = dn > d
            if not worse.any():
                break
            step = np.where(worse, 0.5 * step, step)
        tn = np.where(dn <= d, tn, t)
        moved = np.abs(tn - t) > 1e-16 * (1 + np.abs(t))
        t, d = tn, np.minimum(dn, d)
        if not moved.any():
            break
    keep = np.ones(len(t), dtype=bool)
    for t0 in t0s:
        keep &= np.abs(t - t0) > exclude
    if not keep.any():
        return float("inf"), float("nan")
    k = int(np.argmin(np.where(keep, d, np.inf)))
    best, tbest = float(d[k]), float(t[k])
    return best, tbest


def numeric_boundary_points(curve: PlaneCurve, q, n_rays: int = 32, box=None, iterations: int = 44,
                            bases: int = 4) -> np.ndarray:
    """Boundary points of ``Vor(q)`` found numerically, independently of the elimination.

    Along a ray ``b + s (cos a, sin a)`` from a point ``b`` of the cell,
    bisection in ``s`` on "``q`` is at least as close as every other point of
    the curve" (the other points from a dense parameter grid refined by Newton's
    method, :func:`_dense_min`) converges to a point equidistant from ``q`` and
    from its nearest other point of the curve. The rays start at ``q`` and then
    at up to ``bases`` points inside the cell (half-way along the first rays), so
    that boundary pieces through ``q`` itself (the normal line at an end point)
    are crossed too. Rays that start outside the cell or do not leave it within
    the box (or 4 units) give no point.
    """
    qf = np.array([float(q[0]), float(q[1])])
    _, t0s = _point_kind(curve, q)
    t0s = [float(t) for t in t0s]
    reach = float(np.hypot(box[1] - box[0], box[3] - box[2])) if box is not None else 4.0

    def inside(u):
        dm, _ = _dense_min(curve, u, t0s)
        return float(((u - qf) ** 2).sum()) <= dm

    def shoot(base, n, offset):
        found, mids = [], []
        for a in np.linspace(0, 2 * np.pi, n, endpoint=False) + offset:
            d = np.array([np.cos(a), np.sin(a)])
            s_in = reach * 1e-2
            if not inside(base + s_in * d):
                continue
            grid = np.linspace(s_in, reach, 24)
            s_out = next((s for s in grid[1:] if not inside(base + s * d)), None)
            if s_out is None:
                continue
            lo_s = max(s for s in grid if s < s_out)
            hi_s = s_out
            for _ in range(iterations):
                mid = 0.5 * (lo_s + hi_s)
                if inside(base + mid * d):
                    lo_s = mid
                else:
                    hi_s = mid
            u = base + 0.5 * (lo_s + hi_s) * d
            mids.append(base + 0.25 * (lo_s + hi_s) * d)
            if box is None or (box[0] <= u[0] <= box[1] and box[2] <= u[1] <= box[3]):
                found.append(u)
        return found, mids

    pts, mids = shoot(qf, n_rays, 0.0123)
    step = max(1, len(mids) // bases) if mids else 1
    for base in mids[::step][:bases]:
        more, _ = shoot(base, max(8, n_rays // 2), 0.0457)
        pts += more
    return np.array(pts).reshape(-1, 2)
