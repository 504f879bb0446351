"""Thresholds and derived columns over a loaded catalog (plain pandas in, pandas out).

A catalog row is one cell. The questions on the slides are about *thresholds*:
from which activation degree ``r`` is an architecture non-defective, filling,
identifiable, or are ``s(p_1), ..., s(p_k)`` independent? :func:`thresholds`
answers them for any boolean predicate, along any ordered column, per group;
:func:`derive` adds the columns those questions are phrased in (``r``,
``hidden``, ``input_dim``, ``dataset_size``, ...).

Everything here takes a DataFrame as returned by :func:`catalog.store.load`,
so it works from a notebook on a catalog written on another machine.

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"widths": [[3, 2, 1]] * 4, "activation": ["x^2", "x^3", "x^4", "x^5"],
...                    "defect": [1, 0, 0, 0], "status": "ok"})
>>> thresholds(derive(df), along="r", by=["hidden"], predicate=non_defective)[["hidden", "threshold"]]
   hidden  threshold
0       2          3
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from neurovar.pipeline.record import plain

Predicate = Callable[[pd.DataFrame], pd.Series]

_MONOMIAL = re.compile(r"^\s*x\s*(?:\^\s*(\d+))?\s*$")
_GENERIC = re.compile(r"^\s*generic\s*:\s*(\d+)\s*$")
_PSD = re.compile(r"^\s*psd\s*:\s*(\d+)\s*$")
_DATA = re.compile(r"^\s*data\s*(?::\s*(\d+))?\s*$")


# ----------------------------------------------------------------- activations
def activation_degree(text) -> int | None:
    """The degree ``r`` of an activation spelling: ``x^r``, ``generic:r`` or a polynomial in x.

    >>> [activation_degree(a) for a in ("x^3", "x", "generic:4", "x^3 + 2*x", None)]
    [3, 1, 4, 3, None]
    """
    if not isinstance(text, str) or not text.strip():
        return None
    m = _MONOMIAL.match(text)
    if m:
        return int(m.group(1) or 1)
    m = _GENERIC.match(text)
    if m:
        return int(m.group(1))
    try:
        from neurovar.pipeline.models.activation import Activation

        return Activation.parse(text).degree
    except ValueError:
        return None


def activation_kind(text) -> str | None:
    """``linear`` (``x``), ``monomial`` (``x^r``, r >= 2), ``generic`` (``generic:r``) or ``polynomial``.

    >>> [activation_kind(a) for a in ("x", "x^2", "generic:3", "x^2 + x")]
    ['linear', 'monomial', 'generic', 'polynomial']
    """
    if not isinstance(text, str) or not text.strip():
        return None
    m = _MONOMIAL.match(text)
    if m:
        return "linear" if int(m.group(1) or 1) == 1 else "monomial"
    if _GENERIC.match(text):
        return "generic"
    return "polynomial"


def model_class(row_or_name):
    """The registered model class of a row (or a model name), None for rows without a known model.

    >>> model_class("mlp").name, model_class(None)
    ('mlp', None)
    """
    from neurovar.pipeline.models import MODELS

    name = row_or_name.get("model") if isinstance(row_or_name, dict) else row_or_name
    return MODELS[name][1] if isinstance(name, str) and name in MODELS else None


def class_attribute(row_or_name, prop: str):
    """The class attribute ``prop`` of the row's model (``fixed_activation``, ...; False without a model)."""
    cls = model_class(row_or_name)
    return getattr(cls, prop, False) if cls is not None else False


def declares(row, kind):
    """The architecture of ``kind`` the row's model declares (:mod:`pipeline.models.structure`), else None.

    The catalog's checks ask the model rebuilt from the row (:func:`model_of`) for its declared
    structure instead of comparing model names; a row without a valid model, or whose model declares
    another architecture or none, gets None (no claim about it).

    >>> declares({"model": "mlp", "widths": [2, 3, 1], "activation": "x^2"}, "dense_layered").widths
    (2, 3, 1)
    >>> declares({"model": "cnn", "filters": [3, 2]}, "dense_layered"), declares({"model": None}, "convolutional")
    (None, None)
    """
    row = row.to_dict() if isinstance(row, pd.Series) else row
    m = model_of(row) if isinstance(row, dict) else None
    return m.declares(kind) if m is not None else None


