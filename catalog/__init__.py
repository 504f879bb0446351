"""The Parquet catalog of results and its analysis.

>>> from neurovar.catalog import load   # doctest: +SKIP
>>> df = load("dimension", root="results")
"""

from .store import compact, keys, load, load_runs, schema, write_records, write_run

__all__ = ["load", "keys", "compact", "load_runs", "schema", "write_records", "write_run"]
