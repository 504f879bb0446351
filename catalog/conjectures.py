"""Theorems and conjectures as code, checked against the catalog.

Each entry of :data:`REGISTRY` is a :class:`Conjecture`: a name, its statement,
its source (paper and number), the computation whose rows it reads, its kind
(``theorem`` or ``conjecture``) and a row check. :func:`evaluate` splits the
rows of a catalog into ``supports``, ``violates`` and ``not_applicable``.

A violated **theorem** is a probable bug in the computation (the report gives
the cell's key and the command that recomputes it); a violated **conjecture**
is a candidate counterexample (with the exact certificate when the row has one,
e.g. the rational kernel vector of a linear dependence).

Adding an entry is one call to :func:`register`; its ``check(row)`` returns
``None`` or a reason string when the row is outside the statement, otherwise
an :class:`Outcome` (``holds``, ``expected``, ``observed``).

Example
-------
>>> from neurovar.pipeline.cells import make_cell, run_cell
>>> import pandas as pd
>>> rows = [run_cell(make_cell("dimension", {"model": "mlp", "widths": [3, k, 1], "activation": "x^2"}))
...         for k in (1, 2, 3)]
>>> v = evaluate(REGISTRY["alexander-hirschowitz"], pd.DataFrame(rows))
>>> len(v.supports), len(v.violates), len(v.not_applicable)
(3, 0, 0)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from math import comb
from pathlib import Path
from typing import Callable

import pandas as pd

from neurovar.pipeline.papers import ATTENTION_HYPERSURFACE, prop16_bound, rank_variety_dimension

from .analysis import _missing, declares, derive, edd_equals, model_of, rerun_command

KINDS = ("theorem", "conjecture")


@dataclass(frozen=True)
class Outcome:
    """The result of checking one applicable row."""

    holds: bool
    expected: str
    observed: str


@dataclass(frozen=True)
class Conjecture:
    """A statement checked on the rows of one computation.

    Attributes
    ----------
    name, statement, source : str
    computation : str
        The computation whose rows it reads (``dimension``, ``fiber``, ...).
    kind : str
        ``theorem`` (a violation is a probable bug) or ``conjecture`` (a
        violation is a candidate counterexample).
    check : callable
        ``check(row: dict) -> Outcome | str | None`` (a string or None: not applicable, with the reason).
    threshold : dict, optional
        Arguments of :func:`catalog.analysis.thresholds` (``along``, ``by``,
        ``predicate``) for the report's thresholds table.
    notes : str
        Known exceptions and why they are excluded.
    """

    name: str
    statement: str
    source: str
    computation: str
    kind: str
    check: Callable[[dict], "Outcome | str | None"] = field(compare=False)
    threshold: dict | None = field(default=None, compare=False)
    notes: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")


@dataclass
class Verdict:
    """The rows of a catalog split by one entry of the registry."""

    conjecture: Conjecture
    supports: pd.DataFrame
    violates: pd.DataFrame
    not_applicable: pd.DataFrame

    @property
    def counts(self) -> dict[str, int]:
        return {"supports": len(self.supports), "violates": len(self.violates),
                "not_applicable": len(self.not_applicable)}

    @property
    def status(self) -> str:
        """``violated`` (a theorem: probable bug), ``counterexample`` (a conjecture), ``supported``, ``no data``."""
        if len(self.violates):
            return "violated" if self.conjecture.kind == "theorem" else "counterexample"
        return "supported" if len(self.supports) else "no data"

    def violations(self) -> list[dict]:
        """One report per violating row: its key, what was expected and observed, and how to reproduce it."""
        out = []
        theorem = self.conjecture.kind == "theorem"
        for _, row in self.violates.iterrows():
            rec = row.to_dict()
            item = {
                "cell_key": rec.get("cell_key"),
                "expected": rec.get("_expected"),
                "observed": rec.get("_observed"),
                "meaning": ("probable bug in the computation (a theorem is violated)" if theorem
                            else "candidate counterexample"),
                "rerun": _safe_rerun(rec),
            }
            cert = _certificate(rec)
            if cert is not None:
                item["certificate"] = cert
            out.append(item)
        return out


REGISTRY: dict[str, Conjecture] = {}


def register(c: Conjecture) -> Conjecture:
    """Add an entry to the registry (names are unique)."""
    if c.name in REGISTRY:
        raise ValueError(f"an entry named {c.name!r} is already registered")
    REGISTRY[c.name] = c
    return c


def _safe_rerun(rec: dict) -> str | None:
    try:
        return rerun_command(rec)
    except Exception:  # a row of an unknown computation or model
        return None


def _certificate(rec: dict):
    for col in ("certificate", "certificates", "kernel_basis"):
        v = rec.get(col)
        if v is not None and not (isinstance(v, float) and pd.isna(v)) and v != {} and v != []:
            return v
    return None


def evaluate(c: Conjecture, df: pd.DataFrame) -> Verdict:
    """Split the rows of ``df`` (one computation's catalog) by the entry ``c``.

    Rows whose status is not ``ok`` are not applicable. The three frames carry
    the original columns plus ``_expected``, ``_observed`` (applicable rows)
    and ``_reason`` (not applicable rows).
    """
    d = derive(df) if len(df) else df.copy()
    sup, vio, na = [], [], []
    for idx, row in d.iterrows():
        rec = row.to_dict()
        if rec.get("status", "ok") != "ok":
            na.append((idx, None, None, f"status {rec.get('status')}"))
            continue
        if "computation" in rec and rec["computation"] != c.computation:
            na.append((idx, None, None, f"computation {rec['computation']}"))
            continue
        try:
            res = c.check(rec)
        except (KeyError, TypeError, ValueError) as e:  # a row without the needed columns
            res = f"cannot be checked: {type(e).__name__}: {e}"
        if isinstance(res, Outcome):
            (sup if res.holds else vio).append((idx, res.expected, res.observed, None))
        else:
            na.append((idx, None, None, res or "outside the statement"))

    def frame(items):
        if not items:
            f = d.iloc[0:0].copy()
            for col in ("_expected", "_observed", "_reason"):
                f[col] = pd.Series(dtype=object)
            return f
        f = d.loc[[i for i, *_ in items]].copy()
        f["_expected"] = [e for _, e, _, _ in items]
        f["_observed"] = [o for _, _, o, _ in items]
        f["_reason"] = [r for *_, r in items]
        return f

    return Verdict(c, frame(sup), frame(vio), frame(na))


def check_catalog(root: str | Path = "results", names: list[str] | None = None) -> list[Verdict]:
    """Evaluate every registry entry (or ``names``) on the catalog under ``root``.

    Entries whose computation is not registered in this installation are skipped;
    a computation with no rows gives a verdict with all counts zero.
    """
    from neurovar.pipeline.compute import computations

    from . import store

    root = Path(root)
    if not root.is_dir():
        from neurovar.pipeline.errors import SpecError

        raise SpecError("--results", f"no catalog at {root}: run a grid first (neurovar run grids/quickstart.yaml)")
    entries = [REGISTRY[n] for n in names] if names else list(REGISTRY.values())
    cache: dict[str, pd.DataFrame] = {}
    out = []
    for c in entries:
        if c.computation not in computations():
            continue
        if c.computation not in cache:
            cache[c.computation] = store.load(c.computation, root)
        out.append(evaluate(c, cache[c.computation]))
    return out


# =========================================================================== helpers
def _get(row: dict, key: str, default=None):
    v = row.get(key, default)
    if isinstance(v, (list, tuple, dict)):
        return v
    if hasattr(v, "tolist") and not hasattr(v, "item"):  # a numpy array (list column)
        return v.tolist()
    if _missing(v):
        return default
    return v.item() if hasattr(v, "item") else v


def _widths(row) -> list[int] | None:
    w = row.get("widths")
    if isinstance(w, (list, tuple)) or hasattr(w, "tolist"):
        return [int(x) for x in list(w)]
    return None


def _is_monomial_mlp(row) -> str | tuple[list[int], int]:
    """``(widths, r)`` for a dense layered network without bias and activation ``x^r`` (r >= 2), else the
    reason it is not (the model's declared ``dense_layered``, not its name)."""
    if not declares(row, "dense_layered"):
        return f"model {row.get('model')} is not a dense layered network"
    if row.get("activation_kind") != "monomial":
        return f"activation {row.get('activation')} is not x^r with r >= 2"
    if bool(_get(row, "bias", False)):
        return "affine layers (bias)"
    w = _widths(row)
    if w is None:
        return "no widths"
    return w, int(row["r"])


# =========================================================================== dimension
def ah_dimension(n: int, k: int, d: int) -> int:
    """Dimension of the ``k``-th secant of the Veronese ``v_d(P^{n-1})`` (affine cone), by Alexander--Hirschowitz.

    ``min(k n, binom(n+d-1, d))`` except ``d = 2, 2 <= k <= n-1``
    (``k n - binom(k, 2)``) and ``(n, d, k)`` in ``{(3,4,5), (4,4,9), (5,4,14), (5,3,7)}``
    (one less).

    >>> ah_dimension(3, 5, 4), ah_dimension(3, 4, 4), ah_dimension(4, 2, 2), ah_dimension(5, 7, 3)
    (14, 12, 7, 34)
    """
    if d < 2:
        raise ValueError("Alexander-Hirschowitz is about degree d >= 2")
    generic = min(k * n, comb(n + d - 1, d))
    if d == 2 and 2 <= k <= n - 1:
        return k * n - comb(k, 2)
    if (n, d, k) in AH_SPORADIC:
        return generic - 1
    return generic


#: The sporadic defective cases ``(n, d, k)`` of Alexander--Hirschowitz (defect 1).
AH_SPORADIC = frozenset({(3, 4, 5), (4, 4, 9), (5, 4, 14), (5, 3, 7)})


def ah_exceptional(n: int, k: int, d: int) -> bool:
    """Whether ``(n, k, 1)`` with ``x^d`` is one of the theorem's defective cases.

    >>> [ah_exceptional(*c) for c in [(3, 5, 4), (4, 3, 2), (4, 4, 2), (5, 7, 3), (5, 7, 4)]]
    [True, True, False, True, False]
    """
    return (d == 2 and 2 <= k <= n - 1) or (n, d, k) in AH_SPORADIC


def _check_ah(row):
    m = _is_monomial_mlp(row)
    if isinstance(m, str):
        return m
    w, d = m
    if len(w) != 3 or w[-1] != 1:
        return f"widths {w} are not (n, k, 1)"
    n, k = w[0], w[1]
    exp = ah_dimension(n, k, d)
    dim = int(row["dimension"])
    return Outcome(dim == exp, f"dim {exp}" + (" (exceptional)" if ah_exceptional(n, k, d) else ""), f"dim {dim}")


register(Conjecture(
    name="alexander-hirschowitz",
    statement=("For the shallow network (n, k, 1) with s = x^d (d >= 2, no bias) the neurovariety is the k-th "
               "secant of the Veronese variety v_d(P^(n-1)) and dim = min(k n, binom(n+d-1, d)), except "
               "d = 2 with 2 <= k <= n-1 (dim = k n - binom(k, 2)) and (n, d, k) in {(3,4,5), (4,4,9), "
               "(5,4,14), (5,3,7)} (defect 1)."),
    source=("J. Alexander, A. Hirschowitz, Polynomial interpolation in several variables, J. Algebraic Geom. 4 "
            "(1995); for neurovarieties: Kileel-Trager-Bruna, NeurIPS 2019 (shallow case) and Massarenti-Mella, "
            "arXiv:2511.19703"),
    computation="dimension",
    kind="theorem",
    check=_check_ah,
    threshold={"along": "r", "by": ["input_dim", "hidden"], "predicate": "non_defective"},
))


def _check_linear(row):
    model = row.get("model")
    w = _widths(row)
    if w is None:
        return "no widths"
    if not declares(row, "dense_layered"):
        return f"model {model} is not a dense layered network"
    if not (declares(row, "fixed_activation") == "x" or row.get("activation_kind") == "linear" or len(w) == 2):
        return f"model {model} with activation {row.get('activation')} is not linear"
    q = min(w)
    exp = rank_variety_dimension(w, bool(_get(row, "bias", False)))
    dim = int(row["dimension"])
    return Outcome(dim == exp, f"dim {exp} (q = {q})", f"dim {dim}")


register(Conjecture(
    name="linear-rank-variety",
    statement=("A linear network W_L ... W_1 with widths (d0, ..., dL) parameterizes the dL x d0 matrices of "
               "rank <= q = min(d_i), of dimension q (d0 + dL - q); with biases the constant term W_L...b + b_L "
               "is free, adding dL."),
    source=("Trager-Kohn-Bruna, Pure and spurious critical points: a geometric study of linear networks, ICLR 2020, "
            "Sec. 3; Bruns-Vetter, Determinantal rings, Prop. 1.1"),
    computation="dimension",
    kind="theorem",
    check=_check_linear,
))


def ktb_expected_dimension(widths, r: int) -> int:
    """``min(d_L + sum_{i<L} (d_i - 1) d_{i+1}, d_L binom(d_0 + r^(L-1) - 1, r^(L-1)))`` (KTB 2019, Def. 9 / Sec. 3).

    >>> ktb_expected_dimension([3, 5, 5, 1], 3), ktb_expected_dimension([2, 2, 1], 3)
    (35, 4)
    """
    L = len(widths) - 1
    params = widths[-1] + sum((widths[i] - 1) * widths[i + 1] for i in range(L))
    D = r ** (L - 1)
    return min(params, widths[-1] * comb(widths[0] + D - 1, D))


def _check_ktb(row):
    m = _is_monomial_mlp(row)
    if isinstance(m, str):
        return m
    w, r = m
    if len(w) - 1 < 3:
        return "depth <= 2 (shallow networks: the Alexander-Hirschowitz theorem)"
    if r == 2:
        return "r = 2 (quadratic networks have extra symmetries: known defective, see notes)"
    if min(w[1:-1]) == 1:
        return "a width-one bottleneck"
    exp = ktb_expected_dimension(w, r)
    dim = int(row["dimension"])
    return Outcome(dim == exp, f"dim {exp}", f"dim {dim}")


register(Conjecture(
    name="ktb-expected-dimension",
    statement=("A deep monomial network (depth L >= 3, s = x^r, no bias, hidden widths >= 2) has the expected "
               "dimension min(d_L + sum_{i<L} (d_i - 1) d_{i+1}, d_L binom(d_0 + r^(L-1) - 1, r^(L-1))), "
               "checked here for every r >= 3."),
    source=("Kileel-Trager-Bruna, On the expressive power of deep polynomial neural networks, NeurIPS 2019 "
            "(expected dimension, Sec. 3; proven for r above an activation threshold by Finkel-Rodriguez-Wu-Yahl, "
            "Activation degree thresholds and expressiveness of polynomial neural networks, 2024/25)"),
    computation="dimension",
    kind="conjecture",
    check=_check_ktb,
    threshold={"along": "r", "by": ["widths"], "predicate": "non_defective"},
    notes=("Proven only above an activation threshold whose value is not encoded here, so every row is checked "
           "as a conjecture. Excluded: r = 2, where sigma(W1 x) enters only through the quadratic forms "
           "x^T W1^T diag(v) W1 x, whose stabilizers are symmetries the parameter count ignores (already the "
           "shallow case is defective, Alexander-Hirschowitz d = 2; e.g. (3, 3, 3, 1) with x^2 has dim 12 < 15); "
           "width-one bottlenecks, where every later neuron is a polynomial in one scalar (FRWY exclude them); "
           "depth 2, which is the Alexander-Hirschowitz theorem."),
))


# =========================================================================== fiber
def identifiability_degree_bound(widths) -> int:
    """The ``r`` above which Prop. 16 forces identifiability: ``prop16_bound(2 max hidden width)``.

    Two parameters with the same function give, in each output, ``sum a_i p_i^r = sum b_j q_j^r``
    with at most ``2 d_i`` powers of pairwise non-proportional polynomials (after merging
    proportional pairs); Prop. 16 makes them independent once ``r > prop16_bound(2 d_i)``,
    so the neurons agree up to permutation and scaling, layer by layer.

    >>> identifiability_degree_bound([2, 2, 1]), identifiability_degree_bound([3, 1, 1])
    (37, 1)
    """
    return prop16_bound(2 * max(widths[1:-1]))


def _fiber_outcome(row, known: str) -> Outcome | str:
    """Whether a fiber row shows only the known symmetries (``known`` names them)."""
    oks = _get(row, "only_known_symmetries")
    if oks is None:
        return "the fiber count is unknown for this gauge"
    return Outcome(bool(oks), f"{_get(row, 'expected_fiber_points')} points ({known})",
                   f"{_get(row, 'fiber_points')} points, fiber dim {_get(row, 'fiber_dimension')}")


def _check_identifiability_monomial(row):
    m = _is_monomial_mlp(row)
    if isinstance(m, str):
        return m
    w, r = m
    if len(w) < 3:
        return "no hidden layer"
    if min(w[:-2]) < 2:
        return "a layer of width 1 before the last hidden layer (its successors are proportional)"
    bound = identifiability_degree_bound(w)
    if r <= bound:
        return f"r = {r} <= {bound}: below the proven range"
    return _fiber_outcome(row, "permutations and scalings")


register(Conjecture(
    name="identifiability-monomial",
    statement=("For s = x^r with r large, the generic fiber of theta -> f_theta of an MLP (no bias) is exactly "
               "the permutations and scalings of hidden neurons. Checked for r > 6(2m-1)^2 - 6(2m-1) + 1, "
               "m the largest hidden width, and d_0, ..., d_(L-2) >= 2."),
    source=("Finkel-Rodriguez-Wu-Yahl, Activation degree thresholds and expressiveness of polynomial neural "
            "networks (2024/25), via their Prop. 16; talk slide 'Identifiability'"),
    computation="fiber",
    kind="theorem",
    check=_check_identifiability_monomial,
    threshold={"along": "r", "by": ["widths"], "predicate": "identifiable"},
    notes=("The applicability bound is derived from Prop. 16 (see identifiability_degree_bound); below it the "
           "statement is not proven and such rows are not applicable. d_0 = 1 makes every neuron a multiple of "
           "a power of x, and a width-one hidden layer followed by another makes its successors proportional: "
           "both are excluded."),
))


def _check_identifiability_generic(row):
    if not declares(row, "dense_layered"):
        return f"model {row.get('model')} is not a dense layered network"
    if row.get("activation_kind") != "generic":
        return f"activation {row.get('activation')} is not generic:r"
    if bool(_get(row, "bias", False)):
        return "affine layers (bias)"
    w = _widths(row)
    if w is None or len(w) < 3:
        return "no hidden layer"
    if w[0] < 2:
        return "one input variable"
    model = model_of(row)
    if model is None:
        return "the row's model cannot be rebuilt"
    nparams, amb = model.num_params, model.ambient_dimension
    if nparams > amb:
        return f"{nparams} parameters > dim V = {amb}: r is too small for finite fibers"
    return _fiber_outcome(row, "permutations only")


register(Conjecture(
    name="identifiability-generic",
    statement=("For a generic activation s of degree r (large), the generic fiber of an MLP consists only of "
               "the permutations of hidden neurons (prod d_i! points). Checked wherever #params <= dim V."),
    source="Talk 'algebraic neural network theory', slide 'Identifiability' (Conjecture, generic sigma)",
    computation="fiber",
    kind="conjecture",
    check=_check_identifiability_generic,
    threshold={"along": "r", "by": ["widths"], "predicate": "identifiable"},
    notes=("The conjecture is asymptotic in r and names no threshold; rows with more parameters than dim V "
           "cannot have finite fibers and are not applicable. A violation at small r may only say that the "
           "threshold lies above that r."),
))


# =========================================================================== independence
def _check_prop16(row, generic: bool):
    act = row.get("activation")
    kind = row.get("activation_kind")
    if generic and kind != "generic":
        return f"activation {act} is not generic:r"
    if not generic and kind not in ("monomial", "linear"):
        return f"activation {act} is not x^r"
    k, r = int(row["k"]), int(row["r"])
    bound = prop16_bound(k)
    if r <= bound:
        return f"r = {r} <= {bound}"
    ind = _get(row, "independent")
    if ind is None:
        return "no answer"
    return Outcome(bool(ind), f"independent (r = {r} > {bound})",
                   "independent" if ind else f"dependent, rank {_get(row, 'rank')}")


def _check_prop16_threshold(row, generic: bool):
    kind = row.get("activation_kind")
    if kind != ("generic" if generic else "monomial"):
        return f"activation_kind {kind}"
    k, max_r = int(row["k"]), int(row["max_r"])
    bound = prop16_bound(k)
    if max_r <= bound:
        return f"max_r = {max_r} <= {bound}: no r above the bound was tested"
    dep = [int(x) for x in (_get(row, "dependent_r") or [])]
    above = [r for r in dep if r > bound]
    return Outcome(not above, f"no dependence for r > {bound}",
                   f"dependent at r = {above}" if above else f"dependent r: {dep}")


for _generic, _suffix, _kind in ((False, "", "theorem"), (True, "-generic", "conjecture")):
    _src = ("Finkel-Rodriguez-Wu-Yahl, Activation degree thresholds and expressiveness of polynomial neural "
            "networks, Prop. 16" if not _generic else
            "Talk 'algebraic neural network theory', slide 'Identifiability' (Conjecture: generic sigma)")
    _stmt = ("Pairwise non-proportional p_1, ..., p_k have linearly independent powers p_1^r, ..., p_k^r once "
             "r > 6(k-1)^2 - 6(k-1) + 1." if not _generic else
             "For generic s of degree r >= r~(k) and non-constant, pairwise distinct p_1, ..., p_k, the "
             "s(p_1), ..., s(p_k) are linearly independent; checked with Prop. 16's bound as the candidate r~(k).")
    _notes = ("" if not _generic else
              "The conjecture names no threshold: a violation means the generic threshold exceeds Prop. 16's "
              "bound (a counterexample to that quantitative form), and comes with its rational certificate.")
    register(Conjecture(
        name=f"prop16{_suffix}", statement=_stmt, source=_src, computation="independence", kind=_kind,
        check=(lambda row, g=_generic: _check_prop16(row, g)),
        threshold={"along": "r", "by": ["polys", "family"], "predicate": "independent"}, notes=_notes,
    ))
    register(Conjecture(
        name=f"prop16{_suffix}-threshold", statement=_stmt + " (thresholds over r = 1..max_r, tuple or family shard)",
        source=_src, computation="independence-threshold", kind=_kind,
        check=(lambda row, g=_generic: _check_prop16_threshold(row, g)), notes=_notes,
    ))


# =========================================================================== ED degree
#: psd Q with kernel dimension k: (isolated points, dimensions of the positive-dimensional parts).
EDD_PSD_TABLE = {0: (14, []), 1: (14, []), 2: (4, [1]), 3: (0, [2]), 4: (0, [3]), 5: (0, [4])}
#: data Q = A^T A of |S| generic inputs (t = 2 tokens): (isolated points, dimensions); None = none isolated.
EDD_DATA_TABLE = {3: (14, []), 2: (None, [1, 1]), 1: (0, [3])}
_EDD_DATA_WORDS = {3: "14 points", 2: "a curve and two lines", 1: "a 3-dimensional subvariety"}
_EDD_PSD_WORDS = {0: "14 points", 1: "14 points", 2: "4 points + a curve", 3: "a surface",
                  4: "a 3-dimensional subvariety", 5: "a 4-dimensional subvariety"}


def _canonical(poly) -> frozenset:
    """A polynomial as its set of (named monomial, coefficient) terms: independent of variable order."""
    names = poly.context().names()
    return frozenset((tuple(sorted((names[i], int(e)) for i, e in enumerate(exps) if e)), str(c))
                     for exps, c in poly.to_dict().items())


def _normal(text: str) -> frozenset | None:
    try:
        from neurovar.pipeline.algebra.parser import parse_system

        _, polys = parse_system(text)
        return frozenset(_canonical(p) for p in polys) if len(polys) > 1 else _canonical(polys[0])
    except Exception:
        return None


_ATT_NORMAL = None


def _on_attention_hypersurface(row, need_model: bool = False) -> str | None:
    """None when the row's variety is the attention quartic (d = 2, d' = 1), else the reason it is not."""
    global _ATT_NORMAL
    model = row.get("model")
    if isinstance(model, str) and model:
        # the model's own declared implicit equations, compared with the hypersurface (no model names)
        m = model_of(row)
        if m is None:
            return f"model {model} cannot be rebuilt from the row"
        try:
            known = m.implicit_equations(m.coordinate_names())
        except Exception as e:  # the model refuses (e.g. attention with n < d or t < 2)
            return f"model {model}: {getattr(e, 'message', e)}"
        if known is None or len(known[0]) != 1:
            return f"model {model}: its variety is not the attention hypersurface (d = 2, d' = 1)"
        if _ATT_NORMAL is None:
            _ATT_NORMAL = _normal(ATTENTION_HYPERSURFACE)
        return None if _canonical(known[0][0]) == _ATT_NORMAL else \
            f"model {model}: its variety is not the attention hypersurface (d = 2, d' = 1)"
    if need_model:
        return "implicit equations (data weights need the attention model)"
    eq = _get(row, "equations")
    if not isinstance(eq, str):
        return "no variety"
    if _ATT_NORMAL is None:
        _ATT_NORMAL = _normal(ATTENTION_HYPERSURFACE)
    return None if _normal(eq) == _ATT_NORMAL else "equations are not the attention hypersurface"


def _parts(row) -> list[dict]:
    p = _get(row, "positive_dimensional")
    if isinstance(p, str):
        p = json.loads(p)
    return list(p or [])


def _shape(row) -> tuple:
    parts = _parts(row)
    return _get(row, "edd"), sorted(p.get("dimension") for p in parts if p.get("dimension") is not None), parts


def _describe(edd, dims) -> str:
    pts = "no isolated points" if edd in (None, 0) else f"{edd} points"
    return pts + (f" + parts of dimension {dims}" if dims else "")


def _check_edd_table(row, edd_exp, dims_exp, words) -> Outcome | str:
    edd, dims, parts = _shape(row)
    if any(p.get("dimension") is None for p in parts):
        return "the method does not report the dimensions of positive-dimensional parts"
    if edd_exp in (None, 0):
        ok_pts = edd in (None, 0)
    else:
        ok_pts = edd == edd_exp
    return Outcome(ok_pts and dims == sorted(dims_exp), f"{words}: {_describe(edd_exp, dims_exp)}",
                   _describe(edd, dims))


def _check_edd_generic(row):
    why = _on_attention_hypersurface(row)
    if why:
        return why
    w = _get(row, "weights")
    if w not in ("generic", "psd:0"):
        return f"weights {w} (the statement is for generic positive definite Q)"
    edd, dims, parts = _shape(row)
    return Outcome(edd == 14 and not parts, "EDD 14", _describe(edd, dims))


def _check_edd_psd(row):
    why = _on_attention_hypersurface(row)
    if why:
        return why
    k = _get(row, "psd_kernel")
    if k is None or int(k) not in EDD_PSD_TABLE:
        return f"weights {_get(row, 'weights')} are not psd:k with k <= 5"
    e, dims = EDD_PSD_TABLE[int(k)]
    return _check_edd_table(row, e, dims, _EDD_PSD_WORDS[int(k)])


def _check_edd_data(row):
    why = _on_attention_hypersurface(row, need_model=True)
    if why:
        return why
    if _get(row, "t") != 2:
        return f"t = {_get(row, 't')} (the table is for t = 2 tokens)"
    s = _get(row, "data_size")
    if s is None:
        return f"weights {_get(row, 'weights')} are not data weights"
    key = min(int(s), 3)
    e, dims = EDD_DATA_TABLE[key]
    outcome = _check_edd_table(row, e, dims, _EDD_DATA_WORDS[key])
    if key == 2 and isinstance(outcome, Outcome) and outcome.holds:
        # "a curve and two lines": the two 1-dimensional parts are an irreducible curve and a pair of lines
        _, _, parts = _shape(row)
        if any(p.get("lines") is None and p.get("components_over_C") is None for p in parts):
            return "the decomposition of the curves over C is not reported"
        lines = sorted(int(p.get("lines") or 0) for p in parts)
        irreducible = sum(1 for p in parts if p.get("components_over_C") == 1 and not p.get("lines"))
        return Outcome(lines == [0, 2] and irreducible == 1, "an irreducible curve and two lines",
                       f"curves with {lines} lines, {irreducible} irreducible")
    return outcome


_EDD_SOURCE = "Talk 'algebraic neural network theory', slides 'Lightning Self-Attention'"
register(Conjecture(
    name="edd-attention-generic",
    statement=("The attention hypersurface (d = 2, d' = 1; the quartic in y1..y6) has ED degree 14 for almost "
               "every positive definite Q."),
    source=_EDD_SOURCE + " ('For almost all PD matrices Q, EDD_Q(M) = 14')",
    computation="edd", kind="theorem", check=_check_edd_generic,
))
register(Conjecture(
    name="edd-attention-psd",
    statement=("For a general psd Q with kernel dimension k the complex critical set on the attention "
               "hypersurface is: k=0,1: 14 points; k=2: 4 points + a curve; k=3: a surface; k=4: a "
               "3-dimensional subvariety; k=5: a 4-dimensional subvariety."),
    source=_EDD_SOURCE + " ('What happens if Q becomes degenerate?', table over k = dim ker Q)",
    computation="edd", kind="theorem", check=_check_edd_psd,
    threshold={"along": "psd_kernel", "by": ["model", "equations"], "predicate": edd_equals(14)},
))
register(Conjecture(
    name="edd-attention-data",
    statement=("For Q = A^T A from a general dataset S (attention, d = 2, d' = 1, t = 2): |S| >= 3: 14 points; "
               "|S| = 2: a curve and two lines; |S| = 1: a 3-dimensional subvariety."),
    source=_EDD_SOURCE + " (table 'Q from MSE loss with general dataset S')",
    computation="edd", kind="theorem", check=_check_edd_data,
    threshold={"along": "data_size", "by": ["model", "d", "d_out", "t"], "predicate": edd_equals(14)},
))


__all__ = [
    "AH_SPORADIC", "Conjecture", "Outcome", "REGISTRY", "Verdict", "ah_dimension", "ah_exceptional",
    "check_catalog", "evaluate", "identifiability_degree_bound", "ktb_expected_dimension", "prop16_bound",
    "register",
]
