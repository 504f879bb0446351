"""Finite groups that permute blocks of coordinates: orbits without enumerating the group.

A :class:`BlockPermutationGroup` is a product of wreath products
``(S_{m_1} wr S_{k_1}) x ... x (S_{m_f} wr S_{k_f})``: factor ``i`` permutes
``k_i`` blocks, each made of ``m_i`` parts of ``b_i`` coordinates, and permutes
the parts inside each block independently (``m_i = 1``: a symmetric group
``S_{k_i}`` permuting blocks; block ``j`` of factor ``i``, part ``a`` is the
index row ``blocks[i][j, a]``). Its order is ``k_i! (m_i!)^{k_i}`` per factor.
The hidden neurons of a network are such blocks (a permutation of neurons moves
each neuron's parameters together); a neuron whose output is symmetric in two
of its weight vectors (``(W_1 x) * (W_2 x)``) has two parts. The problem layer
(:mod:`pipeline.problems`) builds these groups from what a model declares.

Nothing here enumerates the group (``12!`` and ``15!`` stay numbers):

* :meth:`~BlockPermutationGroup.canonical` -- a canonical representative of the
  orbit of each point: the blocks of each factor sorted by a random real
  projection (two points of one orbit have the same canonical form, up to the
  rounding of the keys of *distinct* blocks, which is generic);
* :meth:`~BlockPermutationGroup.invariant_forms` -- a basis of the invariant
  linear forms (sums of a block coordinate over the blocks, and the coordinates
  outside every block), used by the trace test on orbits;
* :meth:`~BlockPermutationGroup.free_on` -- a proof that the stabiliser of a
  certified solution is trivial: a permutation of blocks fixes ``x`` only if it
  fixes every block it moves, i.e. only if two blocks of ``x`` are equal, so
  pairwise *disjoint* Krawczyk boxes of the blocks of each factor prove the
  action free on the orbit of ``x`` (checking only generators would not: a
  3-cycle can fix a point that no transposition fixes);
* :meth:`~BlockPermutationGroup.distinct_orbits` -- a proof that two certified
  representatives lie in different orbits (some block of one is disjoint from
  every block of the other in the same factor, or a fixed coordinate differs).

Example
-------
>>> import numpy as np
>>> G = BlockPermutationGroup(3, [np.array([[0], [1], [2]])])   # S_3 permuting 3 coordinates
>>> G.order
6
>>> x = np.array([[3.0, 1.0, 2.0]], dtype=complex)
>>> y = np.array([[2.0, 3.0, 1.0]], dtype=complex)
>>> bool(np.allclose(G.canonical(x), G.canonical(y)))
True
>>> G.invariant_forms().T.real.tolist()
[[1.0, 1.0, 1.0]]
"""

from __future__ import annotations

from math import factorial, prod
from typing import Sequence

import numpy as np


