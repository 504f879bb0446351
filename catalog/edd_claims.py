"""Registry entries about ED degrees: the attention quartic's tables over weights and datasets."""

from __future__ import annotations

import json

from neurovar.pipeline.papers import ATTENTION_HYPERSURFACE

from .analysis import edd_equals, model_of
from .registry import Conjecture, Outcome, _get, register


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


__all__ = ["EDD_DATA_TABLE", "EDD_PSD_TABLE"]