def model_of(row):
    """The model a row was computed on, rebuilt from its columns (None if the row has none or is invalid)."""
    from neurovar.pipeline.models import MODELS

    cls = model_class(row)
    if cls is None:
        return None
    spec_cls = MODELS[row["model"]][0]
    fields = [("model", row["model"])]
    for k in spec_cls.model_fields:
        v = row.get(k)
        if k == "model" or _missing(v):
            continue
        v = v.tolist() if hasattr(v, "tolist") else v
        fields.append((k, tuple(v) if isinstance(v, list) else v))
    seed = 0 if _missing(row.get("seed")) else int(row["seed"])
    try:
        return _build(tuple(fields), seed)
    except TypeError:  # an unhashable column value: build without the cache
        return _build.__wrapped__(tuple(fields), seed)


@lru_cache(maxsize=4096)
def _build(fields: tuple, seed: int):
    """The model of ``fields`` (cached: a catalog repeats a few models over many rows), None if invalid."""
    from neurovar.pipeline.errors import SpecError
    from neurovar.pipeline.models import build_model

    try:
        return build_model({k: list(v) if isinstance(v, tuple) else v for k, v in fields}, seed=seed)
    except (SpecError, TypeError, ValueError):
        return None


def weights_kernel(text) -> int | None:
    """``k`` of ``psd:k`` weights (the kernel dimension of Q), else None.

    >>> weights_kernel("psd:2"), weights_kernel("generic")
    (2, None)
    """
    m = _PSD.match(text) if isinstance(text, str) else None
    return int(m.group(1)) if m else None


def weights_dataset_size(text, dataset_size=None) -> int | None:
    """``|S|`` of data weights (``data:N`` or ``data`` with ``dataset_size``), else None.

    >>> weights_dataset_size("data:3"), weights_dataset_size("data", 2), weights_dataset_size("psd:1")
    (3, 2, None)
    """
    m = _DATA.match(text) if isinstance(text, str) else None
    if not m:
        return None
    if m.group(1):
        return int(m.group(1))
    return None if _missing(dataset_size) else int(dataset_size)


def _missing(v) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _widths(v) -> list[int] | None:
    if isinstance(v, (list, tuple, np.ndarray)):
        return [int(x) for x in v]
    return None


# ----------------------------------------------------------------- derived columns
def derive(df: pd.DataFrame) -> pd.DataFrame:
    """Add the columns thresholds are phrased in; returns a copy.

    Added (when their sources exist; existing non-null values are kept):

    ``r``
        the activation degree, from ``activation`` (``x^r``, ``generic:r``, a polynomial);
    ``activation_kind``
        ``linear``, ``monomial``, ``generic`` or ``polynomial``;
    ``input_dim``, ``output_dim``, ``hidden_widths``, ``depth``
        from ``widths``;
    ``hidden``
        the common hidden width when all hidden widths are equal (else the largest);
    ``psd_kernel``, ``data_size``
        from ``weights`` (``psd:k``; ``data:N`` or ``data`` + ``dataset_size``).

    >>> import pandas as pd
    >>> d = derive(pd.DataFrame({"widths": [[3, 5, 5, 1]], "activation": ["generic:3"]}))
    >>> d[["r", "activation_kind", "input_dim", "hidden", "depth"]].to_dict("records")
    [{'r': 3, 'activation_kind': 'generic', 'input_dim': 3, 'hidden': 5, 'depth': 3}]
    """
    out = df.copy()
    n = len(out)
    if "activation" in out:
        r = out["activation"].map(activation_degree)
        if "r" in out:
            r = out["r"].where(out["r"].notna(), r)
        out["r"] = pd.array(r.tolist(), dtype="Int64") if n else pd.array([], dtype="Int64")
        out["activation_kind"] = out["activation"].map(activation_kind)
    elif "activation_kind" in out and "r" not in out:
        pass
    if "widths" in out:
        w = out["widths"].map(_widths)
        out["input_dim"] = pd.array([x[0] if x else None for x in w], dtype="Int64")
        out["output_dim"] = pd.array([x[-1] if x else None for x in w], dtype="Int64")
        out["hidden_widths"] = [x[1:-1] if x else None for x in w]
        out["hidden"] = pd.array([(max(x[1:-1]) if x and len(x) > 2 else None) for x in w], dtype="Int64")
        depth = pd.array([len(x) - 1 if x else None for x in w], dtype="Int64")
        if "depth" in out:
            out["depth"] = pd.array(
                [d if not _missing(d) else e for d, e in zip(out["depth"].tolist(), depth)], dtype="Int64"
            )
        else:
            out["depth"] = depth
    if "weights" in out:
        out["psd_kernel"] = pd.array(out["weights"].map(weights_kernel).tolist(), dtype="Int64")
        sizes = out["dataset_size"] if "dataset_size" in out else pd.Series([None] * n, index=out.index)
        out["data_size"] = pd.array(
            [weights_dataset_size(w, s) for w, s in zip(out["weights"], sizes)], dtype="Int64"
        )
    return out


