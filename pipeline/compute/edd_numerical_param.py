"""The numerical route of ``edd`` in parameter space: any model with a parametrization.

Critical points of ``L(theta) = ||y(theta) - u||_Q^2`` with ``y`` the model's
gauge-fixed parametrization (:meth:`pipeline.models.base.Model.parametrization`).
Where ``dy`` has full rank ``r = dim M``, ``grad L = 2 dy^T Q (y - u)`` vanishes
exactly when ``Q (y - u)`` is normal to ``M`` at ``y``: the critical points of
the distance on ``M_reg`` are the images of the critical parameters, each hit
by as many of them as a generic fiber has points.

The gauge must fix every continuous symmetry (``dy`` of full rank ``P``, checked
exactly), as on the exact parametric route.

**The count.** Monodromy over the data ``u`` from a start pair built so that a
chosen ``theta0`` is critical (``u0 = y(theta0) - Q^{-1} w`` with ``w`` in the
kernel of ``dy(theta0)^T``), Krawczyk certificates and the trace test through
:func:`pipeline.numeric.count.certified_count`: that certifies the set ``W`` of
critical parameters on the monodromy's component. The ED degree is the number of
distinct images ``y(W)``. Images are grouped by a relative distance of
``1e-6``; the count is kept only when every group has the same size (the
generic fiber, a finite symmetry group) and the groups are separated by more than a
thousand times the first-order uncertainty ``|dy| * radius`` of the certified
boxes. That last step is a numerical separation check, said so in the row's
reason, on top of the certified parameter set.

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> from neurovar.pipeline.compute.edd_varieties import variety_of
>>> from neurovar.pipeline.compute.edd_params import EddParams
>>> m = build_model({"model": "cnn", "filters": [2, 2], "strides": [2, 1], "activation": "x"})   # rank-one 2 x 2
>>> var = variety_of(m, EddParams(method="numerical"))
>>> I = [[1 if i == j else 0 for j in range(4)] for i in range(4)]
>>> r = parametric_numerical_critical_points(var, I, [3, -1, 2, 5], seed=0)
>>> r["edd_trusted"], r["completeness"], r["numerical_real_points"]   # Eckart-Young: min(2, 2) real points
(2, 'trace-test', 2)
"""

from __future__ import annotations

import math
import time
from fractions import Fraction

import flint
import numpy as np

from ..errors import SpecError
from ..numeric.families import step_scale

#: relative distance below which two images are the same point of ``M``
IMAGE_TOL = 1e-6
#: Tracker tolerances for the single homotopy from the monodromy base point to the rational data ``u``:
#: ``u`` has entries up to ~10^4, so endpoints are large and badly scaled in the original coordinates;
#: they are judged by Krawczyk certificates instead.
REAL_STEP = dict(infinity_threshold=1e20, singular_condition=1e30)


def normalized(f):
    """``f`` divided by its largest coefficient (equations and multipliers of size ~1)."""
    N = max(abs(Fraction(int(c.p), int(c.q))) for c in f.coeffs())
    return f * flint.fmpq(N.denominator, N.numerator)


def _q(v) -> flint.fmpq:
    v = Fraction(v) if not isinstance(v, np.integer) else Fraction(int(v))
    return flint.fmpq(int(v.numerator), int(v.denominator))


def _rank_at(ys, names, point) -> int:
    n, P = len(ys), len(names)
    vals = [_q(v) for v in point]
    J = flint.fmpq_mat(n, P, [y.derivative(b)(*vals) if P else 0 for y in ys for b in range(P)])
    return J.rank()


