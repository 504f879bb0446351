"""The literature registry: published numbers, the cells that recompute them, and how to compare.

One YAML file per paper in this folder (or in a folder given to :func:`load_registry`).
A file holds the citation and a list of claims::

    key: ktb2019
    authors: Joe Kileel, Matthew Trager, Joan Bruna
    title: On the expressive power of deep polynomial neural networks
    venue: NeurIPS 2019
    year: 2019
    claims:
      - id: ktb2019-thm14-2331-r13
        place: Theorem 14                 # the theorem, table, example, ... where the value stands
        claim: "dim V_(2,3,3,1),13 = d_h + sum (d_i - 1) d_(i+1) = 12"
        read: "where the value was read (or the formula it is derived from)"
        source: read                       # read | derived | unconfirmed
        quick: true                        # part of `neurovar reproduce --quick`
        grid: {computations: [dimension], model: mlp, axes: {widths: [[2, 3, 3, 1]], activation: ["x^13"]}}
        output: dimension
        compare: equal                     # equal | formula | at_most | at_least
        published: 12

``compare``
    ``equal``: the computed ``output`` equals ``published`` in every cell (``published`` may
    also map several outputs to values, e.g. ``{edd: 4, positive_dimensions: [1]}``);
    ``formula``: it equals ``formula``, an arithmetic expression in the cell's fields
    (``n``, ``k``, ``r``, ``widths[0]``, ``comb(a, b)``, ``min``, ``max``, ...);
    ``at_most`` / ``at_least``: it is a bound, given by ``published`` or ``formula``.
``check`` (optional)
    the name of an entry of :data:`catalog.conjectures.REGISTRY` that every row must also satisfy.
``reach`` (optional)
    what would reach the claim when a cell does not finish (shown with ``unreached``).

Every claim of the default registry names a numbered place (:attr:`Claim.numbered`); claims whose
source could not be read at a numbered statement live in the separate registry :data:`UNNUMBERED`.

A claim is ``reproduced`` when every cell finished and matches, ``differs`` when a finished
cell does not match (with the computed and published values, the cell key and the command
that recomputes it), and ``unreached`` when a cell timed out, failed, or only gave a lower bound.

Example
-------
>>> reg = load_registry()
>>> paper = reg["alexander-hirschowitz"]
>>> c = paper.claims[0]
>>> c.place.split()[0] in PLACE_WORDS, c.numbered
(True, True)
>>> safe_eval("n*k - comb(k, 2)", {"n": 4, "k": 3})
9
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from math import comb
from pathlib import Path
from typing import Any

from neurovar.pipeline.errors import SpecError

from neurovar.pipeline.record import plain

HERE = Path(__file__).resolve().parent
#: Claims whose value has no numbered place that could be read (abstracts, unnumbered slides, papers whose text
#: was out of reach): a registry of their own, outside the default one (``--registry`` runs them).
UNNUMBERED = HERE / "unnumbered"
#: Seconds per cell when a claim's grid names no ``timeout_s``: a stuck cell becomes ``unreached``, never a hang.
DEFAULT_TIMEOUT_S = 300.0
COMPARES = ("equal", "formula", "at_most", "at_least")
SOURCES = ("read", "derived", "unconfirmed")
STATUSES = ("reproduced", "differs", "unreached")
#: The first word of a claim's ``place``: where in the source the value stands.
PLACE_WORDS = ("Theorem", "Proposition", "Corollary", "Lemma", "Table", "Example", "Conjecture", "Definition",
               "Equation", "Section", "Abstract", "Slide", "Remark", "Figure")
_PLACE = re.compile(r"^(%s)\b.*\S" % "|".join(PLACE_WORDS))
#: A numbered place: a statement, section or equation with its number (``Corollary 16 (ii) ...``,
#: ``Section 5.1``, ``Theorem 1.1``), or a table (the talk's tables carry titles, not numbers).
NUMBERED_WORDS = ("Theorem", "Proposition", "Corollary", "Lemma", "Example", "Conjecture", "Definition", "Equation",
                  "Section", "Remark", "Figure")
_NUMBERED = re.compile(r"^(?:(?:%s)\s+\d+(?:\.\d+)*\b|Table\b)" % "|".join(NUMBERED_WORDS))


@dataclass(frozen=True)
class Claim:
    """One published value and the cells that recompute it."""

    id: str
    paper: str
    place: str
    claim: str
    read: str
    source: str
    grid: dict
    compare: str
    output: str | None = None
    published: Any = None
    formula: str | None = None
    check: str | None = None
    quick: bool = False
    reach: str | None = None

    @property
    def confirmed(self) -> bool:
        return self.source != "unconfirmed"

    @property
    def numbered(self) -> bool:
        """Whether the place names a numbered statement, section or a table (not an abstract, a slide or a
        section title): ``Corollary 17 (r >= 2 d_l - 1)`` is, ``Abstract (...)`` and ``Section 'dimension'`` are not."""
        return bool(_NUMBERED.match(self.place))

    def published_text(self) -> str:
        if self.compare == "formula":
            return self.formula or ""
        if self.compare in ("at_most", "at_least"):
            sign = "<=" if self.compare == "at_most" else ">="
            return f"{sign} {self.formula if self.formula is not None else _text(self.published)}"
        return _text(self.published)


@dataclass(frozen=True)
class Paper:
    key: str
    authors: str
    title: str
    venue: str
    year: int
    claims: tuple[Claim, ...]
    path: Path | None = None
    url: str | None = None

    @property
    def citation(self) -> str:
        return f"{self.authors}: {self.title}. {self.venue} ({self.year})"


def _text(v) -> str:
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v)


# --------------------------------------------------------------------------- loading
def _need(d: dict, key: str, where: str, kind=str):
    if key not in d or d[key] is None or d[key] == "":
        raise SpecError(f"{where}.{key}", "missing")
    v = d[key]
    if kind is not None and not isinstance(v, kind):
        raise SpecError(f"{where}.{key}", f"must be a {kind.__name__}, got {v!r}")
    return v


def _claim(d: Any, paper: str, where: str) -> Claim:
    if not isinstance(d, dict):
        raise SpecError(where, "each claim must be a mapping with id, place, claim, grid, compare, ...")
    known = {"id", "place", "claim", "read", "source", "grid", "compare", "output", "published", "formula", "check",
             "quick", "reach"}
    extra = sorted(set(d) - known)
    if extra:
        raise SpecError(f"{where}.{extra[0]}", f"unknown field; a claim has {', '.join(sorted(known))}")
    cid = _need(d, "id", where)
    where = f"{where}[{cid}]"
    place = _need(d, "place", where)
    if not _PLACE.match(place):
        raise SpecError(f"{where}.place", f"must start with one of {', '.join(PLACE_WORDS)} and name it, got {place!r}")
    source = d.get("source", "read")
    if source not in SOURCES:
        raise SpecError(f"{where}.source", f"must be one of {', '.join(SOURCES)}, got {source!r}")
    compare = _need(d, "compare", where)
    if compare not in COMPARES:
        raise SpecError(f"{where}.compare", f"must be one of {', '.join(COMPARES)}, got {compare!r}")
    grid = _need(d, "grid", where, dict)
    output, published, formula = d.get("output"), d.get("published"), d.get("formula")
    if compare == "formula" and not formula:
        raise SpecError(f"{where}.formula", "compare: formula needs a formula in the cell's fields")
    if compare == "equal" and published is None:
        raise SpecError(f"{where}.published", "compare: equal needs the published value")
    if compare in ("at_most", "at_least") and published is None and not formula:
        raise SpecError(f"{where}.published", f"compare: {compare} needs the bound (published or formula)")
    if output is None and not (compare == "equal" and isinstance(published, dict)):
        raise SpecError(f"{where}.output", "name the output column to compare (or give published as a mapping)")
    if formula:
        try:
            _parse(formula)
        except SpecError as e:
            raise SpecError(f"{where}.formula", e.message) from None
    check = d.get("check")
    if check is not None:
        from neurovar.catalog.conjectures import REGISTRY

        if check not in REGISTRY:
            raise SpecError(f"{where}.check", f"unknown registry entry {check!r}; choose from {', '.join(REGISTRY)}")
    return Claim(id=cid, paper=paper, place=place, claim=_need(d, "claim", where), read=d.get("read") or "",
                 source=source, grid=grid, compare=compare, output=output, published=published, formula=formula,
                 check=check, quick=bool(d.get("quick", False)), reach=d.get("reach"))


def load_paper(path: str | Path) -> Paper:
    """Read and validate one paper's file; raises :class:`SpecError` naming the file and field."""
    from neurovar.pipeline.errors import read_yaml

    path = Path(path)
    data = read_yaml(path, path.name)
    where = path.name
    if not isinstance(data, dict):
        raise SpecError(where, "the file must hold a mapping with key, authors, title, venue, year, claims")
    key = _need(data, "key", where)
    claims = _need(data, "claims", where, list)
    year = _need(data, "year", where, int)
    out = tuple(_claim(c, key, f"{where}.claims[{i}]") for i, c in enumerate(claims))
    return Paper(key=key, authors=_need(data, "authors", where), title=_need(data, "title", where),
                 venue=_need(data, "venue", where), year=year, claims=out, path=path, url=data.get("url"))