# ----------------------------------------------------------------- predicates
def _bool_column(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df:
        raise KeyError(f"the predicate needs the column {col!r}, which this catalog does not have")
    return df[col].astype("boolean")


def filling(df: pd.DataFrame) -> pd.Series:
    """``dim M == dim V`` (column ``filling`` of ``dimension``)."""
    return _bool_column(df, "filling")


def non_defective(df: pd.DataFrame) -> pd.Series:
    """``defect == 0``: the neurovariety has its expected dimension (``dimension``)."""
    if "defect" not in df:
        raise KeyError("the predicate needs the column 'defect' (computation dimension)")
    return (df["defect"].astype("Int64") == 0).astype("boolean")


def identifiable(df: pd.DataFrame) -> pd.Series:
    """The generic fiber is only the known symmetries (``only_known_symmetries`` of ``fiber``)."""
    return _bool_column(df, "only_known_symmetries")


def independent(df: pd.DataFrame) -> pd.Series:
    """``s(p_1), ..., s(p_k)`` are linearly independent (``independent`` of ``independence``)."""
    return _bool_column(df, "independent")


def edd_equals(value: int) -> Predicate:
    """Predicate ``edd == value`` (``edd``); rows whose critical set is positive-dimensional are False.

    >>> import pandas as pd
    >>> edd_equals(14)(pd.DataFrame({"edd": [14, 4, None]})).tolist()
    [True, False, False]
    """

    def pred(df: pd.DataFrame) -> pd.Series:
        if "edd" not in df:
            raise KeyError("the predicate needs the column 'edd' (computation edd)")
        return (df["edd"].astype("Int64") == value).fillna(False).astype("boolean")

    pred.__name__ = f"edd_equals({value})"
    return pred


PREDICATES: dict[str, Predicate] = {
    "filling": filling,
    "non_defective": non_defective,
    "identifiable": identifiable,
    "independent": independent,
}


# ----------------------------------------------------------------- thresholds
def thresholds(
    df: pd.DataFrame,
    along: str = "r",
    by: Sequence[str] | str = ("widths",),
    predicate: Predicate | str = non_defective,
    ok_only: bool = True,
) -> pd.DataFrame:
    """Per group, the smallest value of ``along`` from which ``predicate`` holds for every larger value present.

    Parameters
    ----------
    df : DataFrame
        Catalog rows (``catalog.store.load``; pass it through :func:`derive` for
        ``r``, ``hidden``, ...).
    along : str
        An ordered column, e.g. ``r``, ``hidden``, ``data_size``.
    by : list of str
        Grouping columns (list-valued columns such as ``widths`` are fine).
    predicate : callable or str
        ``DataFrame -> boolean Series`` (:func:`non_defective`, :func:`filling`,
        :func:`identifiable`, :func:`independent`, :func:`edd_equals`) or one
        of their names. Rows where it is missing (NA) are ignored.
    ok_only : bool
        Keep only rows with ``status == 'ok'``.

    Returns
    -------
    DataFrame
        One row per group: the ``by`` columns, ``threshold`` (the smallest
        ``v`` such that the predicate holds at every tested value ``>= v``;
        NA when it fails at the largest value), ``max_tested``, ``tested``
        (the sorted values), ``holds`` (the values where every row of the group
        satisfies the predicate), ``monotone`` (False when the predicate holds
        at some value below the threshold: it held, failed, and held again),
        ``rows``. Several rows at one value (seeds) must all satisfy it.

    Example
    -------
    Alexander--Hirschowitz's ``(5, 7, 1)`` with ``x^d`` is defective only at ``d = 3``:

    >>> import pandas as pd
    >>> df = pd.DataFrame({"widths": [[5, 7, 1]] * 4, "r": [2, 3, 4, 5], "defect": [0, 1, 0, 0]})
    >>> t = thresholds(df, along="r", by=["widths"], predicate="non_defective", ok_only=False)
    >>> t[["widths", "threshold", "holds", "monotone"]].to_dict("records")
    [{'widths': [5, 7, 1], 'threshold': 4, 'holds': [2, 4, 5], 'monotone': False}]
    """
    if isinstance(by, str):
        by = [by]
    by = list(by)
    if isinstance(predicate, str):
        if predicate not in PREDICATES:
            raise ValueError(f"predicate: unknown name {predicate!r}; choose one of {', '.join(PREDICATES)} or pass a function")
        predicate = PREDICATES[predicate]
    columns = by + ["threshold", "max_tested", "tested", "holds", "monotone", "rows"]
    for col in [along, *by]:
        if col not in df:
            raise KeyError(f"column {col!r} is not in the catalog (columns: {', '.join(map(str, df.columns))}); "
                           "derived columns such as r and hidden come from catalog.analysis.derive")
    if ok_only and "status" in df:
        df = df[df["status"] == "ok"]
    if df.empty:
        return pd.DataFrame(columns=columns)
    value = predicate(df)
    work = pd.DataFrame({"_along": df[along].to_numpy(), "_holds": value.to_numpy()}, index=df.index)
    work = work[pd.notna(work["_along"]) & pd.notna(work["_holds"])]
    keys = [_hashable_key(df.loc[work.index, c]) for c in by]
    groups: dict[tuple, list] = {}
    for i, key in enumerate(zip(*keys) if by else [()] * len(work)):
        groups.setdefault(key, []).append(work.index[i])
    rows = []
    for key, idx in groups.items():
        sub = work.loc[idx]
        per_value = sub.groupby("_along")["_holds"].agg(lambda s: bool(s.astype(bool).all()))
        per_value = per_value.sort_index()
        values = [plain(v) for v in per_value.index]
        holds = [v for v, ok in zip(values, per_value.to_numpy()) if ok]
        threshold = None
        for v, ok in zip(reversed(values), reversed(per_value.to_numpy())):
            if not ok:
                break
            threshold = v
        monotone = not any(v < threshold for v in holds) if threshold is not None else not holds
        first = df.loc[idx[0]]
        row = {c: plain(first[c]) for c in by}
        row.update(threshold=threshold, max_tested=values[-1], tested=values, holds=holds,
                   monotone=monotone, rows=len(sub))
        rows.append(row)
    out = pd.DataFrame(rows, columns=columns)
    ths = [row["threshold"] for row in rows]
    out["threshold"] = pd.array(ths, dtype="Int64") if _all_int(ths) else pd.Series(ths, dtype=object)
    return out.sort_values(by, key=_sort_key).reset_index(drop=True) if by else out


def _all_int(values) -> bool:
    return all(v is None or isinstance(v, (int, np.integer)) for v in values)


def _hashable_key(s: pd.Series) -> list:
    return [tuple(v) if isinstance(v, (list, tuple, np.ndarray)) else (None if _missing(v) else v) for v in s]


def _sort_key(s: pd.Series) -> pd.Series:
    return s.map(lambda v: tuple(v) if isinstance(v, (list, tuple)) else (v,) if not _missing(v) else ())


# ----------------------------------------------------------------- tables
def defect_table(df: pd.DataFrame, columns: Iterable[str] = ("widths", "activation", "dimension",
                                                              "expected_dimension", "defect")) -> pd.DataFrame:
    """The defective cells (``defect > 0``) of a ``dimension`` catalog, sorted, with ``n, k, d`` for shallow ones.

    For a shallow monomial network ``(n, k, 1)`` with ``s = x^d`` the columns
    ``n`` (inputs), ``k`` (hidden width) and ``d`` (degree) are filled, which is
    how the Alexander--Hirschowitz list is phrased.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"widths": [[3, 5, 1], [3, 4, 1]], "activation": ["x^4", "x^4"],
    ...     "dimension": [14, 12], "expected_dimension": [15, 12], "defect": [1, 0], "status": "ok"})
    >>> defect_table(df)[["n", "k", "d", "defect"]].to_dict("records")
    [{'n': 3, 'k': 5, 'd': 4, 'defect': 1}]
    """
    d = derive(df)
    if "status" in d:
        d = d[d["status"] == "ok"]
    d = d[d["defect"].astype("Int64") > 0]
    cols = [c for c in columns if c in d]
    out = d[cols].copy()
    shallow = d["depth"].astype("Int64") == 2 if "depth" in d else pd.Series(False, index=d.index)
    out["n"] = d["input_dim"].where(shallow) if "input_dim" in d else None
    out["k"] = d["hidden"].where(shallow) if "hidden" in d else None
    out["d"] = d["r"].where(shallow) if "r" in d else None
    return out.sort_values(["n", "k", "d"], na_position="last").reset_index(drop=True)



__all__ = [
    "activation_degree", "activation_kind", "derive", "defect_table", "edd_equals", "filling", "identifiable",
    "independent", "non_defective", "rerun_command", "thresholds", "weights_dataset_size", "weights_kernel",
    "PREDICATES",
]


def rerun_command(row) -> str:
    """The ``neurovar compute`` command that recomputes ``row``; see :func:`catalog.rerun.rerun_command`."""
    from .rerun import rerun_command as _rerun

    return _rerun(row)


from .bias_analysis import merge_bias, stratum_points  # noqa: E402,F401 - bias cells pooled over seeds
