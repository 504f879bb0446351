"""The Parquet catalog: atomic appends, duplicates resolved, compaction, schema, runs table."""

import pandas as pd
import pyarrow.parquet as pq

from neurovar.catalog import store
from neurovar.pipeline.cells import make_cell, run_cell


def dim_records(widths_list, seed=0):
    return [run_cell(make_cell("dimension", {"model": "linear", "widths": list(w)}, seed=seed)) for w in widths_list]


def test_roundtrip_with_list_columns(tmp_path):
    recs = dim_records([(2, 1, 2), (3, 2, 4)])
    store.write_records(recs, "dimension", tmp_path)
    df = store.load("dimension", tmp_path)
    assert df["widths"].tolist() == [[2, 1, 2], [3, 2, 4]]
    # rank varieties: q (d0 + dL - q)
    assert df["dimension"].tolist() == [3, 2 * (3 + 4 - 2)]
    # plain pandas reads the folder too
    assert len(pd.read_parquet(tmp_path / "dimension")) == 2


def test_double_write_shows_once_newest_wins(tmp_path):
    recs = dim_records([(2, 1, 2)])
    store.write_records(recs, "dimension", tmp_path)
    recs[0]["host"] = "second-write"
    store.write_records(recs, "dimension", tmp_path)
    df = store.load("dimension", tmp_path)
    assert len(df) == 1 and df["host"].iloc[0] == "second-write"
    assert store.keys("dimension", tmp_path) == {recs[0]["cell_key"]}


def test_temporary_files_are_invisible(tmp_path):
    store.write_records(dim_records([(2, 1, 2)]), "dimension", tmp_path)
    # what a writer killed mid-write leaves behind
    (tmp_path / "dimension" / ".part-killed.parquet.tmp").write_bytes(b"PAR1 half a file")
    assert len(store.load("dimension", tmp_path)) == 1
    assert len(pd.read_parquet(tmp_path / "dimension")) == 1


def test_compact_merges_and_keeps_rows(tmp_path):
    for w in [(2, 1, 2), (3, 1, 3), (4, 2, 4)]:
        store.write_records(dim_records([w]), "dimension", tmp_path)
    store.write_records(dim_records([(2, 1, 2)]), "dimension", tmp_path)  # a duplicate
    assert len(store.part_files("dimension", tmp_path)) == 4
    before, rows = store.compact("dimension", tmp_path)
    assert (before, rows) == (4, 3)
    assert len(store.part_files("dimension", tmp_path)) == 1
    assert sorted(store.load("dimension", tmp_path)["dimension"]) == [3, 5, 12]


def test_files_carry_the_full_schema(tmp_path):
    path = store.write_records(dim_records([(2, 1, 2)]), "dimension", tmp_path)
    sch = pq.read_schema(path)
    assert sch.names == store.schema("dimension").names
    assert {"cell_key", "status", "seconds", "versions", "prime", "seed", "written_at"} <= set(sch.names)


def test_filters_and_status(tmp_path):
    recs = dim_records([(2, 1, 2), (3, 2, 4)])
    recs[1]["status"] = "timeout"
    store.write_records(recs, "dimension", tmp_path)
    assert len(store.load("dimension", tmp_path, status="ok")) == 1
    assert store.load("dimension", tmp_path, filters={"widths": [3, 2, 4]})["status"].tolist() == ["timeout"]
    assert store.keys("dimension", tmp_path, statuses=("ok",)) == {recs[0]["cell_key"]}


def test_runs_table_keeps_latest_row(tmp_path):
    from datetime import datetime, timezone

    row = {"run_id": "abc", "spec_name": "g", "started": datetime.now(timezone.utc), "status": "running",
           "cells_planned": 3}
    store.write_run(row, tmp_path)
    row.update(status="completed", cells_ok=3, ended=datetime.now(timezone.utc))
    store.write_run(row, tmp_path)
    runs = store.load_runs(tmp_path)
    assert len(runs) == 1 and runs["status"].iloc[0] == "completed" and runs["cells_ok"].iloc[0] == 3


def test_rows_read_back_can_be_written_again(tmp_path):
    recs = dim_records([(2, 1, 2)])
    recs[0]["status"] = "timeout"
    recs[0]["dimension"] = None
    store.write_records(recs, "dimension", tmp_path)
    df = store.load("dimension", tmp_path)  # the missing ints come back as NaN
    store.write_records(df.to_dict("records"), "dimension", tmp_path / "copy")
    again = store.load("dimension", tmp_path / "copy")
    assert again["dimension"].isna().all() and again["widths"].tolist() == [[2, 1, 2]]


def test_one_kind_map_for_the_store_the_outputs_and_the_cli():
    """A ``tuple[int, ...]`` model field (the MLP's widths, the CNN's filters) is a list of ints in the
    Parquet schema and a comma-separated-integers flag; the provenance columns lead every schema."""
    import pyarrow as pa

    from neurovar.flows import cli
    from neurovar.pipeline.compute import RESERVED_COLUMNS
    from neurovar.pipeline.models import MODELS
    from neurovar.pipeline.record import PROVENANCE_COLUMNS, column_kind

    filters = MODELS["cnn"][0].model_fields["filters"].annotation
    assert column_kind(filters) == "list<int>"
    assert store.schema("fiber").field("filters").type == pa.list_(pa.int64())
    assert cli._parse_value(column_kind(filters), "2, 3", "--filters") == [2, 3]
    from dataclasses import dataclass

    from neurovar.pipeline.compute import output_kinds

    @dataclass
    class Out:  # an output declared like the widths is stored like them
        shape: tuple[int, ...] | None = None

    assert output_kinds(Out) == {"shape": "list<int>"}
    assert RESERVED_COLUMNS == set(PROVENANCE_COLUMNS)
    for comp in ("dimension", "fiber", "edd"):
        names = store.schema(comp).names
        assert names[: len(PROVENANCE_COLUMNS)] == list(PROVENANCE_COLUMNS)
        assert str(store.schema(comp).field("written_at").type) == "timestamp[us, tz=UTC]"


def test_one_value_normaliser():
    import numpy as np

    from neurovar.catalog.columns import cell_text
    from neurovar.pipeline.record import plain

    row = {"widths": np.array([3, 5, 1]), "dimension": np.int64(14), "ratio": np.float64(0.5),
           "missing": float("nan"), "parts": ({"d": np.int32(2)},), "filling": np.bool_(True)}
    assert plain(row) == {"widths": [3, 5, 1], "dimension": 14, "ratio": 0.5, "missing": None,
                          "parts": [{"d": 2}], "filling": True}
    assert type(plain(row)["dimension"]) is int and type(plain(row)["filling"]) is bool
    assert plain(pd.NA) is None and plain(7.0) == 7.0 and type(plain(7.0, integral_floats=True)) is int
    assert [cell_text(v) for v in (np.array([2, 2, 1]), 3.0, float("nan"), None, "x^2")] == ["[2,2,1]", "3", "", "", "x^2"]