class BlockPermutationGroup:
    """``S_{k_1} x ... x S_{k_f}`` permuting blocks of coordinates of ``C^n``.

    Parameters
    ----------
    n : int
        Number of coordinates the group acts on (further coordinates, e.g. a
        multiplier appended by a solver, are fixed).
    blocks : sequence of int arrays of shape (k_i, b_i) or (k_i, m_i, b_i)
        ``blocks[i][j]``: the coordinates of block ``j`` of factor ``i`` (with
        ``m_i`` parts, permuted inside the block); blocks are disjoint.
    shared : sequence of int arrays of shape (k_i, s_i) or None, optional
        Coordinates of each block that move with the block but not with the
        permutations of its parts (a neuron's output weights when its two
        incoming weight vectors may be swapped).
    seed : int
        Seed of the random projection that orders blocks.
    """

    def __init__(self, n: int, blocks: Sequence[np.ndarray], seed: int = 0x5EED, shared=None):
        self.n, self.seed = int(n), seed
        self.parts = [np.asarray(b, dtype=np.int64).reshape(len(b), 1 if np.ndim(b) < 3 else np.shape(b)[1], -1)
                      for b in blocks]
        shared = [None] * len(self.parts) if shared is None else list(shared)
        self.shared = [np.zeros((P.shape[0], 0), dtype=np.int64) if s is None else
                       np.asarray(s, dtype=np.int64).reshape(P.shape[0], -1) for P, s in zip(self.parts, shared)]
        self.blocks = [np.concatenate([P.reshape(P.shape[0], -1), s], axis=1) for P, s in zip(self.parts, self.shared)]
        used = np.concatenate([b.ravel() for b in self.blocks]) if self.blocks else np.zeros(0, dtype=np.int64)
        if len(set(used.tolist())) != len(used) or (len(used) and (used.min() < 0 or used.max() >= n)):
            raise ValueError("blocks must be disjoint sets of coordinates in range(n)")
        self.fixed = np.array(sorted(set(range(n)) - set(used.tolist())), dtype=np.int64)
        rng = np.random.default_rng(seed)
        self._w = [rng.normal(size=b.shape[1]) + 0.5 for b in self.blocks]
        self._wi = [rng.normal(size=b.shape[1]) for b in self.blocks]
        self._pw = [rng.normal(size=P.shape[2]) + 0.5 for P in self.parts]
        self._pwi = [rng.normal(size=P.shape[2]) for P in self.parts]

    @property
    def order(self) -> int:
        """``|G| = prod k_i! (m_i!)^k_i`` as a Python int."""
        return prod(factorial(P.shape[0]) * factorial(P.shape[1]) ** P.shape[0] for P in self.parts)

    @property
    def description(self) -> str:
        return " x ".join(f"S_{P.shape[0]}" if P.shape[1] == 1 else f"S_{P.shape[1]} wr S_{P.shape[0]}"
                          for P in self.parts) or "trivial"

    def canonical(self, X: np.ndarray) -> np.ndarray:
        """The orbit representative of each row of ``X``: parts, then blocks, sorted by random projections."""
        X = np.array(np.atleast_2d(X), dtype=np.complex128)
        for P, B, w, wi, pw, pwi in zip(self.parts, self.blocks, self._w, self._wi, self._pw, self._pwi):
            if P.shape[1] > 1:
                V = X[:, P]  # (P, k, m, b)
                keys = V.real @ pw + V.imag @ pwi  # (P, k, m)
                order = np.argsort(keys, axis=2, kind="stable")
                X[:, P] = np.take_along_axis(V, order[:, :, :, None], axis=2)
            V = X[:, B]  # (P, k, m b + s)
            keys = V.real @ w + V.imag @ wi  # (P, k)
            order = np.argsort(keys, axis=1, kind="stable")
            X[:, B] = np.take_along_axis(V, order[:, :, None], axis=1)
        return X

    def lifted(self, width: int) -> "BlockPermutationGroup":
        """The same group acting on ``C^width`` (``width >= n``; the extra coordinates fixed)."""
        return BlockPermutationGroup(width, self.parts, self.seed, self.shared)

    def _units(self):
        """The smallest moved units, as ``(k m, b)`` index arrays: the parts of every block of a factor."""
        return [P.reshape(-1, P.shape[2]) for P in self.parts]

    def invariant_forms(self, width: int | None = None) -> np.ndarray:
        """Columns spanning the invariant linear forms on ``C^width`` (``width >= n``; extra coordinates fixed)."""
        width = self.n if width is None else width
        cols = []
        for B in self._units() + [s for s in self.shared if s.shape[1]]:
            for c in range(B.shape[1]):
                a = np.zeros(width)
                a[B[:, c]] = 1.0
                cols.append(a)
        for j in list(self.fixed) + list(range(self.n, width)):
            a = np.zeros(width)
            a[j] = 1.0
            cols.append(a)
        return np.array(cols, dtype=np.complex128).T.reshape(width, -1)

    def free_on(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Whether the stabiliser of each certified point is trivial (parts of all blocks pairwise disjoint boxes).

        ``lo, hi`` have shape ``(P, 2 n)``: lower and upper ends of the real
        parts (first ``n``) and imaginary parts (last ``n``) of the enclosures.
        """
        lo, hi = np.atleast_2d(lo), np.atleast_2d(hi)
        n = lo.shape[1] // 2
        ok = np.all(np.isfinite(lo), axis=1) & np.all(np.isfinite(hi), axis=1)
        for B in self._units():
            idx = np.concatenate([B, B + n], axis=1)  # (k, 2b)
            L, H = lo[:, idx], hi[:, idx]  # (P, k, 2b)
            # boxes j, l overlap iff every coordinate interval overlaps
            overlap = np.all((L[:, :, None, :] <= H[:, None, :, :]) & (L[:, None, :, :] <= H[:, :, None, :]), axis=3)
            k = B.shape[0]
            overlap[:, np.arange(k), np.arange(k)] = False
            ok &= ~overlap.any(axis=(1, 2))
        return ok

    def distinct_orbits(self, lo: np.ndarray, hi: np.ndarray, certified: np.ndarray) -> np.ndarray:
        """Certified points whose orbit is proven different from the orbit of every earlier kept point.

        Points ``i`` and ``j`` are in different orbits if a fixed coordinate's
        intervals are disjoint, or, in some factor, a block of ``i`` is disjoint
        from every block of ``j``. A point not proven different from an earlier
        kept one is dropped (it may be the same orbit).
        """
        lo, hi = np.atleast_2d(lo), np.atleast_2d(hi)
        n = lo.shape[1] // 2
        keep = np.array(certified, dtype=bool).copy()
        idx = np.flatnonzero(keep)
        fidx = np.r_[self.fixed, self.fixed + n]
        for a, i in enumerate(idx):
            earlier = [j for j in idx[:a] if keep[j]]
            if not earlier:
                continue
            E = np.array(earlier)
            differ = np.zeros(len(E), dtype=bool)
            if len(fidx):
                differ |= np.any((lo[E][:, fidx] > hi[i, fidx]) | (hi[E][:, fidx] < lo[i, fidx]), axis=1)
            for B in self._units():
                bidx = np.concatenate([B, B + n], axis=1)  # (k, 2b)
                Li, Hi = lo[i, bidx], hi[i, bidx]  # (k, 2b)
                Le, He = lo[E][:, bidx], hi[E][:, bidx]  # (e, k, 2b)
                # disjoint[e, s, t]: block s of i vs block t of earlier e
                disjoint = np.any((Li[None, :, None, :] > He[:, None, :, :]) | (Hi[None, :, None, :] < Le[:, None, :, :]),
                                  axis=3)
                differ |= np.any(np.all(disjoint, axis=2), axis=1)
            if not np.all(differ):
                keep[i] = False
        return keep


__all__ = ["BlockPermutationGroup"]