def load_registry(root: str | Path | None = None) -> dict[str, Paper]:
    """Every paper under ``root`` (default: this package's folder), by key; claim ids are unique."""
    root = Path(root) if root is not None else HERE
    if not root.is_dir():
        raise SpecError("--registry", f"no folder {root}")
    papers: dict[str, Paper] = {}
    ids: set[str] = set()
    for path in sorted(root.glob("*.yaml")):
        p = load_paper(path)
        if p.key in papers:
            raise SpecError(f"{path.name}.key", f"paper key {p.key!r} is used twice")
        for c in p.claims:
            if c.id in ids:
                raise SpecError(f"{path.name}.claims[{c.id}]", "claim id is used twice")
            ids.add(c.id)
        papers[p.key] = p
    if not papers:
        raise SpecError("--registry", f"no paper files (*.yaml) in {root}")
    return papers


# --------------------------------------------------------------------------- cells
def claim_cells(claim: Claim, timeout_s: float | None = None):
    """The cells of a claim's grid fragment (validated like a grid file)."""
    from neurovar.pipeline.grid import GridSpec

    g = dict(claim.grid)
    g.setdefault("name", re.sub(r"[^A-Za-z0-9_.-]", "-", claim.id))
    if timeout_s is not None:
        g["timeout_s"] = timeout_s
    g.setdefault("timeout_s", DEFAULT_TIMEOUT_S)
    try:
        return GridSpec.from_mapping(g).cells()
    except SpecError as e:
        raise SpecError(f"{claim.paper}.claims[{claim.id}].{e.field}", e.message) from None


