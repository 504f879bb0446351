"""Options that were renamed: the old spelling is accepted, with the same meaning, and a one-line warning.

One name across computations for one idea: ``time_limit`` (``--time-limit``)
is the deadline of a numerical count in every computation; ``fiber`` used to
call it ``numerical_time_limit`` (``--numerical-time-limit``). A params model
lists its old names in ``RENAMED`` (old -> new) and calls :func:`renamed` in a
``model_validator(mode="before")``; the CLI adds a hidden flag for each old
name (:func:`flows.cli._make_compute_command`). A grid file, a stored
``cell_spec`` or a CLI call with the old name gives the same cell as with the
new one, and one line on stderr (once per old name and process) says so.

Example
-------
>>> renamed({"numerical_time_limit": 5}, {"numerical_time_limit": "time_limit"}, warn=False)
{'time_limit': 5}
>>> renamed({"numerical_time_limit": 5, "time_limit": 6}, {"numerical_time_limit": "time_limit"}, warn=False)
Traceback (most recent call last):
...
ValueError: numerical_time_limit: the old name of time_limit (same meaning); give time_limit only
"""

from __future__ import annotations

import sys

_WARNED: set[str] = set()


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def deprecation_line(old: str, new: str) -> str:
    """The warning printed when the old name ``old`` of the option ``new`` is used."""
    return (f"warning: {old} ({_flag(old)}) is deprecated and will be removed; use {new} ({_flag(new)}), "
            "which means the same")


def renamed(data, names: dict[str, str], warn: bool = True):
    """``data`` (a params dict) with every old name of ``names`` replaced by its new one.

    Raises ``ValueError`` when both spellings are given; prints
    :func:`deprecation_line` on stderr the first time an old name is seen.
    """
    if not isinstance(data, dict) or not any(old in data for old in names):
        return data
    out = dict(data)
    for old, new in names.items():
        if old not in out:
            continue
        if new in out and out[new] is not None and out[old] is not None:
            raise ValueError(f"{old}: the old name of {new} (same meaning); give {new} only")
        value = out.pop(old)
        if value is not None or new not in out:
            out[new] = value
        if warn and old not in _WARNED:
            _WARNED.add(old)
            print(deprecation_line(old, new), file=sys.stderr, flush=True)
    return out


__all__ = ["deprecation_line", "renamed"]
