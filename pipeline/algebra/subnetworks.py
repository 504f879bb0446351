"""Sparse subnetworks as coordinate subspaces of the parameters, and exact linear algebra for them.

Used by the ``singularities`` computation (:mod:`pipeline.compute.singularities`):
names and hidden-neuron permutations of parameters (:func:`parameter_labels`,
:func:`neuron_permutations`, :func:`describe`), free coordinates of a fibre
(:func:`free_coordinates`), exact derivatives along a coordinate by
interpolation in ``GF(p)``, and equations of ``M`` or of a subnetwork's image
interpolated from random points (:func:`implicit_equations`,
:func:`subnetwork_equations`) in the linear coordinates ``y_j = f(x_j)``.

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> m = build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "generic:3"})
>>> parameter_labels(m)
['W1[0,0]', 'W1[0,1]', 'W1[1,0]', 'W1[1,1]', 'W2[0,0]', 'W2[0,1]']
>>> describe(m, (0, 1, 4))
'neuron 1.1 removed'
>>> len(neuron_permutations(m))
2
"""

from __future__ import annotations

import itertools
from math import comb
from typing import TYPE_CHECKING

import numpy as np

from .field import PrimeField

if TYPE_CHECKING:  # pragma: no cover
    from ..models.base import Model

#: largest number of monomials for the interpolated equations
MAX_MONOMIALS = 2000

# --------------------------------------------------------------------------- parameters
def parameter_labels(model: Model) -> list[str]:
    """Names of the parameters in the model's order, from its named blocks (``W1[i,j]``, ``b1[i]``, ``w1[j]``,
    ``V[o,b]``, ...; the model protocol's ``param_shapes``), or ``theta[k]``."""
    shapes = getattr(model, "param_shapes", None)
    if not shapes:
        return [f"theta[{k}]" for k in range(model.num_params)]
    out = []
    for name, shape in shapes:
        for idx in itertools.product(*[range(n) for n in shape]):
            out.append(f"{name}[{','.join(map(str, idx))}]" if idx else name)
    return out


def neuron_permutations(model: Model) -> list[np.ndarray]:
    """Permutations of the parameter indices induced by permuting hidden neurons (dense layered networks; identity otherwise)."""
    P = model.num_params
    net = model.declares("dense_layered")
    if net is None or len(net.widths) < 3:
        return [np.arange(P)]
    idx = []  # per layer: (W index array, b index array or None)
    k = 0
    for l in range(len(net.widths) - 1):
        rows, cols = net.widths[l + 1], net.widths[l]
        W = np.arange(k, k + rows * cols).reshape(rows, cols)
        k += rows * cols
        b = None
        if net.bias:
            b = np.arange(k, k + rows)
            k += rows
        idx.append((W, b))
    hidden = net.widths[1:-1]
    perms = []
    for choice in itertools.product(*[itertools.permutations(range(h)) for h in hidden]):
        perm = np.arange(P)
        for h, pi in enumerate(choice):  # hidden layer h+1: rows of layer h, columns of layer h+1
            pi = np.array(pi)
            W, b = idx[h]
            perm[W.ravel()] = W[pi].ravel()
            if b is not None:
                perm[b] = b[pi]
            W2, _ = idx[h + 1]
            perm[W2.ravel()] = W2[:, pi].ravel()
        perms.append(perm)
    return perms


def describe(model: Model, zeroed: tuple[int, ...]) -> str:
    """A readable name of a zero pattern: removed hidden neurons, then the other zeroed parameters."""
    if not zeroed:
        return "none (the whole network)"
    labels = parameter_labels(model)
    z = set(zeroed)
    parts, used = [], set()
    net = model.declares("dense_layered")
    if net is not None and len(net.widths) >= 3:
        k = 0
        offsets = []
        for l in range(len(net.widths) - 1):
            rows, cols = net.widths[l + 1], net.widths[l]
            offsets.append(k)
            k += rows * cols + (rows if net.bias else 0)
        for h in range(1, len(net.widths) - 1):
            rows_next, width = net.widths[h + 1], net.widths[h]
            for i in range(width):
                out_idx = {offsets[h] + r * width + i for r in range(rows_next)}
                if out_idx <= z:
                    prev_cols = net.widths[h - 1]
                    in_idx = {offsets[h - 1] + i * prev_cols + c for c in range(prev_cols)}
                    if net.bias:
                        in_idx.add(offsets[h - 1] + net.widths[h] * prev_cols + i)
                    parts.append(f"neuron {h}.{i + 1} removed")
                    used |= out_idx | (in_idx & z)
    rest = [labels[i] for i in sorted(z - used)]
    if rest:
        parts.append("zero " + ", ".join(rest))
    return "; ".join(parts)


