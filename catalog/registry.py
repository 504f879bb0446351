"""The registry of theorems and conjectures: :class:`Conjecture`, :func:`register`, :func:`evaluate`.

The entries themselves live in ``catalog/*_claims.py`` and are collected by
:mod:`catalog.conjectures`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from .analysis import _missing, declares, derive, rerun_command

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


__all__ = ["Conjecture", "KINDS", "Outcome", "REGISTRY", "Verdict", "check_catalog", "evaluate", "register"]
