"""Compare a claim's published value with the catalog rows of its cells.

:func:`compare_claim` takes a :class:`~catalog.literature.Claim`, its cells and the catalog
rows by ``cell_key`` and returns a :class:`ClaimResult`: ``reproduced``, ``differs`` (with the
computed and published values, the cell key and the command that recomputes the cell) or
``unreached`` (a cell that timed out, failed, is missing, or gave only a lower bound, with the
reason and what would reach it).

Example
-------
>>> from neurovar.catalog.literature import load_registry, claim_cells
>>> from neurovar.pipeline.cells import run_cell
>>> claim = next(c for c in load_registry()["alexander-hirschowitz"].claims if c.id == "ah-sporadic-p2-quartics")
>>> cells = claim_cells(claim)
>>> rows = {c.key: run_cell(c) for c in cells}
>>> r = compare_claim(claim, cells, rows)
>>> r.status, r.computed
('reproduced', '14')
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neurovar.pipeline.record import plain

from . import Claim, _text, row_names, safe_eval

DEFAULT_REACH = ("a longer time limit: raise the claim's timeout_s (or pass --timeout) and rerun "
                 "`neurovar reproduce --retry-failed`; or a machine with more memory for msolve")


@dataclass
class CellOutcome:
    cell_key: str
    status: str  # match | mismatch | unreached
    computed: str
    expected: str
    reason: str | None = None
    rerun: str | None = None
    computation: str | None = None

    @property
    def show(self) -> str:
        """The command that prints this cell's catalog row."""
        return f"neurovar catalog show {self.computation} --where 'cell_key=\"{self.cell_key}\"'"


@dataclass
class ClaimResult:
    claim: Claim
    status: str
    computed: str
    published: str
    cells: list[CellOutcome] = field(default_factory=list)
    reason: str | None = None
    reach: str | None = None

    @property
    def first_bad(self) -> CellOutcome | None:
        for c in self.cells:
            if c.status != "match":
                return c
        return None

    def as_dict(self) -> dict:
        c = self.claim
        bad = self.first_bad
        return {"paper": c.paper, "id": c.id, "place": c.place, "claim": c.claim, "source": c.source,
                "status": self.status, "computed": self.computed, "published": self.published,
                "cells": len(self.cells), "reason": self.reason, "reach": self.reach,
                "cell_key": bad.cell_key if bad else (self.cells[0].cell_key if self.cells else None),
                "rerun": bad.rerun if bad else None}


def _rerun(row: dict) -> str | None:
    try:
        from neurovar.catalog.analysis import rerun_command

        return rerun_command(row)
    except Exception:
        return None


def _equal(a, b) -> bool:
    a, b = plain(a, integral_floats=True), plain(b, integral_floats=True)
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


def _lower_bound_reason(row: dict, output: str | None) -> str | None:
    """Why a finished row gives no exact value for ``output`` (a lower bound, a positive-dimensional fiber)."""
    method = row.get("method")
    if isinstance(method, str) and "lower-bound" in method:
        return f"method {method}: only a lower bound ({row.get('edd_numerical') or row.get('fiber_points_numerical')})"
    if output is not None and row.get(output) is None:
        return f"the cell finished without a value for {output!r}"
    return None


def compare_row(claim: Claim, row: dict) -> CellOutcome:
    """One cell's comparison."""
    key = row.get("cell_key", "")
    rerun = _rerun(row)
    status = row.get("status")
    if status != "ok":
        err = (row.get("error") or "").strip().splitlines()
        return CellOutcome(key, "unreached", "", "", f"status {status}" + (f": {err[0][:160]}" if err else ""), rerun)
    names = row_names(row)
    try:
        if claim.compare == "equal" and isinstance(claim.published, dict):
            got = {k: names.get(k) for k in claim.published}
            if any(v is None for k, v in got.items() if claim.published[k] is not None):
                why = _lower_bound_reason(row, next(k for k, v in got.items() if v is None))
                return CellOutcome(key, "unreached", _text(got), _text(claim.published), why, rerun)
            ok = all(_equal(got[k], v) for k, v in claim.published.items())
            computed, expected = _text({k: plain(v, integral_floats=True) for k, v in got.items()}), _text(claim.published)
        else:
            value = names.get(claim.output)
            if value is None:
                return CellOutcome(key, "unreached", "", claim.published_text(),
                                   _lower_bound_reason(row, claim.output), rerun)
            if claim.compare == "equal":
                target = claim.published
                ok = _equal(value, target)
            elif claim.compare == "formula":
                target = safe_eval(claim.formula, names)
                ok = _equal(value, target)
            else:
                target = safe_eval(claim.formula, names) if claim.formula else claim.published
                ok = value <= target if claim.compare == "at_most" else value >= target
                target = f"{'<=' if claim.compare == 'at_most' else '>='} {target}"
            computed, expected = _text(plain(value, integral_floats=True)), _text(target)
    except (KeyError, TypeError, ValueError) as e:
        return CellOutcome(key, "mismatch", "", claim.published_text(), f"cannot compare: {e}", rerun)
    if ok and claim.check:
        from neurovar.catalog.conjectures import REGISTRY, Outcome

        import pandas as pd

        from neurovar.catalog.analysis import derive

        res = REGISTRY[claim.check].check(derive(pd.DataFrame([row])).iloc[0].to_dict())
        if isinstance(res, Outcome) and not res.holds:
            return CellOutcome(key, "mismatch", res.observed, res.expected, f"registry check {claim.check} fails",
                               rerun)
        if not isinstance(res, Outcome):
            return CellOutcome(key, "mismatch", computed, expected,
                               f"registry check {claim.check} does not apply: {res}", rerun)
    return CellOutcome(key, "match" if ok else "mismatch", computed, expected, None, rerun)


def compare_claim(claim: Claim, cells, rows: dict[str, dict]) -> ClaimResult:
    """The claim's status from the rows of its cells (``rows``: catalog rows by cell key)."""
    outcomes = []
    for cell in cells:
        row = rows.get(cell.key)
        if row is None:
            outcomes.append(CellOutcome(cell.key, "unreached", "", claim.published_text(),
                                        "not in the catalog (the run was interrupted?)", None))
        else:
            outcomes.append(compare_row(claim, row))
        outcomes[-1].computation = cell.computation
    published = claim.published_text()
    mism = [o for o in outcomes if o.status == "mismatch"]
    unre = [o for o in outcomes if o.status == "unreached"]
    computed = ", ".join(dict.fromkeys(o.computed for o in outcomes if o.computed)) or "-"
    if mism:
        o = mism[0]
        return ClaimResult(claim, "differs", o.computed or computed, o.expected or published, outcomes,
                           o.reason or f"{len(mism)} of {len(outcomes)} cells differ")
    if unre or not outcomes:
        o = unre[0] if unre else None
        return ClaimResult(claim, "unreached", computed, published, outcomes,
                           o.reason if o else "the claim has no cells", claim.reach or DEFAULT_REACH)
    if claim.compare == "formula":
        published = f"{claim.formula} = " + ", ".join(dict.fromkeys(o.expected for o in outcomes))
    elif claim.formula:  # a bound given by a formula: show its values too
        published = f"{published} = " + ", ".join(dict.fromkeys(o.expected.split(" ", 1)[-1] for o in outcomes))
    return ClaimResult(claim, "reproduced", computed, published, outcomes)


__all__ = ["CellOutcome", "ClaimResult", "DEFAULT_REACH", "compare_claim", "compare_row"]