# --------------------------------------------------------------------------- exact linear algebra
class _Setup:
    """A prime field, ``dim V`` random inputs (coordinates on V) and random output weights."""

    def __init__(self, model: Model, prime: int, seed: int):
        self.model = model
        self.F = PrimeField(prime)
        self.p = prime
        self.rng = np.random.default_rng([seed, prime % 1000003, 0x51])
        n = model.ambient_dimension
        self.n = n
        m = -(-n // model.output_dim)  # points: outputs * points >= dim V
        self.X = self.F.random((m, model.input_dim), self.rng)

    def values(self, theta) -> np.ndarray:
        """``f_theta`` at the inputs, flattened: linear coordinates on V (the first dim V of them)."""
        return self.model.evaluate(theta, self.X, self.F).reshape(-1)[: self.n]

    def jacobian(self, theta) -> np.ndarray:
        return self.model.jacobian(theta, self.X, self.F)[: self.n]

    def rank(self, M) -> int:
        return self.F.rank(np.ascontiguousarray(M))

    def random_theta(self, zeroed=()) -> np.ndarray:
        th = self.model.random_parameters(self.F, self.rng)
        th[list(zeroed)] = 0
        return th


def free_coordinates(S: _Setup, theta: np.ndarray) -> list[int]:
    """Coordinates that can be re-drawn together without changing ``f_theta`` (greedy, exact mod p)."""
    base = S.values(theta)
    free: list[int] = []
    for i in range(len(theta)):
        trial = free + [i]
        ok = True
        for _ in range(2):
            th = theta.copy()
            th[trial] = S.F.random(len(trial), S.rng)
            if not np.array_equal(S.values(th), base):
                ok = False
                break
        if ok:
            free.append(i)
    return free


def _nullspace_rows(F: PrimeField, A: np.ndarray) -> np.ndarray:
    """A basis of ``{c : A c = 0}`` as rows (FLINT nmod_mat)."""
    import flint

    rows, cols = A.shape
    M = flint.nmod_mat(rows, cols, [int(v) for v in np.asarray(A).ravel()], F.p)
    X, nullity = M.nullspace()
    if nullity == 0:
        return np.zeros((0, cols), dtype=np.uint64)
    B = np.array([[int(X[i, j]) for j in range(nullity)] for i in range(cols)], dtype=np.uint64)
    return np.ascontiguousarray(B.T)


def _left_kernel_vector(S: _Setup, J: np.ndarray) -> np.ndarray:
    """A random vector ``n`` with ``n J = 0``."""
    K = _nullspace_rows(S.F, np.ascontiguousarray(J.T))
    if len(K) == 0:
        return np.zeros(J.shape[0], dtype=np.uint64)
    c = S.F.random(len(K), S.rng)
    return S.F.matmul(c[None, :], K)[0]


def _interpolated_derivative(S: _Setup, g, theta: np.ndarray, k: int, degree: int) -> np.ndarray:
    """``d/dh g(theta + h e_k)`` at ``h = 0``, exact: Lagrange interpolation at ``h = 0..degree`` in GF(p)."""
    p = S.p
    hs = list(range(degree + 1))
    vals = []
    for h in hs:
        th = theta.copy()
        th[k] = (int(th[k]) + h) % p
        vals.append(np.asarray(g(th), dtype=object))
    # L_j'(0) for nodes 0..m: j = 0: -sum_{i>0} 1/h_i; j > 0: prod_{i != j, i > 0}(-h_i) / prod_{i != j}(h_j - h_i) * (1/(-h_j))...
    out = np.zeros_like(vals[0], dtype=object)
    for j, hj in enumerate(hs):
        # derivative at 0 of prod_{i != j} (h - h_i) / (h_j - h_i)
        num_terms = [(-hi) % p for i, hi in enumerate(hs) if i != j]
        den = 1
        for i, hi in enumerate(hs):
            if i != j:
                den = den * ((hj - hi) % p) % p
        d = 0  # derivative of prod (h - h_i) at 0 = sum_i prod_{l != i} (-h_l)
        for a in range(len(num_terms)):
            prod = 1
            for b, t in enumerate(num_terms):
                if b != a:
                    prod = prod * t % p
            d = (d + prod) % p
        coef = d * pow(den, -1, p) % p
        out = (out + coef * vals[j]) % p
    return out.astype(np.uint64)


def degree_bound(model: Model) -> int:
    """A bound on the degree of ``f_theta`` in any single parameter (MLP/CNN: ``r^(L-1)``; others: the input degree + 1)."""
    bound = getattr(model, "parameter_degree", None)
    if isinstance(bound, int) and bound > 0:
        return bound
    net = model.declares("dense_layered") or model.declares("convolutional")
    if net is not None:
        return max(1, model.activation.degree ** (net.depth - 1))
    return model.degree + 1


# --------------------------------------------------------------------------- implicit equations
def _monomial_exponents(n: int, d: int) -> np.ndarray:
    exps = [e for k in range(d + 1) for e in _compositions(n, k)]
    return np.array(exps, dtype=np.int64)


def _compositions(n: int, k: int):
    for combo in itertools.combinations_with_replacement(range(n), k):
        e = [0] * n
        for i in combo:
            e[i] += 1
        yield tuple(e)


def _monomials_at(E: np.ndarray, Y: np.ndarray, p: int) -> np.ndarray:
    """Monomials with exponents ``E`` (rows) at the points ``Y`` (rows), mod p: shape ``(len(Y), len(E))``."""
    Y = np.asarray(Y, dtype=np.int64) % p
    d = int(E.max()) if E.size else 0
    pw = [np.ones_like(Y)]
    for _ in range(d):
        pw.append(pw[-1] * Y % p)
    pw = np.stack(pw)  # (d+1, npts, n)
    out = np.ones((Y.shape[0], E.shape[0]), dtype=np.int64)
    for j in range(E.shape[1]):
        out = out * pw[E[:, j], :, j].T % p
    return out


def _gradients_at(E: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    """``d m / d y_i`` at ``y`` for every monomial ``m``: shape ``(len(E), n)``."""
    n = E.shape[1]
    G = np.zeros((E.shape[0], n), dtype=np.int64)
    for i in range(n):
        Ei = E.copy()
        has = Ei[:, i] > 0
        Ei[has, i] -= 1
        vals = _monomials_at(Ei, y[None, :], p)[0]
        G[:, i] = np.where(has, (E[:, i] % p) * vals % p, 0)
    return G


class Equations:
    """Polynomials of degree ``<= d`` vanishing on M, in the coordinates ``y_j = f(x_j)``, mod p.

    ``complete`` is true when they are known to generate ``I(M)``: ``M`` is a
    hypersurface and the first degree with an equation has exactly one (any
    other generator would divide it, or give a second equation of that degree).
    """

    def __init__(self, E: np.ndarray, C: np.ndarray, degree: int, p: int, complete: bool = False):
        self.E, self.C, self.degree, self.p, self.complete = E, C, degree, p, complete

    def jacobian_rank(self, S: _Setup, y: np.ndarray) -> int:
        G = _gradients_at(self.E, np.asarray(y, dtype=np.int64), self.p).astype(np.uint64)
        return S.rank(S.F.matmul(self.C, G))


def _equations_of_degree(S: _Setup, d: int) -> Equations | None:
    n = S.n
    E = _monomial_exponents(n, d)
    pts = np.array([S.values(S.random_theta()) for _ in range(len(E) + 8)], dtype=np.int64)
    C = _nullspace_rows(S.F, _monomials_at(E, pts, S.p).astype(np.uint64))
    return Equations(E, C, d, S.p) if len(C) else None


def implicit_equations(S: _Setup, dim_M: int, max_monomials: int = MAX_MONOMIALS) -> list[Equations]:
    """The equations of M of the smallest degree ``d`` whose Jacobian has rank ``codim M`` at a random
    point of M, and those of degree ``d + 1`` when there are at most ``max_monomials`` monomials
    (a point where both Jacobians drop rank is declared singular: a missing generator of higher
    degree would have to raise the rank at the point and not at generic points)."""
    n, codim = S.n, S.n - dim_M
    first = None
    for d in range(1, 20):
        if comb(n + d, d) > max_monomials:
            return []
        eq = _equations_of_degree(S, d)
        if eq is None:
            continue
        if first is None:
            first = d
        if eq.jacobian_rank(S, S.values(S.random_theta())) == codim:
            eq.complete = codim == 1 and d == first and len(eq.C) == 1
            out = [eq]
            if comb(n + d + 1, d + 1) <= max_monomials:
                nxt = _equations_of_degree(S, d + 1)
                if nxt is not None:
                    out.append(nxt)
            return out
    return []


def _poly_text(E: np.ndarray, c: np.ndarray) -> str:
    terms = []
    for e, v in zip(E, c):
        if int(v) == 0:
            continue
        mono = "*".join(f"y{i + 1}^{k}" if k > 1 else f"y{i + 1}" for i, k in enumerate(e) if k)
        terms.append(f"{int(v)}*{mono}" if mono else f"{int(v)}")
    return " + ".join(terms) or "0"


def subnetwork_equations(S: _Setup, key, image_dim: int, max_monomials: int = MAX_MONOMIALS) -> Equations | None:
    """Equations of the closure of a subnetwork's image (interpolated mod p, as for M)."""
    n = S.n
    for d in range(1, 20):
        if comb(n + d, d) > max_monomials:
            return None
        E = _monomial_exponents(n, d)
        pts = np.array([S.values(S.random_theta(key)) for _ in range(len(E) + 8)], dtype=np.int64)
        C = _nullspace_rows(S.F, _monomials_at(E, pts, S.p).astype(np.uint64))
        if len(C) == 0:
            continue
        eq = Equations(E, C, d, S.p)
        if eq.jacobian_rank(S, S.values(S.random_theta(key))) == n - image_dim:
            return eq
    return None


# --------------------------------------------------------------------------- fibres through other subnetworks
def affine_coordinates(S: _Setup, zeroed, degree: int) -> list[int]:
    """The live coordinates of a subnetwork in which ``f`` is jointly affine (the output layer of an MLP).

    Greedy and exact mod p: a set ``A`` is kept when ``f(theta + h v)`` for a random
    ``v`` supported on ``A`` takes values on a line at ``h = 0..degree + 1`` (a polynomial
    of degree ``<= degree`` in ``h`` through ``degree + 2`` collinear values is affine).
    """
    z = set(zeroed)
    out: list[int] = []
    for i in range(S.model.num_params):
        if i in z:
            continue
        trial = out + [i]
        theta = S.random_theta(zeroed)
        v = np.zeros_like(theta)
        v[trial] = S.F.random(len(trial), S.rng)
        vals = [S.values((theta + h * v) % S.p) for h in range(degree + 2)]
        d1 = (vals[1].astype(object) - vals[0].astype(object)) % S.p
        if all(np.array_equal((vals[h].astype(object) - vals[0].astype(object)) % S.p, (h * d1) % S.p)
               for h in range(2, degree + 2)):
            out.append(i)
    return out


def fibre_point_on(S: _Setup, zeroed, y: np.ndarray, degree: int) -> np.ndarray | None:
    """A parameter ``theta`` of the subnetwork ``zeroed`` with ``f_theta = y`` exactly (mod p), or None.

    The non-affine live coordinates are drawn at random and the affine ones solved for
    (:func:`affine_coordinates`: ``f`` is then ``f(theta') + J_A delta``, a linear system
    in ``GF(p)``); the answer is checked by evaluating ``f`` at it.
    """
    aff = affine_coordinates(S, zeroed, degree)
    if not aff:
        return None
    theta = S.random_theta(zeroed)
    J = S.jacobian(theta)[:, aff]
    rhs = (S.values(theta).astype(object) - np.asarray(y, dtype=object)) % S.p
    K = _nullspace_rows(S.F, np.ascontiguousarray(np.concatenate([J, rhs.astype(np.uint64)[:, None]], axis=1)))
    for row in K:
        last = int(row[-1])
        if last:
            inv = pow(last, -1, S.p)
            delta = np.array([int(c) * inv % S.p for c in row[:-1]], dtype=object)
            th = theta.astype(object)
            th[aff] = (th[aff] + delta) % S.p
            th = th.astype(np.uint64)
            if np.array_equal(S.values(th), np.asarray(y, dtype=np.uint64)):
                return th
    return None
