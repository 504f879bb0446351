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

KINDS = ("theorem", "derived", "conjecture")


@dataclass(frozen=True)
class Outcome:
    """The result of checking one applicable row."""

    holds: bool
    expected: str
    observed: str


@dataclass(frozen=True)
class Outside:
    """A row inside the statement's hypotheses but outside its range (not a counterexample).

    ``reason`` says why, e.g. that ``r`` lies below a conjectured threshold and
    what that tells about the threshold.
    """

    reason: str


@dataclass(frozen=True)
class Conjecture:
    """A statement checked on the rows of one computation.

    Attributes
    ----------
    name, statement, source : str
    computation : str
        The computation whose rows it reads (``dimension``, ``fiber``, ...).
    kind : str
        ``theorem`` (published; a violation is a probable bug), ``derived``
        (our own derivation, ``proof`` sketches it; a violation is a bug in
        the computation or the derivation) or ``conjecture`` (a violation is
        a candidate counterexample).
    check : callable
        ``check(row: dict) -> Outcome | Outside | str | None`` (a string or None: not applicable, with the reason).
    threshold : dict, optional
        Arguments of :func:`catalog.analysis.thresholds` (``along``, ``by``,
        ``predicate``) for the report's thresholds table.
    notes : str
        Known exceptions and why they are excluded.
    proof : str
        The proof sketch of a ``derived`` entry (required for that kind).
    """

    name: str
    statement: str
    source: str
    computation: str
    kind: str
    check: Callable[[dict], "Outcome | Outside | str | None"] = field(compare=False)
    threshold: dict | None = field(default=None, compare=False)
    notes: str = ""
    proof: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "theorem" and not self.source.strip():
            raise ValueError(f"{self.name}: a theorem needs its citation (source)")
        if self.kind == "derived" and not self.proof.strip():
            raise ValueError(f"{self.name}: a derived statement needs its proof sketch (proof)")


@dataclass
class Verdict:
    """The rows of a catalog split by one entry of the registry."""

    conjecture: Conjecture
    supports: pd.DataFrame
    violates: pd.DataFrame
    not_applicable: pd.DataFrame
    outside: pd.DataFrame = None
    broken: pd.DataFrame = None
    #: rows the catalog left out (stale rows), by reason
    ignored: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("outside", "broken"):
            if getattr(self, name) is None:
                setattr(self, name, self.not_applicable.iloc[0:0].copy())

    @property
    def counts(self) -> dict[str, int]:
        return {"supports": len(self.supports), "violates": len(self.violates), "outside": len(self.outside),
                "not_applicable": len(self.not_applicable), "broken": len(self.broken)}

    @property
    def status(self) -> str:
        """``broken`` (the check raised), ``violated`` (a theorem or derived statement: probable bug),
        ``counterexample`` (a conjecture), ``supported``, ``outside range`` (only rows outside the
        statement's range, e.g. below a threshold), ``no data``."""
        if len(self.broken):
            return "broken"
        if len(self.violates):
            return "counterexample" if self.conjecture.kind == "conjecture" else "violated"
        if len(self.supports):
            return "supported"
        return "outside range" if len(self.outside) else "no data"

    def outside_reasons(self) -> list[tuple[str, int]]:
        """The distinct reasons rows lie outside the statement's range, with their row counts."""
        if not len(self.outside):
            return []
        return list(self.outside["_reason"].value_counts().items())

    def violations(self) -> list[dict]:
        """One report per violating row: its key, what was expected and observed, and how to reproduce it."""
        out = []
        kind = self.conjecture.kind
        for _, row in self.violates.iterrows():
            rec = row.to_dict()
            item = {
                "cell_key": rec.get("cell_key"),
                "expected": rec.get("_expected"),
                "observed": rec.get("_observed"),
                "meaning": {"theorem": "probable bug in the computation (a theorem is violated)",
                            "derived": "a bug in the computation or in the derivation (a derived statement is violated)",
                            "conjecture": "candidate counterexample"}[kind],
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

    Rows whose status is not ``ok`` are not applicable. The frames carry the
    original columns plus ``_expected``, ``_observed`` (applicable rows) and
    ``_reason`` (rows outside the statement, outside its range, or on which
    the check raised: those are ``broken``, a bug in the check).
    """
    d = derive(df) if len(df) else df.copy()
    sup, vio, na, out, broken = [], [], [], [], []
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
        except Exception as e:  # noqa: BLE001 - a check that raises is broken, never "not applicable"
            broken.append((idx, None, None, f"the check raised {type(e).__name__}: {e}"))
            continue
        if isinstance(res, Outcome):
            (sup if res.holds else vio).append((idx, res.expected, res.observed, None))
        elif isinstance(res, Outside):
            out.append((idx, None, None, res.reason))
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

    return Verdict(c, frame(sup), frame(vio), frame(na), frame(out), frame(broken),
                   ignored=dict(getattr(df, "attrs", {}).get("ignored", {})))


def check_catalog(root: str | Path = "results", names: list[str] | None = None,
                  all_versions: bool = False) -> list[Verdict]:
    """Evaluate every registry entry (or ``names``) on the catalog under ``root``.

    Entries whose computation is not registered in this installation are skipped;
    a computation with no rows gives a verdict with all counts zero. Only rows
    of the current code are read unless ``all_versions`` (each verdict's
    ``ignored`` says how many were left out, and why).
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
            cache[c.computation] = store.load(c.computation, root, all_versions=all_versions)
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
    reason it is not (the model's declared architecture, ``dense_layered``, not its name)."""
    net = declares(row, "dense_layered")
    if net is None:
        return f"model {row.get('model')} is not a dense layered network"
    if row.get("activation_kind") != "monomial":
        return f"activation {row.get('activation')} is not x^r with r >= 2"
    if bool(_get(row, "bias", False)):
        return "affine layers (bias)"
    return list(net.widths), int(row["r"])


__all__ = ["Conjecture", "KINDS", "Outcome", "Outside", "REGISTRY", "Verdict", "check_catalog", "evaluate", "register"]
