"""The record layer's definitions, one of each: provenance columns, column kinds, the value normaliser.

Every record (a catalog row) has the :data:`PROVENANCE_COLUMNS`, then its
inputs and outputs, whose kinds come from their type annotations through
:func:`column_kind` (the catalog's Arrow types, the CLI's flag types and the
computations' output schemas are all derived from these kinds). :func:`plain`
turns a value of a record, or of a loaded catalog row (numpy scalars and
arrays, NaN for missing), into plain Python; every reader that compares,
prints or stores values calls it.

Pure Python: no pandas or pyarrow (the one-cell command line imports it).
"""

from __future__ import annotations

import types
import typing

#: Columns every record has, with their kinds.
PROVENANCE_COLUMNS: dict[str, str] = {
    "cell_key": "str", "cell_spec": "str", "computation": "str", "computation_version": "str",
    "code_fingerprint": "str", "git_revision": "str", "status": "str", "error": "str", "seconds": "float",
    "seed": "int", "timeout_s": "float", "versions": "str", "host": "str", "timestamp": "str",
    "flow_run_id": "str", "run_id": "str", "written_at": "timestamp",
}

_KINDS = {int: "int", float: "float", bool: "bool", str: "str"}


def column_kind(annotation) -> str:
    """The column kind of a type annotation: ``int``, ``float``, ``bool``, ``str``, ``list<int>`` or ``json``.

    The one map from annotations to kinds (the catalog's Arrow types and the CLI's flag
    types are derived from the kind): ``X | None`` is ``X``'s kind, a ``Literal`` is
    ``str``, a list or tuple of ints is ``list<int>``, anything else is ``json``.

    >>> column_kind(tuple[int, ...] | None), column_kind(list[int]), column_kind(list[dict]), column_kind(typing.Literal["mlp"])
    ('list<int>', 'list<int>', 'json', 'str')
    """
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return column_kind(args[0]) if len(args) == 1 else "json"
    if origin is typing.Literal:
        return "str"
    if annotation in _KINDS:
        return _KINDS[annotation]
    if origin in (tuple, list) and args and all(a in (int, Ellipsis) for a in args):
        return "list<int>"
    return "json"


def plain(v, integral_floats: bool = False):
    """A catalog or record value as plain Python: the one value normaliser of the record layer.

    A missing value (None, NaN, ``pd.NA``) is None; numpy scalars are Python numbers; arrays
    and tuples are lists; lists and dicts are normalised element by element. With
    ``integral_floats``, a float with an integer value is an int (``3.0`` is ``3``; pandas
    reads an int column with a missing value as floats).

    >>> import numpy as np
    >>> plain({"w": np.array([2, 3]), "t": (np.int64(1), float("nan"))}), plain(np.float64(3.0), integral_floats=True)
    ({'w': [2, 3], 't': [1, None]}, 3)
    """
    if v is None or type(v).__name__ == "NAType":  # pandas.NA, without importing pandas
        return None
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        v = v.tolist()  # numpy arrays and scalars
    if isinstance(v, (list, tuple)):
        return [plain(x, integral_floats) for x in v]
    if isinstance(v, dict):
        return {k: plain(x, integral_floats) for k, x in v.items()}
    if isinstance(v, float):
        if v != v:
            return None
        if integral_floats and v.is_integer() and abs(v) < 1e15:
            return int(v)
    return v


__all__ = ["PROVENANCE_COLUMNS", "column_kind", "plain"]
