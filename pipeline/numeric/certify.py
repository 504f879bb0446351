"""Certification of approximate solutions by Krawczyk's method in ball arithmetic.

For a square system ``F(x; p) = 0`` at fixed parameters ``p``, an approximate
solution ``x~``, ``Y ~ (dF/dx(x~))^{-1}`` and the box ``X = x~ + [-r, r]^n (1 + i)``,
the Krawczyk operator

    ``K(X) = x~ - Y F(x~) + (I - Y dF/dx(X)) (X - x~)``

is evaluated in interval (ball) arithmetic with python-flint's ``acb``; if
``K(X)`` lies in the interior of ``X``, then ``X`` contains exactly one solution,
and it lies in ``K(X)`` (Krawczyk 1969; Moore 1977; Rump's formulation). The
coefficients are used exactly (rational coefficients as ``fmpq``), so is the
parameter point (rationals exactly, floats as the binary numbers they are).

Two certified solutions are *distinct* when their enclosures are disjoint. For
a system with real coefficients and real parameters, a box centred at a real
point and symmetric under complex conjugation contains a unique solution that
must equal its own conjugate: a certificate of a *real* solution. An enclosure
whose imaginary part excludes 0 in some coordinate certifies a *non-real* one.

Example
-------
>>> import numpy as np
>>> from neurovar.pipeline.numeric.system import System
>>> S = System.from_text("x^2 + y^2 - 1; x - y", ["x", "y"])
>>> s = np.sqrt(0.5)
>>> C = certify(S, np.array([[s, s], [-s, -s], [s + 0.1, s]]), p=None)
>>> C.certified.tolist(), C.n_distinct, C.n_real
([True, True, True], 2, 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import flint
import numpy as np

from .budget import expired
from .tracker import newton


@dataclass
class CertificationResult:
    """Outcome of :func:`certify`, one entry per input solution.

    Attributes
    ----------
    certified : bool array
        Krawczyk's test succeeded (a unique solution in the box).
    distinct : bool array
        Certified, and the enclosure is disjoint from every other certified
        enclosure -- except that of equal solutions, of which the first counts.
    real, nonreal : bool array
        Certified real / certified non-real (real systems at real parameters).
    centers : complex array (B, n)
        Midpoints of the enclosures.
    radii : float array (B,)
        Largest radius of an enclosure coordinate.
    """

    certified: np.ndarray
    distinct: np.ndarray
    real: np.ndarray
    nonreal: np.ndarray
    centers: np.ndarray
    radii: np.ndarray
    #: (B, 2n) lower / upper ends of the enclosures: real parts, then imaginary parts
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None

    @property
    def n_certified(self) -> int:
        return int(self.certified.sum())

    @property
    def n_distinct(self) -> int:
        return int(self.distinct.sum())

    @property
    def n_real(self) -> int:
        return int((self.real & self.distinct).sum())

    @property
    def n_nonreal(self) -> int:
        return int((self.nonreal & self.distinct).sum())


def _acb_const(c) -> flint.acb:
    if isinstance(c, Fraction):
        return flint.acb(flint.arb(flint.fmpq(c.numerator, c.denominator)))
    c = complex(c)
    return flint.acb(c.real, c.imag)


class _BallProgram:
    """The system's values and Jacobian, evaluated in ``acb`` ball arithmetic."""

    def __init__(self, system):
        self.n, self.m = system.n_variables, system.n_parameters
        nz = self.n + self.m
        monos: dict[tuple, int] = {}

        def idx(e):
            if e not in monos:
                monos[e] = len(monos)
            return monos[e]

        self.f_terms = [[] for _ in range(system.n_equations)]
        self.j_terms: dict[tuple[int, int], list] = {}
        for i, e, c in system.terms:
            cc = _acb_const(c)
            self.f_terms[i].append((idx(e), cc))
            for j in range(self.n):
                if e[j] > 0:
                    d = list(e)
                    d[j] -= 1
                    self.j_terms.setdefault((i, j), []).append((idx(tuple(d)), cc * e[j]))
        self.monos = [tuple((j, k) for j, k in enumerate(e) if k) for e in monos]
        self.maxdeg = [max((e[j] for e in monos), default=0) for j in range(nz)]

    def _monomials(self, z):
        pw = []
        for j, zj in enumerate(z):
            row = [flint.acb(1)]
            for _ in range(self.maxdeg[j]):
                row.append(row[-1] * zj)
            pw.append(row)
        out = []
        for mono in self.monos:
            v = flint.acb(1)
            for j, k in mono:
                v = v * pw[j][k]
            out.append(v)
        return out

    def values(self, z):
        mv = self._monomials(z)
        return [sum((c * mv[u] for u, c in terms), flint.acb(0)) for terms in self.f_terms]

    def jacobian(self, z):
        mv = self._monomials(z)
        J = flint.acb_mat(len(self.f_terms), self.n)
        for (i, j), terms in self.j_terms.items():
            J[i, j] = sum((c * mv[u] for u, c in terms), flint.acb(0))
        return J


