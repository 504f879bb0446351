"""``bias`` on datasets for dense networks of any depth: the data-value map and certified zero loss.

With ``N = dataset_size`` inputs ``x_j`` (Gaussian, rounded to ``2^-10``, fixed by the
cell's seed) and labels ``t`` (Gaussian, one draw per sample) the loss is

    L(theta) = || Phi(theta) - t ||^2,   Phi(theta) = (f_theta(x_1), .., f_theta(x_N)) = A y(theta),

the rows of ``A`` the inputs' monomial vectors (``||y - u||_Q^2`` with ``Q = A^T A`` up to a
constant, degenerate when ``N < dim V``). ``Phi`` is exact (``fmpq_mpoly`` over ``Q``).
``rank dPhi`` at a random rational point (exact) is the dimension of the data image:

* ``rank = N`` (*dominant*, the talk's case 2): every complex ``t`` is attained and the
  question is real: does the real fibre ``Phi^{-1}(t)`` have a real point? A sample is
  **certified zero-loss** by a witness: a real ``theta`` found by Levenberg--Marquardt
  from random starts, ``P - N`` of its coordinates fixed at binary rationals (the columns
  of ``dPhi`` left are a pivoted QR's first ``N``) and Krawczyk's method proving a unique
  real solution of the square system ``Phi(theta) = t`` in a box around it (exact
  arithmetic on the rationals). With ``N`` no larger than the last hidden width every
  label vector is attained (the output weights solve a linear system of full rank), so
  the zero-loss fraction is ``1``. When no witness is found, the real fibre may be empty:
  the infimum is then on the boundary of the real image ``Phi(R^P)`` -- attained at a
  critical point of ``Phi`` (``ramification``) or only approached (``boundary``) -- and
  the sample is ``uncertified`` (an empty real fibre has no certificate here).
* ``rank < N``: ``Phi(R^P)`` has measure zero in ``R^N``, zero loss has probability zero;
  the minimiser of the search is classified and the sample is ``uncertified``
  (the certified route for this case is the parameter homotopy of :mod:`.bias_strata`,
  for ``(2, 2, 1)`` and ``x^3``).

An uncertified sample is classified from the best of the searches (``boundary``: the
parameters grew past ``1e3``; ``sparse: neuron removed``: an output weight or a neuron
of the last hidden layer vanishes; ``sparse: zero W1``: a first-layer row vanishes;
``ramification``: ``dPhi`` drops rank at it; otherwise ``smooth``), with the reason.

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> m = build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "generic:3"})
>>> r = bias_data(m, 1, 5, seed=0)           # one data point: any label is attained
>>> r["counts"]["zero-loss"], r["certified"]
(5, 5)
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import numpy as np

from .bias_param import strata_outputs

STRATA = ("smooth", "zero-loss", "boundary", "ramification", "sparse: neuron removed", "sparse: zero W1")
#: random starts of the search per sample, iterations of Levenberg--Marquardt
STARTS, ITERATIONS = 6, 120
W_INF = 1e3


#: the most parameters the data route takes (the search and the witnesses stay seconds per cell on 2 cores)
MAX_PARAMETERS = 10


def check_data_route(model, dataset_size: int | None) -> None:
    """Raise :class:`SpecError` naming the field and what would work when the data route does not apply."""
    from ..errors import SpecError

    net = model.declares("dense_layered")
    alt = "use widths (1, k, 1), k <= 3, (2, 2, 1) with x^3, or a dense network of at most " \
          f"{MAX_PARAMETERS} parameters such as (2, 2, 1), (3, 2, 1) or (2, 2, 2, 1) with dataset_size set"
    if net is None or net.widths[-1] != 1:
        raise SpecError("model.model", f"bias has no certified route for this model: {alt}")
    w = list(net.widths)
    if net.bias:
        raise SpecError("model.bias", "bias supports networks without bias: set bias false")
    P = len(model.parametrization()[0])
    if P > MAX_PARAMETERS:
        raise SpecError("model.widths", f"bias has no certified route for widths {w} ({P} parameters) on this "
                        f"machine: {alt}")
    if dataset_size is None:
        raise SpecError("params.dataset_size", f"Gaussian targets for widths {w} and activation "
                        f"{model.activation.text} have no certified route (the strata are derived for (2, 2, 1) "
                        "with x^3): set dataset_size (the data-value map: certified zero loss), or use "
                        "(2, 2, 1) with x^3")


def dataset(model, N: int, seed: int):
    """The cell's inputs (rows, binary rationals) and ``A`` (exact rows of monomial values)."""
    rng0 = np.random.default_rng([seed, 0xDA7A])
    X = np.round(rng0.standard_normal((N, model.input_dim)) * 2**10) / 2**10
    A = [model.features([Fraction(v) for v in row])[0] for row in X]
    return X, A