def full_rank_parametrization(pnames, ys, seed: int = 0) -> tuple[list[str], list, int]:
    """``(names, y, r)`` after checking that ``dy`` has full rank ``r = P`` (exactly, at a random integer point).

    Fewer than ``P`` independent directions means positive-dimensional fibers the gauge does not fix (e.g.
    the orthogonal symmetries of ``x^2``); the exact parametric route refuses those too.

    >>> ctx = flint.fmpq_mpoly_ctx.get(("a", "b"), "degrevlex")
    >>> a, b = ctx.gens()
    >>> full_rank_parametrization(["a", "b"], [a, b, a * b])[2]
    2
    """
    P, n = len(pnames), len(ys)
    rng = np.random.default_rng([seed, 7171])
    r = _rank_at(ys, pnames, rng.integers(-50, 51, size=P))
    if r == n:
        raise SpecError("model", f"the network fills its {n}-dimensional coefficient space (dim M = {r}): "
                        "the ED degree is 1 (the data point itself); give a narrower network")
    if r < P:
        raise SpecError("method", f"the gauge-fixed parametrization has rank {r} < {P} parameters "
                        "(positive-dimensional fibers); use a model with implicit equations or a smaller network")
    return list(pnames), list(ys), r


def gradient_system(names, ys, Q):
    """``dy^T Q (y - u) = 0`` (each equation divided by its largest coefficient): unknowns ``names``, parameters ``u``."""
    from ..numeric import System

    r, n = len(names), len(ys)
    us = [f"u{i + 1}_" for i in range(n)]
    ctx = flint.fmpq_mpoly_ctx.get(tuple(names + us), "degrevlex")
    g = ctx.gens()
    Y = [y.compose(*g[:r], ctx=ctx) if r else ctx.constant(0) for y in ys]
    res = [sum((_q(Q[i][k]) * (Y[k] - g[r + k]) for k in range(n) if Q[i][k]), ctx.constant(0)) for i in range(n)]
    polys = []
    for b in range(r):
        polys.append(normalized(sum((Y[i].derivative(b) * res[i] for i in range(n)), ctx.constant(0))))
    return System.from_mpolys(polys, names, us)


class _Start:
    """``theta0`` random complex, ``u0 = y(theta0) - Q^{-1} w`` with ``w`` in the kernel of ``dy(theta0)^T``."""

    def __init__(self, Ysys, Q):
        self.Y = Ysys
        self.Qinv = np.linalg.inv(np.array([[float(q) for q in row] for row in Q]))

    def __call__(self, rng):
        r = self.Y.n_variables
        for _ in range(20):
            theta0 = (rng.normal(size=r) + 1j * rng.normal(size=r)) / math.sqrt(2)
            y0, J, _ = self.Y.jacobian(theta0[None, :])
            J = J[0]  # n x r
            U, s, _ = np.linalg.svd(J)
            if s[-1] < 1e-8 * s[0]:
                continue
            normal = U[:, r:].conj()  # kernel of J^T (columns): J^T conj(U_k) = conj(U_k^H J) = 0
            w = normal @ (rng.normal(size=normal.shape[1]) + 1j * rng.normal(size=normal.shape[1]))
            w = w * step_scale(y0[0], self.Qinv @ w)  # u0 of the size of y0 (see numeric.families)
            return theta0, y0[0] - self.Qinv @ w
        raise RuntimeError("no point where the parametrization has full rank was found at random parameters")