def _params_acb(p, m):
    if p is None:
        return []
    p = list(p) if not isinstance(p, np.ndarray) else list(p.ravel())
    if len(p) != m:
        raise ValueError(f"expected {m} parameter values, got {len(p)}")
    return [_acb_const(v if isinstance(v, Fraction) else (Fraction(v) if isinstance(v, int) else complex(v)))
            for v in p]


def _krawczyk(prog, xt, pz, real: bool, r: float):
    n = prog.n
    pt = [flint.acb(complex(v).real, 0.0 if real else complex(v).imag) for v in xt]
    Fx = prog.values(pt + pz)
    Jm = np.array([[complex(v) for v in row] for row in prog.jacobian(pt + pz).tolist()])
    try:
        Yn = np.linalg.inv(Jm)
    except np.linalg.LinAlgError:
        return None
    Y = flint.acb_mat([[flint.acb(v.real, v.imag) for v in row] for row in Yn])
    YF = Y * flint.acb_mat([[v] for v in Fx])
    # the box's radius in each coordinate in proportion to that unknown's scale (the reciprocal of the
    # largest entry of its Jacobian column): Krawczyk's test is invariant under rescaling the unknowns
    # only when the box is rescaled with them, and a cube fails on badly scaled roots (a neuron near
    # the gauge chart's line at infinity: output weight ~1e-8 beside incoming weights ~10)
    col = np.abs(Jm).max(axis=0)
    s = np.where(col > 0, col.max() / np.where(col > 0, col, 1.0), 1.0)
    s = np.minimum(s / s.max(), 1.0) if np.all(np.isfinite(s)) else np.ones(n)
    if r is None:
        r = max(8 * max(float(abs(YF[i, 0]).mid()) / s[i] for i in range(n)), 1e-13 * (1 + max(abs(v) for v in xt)))
    rads = [flint.arb(0, max(r * float(s[i]), 1e-15 * (1 + abs(xt[i])))) for i in range(n)]  # not below rounding
    X = [flint.acb(pt[i].real + rads[i], (pt[i].imag + rads[i]) if not real else rads[i]) for i in range(n)]
    JX = prog.jacobian(X + pz)
    D = flint.acb_mat([[X[i] - pt[i]] for i in range(n)])
    K = flint.acb_mat([[pt[i]] for i in range(n)]) - YF + (flint.acb_mat(n, n, [int(i == j) for i in range(n) for j in range(n)]) - Y * JX) * D
    ok = all(X[i].contains_interior(K[i, 0]) for i in range(n))
    return ok, [K[i, 0] for i in range(n)], r


