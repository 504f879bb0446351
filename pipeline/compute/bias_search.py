"""The minimisation behind the ``bias`` computation: variable projection for shallow networks.

``f(x) = sum_i a_i s(w_i x)`` is linear in the output weights ``a``, so the loss
``||G(w) a - t||^2`` is minimised over ``a`` by a projection and only the hidden
weights ``w`` are searched: on a grid in ``arctan w`` (limits at infinity
included) refined by Nelder--Mead (:func:`search`), exactly for one neuron from
the certified real roots of the critical polynomial (:func:`certified_one_neuron`),
and along the confluent limits of two neurons (:func:`confluent_boundary`).

Example
-------
>>> import numpy as np
>>> from fractions import Fraction
>>> prob = Problem([Fraction(1), Fraction(0), Fraction(1)], None, np.array([2.0, 0.0, 2.0]))
>>> round(float(prob.loss(np.array([[1.0]]))[0]), 12)  # t = 2 s(x) with s = 1 + x^2: zero loss at w = 1
0.0
>>> round(float(prob.loss(np.array([[0.0]]))[0]), 12)  # w = 0: constants, the x^2 part is lost
4.0
"""

from __future__ import annotations

import numpy as np

class Problem:
    """``G(w)`` and ``t`` for one sample, in floats and (for the certificate) exact rationals."""

    def __init__(self, coeffs, inputs, t):
        self.c = np.array([float(x) for x in coeffs])
        self.coeffs = coeffs
        self.inputs = inputs  # None: coefficient space
        self.t = t
        self.nt = float(t @ t)

    def columns(self, w: np.ndarray) -> np.ndarray:
        """``G`` at every row of ``w`` (shape ``(m, k)``): ``(m, N, k)``; non-finite ``w`` gives the limit direction."""
        r = len(self.c) - 1
        if self.inputs is None:
            pw = w[..., None] ** np.arange(r + 1)  # (m, k, r+1)
            G = pw * self.c
        else:
            z = w[..., None] * self.inputs  # (m, k, N)
            G = np.polynomial.polynomial.polyval(z, self.c)
        G = np.swapaxes(G, -1, -2)  # (m, N, k)
        return G

    def loss(self, w: np.ndarray, coefficients: bool = False):
        """Variable-projection loss for every row of ``w`` (and the optimal output weights on request)."""
        G = self.columns(w)
        m, N, k = G.shape
        scale = np.linalg.norm(G, axis=1)  # (m, k): large |w| only scales a column
        Gs = G / np.where(scale > 0, scale, 1.0)[:, None, :]
        if k == 1:
            proj2 = (np.einsum("mn,n->m", Gs[:, :, 0], self.t)) ** 2 * (scale[:, 0] > 0)
        else:
            Q, R = np.linalg.qr(Gs)
            proj = np.einsum("mnk,n->mk", Q, self.t)
            diag = np.abs(np.diagonal(R, axis1=1, axis2=2))
            proj2 = (np.where(diag > 1e-9, proj, 0.0) ** 2).sum(axis=1)
        loss = np.maximum(self.nt - proj2, 0.0)
        if not coefficients:
            return loss
        coef = np.array([np.linalg.lstsq(G[i], self.t, rcond=1e-12)[0] for i in range(m)])
        return loss, coef


