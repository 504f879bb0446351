"""Parametrised polynomial families with a known start pair, ready for monodromy.

A :class:`Family` bundles a :class:`~pipeline.numeric.system.System` (unknowns
``x``, parameters ``p``) with ``start_pair(rng) -> (x0, p0)``, a random point of
the incidence variety ``{(x, p) : F(x; p) = 0}``, built by choosing ``x0`` first
and solving for ``p0`` (linearly).

* :func:`ed_lagrange_family` -- critical points of ``(x - u)^T Q (x - u)`` on a
  hypersurface ``f = 0``: unknowns ``(x, lambda)``, equations ``f = 0``,
  ``Q (x - u) = lambda grad f``, parameters the data ``u``. Start:
  ``x0`` on ``f = 0`` (a random line meets it; a root of the restriction),
  random ``lambda0``, ``u0 = x0 - lambda0 Q^{-1} grad f(x0)``.
* :func:`waring_family` -- the fiber of the shallow monomial network
  ``x -> sum_i a_i (w_i . x)^d`` (widths ``(n, k, 1)``, activation ``x^d``) in
  the gauge ``w_i1 = 1``: unknowns ``a_i, w_ij (j >= 2)``, parameters the
  coefficients of the target form. Start: random unknowns, ``p0`` their image.

Example
-------
>>> import numpy as np
>>> fam = ed_lagrange_family("x^2 + y^2 - 1", ["x", "y"])
>>> x0, p0 = fam.start_pair(np.random.default_rng(0))
>>> bool(np.abs(fam.system.evaluate(x0, p0)).max() < 1e-10)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations_with_replacement
from typing import Callable, Sequence

import numpy as np

from neurovar.pipeline.algebra.lagrange import lagrange_rows
from neurovar.pipeline.algebra.monomials import monomial_exponents
from neurovar.pipeline.algebra.parser import parse_polynomial, polynomial_context

from .system import System


@dataclass
class Family:
    """A system with parameters and a sampler of start pairs ``(x0, p0)``."""

    system: System
    start_pair: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
    polynomials: list | None = None  # exact fmpq_mpolys over unknowns + parameters
    description: str = ""


def _fresh(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _rational_matrix(Q, n: int) -> list[list[Fraction]]:
    if Q is None:
        return [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    rows = [[Fraction(v) if not isinstance(v, float) else Fraction(v).limit_denominator(10**12) for v in row]
            for row in Q]
    if len(rows) != n or any(len(r) != n for r in rows):
        raise ValueError(f"Q must be a {n} x {n} matrix (one row and column per variable)")
    if any(rows[i][j] != rows[j][i] for i in range(n) for j in range(n)):
        raise ValueError("Q must be symmetric")
    return rows


def point_on_hypersurface(fsys: System, rng: np.random.Generator) -> np.ndarray:
    """A random complex point of ``f = 0`` (``fsys`` has one equation, no parameters).

    The line ``a + t b`` with random complex ``a, b`` meets ``f = 0`` in ``deg f``
    points; the restriction ``f(a + t b)`` is interpolated at roots of unity
    (its degree is ``deg f``), the root nearest to ``a`` is taken and polished
    by Newton's method.
    """
    n = fsys.n_variables
    d = max(fsys.degrees)
    if d < 1:
        raise ValueError("f must be a non-constant polynomial")
    for _ in range(20):
        a = rng.normal(size=n) + 1j * rng.normal(size=n)
        b = rng.normal(size=n) + 1j * rng.normal(size=n)
        N = d + 1
        ts = np.exp(2j * np.pi * np.arange(N) / N)
        vals = fsys.evaluate(a[None, :] + ts[:, None] * b[None, :])[:, 0]
        coeffs = np.fft.fft(vals) / N  # vals[k] = sum_j c_j w^{jk}  ->  c_j = (1/N) sum_k vals[k] w^{-jk}
        roots = np.roots(coeffs[::-1])
        if len(roots) == 0:
            continue
        # the root nearest to a: a point of moderate norm, so that the start data p0 (and the
        # solutions over it) are well scaled; a far root gives ill-conditioned start systems
        t = roots[int(np.argmin(np.abs(roots)))]
        for _ in range(20):
            x = a + t * b
            F, J, _ = fsys.jacobian(x[None, :])
            dt = -F[0, 0] / (J[0, 0] @ b)
            t = t + dt
            if abs(dt) < 1e-15 * (1 + abs(t)):
                break
        x = a + t * b
        if np.isfinite(x).all() and abs(fsys.evaluate(x[None, :])[0, 0]) < 1e-9 * (1 + np.abs(x).max()) ** d:
            return x
    raise RuntimeError("could not find a point on the hypersurface")


def step_scale(x0, step) -> float:
    """``|x0| / |step|`` (1 when either is zero): a normal step from ``x0`` as long as ``x0``."""
    a, b = float(np.linalg.norm(x0)), float(np.linalg.norm(step))
    return a / b if a > 0 and b > 0 else 1.0


def ed_lagrange_family(f, variables: Sequence[str], Q=None, *, saturate: bool = False,
                       saturation_seed: int = 0) -> Family:
    """The Lagrange system of the ED problem ``min (x-u)^T Q (x-u)`` on ``f = 0``.

    Parameters
    ----------
    f : str, flint.fmpq_mpoly or dict
        The hypersurface: text (read by the safe parser), an exact polynomial,
        or ``{exponents: coefficient}`` with complex coefficients allowed (then
        ``Family.polynomials`` is ``None``).
    variables : sequence of str
        The coordinates ``x``.
    Q : matrix of rationals, optional
        Symmetric weight matrix (default identity); must be invertible for the
        start pair.
    saturate : bool
        Also return (in ``Family.polynomials``, not in the numerical system) the
        Rabinowitsch equation ``s * (c . grad f) - 1`` with a random integer
        ``c``, which removes singular points of ``f = 0`` for exact solvers.

    Returns
    -------
    Family
        Unknowns ``variables + [lambda]``, parameters ``u_<name>``.

    Example
    -------
    >>> fam = ed_lagrange_family("x^2 + y^2 - 1", ["x", "y"], Q=[[4, 0], [0, 1]])
    >>> fam.system.variables, fam.system.parameters
    (('x', 'y', 'lambda'), ('u_x', 'u_y'))
    """
    variables = list(variables)
    n = len(variables)
    taken = set(variables)
    lam = _fresh("lambda", taken)
    us = [_fresh(f"u_{v}", taken) for v in variables]
    sname = _fresh("s", taken)
    Qr = _rational_matrix(Q, n)
    polys = None
    if isinstance(f, dict):  # {exponents: coefficient}, complex coefficients allowed
        fdict = {tuple(int(v) for v in e): _coef(c) for e, c in f.items()}
        label = "f"
    else:
        small = polynomial_context(variables)
        if isinstance(f, str):
            f_small = parse_polynomial(f, ctx=small)
        else:
            f_small = small.from_dict({tuple(e): c for e, c in f.to_dict().items()})
        fdict = {tuple(int(v) for v in e): Fraction(int(c.p), int(c.q)) for e, c in f_small.to_dict().items()}
        label = str(f_small)
        names = variables + [lam] + us + ([sname] if saturate else [])
        ctx = polynomial_context(names)
        pad = len(names) - n
        fb = ctx.from_dict({tuple(e) + (0,) * pad: c for e, c in f_small.to_dict().items()})
        g = ctx.gens()
        X, L, U = g[:n], g[n], g[n + 1: 2 * n + 1]
        grad = [fb.derivative(i) for i in range(n)]
        polys = [fb] + lagrange_rows(X, U, [L], [grad], Qr)
        if saturate:
            rng = np.random.default_rng(saturation_seed)
            c = [int(v) for v in rng.integers(1, 30, size=n)]
            polys.append(g[-1] * sum((ci * gi for ci, gi in zip(c, grad)), ctx.constant(0)) - 1)
    # the numerical system, as {exponents over (x, lambda, u): coefficient}
    width = 2 * n + 1
    eqs = [{e + (0,) * (n + 1): c for e, c in fdict.items()}]
    for i in range(n):
        eq: dict = {}
        for j in range(n):
            if Qr[i][j]:
                ex = [0] * width
                ex[j] = 1
                eq[tuple(ex)] = eq.get(tuple(ex), 0) + Qr[i][j]
                eu = [0] * width
                eu[n + 1 + j] = 1
                eq[tuple(eu)] = eq.get(tuple(eu), 0) - Qr[i][j]
        for e, c in fdict.items():
            if e[i] > 0:
                ex = list(e) + [1] + [0] * n
                ex[i] -= 1
                eq[tuple(ex)] = eq.get(tuple(ex), 0) - c * e[i]
        eqs.append(eq)
    system = System(eqs, variables + [lam], us)
    fsys = System([fdict], variables)
    Qinv = np.linalg.inv(np.array([[float(v) for v in row] for row in Qr]))

    def start_pair(rng):
        x0 = point_on_hypersurface(fsys, rng)
        _, J, _ = fsys.jacobian(x0[None, :])
        # the multiplier scaled so that the normal step is as long as x0: a data point u0 of the size of
        # its critical points (an unscaled step can put u0 far out, where the trace test's line leaves them)
        step = Qinv @ J[0, 0]
        l0 = complex(rng.normal() + 1j * rng.normal()) * step_scale(x0, step)
        u0 = x0 - l0 * step
        return np.r_[x0, l0], u0

    return Family(system, start_pair, polys, f"ED Lagrange system of {label} (Q = {Q})")


def ed_degree_generic_hypersurface(n: int, d: int) -> int:
    """ED degree of a generic hypersurface of degree ``d`` in ``C^n``: ``d sum_{i<n} (d-1)^i``.

    (Draisma--Horobet--Ottaviani--Sturmfels--Thomas, *The Euclidean distance
    degree of an algebraic variety*, Cor. 2.10.)

    >>> ed_degree_generic_hypersurface(2, 2), ed_degree_generic_hypersurface(3, 3)
    (4, 21)
    """
    return d * sum((d - 1) ** i for i in range(n))


def random_hypersurface(n: int, d: int, seed: int = 0, height: int = 9) -> str:
    """A dense polynomial of degree ``d`` in ``x1..xn`` with random integer coefficients (text)."""
    rng = np.random.default_rng(seed)
    terms = []
    for deg in range(d + 1):
        for combo in combinations_with_replacement(range(n), deg):
            c = int(rng.integers(-height, height + 1)) or 1
            mono = "*".join(f"x{j + 1}" for j in combo)
            terms.append(f"({c})" + (f"*{mono}" if mono else ""))
    return " + ".join(terms)


def random_complex_hypersurface(n: int, d: int, seed: int = 0, height: int = 9) -> dict:
    """A dense polynomial of degree ``d`` in ``n`` variables with random Gaussian-integer coefficients.

    Complex coefficients keep the hypersurface away from the discriminant (which
    has real codimension 2 over C, but only 1 among real coefficients, where a
    random surface is often nearly singular and monodromy mixes slowly).
    """
    rng = np.random.default_rng(seed)
    out = {}
    for deg in range(d + 1):
        for e in monomial_exponents(n, deg):
            re, im = rng.integers(-height, height + 1, size=2)
            out[e] = complex(int(re) or 1, int(im))
    return out


def _coef(c):
    if isinstance(c, (int, Fraction)):
        return Fraction(c)
    return complex(c)


def waring_family(n: int, d: int, k: int) -> Family:
    """Fiber of ``theta -> sum_{i<=k} a_i (w_i . x)^d`` in the gauge ``w_i1 = 1``.

    Unknowns ``a_i`` and ``w_ij`` (``j = 2..n``): ``k n`` of them. Parameters:
    the ``binom(n+d-1, d)`` coefficients ``p_alpha`` of the target form in the
    monomial basis; equations ``sum_i a_i binom(d; alpha) w_i^alpha - p_alpha``.
    The fiber over a generic image point has ``k! * (number of Waring
    decompositions)`` points (the gauge fixes the scaling ``w_i -> c w_i``,
    ``a_i -> c^{-d} a_i``; permutations of the summands remain).

    Example
    -------
    >>> fam = waring_family(2, 3, 2)   # binary cubics: Sylvester, unique decomposition
    >>> fam.system.n_variables, fam.system.n_parameters
    (4, 4)
    """
    alphas = monomial_exponents(n, d)
    nu = k * n
    names = [f"a{i + 1}" for i in range(k)] + [f"w{i + 1}_{j + 1}" for i in range(k) for j in range(1, n)]
    pnames = ["p_" + "".join(map(str, a)) for a in alphas]
    polys = []
    for r, alpha in enumerate(alphas):
        mult = math.factorial(d) // math.prod(math.factorial(v) for v in alpha)
        poly: dict[tuple[int, ...], object] = {}
        for i in range(k):
            e = [0] * (nu + len(alphas))
            e[i] = 1
            for j in range(1, n):
                e[k + i * (n - 1) + (j - 1)] = alpha[j]
            poly[tuple(e)] = Fraction(mult)
        e = [0] * (nu + len(alphas))
        e[nu + r] = 1
        poly[tuple(e)] = Fraction(-1)
        polys.append(poly)
    system = System(polys, names, pnames)
    zero_p = np.zeros(len(alphas))

    def start_pair(rng):
        x0 = rng.normal(size=nu) + 1j * rng.normal(size=nu)
        p0 = system.evaluate(x0[None, :], zero_p)[0]  # F(x0; 0) = image of x0
        return x0, p0

    return Family(system, start_pair, None, f"Waring fiber, n={n}, d={d}, k={k}")
