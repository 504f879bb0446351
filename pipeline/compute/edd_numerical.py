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


def _certify_at_data(G, names, Q, X, u, decided: bool = False) -> tuple[int, ...]:
    """Certified distinct and certified real solutions among ``X`` (``(x, l)`` rows) at the data ``u``
    (with ``decided``, also the certified non-real ones).

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
    n_real = n_nonreal = 0
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
                n_nonreal += bool(C.nonreal[k])
    return (len(accepted), n_real, n_nonreal) if decided else (len(accepted), n_real)


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


def ed_generators(var, seed: int = 0):
    """``(G, sampler, dim_check)``: the equations of the Lagrange system of ``var`` and how to draw points of ``M``.

    ``G`` is the hypersurface's equation (``sampler`` None), or ``c = codim M``
    random rational combinations of the equations (a complete intersection
    containing ``M``). For equations alone (``--equations``) the codimension is
    found numerically and checked mod ``p`` (:func:`.edd_codim.implicit_codimension`,
    returned as ``dim_check``; when it disagrees ``G`` is None).
    """
    from .edd_varieties import _Implicit

    names = list(var.names)
    if len(var.equations) == 1:
        return [_normalized(var.equations[0])], None, None
    rng = np.random.default_rng([seed, 6161])
    F = var.equations
    sampler, c, dim_check = var, var.codim, None
    if isinstance(var, _Implicit):  # equations alone: points, codimension and its exact check (edd_codim)
        from .edd_codim import EquationSampler, implicit_codimension

        dim_check = implicit_codimension(F, seed)
        if not dim_check.agree:
            return None, None, dim_check
        c = var.codim = dim_check.codimension
        sampler = EquationSampler(F, names, c)
    if len(F) == c:
        G = list(F)
    else:
        A = rng.integers(-RANDOM_COEFF, RANDOM_COEFF + 1, size=(c, len(F)))
        G = [sum((int(A[j, i]) * F[i] for i in range(len(F))), F[0].context().constant(0)) for j in range(c)]
    return [_normalized(g) for g in G], sampler, dim_check


def ed_system(var, Qn, seed: int = 0):
    """``(G, system, start, dim_check)``: :func:`ed_generators`, the Lagrange system with weights ``Qn`` and a
    start-pair sampler (``system`` and ``start`` None when the codimension was not confirmed)."""
    from ..numeric import ed_lagrange_family

    G, sampler, dim_check = ed_generators(var, seed)
    if G is None:
        return None, None, None, dim_check
    if sampler is None:
        fam = ed_lagrange_family(G[0], list(var.names), Q=Qn, saturate=True)
        return G, fam.system, fam.start_pair, None
    return G, _lagrange_system(G, list(var.names), Qn), _Start(sampler, G, Qn, list(var.names)), dim_check


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
    from ..numeric import TrackerOptions, track
    from ..numeric.count import certified_count
    from ..numeric.system import System
    from ..numeric.trace import Projection

    from .cluster import distribute_mode, loop_client

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
    G, system, start, dim_check = ed_system(var, Qn, seed)
    if dim_check is not None and not dim_check.agree:
        return _numerical_none(f"no count: the numerical codimension is not confirmed by the exact rank mod p: "
                               f"{dim_check.describe()}", t0)
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
    if dim_check is not None and len(R.solutions):  # which solutions lie on M, certified (edd_codim.on_variety)
        from .edd_codim import on_variety

        member = on_variety(var.equations, names, system, R.solutions, R.parameters)
        stop += f"; {dim_check.describe()}; {member.describe()}"
        if C.count is not None and int((member.on & C.keep).sum()) != C.certified:
            stop += "; a counted solution is not proven consistent with every generator: a lower bound"
            C.count, C.completeness = None, "none"
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


#: Outputs of the numerical method (null with ``method: exact``).
NUMERICAL_OUTPUTS = ("edd_numerical", "numerical_certified", "numerical_real_points", "numerical_stop_reason",
                     "numerical_seconds", "counts_agree", "completeness")


def _numerical_none(reason: str, t0: float) -> dict:
    return {"edd_numerical": None, "numerical_certified": None, "numerical_real_points": None,
            "numerical_stop_reason": reason, "numerical_seconds": time.perf_counter() - t0, "completeness": "none",
            "edd_trusted": None}


