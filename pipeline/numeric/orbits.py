"""Solutions grouped into orbits of known symmetries, and the transitivity test of monodromy's stall rule.

Example
-------
>>> import numpy as np
>>> _transitive([np.array([1, 0, 2]), np.array([0, 2, 1])], 3)
True
>>> _transitive([np.array([1, 0, 2])], 3)
False
"""

from __future__ import annotations

import numpy as np

from .tracker import newton


class SolutionSet:
    """Distinct points up to a relative tolerance (sorted random projection + exact check).

    >>> S = SolutionSet(2, tol=1e-8)
    >>> S.add(np.array([[1, 2], [1 + 1e-12, 2], [3, 4]], dtype=complex)).shape[0]
    2
    >>> len(S)
    2
    """

    def __init__(self, n: int, tol: float = 1e-6, seed: int = 12345):
        self.n, self.tol = n, tol
        self.points = np.zeros((0, n), dtype=np.complex128)
        self.w = np.random.default_rng(seed).normal(size=n)
        self._keys = np.zeros(0)
        self._order = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return self.points.shape[0]

    def _find(self, x: np.ndarray, key: float) -> int:
        """Index of the known point nearest to ``x`` within the tolerance (``-1`` if none)."""
        if len(self) == 0:
            return -1
        tol = self.tol * max(1.0, float(np.abs(x).max()))
        wsum = np.abs(self.w).sum() * 1.7071  # bounds |key(x) - key(y)| / max|x - y|
        lo = np.searchsorted(self._keys, key - tol * wsum, side="left")
        hi = np.searchsorted(self._keys, key + tol * wsum, side="right")
        cand = self._order[lo:hi]
        if len(cand) == 0:
            return -1
        d = np.abs(self.points[cand] - x).max(axis=1)
        j = int(np.argmin(d))
        return int(cand[j]) if d[j] <= tol else -1

    def locate(self, X: np.ndarray) -> np.ndarray:
        """Index of the known point equal to each row of ``X`` (``-1`` if none)."""
        X = np.atleast_2d(X)
        keys = self._key(X)
        return np.array([self._find(x, k) if np.all(np.isfinite(x)) else -1 for x, k in zip(X, keys)],
                        dtype=np.int64).reshape(X.shape[0])

    def _key(self, X):
        return (X.real @ self.w) + 0.7071 * (X.imag @ self.w)

    def add(self, X: np.ndarray) -> np.ndarray:
        """Add the rows of ``X`` that are new; return them."""
        X = np.atleast_2d(X)
        new = []
        for x, k in zip(X, self._key(X)):
            if not np.all(np.isfinite(x)) or self._find(x, k) >= 0:
                continue
            self.points = np.vstack([self.points, x[None, :]])
            pos = np.searchsorted(self._keys, k)
            self._keys = np.insert(self._keys, pos, k)
            self._order = np.insert(self._order, pos, len(self.points) - 1)
            new.append(x)
        return np.array(new, dtype=np.complex128).reshape(-1, self.n)


def _transitive(perms: list[np.ndarray], n: int) -> bool:
    """Whether the permutations of ``range(n)`` generate a transitive group (union-find)."""
    parent = np.arange(n)

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for perm in perms:
        for a, b in enumerate(perm):
            ra, rb = find(a), find(int(b))
            if ra != rb:
                parent[ra] = rb
    return len({find(a) for a in range(n)}) == 1


class _Orbits:
    """Solutions grouped into orbits of a group action; one tracked representative per orbit.

    With ``group`` (a :class:`~pipeline.numeric.symmetry.BlockPermutationGroup`)
    only canonical representatives are stored: an orbit is one point, the group
    is never enumerated. With ``group_action`` (a callable listing an orbit) the
    images are Newton-refined at ``p0`` and kept only if Newton converges to a
    solution (they are certified with every other point at the end).
    """

    def __init__(self, n, tol, seed, group_action, system=None, p0=None, group=None):
        self.sols = SolutionSet(n, tol=tol, seed=seed)
        self.group_action = group_action
        self.group = group
        self.system, self.p0 = system, p0
        self.orbit_of = np.zeros(0, dtype=np.int64)  # point index -> orbit id
        self.reps: list[int] = []  # orbit id -> point index of its representative
        self.rejected_images = 0

    def __len__(self):
        return len(self.sols)

    @property
    def n_orbits(self):
        return len(self.reps)

    def _images(self, x):
        Y = np.atleast_2d(self.group_action(x))
        if self.system is None or len(Y) == 0:
            return Y
        Yr, last = newton(self.system, Y, self.p0)
        good = np.isfinite(last) & (last <= 1e-8 * (1 + np.abs(Yr).max(axis=1)))
        self.rejected_images += int((~good).sum())
        return Yr[good]

    def add(self, X) -> np.ndarray:
        """Add the rows of ``X`` not yet known (with their orbits); return the new orbit ids."""
        new_orbits = []
        X = np.atleast_2d(X)
        if self.group is not None:
            X = self.group.canonical(X)
        for x in X:
            start = len(self.sols)
            if len(self.sols.add(x[None, :])) == 0:
                continue
            if self.group_action is not None and self.group is None:
                self.sols.add(self._images(x))
            oid = len(self.reps)
            self.reps.append(start)
            self.orbit_of = np.r_[self.orbit_of, np.full(len(self.sols) - start, oid, dtype=np.int64)]
            new_orbits.append(oid)
        return np.array(new_orbits, dtype=np.int64)

    def orbit_index(self, X) -> np.ndarray:
        X = np.atleast_2d(X)
        if self.group is not None:
            X = self.group.canonical(X)
        idx = self.sols.locate(X)
        return np.where(idx >= 0, self.orbit_of[np.maximum(idx, 0)], -1)

    def rep_points(self, orbit_ids) -> np.ndarray:
        return self.sols.points[[self.reps[o] for o in orbit_ids]].reshape(-1, self.sols.n)
