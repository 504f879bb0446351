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
