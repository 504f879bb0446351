"""Registry entries about linear independence of powers (Finkel--Rodriguez--Wu--Yahl, Prop. 16)."""

from __future__ import annotations

from neurovar.pipeline.papers import prop16_bound

from .registry import Conjecture, Outcome, _get, register


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


__all__ = []