# --------------------------------------------------------------------------- formulas
_FUNCS = {"comb": comb, "binom": comb, "min": min, "max": max, "abs": abs, "len": len, "sum": sum}
_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b, ast.Pow: lambda a, b: a ** b}


def _parse(text: str) -> ast.Expression:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise SpecError("formula", f"not an expression: {e.msg}") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Constant, ast.Name,
                               ast.Load, ast.Call, ast.Subscript, ast.List, ast.Tuple, ast.Compare, ast.Eq, ast.Lt,
                               ast.LtE, ast.Gt, ast.GtE)) or type(node) in _BINOPS
        if not ok:
            raise SpecError("formula", f"{type(node).__name__} is not allowed (arithmetic, comb, min, max only)")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
            raise SpecError("formula", f"only the functions {', '.join(_FUNCS)} may be called")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise SpecError("formula", f"only numbers may appear as constants, got {node.value!r}")
    return tree


def safe_eval(text: str, names: dict) -> Any:
    """Evaluate an arithmetic formula over ``names`` without ``eval``.

    >>> safe_eval("d * sum([(d - 1)**i for i in []]) + 6*(k-1)**2", {"d": 3, "k": 2})
    Traceback (most recent call last):
    ...
    neurovar.pipeline.errors.SpecError: formula: ListComp is not allowed (arithmetic, comb, min, max only)
    >>> safe_eval("widths[0] + comb(4, 2)", {"widths": [3, 2, 1]})
    9
    """
    tree = _parse(text)

    def ev(n):
        if isinstance(n, ast.Expression):
            return ev(n.body)
        if isinstance(n, ast.Constant):
            return n.value
        if isinstance(n, ast.Name):
            if n.id not in names:
                raise KeyError(f"the cell has no field {n.id!r}")
            return names[n.id]
        if isinstance(n, ast.BinOp):
            return _BINOPS[type(n.op)](ev(n.left), ev(n.right))
        if isinstance(n, ast.UnaryOp):
            v = ev(n.operand)
            return -v if isinstance(n.op, ast.USub) else v
        if isinstance(n, ast.Call):
            return _FUNCS[n.func.id](*[ev(a) for a in n.args])
        if isinstance(n, ast.Subscript):
            return ev(n.value)[ev(n.slice)]
        if isinstance(n, (ast.List, ast.Tuple)):
            return [ev(e) for e in n.elts]
        if isinstance(n, ast.Compare):
            left = ev(n.left)
            for op, right in zip(n.ops, n.comparators):
                r = ev(right)
                if not {ast.Eq: left == r, ast.Lt: left < r, ast.LtE: left <= r, ast.Gt: left > r,
                        ast.GtE: left >= r}[type(op)]:
                    return False
                left = r
            return True
        raise SpecError("formula", f"cannot evaluate {type(n).__name__}")

    return ev(tree)