def data_map(model, A):
    """``(names, Phi)``: the parameters and ``Phi_j = sum_i A[j][i] y_i(theta)`` (``fmpq_mpoly``)."""
    import flint

    names, ys = model.parametrization()
    out = []
    for row in A:
        f = ys[0] * 0
        for a, y in zip(row, ys):
            if a:
                f += flint.fmpq(a.numerator, a.denominator) * y
        out.append(f)
    return list(names), out


def _lm(system, theta, T, iterations: int = ITERATIONS):
    """Batched Levenberg--Marquardt for ``Phi(theta) - t = 0`` (``system``: ``Phi(theta) - u``, parameters ``u``)."""
    lam = np.full(len(theta), 1e-3)
    F, J, _ = system.jacobian(theta, T)
    F, J = F.real, J.real
    cost = np.einsum("bi,bi->b", F, F)
    P = theta.shape[1]
    for _ in range(iterations):
        g = np.einsum("bij,bi->bj", J, F)
        H = np.einsum("bij,bik->bjk", J, J)
        D = np.einsum("bjj->bj", H)
        D = np.maximum(D, 1e-8 * D.max(axis=1, keepdims=True) + 1e-300)
        step = -np.linalg.solve(H + lam[:, None, None] * D[:, :, None] * np.eye(P), g[:, :, None])[:, :, 0]
        new = theta + step
        F2, J2, _ = system.jacobian(new, T)
        F2, J2 = F2.real, J2.real
        c2 = np.einsum("bi,bi->b", F2, F2)
        good = np.isfinite(c2) & (c2 < cost)
        theta = np.where(good[:, None], new, theta)
        F = np.where(good[:, None], F2, F)
        J = np.where(good[:, None, None], J2, J)
        cost = np.where(good, c2, cost)
        lam = np.where(good, np.maximum(lam / 3, 1e-8), np.minimum(lam * 4, 1e12))
    return theta, cost


def _witness(names, Phi, theta, t, J) -> bool:
    """Krawczyk's proof of a real point of ``Phi^{-1}(t)`` near ``theta`` (module docstring)."""
    import flint

    from ..numeric import System, certify, newton

    N, P = J.shape
    # the N columns of dPhi that are best conditioned (greedy pivoting) stay free
    free, R = [], J.copy()
    for _ in range(N):
        k = int(np.argmax(np.linalg.norm(R, axis=0)))
        free.append(k)
        v = R[:, k] / max(np.linalg.norm(R[:, k]), 1e-300)
        R = R - np.outer(v, v @ R)
        R[:, k] = 0
    fixed = [k for k in range(P) if k not in free]
    us = [f"t{j + 1}_" for j in range(N)]
    order = [names[k] for k in free] + [names[k] for k in fixed] + us
    ctx = flint.fmpq_mpoly_ctx.get(tuple(order), "degrevlex")
    g = ctx.gens()
    gens = [None] * P
    for i, k in enumerate(free + fixed):
        gens[k] = g[i]
    polys = [Phi[j].compose(*gens, ctx=ctx) - g[P + j] for j in range(N)]
    S = System.from_mpolys(polys, order[:N], order[N:])
    p = np.r_[np.round(theta[fixed] * 2**20) / 2**20, t]
    x, _ = newton(S, theta[free][None, :].astype(complex), p[None, :].astype(complex), iterations=8)
    C = certify(S, x, [float(v) for v in p])
    return bool(C.certified[0] and C.real[0])


