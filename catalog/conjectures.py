"""Theorems and conjectures as code, checked against the catalog.

Each entry of :data:`REGISTRY` is a :class:`Conjecture`: a name, its statement,
its source (paper and number), the computation whose rows it reads, its kind
and a row check. :func:`evaluate` splits the rows of a catalog into
``supports``, ``violates``, ``outside`` (inside the statement's hypotheses but
outside its range, e.g. below a conjectured threshold), ``not_applicable`` and
``broken`` (the check raised: a bug in the check, never "no data").

Kinds:

``theorem``
    a published theorem; ``source`` is the citation. A violation is a probable
    bug in the computation (the report gives the cell's key and the command
    that recomputes it).
``derived``
    the project's own derivation from published results; ``proof`` holds the
    proof sketch. A violation is a bug in the computation or in the derivation.
``conjecture``
    a violation is a candidate counterexample (with the exact certificate when
    the row has one, e.g. the rational kernel vector of a linear dependence).

Adding an entry is one call to :func:`register`; its ``check(row)`` returns
``None`` or a reason string when the row is outside the statement's
hypotheses, an :class:`Outside` when the row lies outside the statement's range
(and why: e.g. a value of ``r`` below the threshold, with the proof that the
statement cannot hold there), otherwise an :class:`Outcome` (``holds``,
``expected``, ``observed``).

Example
-------
>>> from neurovar.pipeline.cells import make_cell, run_cell
>>> import pandas as pd
>>> rows = [run_cell(make_cell("dimension", {"model": "mlp", "widths": [3, k, 1], "activation": "x^2"}))
...         for k in (1, 2, 3)]
>>> v = evaluate(REGISTRY["alexander-hirschowitz"], pd.DataFrame(rows))
>>> len(v.supports), len(v.violates), len(v.not_applicable), len(v.broken)
(3, 0, 0, 0)
"""

from __future__ import annotations

from neurovar.pipeline.papers import ATTENTION_HYPERSURFACE, prop16_bound

from . import dimension_claims, fiber_claims, independence_claims, edd_claims, model_claims  # noqa: I001 - report order
from . import singularity_claims
from .dimension_claims import AH_SPORADIC, ah_dimension, ah_exceptional, ktb_expected_dimension
from .edd_claims import EDD_DATA_TABLE, EDD_PSD_TABLE
from .fiber_claims import identifiability_degree_bound
from .registry import REGISTRY, Conjecture, Outcome, Outside, Verdict, check_catalog, evaluate, register

#: The modules of entries, in the order of the report (each registers its entries on import).
ENTRY_MODULES = (dimension_claims, fiber_claims, independence_claims, edd_claims, model_claims, singularity_claims)

__all__ = [
    "AH_SPORADIC", "ATTENTION_HYPERSURFACE", "Conjecture", "ENTRY_MODULES", "EDD_DATA_TABLE", "EDD_PSD_TABLE", "Outcome", "Outside", "REGISTRY",
    "Verdict", "ah_dimension", "ah_exceptional", "check_catalog", "evaluate", "identifiability_degree_bound",
    "ktb_expected_dimension", "prop16_bound", "register",
]