def _image_groups(Yv: np.ndarray) -> list[list[int]]:
    """Indices grouped by equal image (relative distance below :data:`IMAGE_TOL`)."""
    scale = max(1.0, float(np.abs(Yv).max())) if len(Yv) else 1.0
    parent = list(range(len(Yv)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(Yv)):
        d = np.abs(Yv[i + 1:] - Yv[i]).max(axis=1) if i + 1 < len(Yv) else np.zeros(0)
        for j in np.flatnonzero(d < IMAGE_TOL * scale):
            parent[find(i + 1 + j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(Yv)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _separated(Yv, radii, Jnorm, groups) -> bool:
    """Groups further apart than ``1000 * |dy| * radius`` of their members' boxes (first order)."""
    if len(groups) < 2:
        return True
    reps = np.array([Yv[g[0]] for g in groups])
    unc = np.array([max(float(Jnorm[i] * radii[i]) for i in g) for g in groups])
    for a in range(len(groups)):
        d = np.abs(reps[a + 1:] - reps[a]).max(axis=1)
        if np.any(d <= 1000 * (unc[a + 1:] + unc[a])):
            return False
    return True


def _real_images(system, Ysys, sols, params, u, seed) -> tuple[int | None, str]:
    """Real critical points at the real data ``u``: groups of images holding a certified real parameter."""
    from ..numeric import TrackerOptions, certify, track

    T = track(system, sols, params, np.array([complex(v) for v in u]), gamma=None, seed=seed,
              options=TrackerOptions(**REAL_STEP))
    if not T.regular.all():
        return None, f"real points not counted: {int((~T.regular).sum())} paths to the data u failed"
    X = T.solutions
    C = certify(system, X, [Fraction(v) for v in u])
    if not C.certified.all():
        return None, f"real points not counted: {int((~C.certified).sum())} solutions uncertified at the data u"
    Yv = Ysys.evaluate(C.centers)
    groups = _image_groups(Yv)
    n_real = 0
    for g in groups:
        if any(C.real[i] for i in g):
            n_real += 1
        elif np.abs(Yv[g[0]].imag).max() <= 1e-6 * max(1.0, float(np.abs(Yv[g[0]]).max())):
            return None, "real points not counted: a real image with no certified real parameter"
    return n_real, ""


def parametric_numerical_critical_points(var, Q, u, seed: int = 0, real: bool = True,
                                         distribute: str | None = None) -> dict:
    """Critical points of ``||y - u||_Q^2`` on ``M_reg`` by monodromy in parameter space (certified; see module).

    Runs under the deadline in force (:mod:`pipeline.numeric.budget`). Returns the same record as
    :func:`pipeline.compute.edd_numerical.numerical_critical_points`;
    ``edd_numerical`` counts distinct images, ``edd_trusted`` is that count under the trust rule.
    """
    from ..numeric import System
    from ..numeric.count import certified_count
    from .cluster import distribute_mode, loop_client

    t0 = time.perf_counter()
    par = var.parametrization()
    if par is None:
        raise SpecError("method", "numerical needs implicit equations or a parametrization of M; "
                        "this variety has neither: use method exact")
    names, ys, r = full_rank_parametrization(*par, seed=seed)
    scale = max(abs(Fraction(q)) for row in Q for q in row)
    Qn = [[Fraction(q) / scale for q in row] for row in Q]
    system = gradient_system(names, ys, Qn)
    Ysys = System.from_mpolys(ys, names)
    C = certified_count(system, start_pair=_Start(Ysys, Qn), seed=seed, distribute=distribute_mode(distribute),
                        client=loop_client(), image=Ysys)
    sols = C.solutions
    reason = f"parameter space ({r} parameters); {C.stop_reason}; {C.reason}"
    Yv, J, _ = Ysys.jacobian(sols) if len(sols) else (np.zeros((0, len(ys))), np.zeros((0, len(ys), r)), None)
    groups = _image_groups(Yv)
    images = len(groups)
    sizes = sorted({len(g) for g in groups})
    trusted = None
    if C.count is not None:
        if len(sizes) > 1:
            reason += f"; images hit unequally often ({sizes}): no count"
        else:
            radii = C.monodromy.certification.radii[C.keep] if C.monodromy.certification is not None else None
            Jn = np.linalg.norm(J, ord=2, axis=(1, 2)) if len(sols) else np.zeros(0)
            if radii is None or not _separated(Yv, radii, Jn, groups):
                reason += "; images not separated beyond their uncertainty: no count"
            else:
                trusted = images
                reason += f"; {images} images, each of {sizes[0] if sizes else 0} certified parameters " \
                          "(images separated numerically)"
    real_pts = None
    if real and trusted is not None:
        real_pts, why = _real_images(system, Ysys, sols, C.monodromy.parameters, u, seed)
        if why:
            reason += "; " + why
    return {"edd_numerical": images, "numerical_certified": images if C.certified == len(sols) else None,
            "numerical_real_points": real_pts, "numerical_stop_reason": reason,
            "numerical_seconds": time.perf_counter() - t0,
            "completeness": C.completeness if trusted is not None else "none", "edd_trusted": trusted,
            "numerical_route": "parametric"}