def _stratum(model, names, theta, J, loss, nt, rank) -> str:
    if np.abs(theta).max() > W_INF:
        return "boundary"
    L = len(model.widths) - 1
    out = np.array([i for i, n in enumerate(names) if n.startswith(f"W{L}_")])
    a = np.abs(theta[out])
    if a.min() < 1e-6 * max(a.max(), 1e-300):
        return "sparse: neuron removed"
    W1 = theta[[i for i, n in enumerate(names) if n.startswith("W1_")]].reshape(model.widths[1], -1)
    if np.linalg.norm(W1, axis=1).min() < 1e-6 * max(np.abs(W1).max(), 1e-300):
        return "sparse: zero W1"
    sv = np.linalg.svd(J, compute_uv=False)
    if loss > 1e-10 * nt and sv[rank - 1] <= 1e-6 * sv[0]:  # dPhi below its generic rank
        return "ramification"
    return "smooth"


def bias_data(model, N: int, samples: int, seed: int = 0) -> dict:
    """Monte Carlo over labels of a fixed dataset of ``N`` points (see the module docstring)."""
    from ..numeric import System
    from .bias_param import _rank, fiber_system

    _, A = dataset(model, N, seed)
    names, Phi = data_map(model, A)
    P = len(names)
    rank = _rank(names, Phi, seed) if P >= 1 else 0
    dominant = rank == N
    system = fiber_system(names, Phi)
    image = System.from_mpolys(Phi, names)
    rng = np.random.default_rng([seed, 0xB1A5])
    T = rng.standard_normal((samples, N))
    starts = rng.standard_normal((samples * STARTS, P)) * 0.5
    # a hidden layer after the first sees values of the size of the activation's coefficients: its weights
    # start that much smaller, so the search starts where the network's values are of order one
    big = float(max(abs(c) for c in model.activation.coeffs))
    deep = [i for i, n in enumerate(names) if not n.startswith(("W1_", f"W{len(model.widths) - 1}_"))]
    starts[:, deep] /= big
    TT = np.repeat(T, STARTS, axis=0)
    # the output weights enter linearly: each start gets the least-squares ones for its hidden weights
    out = [i for i, n in enumerate(names) if n.startswith(f"W{len(model.widths) - 1}_")]
    G = []
    for i in out:
        e = starts.copy()
        e[:, out] = 0
        e[:, i] = 1
        G.append(image.evaluate(e).real)
    G = np.stack(G, axis=2)  # (B, N, k)
    starts[:, out] = np.stack([np.linalg.lstsq(G[b], TT[b], rcond=None)[0] for b in range(len(G))])
    th, cost = _lm(system, starts, TT)
    th, cost = th.reshape(samples, STARTS, P), cost.reshape(samples, STARTS)
    counts = {s: 0 for s in STRATA}
    reasons: Counter = Counter()
    certified = 0
    for s in range(samples):
        order = np.argsort(cost[s])
        nt = float(T[s] @ T[s])
        done = False
        if dominant:
            for i in order[:3]:
                if cost[s, i] > 1e-12 * max(nt, 1e-300):
                    break
                _, J, _ = image.jacobian(th[s, i][None, :])
                if _witness(names, Phi, th[s, i], T[s], J[0].real):
                    counts["zero-loss"] += 1
                    certified += 1
                    done = True
                    break
        if done:
            continue
        i = order[0]
        _, J, _ = image.jacobian(th[s, i][None, :])
        st = _stratum(model, names, th[s, i], J[0].real, cost[s, i], nt, rank)
        if cost[s, i] <= 1e-12 * max(nt, 1e-300) and st != "boundary":
            st = "zero-loss"
        counts[st] += 1
        reasons["no certified real point of the fibre (an empty real fibre has no certificate)" if dominant
                 else f"data image of dimension {rank} < {N}: the minimiser is from the search"] += 1
    assert sum(counts.values()) == samples  # every sample in one stratum, certified or not
    return {**strata_outputs(counts, certified, reasons), "degenerate_q": N < model.ambient_dimension,
            "case2": dominant, "hidden": model.widths[-2], "route": "data-value map"}

__all__ = ["MAX_PARAMETERS", "STRATA", "bias_data", "check_data_route", "data_map", "dataset"]