def certify(system, solutions, p=None, *, real_tol: float = 1e-8, precision: int = 64) -> CertificationResult:
    """Certify approximate solutions of ``F(x; p) = 0`` by Krawczyk's method.

    Parameters
    ----------
    system : System
        Square: as many equations as unknowns.
    solutions : array, shape (B, n)
        Approximate solutions (refined by Newton's method first).
    p : sequence, optional
        Parameter values: ``Fraction``/``int`` (exact) or floats/complex.
    real_tol : float
        Solutions with relative imaginary part below this are tried as real
        first (conjugation-symmetric box), when the system and ``p`` are real.
    precision : int
        Bits of the ball arithmetic.

    Returns
    -------
    CertificationResult
    """
    if system.n_equations != system.n_variables:
        raise ValueError("certify needs a square system (as many equations as unknowns)")
    X = np.atleast_2d(np.asarray(solutions, dtype=np.complex128))
    B, n = X.shape
    pf = None if p is None else np.array([complex(v) for v in (p if not isinstance(p, np.ndarray) else p.ravel())])
    if B:
        X, _ = newton(system, X, pf if pf is not None else np.zeros(0), iterations=4)
    real_params = pf is None or bool(np.all(pf.imag == 0))
    try_real = system.is_real and real_params
    old = flint.ctx.prec
    flint.ctx.prec = precision
    try:
        prog = _BallProgram(system)
        pz = _params_acb(p, system.n_parameters)
        cert = np.zeros(B, dtype=bool)
        real = np.zeros(B, dtype=bool)
        nonreal = np.zeros(B, dtype=bool)
        lo = np.full((B, 2 * n), np.nan)
        hi = np.full((B, 2 * n), np.nan)
        centers = X.copy()
        radii = np.full(B, np.inf)
        for b in range(B):
            xt = X[b]
            if not np.all(np.isfinite(xt)) or expired():  # past the deadline: the rest stay uncertified
                continue
            modes = []
            if try_real and np.abs(xt.imag).max() <= real_tol * (1 + np.abs(xt).max()):
                modes.append(True)
            modes.append(False)
            for as_real in modes:
                done = False
                r = None
                for _ in range(3):
                    out = _krawczyk(prog, xt, pz, as_real, r)
                    if out is None:
                        break
                    ok, K, r = out
                    if ok:
                        done = True
                        break
                    r *= 100
                if done:
                    cert[b] = True
                    real[b] = as_real
                    for i, k in enumerate(K):
                        re_m, re_r = float(k.real.mid()), float(k.real.rad())
                        im_m, im_r = float(k.imag.mid()), float(k.imag.rad())
                        lo[b, i], hi[b, i] = re_m - re_r, re_m + re_r
                        lo[b, n + i], hi[b, n + i] = im_m - im_r, im_m + im_r
                        centers[b, i] = complex(re_m, im_m)
                    radii[b] = float(np.max(hi[b] - lo[b]) / 2)
                    nonreal[b] = (not as_real) and try_real and bool(np.any((lo[b, n:] > 0) | (hi[b, n:] < 0)))
                    break
    finally:
        flint.ctx.prec = old
    distinct = _first_of_overlapping(cert, lo, hi)
    return CertificationResult(cert, distinct, real, nonreal, centers, radii, lo, hi)


def _first_of_overlapping(cert, lo, hi) -> np.ndarray:
    """Certified boxes that overlap no earlier certified box.

    Overlapping certified boxes contain the same unique solution, so keeping
    the first of each overlapping group counts distinct solutions, and an
    isolated box is distinct from all others.
    """
    keep = cert.copy()
    idx = np.flatnonzero(cert)
    if len(idx) < 2:
        return keep
    L, H = lo[idx], hi[idx]
    chunk = max(1, int(2e7 // (len(idx) * L.shape[1])))
    for a in range(0, len(idx), chunk):
        la, ha = L[a:a + chunk, None, :], H[a:a + chunk, None, :]
        overlap = np.all((la <= H[None]) & (L[None] <= ha), axis=2)  # (c, K)
        for r in range(overlap.shape[0]):
            row = a + r
            earlier = np.flatnonzero(overlap[r, :row])
            if len(earlier):
                keep[idx[row]] = False
    return keep
