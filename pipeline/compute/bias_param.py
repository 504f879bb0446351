"""Many samples, one solve: the certified global minimiser of ``||y(theta) - u||_Q^2`` on each stratum.

A *stratum* is a parametrised family ``theta -> y(theta)`` in the coordinates of
``V`` (the network itself, a sparse subnetwork, a limit at the boundary of the
real image), gauge-fixed so that its generic fibres are finite. For each one:

1. **One solve at a generic complex ``u0``.** The critical points of
   ``L(theta) = ||y(theta) - u||_Q^2`` where ``dy`` has full rank: ``dy^T Q (y - u) = 0``
   (:func:`pipeline.compute.edd_numerical_param.gradient_system`), or ``y(theta) = u``
   when the stratum fills ``V`` (``dy`` square and invertible, so the gradient
   vanishes only at zero loss). Over the full-rank locus these form a vector bundle
   ``{(theta, u): u in y(theta) + Q^{-1} ker dy(theta)^T}``, hence an irreducible
   incidence variety: monodromy from one start pair reaches every solution, and
   :func:`pipeline.numeric.count.certified_count` certifies the set (Krawczyk
   boxes, pairwise disjoint, and the trace test). A set whose certificate fails is
   kept but marks every sample that needs it ``uncertified``.
2. **One straight-line parameter homotopy per sample.** All solutions of all samples
   are tracked in *one* vectorised :func:`~pipeline.numeric.track` call, from
   ``u0`` to each sample's real ``u`` (a random complex ``gamma`` per sample). For a
   generic start parameter the endpoints include every isolated solution at the
   target (the parameter-homotopy theorem; Morgan--Sommese 1989). A sample's set is
   *complete* when every path ends regular and the endpoints, certified by Krawczyk
   at the sample's ``u`` itself (the floats as the binary rationals they are), are
   pairwise distinct, each certified real or certified non-real.
3. **The real minimum on the stratum**: the least loss over the certified real
   solutions (``None`` if there is none).

Example
-------
>>> import flint
>>> ctx = flint.fmpq_mpoly_ctx.get(("w",), "degrevlex")
>>> (w,) = ctx.gens()
>>> S = solve_stratum(Stratum("line", ["w"], [w, w]), [[1, 0], [0, 1]], seed=0)
>>> S.complete, S.count           # the nearest point of the line y1 = y2: one critical point
(True, 1)
>>> R = carry(S, np.array([[3.0, 1.0], [0.0, -2.0]]), [[1, 0], [0, 1]], seed=0)
>>> [round(r.loss, 12) for r in R], [r.complete for r in R]   # (3 - 1)^2 / 2 and 2^2 / 2
([2.0, 2.0], [True, True])
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

#: relative tolerance for a zero loss and for ties between strata
RTOL = 1e-9
#: Endpoints in the gauge chart can be large and badly scaled (a neuron nearly along the chart's boundary
#: ``w[0] = 0``): the tracker does not judge them by conditioning; Krawczyk certificates at ``u`` do.
ENDPOINTS = dict(infinity_threshold=1e12, singular_condition=1e30)


@dataclass
class Stratum:
    """``label``, the parameter names and the coordinates ``y(theta)`` (``fmpq_mpoly`` over ``Q``)."""

    label: str
    names: list
    ys: list
    #: what the stratum is, for the record and the docs
    description: str = ""


@dataclass
class SolvedStratum:
    """The certified solution set over the base ``u0`` (see the module docstring)."""

    stratum: Stratum
    system: object
    image: object
    base: np.ndarray
    solutions: np.ndarray
    count: int
    complete: bool
    fills: bool
    reason: str
    seconds: float


@dataclass
class StratumMinimum:
    """One sample on one stratum: the least loss over its certified real critical points."""

    complete: bool
    loss: float | None = None  # None: no real critical point
    theta: np.ndarray | None = None
    n_real: int = 0
    reason: str = ""


def _rank(names, ys, seed) -> int:
    """``rank dy`` at a random integer point, exactly."""
    import flint

    rng = np.random.default_rng([seed, 7171])
    pt = [flint.fmpq(int(v)) for v in rng.integers(-50, 51, size=len(names))]
    J = flint.fmpq_mat(len(ys), len(names), [y.derivative(b)(*pt) for y in ys for b in range(len(names))])
    return J.rank()


def fiber_system(names, ys):
    """``y(theta) - u = 0`` with parameters ``u`` (a stratum that fills ``V``)."""
    import flint

    from ..numeric import System

    n, P = len(ys), len(names)
    us = [f"u{i + 1}_" for i in range(n)]
    ctx = flint.fmpq_mpoly_ctx.get(tuple(list(names) + us), "degrevlex")
    g = ctx.gens()
    return System.from_mpolys([ys[i].compose(*g[:P], ctx=ctx) - g[P + i] for i in range(n)], list(names), us)


def solve_stratum(stratum: Stratum, Q, seed: int = 0, time_limit: float | None = 120.0) -> SolvedStratum:
    """Step 1 of the module docstring: the complete critical set over a generic complex ``u0``."""
    from ..numeric import System
    from ..numeric.count import certified_count
    from .edd_numerical_param import _Start, gradient_system

    t0 = time.perf_counter()
    names, ys = list(stratum.names), list(stratum.ys)
    n, P = len(ys), len(names)
    r = _rank(names, ys, seed)
    if r < P:
        raise ValueError(f"stratum {stratum.label}: dy has rank {r} < {P} parameters (positive-dimensional "
                         "fibres): fix more parameters")
    fills = r == n
    Qf = [[Fraction(q) for q in row] for row in Q]
    system = fiber_system(names, ys) if fills else gradient_system(names, ys, Qf)
    image = System.from_mpolys(ys, names)
    C = certified_count(system, start_pair=_Start(image, Qf), seed=seed, time_limit=time_limit)
    sols = C.solutions
    base = np.asarray(C.monodromy.parameters, dtype=complex)
    complete = C.count is not None and C.count == len(sols)
    reason = f"{C.completeness}: {C.reason}"
    if not complete:  # monodromy missed some: a total-degree homotopy at u0, then the trace test of the union
        sols, complete, reason = supplement(system, image, base, sols, seed, reason)
    return SolvedStratum(stratum, system, image, base, sols, len(sols), complete, fills, reason,
                         time.perf_counter() - t0)


def _specialised(system, p):
    """``system`` with its parameters set to ``p`` (complex coefficients)."""
    from ..numeric import System

    P = system.n_variables
    polys = [dict() for _ in range(system.n_equations)]
    for i, e, c in system.terms:
        v = complex(c) * complex(np.prod(np.asarray(p, dtype=complex) ** np.array(e[P:])))
        polys[i][e[:P]] = polys[i].get(e[:P], 0) + v
    return System(polys, system.variables)


def supplement(system, image, base, known, seed: int, reason: str):
    """``(solutions, complete, reason)``: ``known`` and every regular finite end of a total-degree homotopy
    of ``system`` at ``base`` (projective, :func:`pipeline.numeric.solve._total_degree_homotopy`) where
    ``dy`` has full rank (the other component, e.g. ``a = 0`` of a neuron, is dropped), deduplicated by
    Krawczyk; complete when the trace test of the union passes. By Bezout and the gamma trick every
    isolated solution is the end of some path with probability one; the trace test is the certificate."""
    from ..numeric import certify, track
    from ..numeric.newton import newton
    from ..numeric.solve import _total_degree_homotopy
    from ..numeric.trace import trace_test

    rng = np.random.default_rng([seed, 0x7D])
    F = _specialised(system, base)
    H, Z, p0, p1, _ = _total_degree_homotopy(F, rng)
    T = track(H, Z, p0, p1, gamma=None, seed=int(rng.integers(2**31)))
    x0 = T.solutions[:, 0]
    ok = (T.status == "regular") & (np.abs(x0) > 1e-8 * np.abs(T.solutions).max(axis=1))
    X = T.solutions[ok, 1:] / x0[ok, None]
    if len(X):
        X, _ = newton(system, X, np.tile(base, (len(X), 1)))
        _, J, _ = image.jacobian(X)
        sv = np.linalg.svd(J, compute_uv=False)
        X = X[sv[:, -1] > 1e-7 * np.maximum(sv[:, 0], 1e-300)]
    U = np.concatenate([np.asarray(known, dtype=complex).reshape(-1, system.n_variables), X])
    C = certify(system, U, base)
    U = C.centers[C.certified & C.distinct]
    finite = np.abs(x0) > 1e-8 * np.abs(T.solutions).max(axis=1)
    doubtful = int((T.status == "failed").sum() + ((T.status == "singular") & finite).sum())
    why = f"{reason}; total-degree homotopy ({len(Z)} paths, {dict(T.counts())}): {len(U)} certified"
    if not doubtful:
        return U, True, why + " (every path ended)"
    tt = trace_test(system, U, base, seed=seed + 1, time_limit=120.0)
    why += f", trace test: {tt.reason}"
    return U, bool(tt.passed), why


def loss_of(image, theta: np.ndarray, u: np.ndarray, Q) -> np.ndarray:
    """``||y(theta) - u||_Q^2`` for the rows of ``theta`` (real parts)."""
    Qn = np.array([[float(q) for q in row] for row in Q])
    d = image.evaluate(theta).real - u
    return np.einsum("bi,ij,bj->b", d, Qn, d)


def carry(solved: SolvedStratum, U: np.ndarray, Q, seed: int = 0) -> list[StratumMinimum]:
    """Steps 2 and 3 of the module docstring for every row ``u`` of ``U`` (one vectorised homotopy)."""
    from ..numeric import TrackerOptions, certify, track

    S, K = len(U), solved.count
    if K == 0:
        return [StratumMinimum(solved.complete, None, None, 0, "" if solved.complete else solved.reason)
                for _ in range(S)]
    rng = np.random.default_rng([seed, 0x9A44])
    gam = np.exp(2j * np.pi * rng.random(S))
    starts = np.tile(solved.solutions, (S, 1))
    p1 = np.repeat(np.asarray(U, dtype=complex), K, axis=0)
    T = track(solved.system, starts, solved.base, p1, gamma=np.repeat(gam, K),
              options=TrackerOptions(**ENDPOINTS))
    out = []
    for s in range(S):
        rows = slice(s * K, (s + 1) * K)
        X, ok = T.solutions[rows], T.regular[rows]
        reason = "" if solved.complete else f"{solved.stratum.label}: the base set is not certified complete"
        if not ok.all():
            # a second attempt with a fresh gamma before giving up on the sample
            T2 = track(solved.system, solved.solutions, solved.base, np.asarray(U[s], dtype=complex),
                       gamma=np.exp(2j * np.pi * rng.random()), options=TrackerOptions(**ENDPOINTS))
            X, ok = T2.solutions, T2.regular
            if not ok.all():
                out.append(StratumMinimum(False, reason=f"{solved.stratum.label}: {int((~ok).sum())} of {K} "
                                                        "paths did not end regular"))
                continue
        C = certify(solved.system, X, [float(v) for v in U[s]])
        settled = C.certified & C.distinct & (C.real | C.nonreal)
        complete = solved.complete and bool(settled.all())
        if not settled.all():
            reason = reason or f"{solved.stratum.label}: {int((~settled).sum())} endpoints not certified " \
                               "distinct and real/non-real"
        real = C.centers[C.real & C.distinct].real
        if len(real) == 0:
            out.append(StratumMinimum(complete and not reason, None, None, 0, reason))
            continue
        L = loss_of(solved.image, real, np.asarray(U[s], dtype=float), Q)
        i = int(np.argmin(L))
        out.append(StratumMinimum(complete and not reason, float(L[i]), real[i], len(real), reason))
    return out


def strata_outputs(counts: dict, certified: int, reasons: dict) -> dict:
    """The output columns shared by the parameter-homotopy routes: fractions and 95 % Wilson intervals per
    stratum (over all samples), the sparse total, the certified share and the reasons of the others."""
    from ..stats import wilson_interval

    n = sum(counts.values())
    frac = {s: c / n for s, c in counts.items()}
    sparse = sum(c for s, c in counts.items() if s.startswith("sparse"))
    return {
        "samples": n, "counts": counts, "fractions": frac,
        "intervals": {s: list(wilson_interval(c, n)) for s, c in counts.items()},
        "sparse_fraction": sparse / n, "sparse_interval": list(wilson_interval(sparse, n)),
        "boundary_fraction": frac["boundary"], "zero_loss_fraction": frac["zero-loss"],
        "ramification_fraction": frac["ramification"], "smooth_fraction": frac["smooth"],
        "certified": certified, "uncertified": n - certified, "certified_share": certified / n,
        "uncertified_reasons": dict(reasons), "degenerate_q": False, "case2": False,
    }


__all__ = ["RTOL", "SolvedStratum", "Stratum", "StratumMinimum", "carry", "fiber_system", "loss_of", "solve_stratum", "strata_outputs"]
