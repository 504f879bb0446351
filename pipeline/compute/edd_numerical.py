"""The numerical route of ``edd``: monodromy on the Lagrange system, Krawczyk certificates."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import flint
import numpy as np

from ..algebra.edd_system import RANDOM_COEFF
from ..algebra.lagrange import lagrange_rows
from ..algebra.weights import kernel_basis
from ..errors import SpecError
from ..numeric.families import step_scale

from .edd_numerical_param import REAL_STEP as _REAL_STEP
from .edd_numerical_param import normalized as _normalized
from .edd_numerical_param import parametric_numerical_critical_points


def _lagrange_system(G: list, names: list[str], Q):
    """``G = 0``, ``Q (x - u) = sum_j l_j grad G_j``: unknowns ``x, l_1..l_c``, parameters ``u``.

    The square Lagrange system of :mod:`pipeline.algebra.edd_system` without the
    saturating unknowns ``s, t`` (monodromy never leaves the component of the
    start pair, a smooth point of ``M`` with ``l != 0``).
    """
    from ..numeric import System

    n, c = len(names), len(G)
    lams = [f"l{j + 1}_" for j in range(c)]
    us = [f"u{i + 1}_" for i in range(n)]
    ctx = flint.fmpq_mpoly_ctx.get(tuple(names + lams + us), "degrevlex")
    g = ctx.gens()
    X, L, U = g[:n], g[n: n + c], g[n + c:]
    Gl = [f.compose(*X, ctx=ctx) for f in G]
    polys = Gl + lagrange_rows(X, U, L, [[g.derivative(i) for i in range(n)] for g in Gl], Q)
    return System.from_mpolys(polys, names + lams, us)


def _scaled(G: list, s: int) -> tuple[list, list[Fraction]]:
    """``G_j(s x) / N_j`` (``N_j`` the largest coefficient) and the ``N_j``."""
    out, norms = [], []
    for f in G:
        ctx = f.context()
        fs = f.compose(*[flint.fmpq(s) * x for x in ctx.gens()], ctx=ctx)
        N = max(abs(Fraction(int(c.p), int(c.q))) for c in fs.coeffs())
        out.append(fs * flint.fmpq(N.denominator, N.numerator))
        norms.append(N)
    return out, norms


def _certify_at_data(G, names, Q, X, u) -> tuple[int, int]:
    """Certified distinct and certified real solutions among ``X`` (``(x, l)`` rows) at the data ``u``.

    Each solution is certified in coordinates ``x = s x'`` with ``s`` a power of
    two near ``|x|``: ``G_j(s x') / N_j = 0``, ``Q (x' - u/s) = sum l'_j grad'``,
    ``l'_j = l_j N_j / s^2`` (a real rescaling: real solutions stay real, and a
    Krawczyk box in ``x'`` is one in ``x``). Boxes of different scales are
    compared in ``x`` and counted once if they overlap.
    """
    from ..numeric import certify

    n, c = len(names), len(G)
    scales = [2 ** int(round(math.log2(max(1.0, float(np.abs(x[:n]).max()))))) for x in X]
    accepted: list[tuple[np.ndarray, float]] = []
    n_real = 0
    for s in sorted(set(scales)):
        rows = [x for x, si in zip(X, scales) if si == s]
        Gs, N = _scaled(G, s)
        S = _lagrange_system(Gs, names, Q)
        Y = np.array(rows, dtype=np.complex128)
        Y[:, :n] /= s
        for j in range(c):
            Y[:, n + j] *= float(N[j]) / s ** 2
        C = certify(S, Y, [Fraction(v) / s for v in u])
        for k in np.flatnonzero(C.distinct):
            centre, radius = C.centers[k, :n] * s, float(C.radii[k]) * s
            if all(np.abs(centre - c0).max() > radius + r0 for c0, r0 in accepted):
                accepted.append((centre, radius))
                n_real += bool(C.real[k])
    return len(accepted), n_real


class _Start:
    """Start pairs ``(x0, l0), u0``: a random complex point ``x0`` of ``M``, ``u0 = x0 - Q^-1 sum l0_j grad G_j``."""

    def __init__(self, var, G, Q, names):
        from ..numeric import System

        self.var, self.n, self.c = var, len(names), len(G)
        self.Gsys = System.from_mpolys(G, names)
        self.Qinv = np.linalg.inv(np.array([[float(q) for q in row] for row in Q]))

    def __call__(self, rng):
        for _ in range(20):
            x0 = self.var.sample_point(rng)
            _, J, _ = self.Gsys.jacobian(x0[None, :])
            J = J[0]  # c x n
            sv = np.linalg.svd(J, compute_uv=False)
            if sv[-1] < 1e-8 * sv[0]:
                continue  # not a smooth point of V(G)
            l0 = rng.normal(size=self.c) + 1j * rng.normal(size=self.c)
            l0 = l0 * step_scale(x0, self.Qinv @ (J.T @ l0))  # u0 of the size of x0 (see families)
            return np.r_[x0, l0], x0 - self.Qinv @ (J.T @ l0)
        raise RuntimeError("no smooth point of the variety found at random parameters")


def _full_rank_parametrization(var, seed: int) -> bool:
    """Whether ``var`` has a parametrization whose ``dy`` has full rank (see :mod:`.edd_numerical_param`)."""
    from .edd_numerical_param import full_rank_parametrization

    par = var.parametrization()
    if par is None:
        return False
    try:
        full_rank_parametrization(*par, seed=seed)
    except SpecError:
        return False
    return True


def numerical_critical_points(var, Q, u, seed: int = 0, real: bool = True,
                              target_count: int | None = None, time_limit: float | None = None,
                              distribute: str | None = None) -> dict:
    """See :func:`_critical_points`; under a deadline of ``time_limit`` seconds (default
    :data:`~pipeline.numeric.budget.DEFAULT_TIME_LIMIT`) for every phase, real points included."""
    from ..numeric.budget import DEFAULT_TIME_LIMIT, deadline

    with deadline(time_limit if time_limit is not None else DEFAULT_TIME_LIMIT):
        return _critical_points(var, Q, u, seed, real, target_count, distribute)


def _critical_points(var, Q, u, seed: int = 0, real: bool = True, target_count: int | None = None,
                     distribute: str | None = None) -> dict:
    """Critical points of ``||x - u||_Q^2`` on ``M_reg`` by monodromy (floating point, certified).

    The Lagrange system ``G = 0``, ``Q (x - u) = sum_j l_j grad G_j`` (``G`` the
    hypersurface's equation, via :func:`pipeline.numeric.ed_lagrange_family`, or
    ``c = codim M`` random rational combinations of a model's equations) is
    solved over a random complex data point ``u0`` by
    :func:`pipeline.numeric.monodromy_solve`, starting from a point ``x0`` of
    ``M`` chosen first (``u0 = x0 - Q^{-1} sum l0_j grad G_j(x0)``). With
    ``real``, the solutions are tracked to the rational data ``u`` (the exact
    method's) and certified there; the real ones are counted.

    Returns
    -------
    dict
        ``edd_numerical`` (monodromy count), ``numerical_certified`` (Krawczyk-certified
        distinct solutions at ``u0``), ``numerical_real_points`` (certified real at ``u``;
        None unless all were certified there), ``numerical_stop_reason``, ``numerical_seconds``.
    """
    from ..numeric import TrackerOptions, ed_lagrange_family, track
    from ..numeric.count import certified_count
    from ..numeric.system import System
    from ..numeric.trace import Projection

    from .cluster import distribute_mode, loop_client
    from .edd_varieties import _Implicit

    t0 = time.perf_counter()
    names = list(var.names)
    k = len(kernel_basis(Q))
    if k:
        return _numerical_none(f"no count: Q is singular (kernel dimension {k}); the numerical method needs an "
                               "invertible Q (positive definite weights), as the zero-loss points "
                               "(u + ker Q) ∩ M and positive-dimensional critical sets are not tracked", t0)
    scale = max(abs(q) for row in Q for q in row)
    Qn = [[q / scale for q in row] for row in Q]  # same critical points, entries of size 1
    if var.equations is None or (len(var.equations) > 1 and _full_rank_parametrization(var, seed)):
        # a model without implicit equations, or whose variety is not a hypersurface but has a birational
        # parametrization: parameter space (r unknowns, instead of n coordinates and c multipliers of a
        # squared-up Lagrange system; e.g. symmetric 5 x 5 matrices of rank <= 2: 9 against 21)
        return parametric_numerical_critical_points(var, Q, u, seed=seed, real=real, distribute=distribute)
    if len(var.equations) == 1:
        G = [_normalized(var.equations[0])]
        fam = ed_lagrange_family(G[0], names, Q=Qn, saturate=True)
        system, start = fam.system, fam.start_pair
    else:
        rng = np.random.default_rng([seed, 6161])
        F = var.equations
        sampler = _EquationSampler(F, names) if isinstance(var, _Implicit) else var
        c = var.codim if var.codim is not None else sampler.codimension(rng)
        if len(F) == c:
            G = list(F)
        else:
            A = rng.integers(-RANDOM_COEFF, RANDOM_COEFF + 1, size=(c, len(F)))
            G = [sum((int(A[j, i]) * F[i] for i in range(len(F))), F[0].context().constant(0)) for j in range(c)]
        G = [_normalized(g) for g in G]
        system, start = _lagrange_system(G, names, Qn), _Start(sampler, G, Qn, names)
    filt = None
    if len(G) < len(var.equations):  # squared up: keep the critical points that lie on M
        Fsys = System.from_mpolys([_normalized(f) for f in var.equations], names)
        nn = len(names)

        def filt(X):
            return np.abs(Fsys.evaluate(X[:, :nn])).max(axis=1) <= 1e-8 * (1 + np.abs(X[:, :nn]).max(axis=1)) ** 4

    # the trace test on the critical curve's image in x (the multipliers are rational in x there)
    C = certified_count(system, start_pair=start, seed=seed, target_count=target_count, filter=filt,
                        distribute=distribute_mode(distribute), client=loop_client(),
                        image=Projection(system.n_variables, len(names)))
    R = C.monodromy
    stop = R.stop_reason
    if stop == "target_count":
        stop = "target_count (the exact count was given as the target: a stop, not a certificate)"
    stop = f"{stop}; {C.reason}"
    real_pts = None
    sols = C.solutions
    if real and len(sols) and C.certified == len(sols):
        # real points from certified numerics at the real data u; a failure here never touches the count
        T = track(system, sols, R.parameters, np.array([complex(v) for v in u]), gamma=None, seed=seed,
                  options=TrackerOptions(**_REAL_STEP))
        distinct, n_real = _certify_at_data(G, names, Qn, T.solutions[T.regular], u)
        if distinct == len(sols):
            real_pts = n_real
        else:
            stop += f"; real points not counted: {distinct} of {len(sols)} solutions certified at the data u"
    return {"edd_numerical": C.orbits, "numerical_certified": C.certified, "numerical_real_points": real_pts,
            "numerical_stop_reason": stop, "numerical_seconds": time.perf_counter() - t0,
            "completeness": C.completeness, "edd_trusted": C.count}


class _EquationSampler:
    """Random points of ``V(F)`` for implicit equations of any codimension (Gauss-Newton projection).

    A random complex point is moved onto ``F = 0`` by minimum-norm Newton steps
    (the pseudo-inverse of the ``len(F) x n`` Jacobian); the codimension is the
    numerical rank of the Jacobian there (the landing point is a smooth point of
    a top-dimensional component with probability one when ``V(F)`` is
    irreducible).
    """

    def __init__(self, F, names):
        from ..numeric.system import System

        self.F = System.from_mpolys(list(F), names)

    def sample_point(self, rng):
        n = self.F.n_variables
        for _ in range(20):
            x = (rng.normal(size=n) + 1j * rng.normal(size=n)) / np.sqrt(2)
            for _ in range(60):
                Fx, J, _ = self.F.jacobian(x[None, :])
                dx = -np.linalg.pinv(J[0], rcond=1e-12) @ Fx[0]
                x = x + dx
                if np.abs(dx).max() < 1e-14 * (1 + np.abs(x).max()):
                    break
            if np.abs(self.F.evaluate(x[None, :])).max() < 1e-10 * (1 + np.abs(x).max()) ** 4 and \
                    np.abs(x).max() > 1e-6:
                return x
        raise SpecError("equations", "no point of the variety was found by Newton projection from random points")

    def codimension(self, rng) -> int:
        x = self.sample_point(rng)
        _, J, _ = self.F.jacobian(x[None, :])
        sv = np.linalg.svd(J[0], compute_uv=False)
        return int((sv > 1e-8 * sv[0]).sum())


#: Outputs of the numerical method (null with ``method: exact``).
NUMERICAL_OUTPUTS = ("edd_numerical", "numerical_certified", "numerical_real_points", "numerical_stop_reason",
                     "numerical_seconds", "counts_agree", "completeness")


def _numerical_none(reason: str, t0: float) -> dict:
    return {"edd_numerical": None, "numerical_certified": None, "numerical_real_points": None,
            "numerical_stop_reason": reason, "numerical_seconds": time.perf_counter() - t0, "completeness": "none",
            "edd_trusted": None}


