"""The enumerable tuple families of :mod:`pipeline.algebra.tuples`: boxes, random tuples, files.

Example
-------
>>> type(parse_family("box:nvars=2,deg=1,k=2,coef=1")).__name__
'BoxTuples'
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .monomials import monomial_exponents
from .parser import PolynomialSyntaxError, parse_system, polynomial_context
from .tuples import (_OPTION, _SPELLINGS, CHUNK, MAX_BOX_VECTORS, MAX_NVARS, MAX_RANDOM_TUPLES, MAX_SUBSETS, TupleBatch,
                     TupleFamily, check_tuple, parse_tuple, variable_names)

def _options(kind: str, body: str, allowed: dict[str, tuple[int | None, int, int]]) -> dict[str, int]:
    """Parse ``a=1,b=2`` against ``allowed`` = {name: (default or None if required, min, max)}."""
    got: dict[str, int] = {}
    for part in (body.split(",") if body.strip() else []):
        m = _OPTION.match(part)
        if not m:
            raise ValueError(
                f"family {kind}: cannot read {part.strip()!r}; write name=integer pairs separated by commas "
                f"(options: {', '.join(allowed)})"
            )
        name, raw = m.group(1).lower(), m.group(2).lower()
        if name not in allowed:
            raise ValueError(f"family {kind}: unknown option {name!r}; the options are {', '.join(allowed)}")
        if name in got:
            raise ValueError(f"family {kind}: option {name!r} given twice")
        got[name] = {"true": 1, "false": 0}.get(raw, None) if raw in ("true", "false") else int(raw)
    out = {}
    for name, (default, lo, hi) in allowed.items():
        if name not in got:
            if default is None:
                raise ValueError(f"family {kind}: option {name}= is required (e.g. {kind}:{_example(kind)})")
            out[name] = default
            continue
        v = got[name]
        if not lo <= v <= hi:
            raise ValueError(f"family {kind}: {name}={v} is out of range; use {lo} <= {name} <= {hi}")
        out[name] = v
    return out


def _example(kind: str) -> str:
    return {
        "random": "nvars=2,deg=2,coef=3,count=3,tuples=50",
        "binary_linear": "k=3,coef=2",
        "box": "nvars=2,deg=2,k=3,coef=1",
    }[kind]


def parse_family(text: str) -> "TupleFamily":
    """Parse a family spelling (see the module docstring); raises ``ValueError`` with the fix."""
    if not isinstance(text, str) or ":" not in text:
        raise ValueError(f"unknown family {text!r}; write one of {_SPELLINGS}")
    kind, body = text.split(":", 1)
    kind = kind.strip().lower()
    if kind == "file":
        return FileTuples(text.strip(), Path(body.strip()))
    if kind == "random":
        raw = [s.strip() for s in body.split(",") if s.strip()]
        if any(s.split("=")[0].strip().lower() == "k" for s in raw):
            if any(s.split("=")[0].strip().lower() == "count" for s in raw):
                raise ValueError("family random: give count= (or its synonym k=), not both")
            body = ",".join("count=" + s.split("=", 1)[1] if s.split("=")[0].strip().lower() == "k" else s for s in raw)
        o = _options(
            "random",
            body,
            {
                "nvars": (2, 1, 8),
                "deg": (2, 1, 12),
                "coef": (3, 1, 10**6),
                "count": (None, 1, 12),
                "tuples": (None, 1, MAX_RANDOM_TUPLES),
                "homogeneous": (0, 0, 1),
            },
        )
        return RandomTuples(text.strip(), o["nvars"], o["deg"], o["coef"], o["count"], o["tuples"], bool(o["homogeneous"]))
    if kind == "binary_linear":
        o = _options("binary_linear", body, {"k": (None, 1, 12), "coef": (2, 1, 50)})
        return BoxTuples(text.strip(), 2, 1, o["k"], o["coef"], True)
    if kind == "box":
        o = _options(
            "box",
            body,
            {"nvars": (2, 1, MAX_NVARS), "deg": (2, 1, 12), "k": (None, 1, 12), "coef": (1, 1, 20), "homogeneous": (0, 0, 1)},
        )
        return BoxTuples(text.strip(), o["nvars"], o["deg"], o["k"], o["coef"], bool(o["homogeneous"]))
    raise ValueError(f"unknown family kind {kind!r}; write one of {_SPELLINGS}")


@dataclass
class BoxTuples(TupleFamily):
    nvars: int
    deg: int
    size: int
    coef: int
    homogeneous: bool
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.k = self.size
        self.variables = variable_names(self.nvars)
        self.monomials = monomial_exponents(self.nvars, self.deg, self.homogeneous)
        nvec = (2 * self.coef + 1) ** len(self.monomials)
        if nvec > MAX_BOX_VECTORS:
            raise ValueError(
                f"family {self.text}: the box has {nvec} coefficient vectors (more than {MAX_BOX_VECTORS}); "
                "lower coef, deg or nvars"
            )

    # classes ------------------------------------------------------------
    def classes(self, scaling_invariant: bool) -> np.ndarray:
        """Coefficient vectors (rows) of the polynomial classes, in enumeration order."""
        key = ("classes", scaling_invariant)
        if key not in self._cache:
            c, M = self.coef, len(self.monomials)
            V = np.array(list(itertools.product(range(-c, c + 1), repeat=M)), dtype=np.int64).reshape(-1, M)
            V = V[np.any(V != 0, axis=1)]
            if scaling_invariant:
                first = V[np.arange(len(V)), np.argmax(V != 0, axis=1)]
                g = np.gcd.reduce(np.abs(V), axis=1)
                V = V[(first > 0) & (g == 1)]
            else:
                nonconst = [i for i, e in enumerate(self.monomials) if sum(e) > 0]
                V = V[np.any(V[:, nonconst] != 0, axis=1)]
            self._cache[key] = V
        return self._cache[key]

    def pool_size(self, scaling_invariant: bool = True) -> int:
        return len(self.classes(scaling_invariant))

    def validate(self, scaling_invariant: bool) -> None:
        n = self.pool_size(scaling_invariant)
        what = "pairwise non-proportional" if scaling_invariant else "distinct non-constant"
        if n < self.k:
            raise ValueError(
                f"family {self.text}: there are only {n} {what} polynomials in this box, fewer than k={self.k}; "
                "raise coef or deg"
            )
        total = math.comb(n, self.k)
        if total > MAX_SUBSETS:
            raise ValueError(
                f"family {self.text}: {total} {self.k}-subsets of {n} polynomials exceed the limit {MAX_SUBSETS}; "
                "lower coef, deg or k"
            )

    def _codes(self, V: np.ndarray) -> np.ndarray:
        base = 2 * self.coef + 1
        weights = base ** np.arange(V.shape[1], dtype=np.int64)
        return (V + self.coef) @ weights

    def group_action(self, scaling_invariant: bool) -> np.ndarray:
        """``act[g, c]``: the class of ``g . class c`` for each signed permutation ``g`` of the variables."""
        key = ("act", scaling_invariant)
        if key in self._cache:
            return self._cache[key]
        V = self.classes(scaling_invariant)
        index = {e: i for i, e in enumerate(self.monomials)}
        codes = self._codes(V)
        order = np.argsort(codes)
        sorted_codes = codes[order]
        acts = []
        for perm in itertools.permutations(range(self.nvars)):
            for signs in itertools.product((1, -1), repeat=self.nvars):
                target = np.empty(len(self.monomials), dtype=np.int64)
                sign = np.empty(len(self.monomials), dtype=np.int64)
                for m, e in enumerate(self.monomials):
                    e2 = [0] * self.nvars
                    for i, ei in enumerate(e):
                        e2[perm[i]] = ei
                    target[m] = index[tuple(e2)]
                    sign[m] = int(np.prod([signs[i] ** ei for i, ei in enumerate(e)]))
                W = np.zeros_like(V)
                W[:, target] = V * sign
                if scaling_invariant:
                    first = W[np.arange(len(W)), np.argmax(W != 0, axis=1)]
                    W = W * np.where(first < 0, -1, 1)[:, None]
                pos = np.searchsorted(sorted_codes, self._codes(W))
                acts.append(order[pos])
        act = np.unique(np.array(acts), axis=0)
        self._cache[key] = act
        return act

    def pool(self, scaling_invariant: bool):
        key = ("pool", scaling_invariant)
        if key not in self._cache:
            ctx = polynomial_context(self.variables)
            polys = [
                ctx.from_dict({e: int(c) for e, c in zip(self.monomials, row) if c != 0})
                for row in self.classes(scaling_invariant)
            ]
            self._cache[key] = (ctx, polys)
        return self._cache[key]

    def batches(self, shard=0, num_shards=1, scaling_invariant=True, seed=0):
        self.validate(scaling_invariant)
        ctx, pool = self.pool(scaling_invariant)
        act = self.group_action(scaling_invariant)
        combos = itertools.combinations(range(len(pool)), self.k)
        start = 0
        while True:
            flat = np.fromiter(
                itertools.chain.from_iterable(itertools.islice(combos, CHUNK)), dtype=np.int64
            )
            if flat.size == 0:
                return
            T = flat.reshape(-1, self.k)
            idx = start + np.arange(len(T))
            start += len(T)
            T = T[idx % num_shards == shard]
            if len(T):
                T = T[canonical_mask(T, act)]
            if len(T):
                yield TupleBatch(ctx, pool, T)


def canonical_mask(T: np.ndarray, act: np.ndarray) -> np.ndarray:
    """Rows of ``T`` (sorted k-subsets of class ids) that are the smallest in their orbit under ``act``."""
    keep = np.ones(len(T), dtype=bool)
    rows = np.arange(len(T))
    for g in act:
        image = np.sort(g[T], axis=1)
        diff = image - T
        nz = diff != 0
        first = np.argmax(nz, axis=1)
        smaller = nz.any(axis=1) & (diff[rows, first] < 0)
        keep &= ~smaller
    return keep


@dataclass
class RandomTuples(TupleFamily):
    nvars: int
    deg: int
    coef: int
    count: int
    num_tuples: int
    homogeneous: bool

    def __post_init__(self):
        self.k = self.count
        self.variables = variable_names(self.nvars)
        self.monomials = monomial_exponents(self.nvars, self.deg, self.homogeneous)

    def draw(self, j: int, seed: int, scaling_invariant: bool, ctx) -> list:
        """Tuple ``j``: redraw a polynomial until the tuple is admissible (see :func:`check_tuple`)."""
        rng = np.random.default_rng([seed, j, 0x7A4D])
        polys: list = []
        for attempt in range(1000 * self.count):
            v = rng.integers(-self.coef, self.coef + 1, size=len(self.monomials))
            p = ctx.from_dict({e: int(c) for e, c in zip(self.monomials, v) if c != 0})
            try:
                check_tuple(polys + [p], scaling_invariant)
            except ValueError:
                continue
            polys.append(p)
            if len(polys) == self.count:
                return polys
        raise ValueError(
            f"family {self.text}: could not draw {self.count} admissible polynomials; raise coef or deg"
        )

    def batches(self, shard=0, num_shards=1, scaling_invariant=True, seed=0):
        ctx = polynomial_context(self.variables)
        js = range(shard, self.num_tuples, num_shards)
        for lo in range(0, len(js), CHUNK // 8):
            pool: list = []
            for j in js[lo : lo + CHUNK // 8]:
                pool += self.draw(j, seed, scaling_invariant, ctx)
            yield TupleBatch(ctx, pool, np.arange(len(pool), dtype=np.int64).reshape(-1, self.count))


@dataclass
class FileTuples(TupleFamily):
    path: Path

    def __post_init__(self):
        if not self.path.is_file():
            raise ValueError(f"family {self.text}: no such file {str(self.path)!r}; write file:PATH with one tuple 'p1; p2' per line")
        self.lines = []
        for n, line in enumerate(self.path.read_text().splitlines(), start=1):
            if line.strip() and not line.lstrip().startswith("#"):
                self.lines.append((n, line.strip()))
        if not self.lines:
            raise ValueError(f"family {self.text}: the file has no tuples; write one 'p1; p2' per line")
        names: dict[str, None] = {}
        counts = set()
        for n, line in self.lines:
            try:
                ctx, polys = parse_system(line)
            except PolynomialSyntaxError as e:
                raise ValueError(f"family {self.text}, line {n}: {str(e).replace('equation ', 'polynomial ')}") from None
            counts.add((len(polys), n))
            for v in ctx.names():
                if v != "_":
                    names.setdefault(v, None)
        ks = {c for c, _ in counts}
        if len(ks) > 1:
            raise ValueError(
                f"family {self.text}: lines have different numbers of polynomials {sorted(ks)}; "
                "a family's tuples must all have the same size k"
            )
        self.k = ks.pop()
        self.variables = tuple(names)

    def validate(self, scaling_invariant: bool) -> None:
        for n, line in self.lines:
            try:
                parse_tuple(line, scaling_invariant, self.variables)
            except ValueError as e:
                raise ValueError(f"family {self.text}, line {n}: {e}") from None

    def batches(self, shard=0, num_shards=1, scaling_invariant=True, seed=0):
        ctx = polynomial_context(self.variables)
        pool: list = []
        for n, line in self.lines[shard::num_shards]:
            try:
                _, polys = parse_tuple(line, scaling_invariant, self.variables)
            except ValueError as e:
                raise ValueError(f"family {self.text}, line {n}: {e}") from None
            pool += polys
        if pool:
            yield TupleBatch(ctx, pool, np.arange(len(pool), dtype=np.int64).reshape(-1, self.k))


__all__ = ["BoxTuples", "FileTuples", "RandomTuples", "canonical_mask", "parse_family"]