def _nelder_mead(f, x0: np.ndarray, step: float = 0.02, iters: int = 300) -> np.ndarray:
    """A small Nelder--Mead on ``[-pi/2, pi/2]^k`` (points clipped to the box)."""
    k = len(x0)
    lim = np.pi / 2
    simplex = [np.clip(x0, -lim, lim)]
    for i in range(k):
        e = np.zeros(k)
        e[i] = step if x0[i] < lim - step else -step
        simplex.append(np.clip(x0 + e, -lim, lim))
    vals = [f(x) for x in simplex]
    for _ in range(iters):
        order = np.argsort(vals)
        simplex = [simplex[i] for i in order]
        vals = [vals[i] for i in order]
        if abs(vals[-1] - vals[0]) <= 1e-15 * (1 + abs(vals[0])) and np.ptp(np.array(simplex), axis=0).max() < 1e-12:
            break
        centroid = np.mean(simplex[:-1], axis=0)
        xr = np.clip(centroid + (centroid - simplex[-1]), -lim, lim)
        fr = f(xr)
        if fr < vals[0]:
            xe = np.clip(centroid + 2 * (centroid - simplex[-1]), -lim, lim)
            fe = f(xe)
            simplex[-1], vals[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < vals[-2]:
            simplex[-1], vals[-1] = xr, fr
        else:
            xc = np.clip(centroid + 0.5 * (simplex[-1] - centroid), -lim, lim)
            fc = f(xc)
            if fc < vals[-1]:
                simplex[-1], vals[-1] = xc, fc
            else:
                best = simplex[0]
                simplex = [best + 0.5 * (x - best) for x in simplex]
                vals = [f(x) for x in simplex]
    return simplex[int(np.argmin(vals))]


def _w_of(phi: np.ndarray) -> np.ndarray:
    return np.tan(np.clip(phi, -np.pi / 2 + 1e-12, np.pi / 2 - 1e-12))


def search(prob: Problem, k: int, grid: int, degenerate: bool):
    n = grid or {1: 1001, 2: 101, 3: 31}[k]
    axis = np.linspace(-np.pi / 2, np.pi / 2, n)
    mesh = np.stack(np.meshgrid(*([axis] * k), indexing="ij"), axis=-1).reshape(-1, k)
    if k > 1:  # neurons are interchangeable: phi_1 <= phi_2 <= ...
        mesh = mesh[np.all(np.diff(mesh, axis=1) >= 0, axis=1)]
    W = np.tan(mesh)
    W[np.isclose(np.abs(mesh), np.pi / 2)] = np.sign(mesh[np.isclose(np.abs(mesh), np.pi / 2)]) * 1e8
    vals = np.concatenate([prob.loss(W[i : i + 4096]) for i in range(0, len(W), 4096)])
    best = np.argsort(vals)[:3]

    def f(phi):
        return float(prob.loss(_w_of(phi)[None, :])[0])

    cands = [_nelder_mead(f, mesh[i]) for i in best]
    phis = np.array(cands)
    Ws = _w_of(phis)
    losses, coefs = prob.loss(Ws, coefficients=True)
    i = int(np.argmin(losses))
    return Ws[i], coefs[i], float(losses[i])


def certified_one_neuron(prob: Problem, qt, qinputs) -> tuple[float, float]:
    """Exact: the global minimum of ``l`` over ``w in R`` and at infinity (``k = 1``); returns (w, loss)."""
    import flint

    r = len(prob.coeffs) - 1
    c = [flint.fmpq(x.numerator, x.denominator) for x in prob.coeffs]
    if qinputs is None:
        g = [flint.fmpq_poly([0] * j + [c[j]]) for j in range(r + 1)]
    else:
        g = []
        for aj in qinputs:
            aq = flint.fmpq(aj.numerator, aj.denominator)
            g.append(flint.fmpq_poly([c[i] * aq**i for i in range(r + 1)]))
    tq = [flint.fmpq(x.numerator, x.denominator) for x in qt]
    gt = sum((gi * ti for gi, ti in zip(g, tq)), flint.fmpq_poly([0]))
    gg = sum((gi * gi for gi in g), flint.fmpq_poly([0]))
    dgt = gt.derivative()
    dgg2 = sum((gi.derivative() * gi for gi in g), flint.fmpq_poly([0]))
    P = gt * (dgt * gg - gt * dgg2)
    cands = []
    if P.degree() > 0:
        for root, _m in P.numer().complex_roots():  # certified isolating balls
            if isinstance(root, flint.arb):
                cands.append(float(root.mid()))
            elif root.imag.contains(0):
                cands.append(float(root.real.mid()))
    cands.append(0.0)
    W = np.array(cands + [1e8, -1e8])[:, None]
    losses = prob.loss(W)
    i = int(np.argmin(losses))
    return float(W[i, 0]), float(losses[i])


def confluent_boundary(prob: Problem, n: int = 1001) -> float:
    """``min_w`` of the loss on the confluent limits ``b s(w x) + c x s'(w x)`` (two neurons merging with
    output weights ``+-infinity``): the projection onto ``span{g(w), g'(w)}``, grid in ``arctan w`` + Nelder--Mead."""
    r = len(prob.c) - 1
    dc = np.polynomial.polynomial.polyder(prob.c)

    def cols(w):
        g = prob.columns(w[:, None])[:, :, 0]
        if prob.inputs is None:
            h = (w[:, None] ** np.arange(r + 1)) * (np.arange(r + 1) * prob.c) / np.where(w[:, None] == 0, 1, w[:, None])
            h[:, 0] = 0
            h[w == 0] = 0
            h[w == 0, 1] = prob.c[1]
        else:
            h = np.polynomial.polynomial.polyval(w[:, None] * prob.inputs, dc) * prob.inputs
        return np.stack([g, h], axis=2)

    def loss(w):
        G = cols(np.atleast_1d(w))
        scale = np.linalg.norm(G, axis=1)
        Gs = G / np.where(scale > 0, scale, 1.0)[:, None, :]
        Q, R = np.linalg.qr(Gs)
        proj = np.einsum("mnk,n->mk", Q, prob.t)
        diag = np.abs(np.diagonal(R, axis1=1, axis2=2))
        return np.maximum(prob.nt - (np.where(diag > 1e-9, proj, 0.0) ** 2).sum(axis=1), 0.0)

    phi = np.linspace(-np.pi / 2 + 1e-6, np.pi / 2 - 1e-6, n)
    vals = loss(np.tan(phi))
    i = int(np.argmin(vals))
    ref = _nelder_mead(lambda x: float(loss(_w_of(x))[0]), phi[i:i + 1])
    return float(min(vals[i], loss(_w_of(ref))[0]))