# --------------------------------------------------------------------------- values of a row
def row_names(row: dict) -> dict:
    """The names a formula may use: the row's fields, plus ``n, k, r, L`` for MLPs and derived outputs."""
    # a catalog row carries every model's columns; the missing ones (None) are not names
    names = {k: p for k, p in ((k, plain(v, integral_floats=True)) for k, v in row.items()) if p is not None}
    w = names.get("widths")
    if isinstance(w, list) and w:
        names.setdefault("L", len(w) - 1)
        # d_L + sum_{i<L} (d_i - 1) d_{i+1}: the parameters minus one scaling per hidden neuron
        names.setdefault("ktb_params", w[-1] + sum((w[i] - 1) * w[i + 1] for i in range(len(w) - 1)))
        names.setdefault("n", w[0])
        if len(w) == 3:
            names.setdefault("k", w[1])
    act = names.get("activation")
    if isinstance(act, str):
        from neurovar.catalog.analysis import activation_degree

        r = activation_degree(act)
        if r is not None:
            names.setdefault("r", r)
            names.setdefault("d", r)
    parts = names.get("positive_dimensional")
    if isinstance(parts, str):
        try:
            parts = json.loads(parts)
        except ValueError:
            parts = None
    if isinstance(parts, list):
        names["positive_dimensions"] = sorted(p.get("dimension") for p in parts if isinstance(p, dict))
    dep = names.get("dependent_r")
    if isinstance(dep, list) or dep is None and "dependent_r" in names:
        names["max_dependent_r"] = max([int(x) for x in dep or []], default=0)
    return names


__all__ = ["COMPARES", "Claim", "NUMBERED_WORDS", "PLACE_WORDS", "UNNUMBERED", "Paper", "STATUSES", "claim_cells", "load_paper", "load_registry",
           "row_names", "safe_eval"]
