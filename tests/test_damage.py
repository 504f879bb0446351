"""Damage is local: an unreadable part file is skipped with one warning line, listed, quarantined,
and its cells are computed again; a compaction killed at any moment loses nothing."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from neurovar.catalog import parts, store
from neurovar.pipeline.cells import make_cell, run_cell
from neurovar.pipeline.grid import load_grid
from neurovar.pipeline.runner import run_cells

ROOT = Path(__file__).resolve().parents[1]
WARNING = "warning: skipped unreadable part file"


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """Each test starts as a new process would: no file warned about yet."""
    monkeypatch.setattr(parts, "_warned", set())


def linear_records(n: int, seed: int = 0) -> list[dict]:
    """Linear networks [a, b, c]: rank varieties of dimension b (a + c - b) (b <= a, c)."""
    return [run_cell(make_cell("dimension", {"model": "linear", "widths": [2 + i, 1, 2]}, seed=seed)) for i in range(n)]


def file_keys(path: Path) -> list[str]:
    return pq.read_table(path, columns=["cell_key"]).column("cell_key").to_pylist()


def warnings_in(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(WARNING)]


# ------------------------------------------------------------------ every kind of damage
def damage_every_way(root: Path) -> dict[str, Path]:
    """Six part files of 3 rows each; five of them damaged in a different way. Returns kind -> path."""
    paths = [store.write_records(linear_records(3, seed=s), "dimension", root) for s in range(6)]
    good, zero, cut, magic, cast, tmp_victim = paths
    zero.write_bytes(b"")
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    data = bytearray(magic.read_bytes())
    data[:4] = data[-4:] = b"XXXX"
    magic.write_bytes(bytes(data))
    # a column whose values do not cast to the catalog's type (dimension is int64)
    t = pq.read_table(cast).set_column(store.schema("dimension").get_field_index("dimension"), "dimension",
                                       pa.array(["three", "four", "five"]))
    pq.write_table(t, cast)
    stray = root / "dimension" / f".{tmp_victim.name}.tmp"  # a write killed before its os.replace
    tmp_victim.rename(stray)
    old = time.time() - 2 * parts.STRAY_TMP_SECONDS
    os.utime(stray, (old, old))
    return {"good": good, "zero": zero, "truncated": cut, "magic": magic, "cast": cast, "tmp": stray}


def test_each_kind_of_damage_is_skipped_with_one_line_then_quarantined(tmp_path, capfd):
    files = damage_every_way(tmp_path)
    df = store.load("dimension", tmp_path)
    # only the good file's rows: [a, 1, 2] has dimension 1 * (a + 2 - 1) = a + 1
    assert sorted(df["dimension"]) == [3, 4, 5]
    assert sorted(df["cell_key"]) == sorted(file_keys(files["good"]))
    err = capfd.readouterr().err
    lines = warnings_in(err)
    assert len(lines) == 4 and len(err.splitlines()) == 4  # one line per unreadable file, nothing else
    for kind in ("zero", "truncated", "magic", "cast"):
        assert sum(str(files[kind]) in line for line in lines) == 1, kind
    # a second read in the same process says nothing again; keys() agrees with load()
    assert store.keys("dimension", tmp_path) == set(df["cell_key"])
    assert capfd.readouterr().err == ""

    found = {d.path: d for d in parts.damaged(tmp_path)}
    assert set(found) == {files[k] for k in ("zero", "truncated", "magic", "cast", "tmp")}
    assert found[files["zero"]].rows == 0 and found[files["cast"]].rows == 3
    before = {p: p.read_bytes() for p in found}
    moved = parts.quarantine(tmp_path, list(found))
    for src, dest in zip(found, moved):
        assert dest == tmp_path / "_quarantine" / "dimension" / src.name and dest.read_bytes() == before[src]
        assert not src.exists()
    assert parts.damaged(tmp_path) == []
    assert len(store.load("dimension", tmp_path)) == 3 and capfd.readouterr().err == ""


def test_a_fresh_tmp_file_is_a_write_in_progress_not_damage(tmp_path):
    store.write_records(linear_records(1), "dimension", tmp_path)
    (tmp_path / "dimension" / ".part-x.parquet.tmp").write_bytes(b"PAR1 being written")
    assert parts.damaged(tmp_path) == []


def test_salvaged_keys_are_the_truncated_files_keys(tmp_path):
    part = store.write_records(linear_records(7), "dimension", tmp_path)
    keys, data = set(file_keys(part)), part.read_bytes()
    for frac in (0.3, 0.5, 0.8, 0.99):
        part.write_bytes(data[: int(len(data) * frac)])
        assert parts.salvage_keys(part) == keys, frac
    part.write_bytes(data[:20])  # cut inside the first page: nothing to name
    assert parts.salvage_keys(part) == set()


def test_lost_keys_are_those_that_lived_only_in_damaged_files(tmp_path):
    recs = linear_records(5)
    part = store.write_records(recs, "dimension", tmp_path)
    store.write_records(recs[:2], "dimension", tmp_path)  # two of its cells also live elsewhere
    part.write_bytes(part.read_bytes()[:-100])
    store.keys("dimension", tmp_path)
    expected = {r["cell_key"] for r in recs[2:]}
    assert parts.lost_keys("dimension", tmp_path) == expected
    parts.quarantine(tmp_path, [part])
    assert parts.lost_keys("dimension", tmp_path) == expected
    store.write_records(recs[2:], "dimension", tmp_path)  # computed again: nothing is lost any more
    assert parts.lost_keys("dimension", tmp_path) == set()


def test_a_damaged_runs_file_is_skipped(tmp_path, capfd):
    from datetime import datetime, timezone

    for i in range(2):
        store.write_run({"run_id": f"r{i}", "spec_name": "g", "started": datetime.now(timezone.utc), "status": "ok"},
                        tmp_path)
    bad = tmp_path / "_runs" / "run-r1.parquet"
    bad.write_bytes(bad.read_bytes()[:30])
    assert store.load_runs(tmp_path)["run_id"].tolist() == ["r0"]
    assert [str(bad) in line for line in warnings_in(capfd.readouterr().err)] == [True]
    assert [d.path for d in parts.damaged(tmp_path)] == [bad]


def test_compaction_leaves_a_damaged_file_in_place(tmp_path, capfd):
    files = [store.write_records(linear_records(2, seed=s), "dimension", tmp_path) for s in range(3)]
    files[1].write_bytes(b"")
    assert store.compact("dimension", tmp_path) == (3, 4)
    left = store.part_files("dimension", tmp_path)
    assert files[1] in left and len(left) == 2 and len(warnings_in(capfd.readouterr().err)) == 1


# ------------------------------------------------------------------ a compaction SIGKILLed at any moment
#: In the compaction process: stop (print a marker, then sleep until killed) at a named moment.
KILLABLE = r"""
import os, sys, time, pathlib
from neurovar.catalog import store
moment, root = sys.argv[1], sys.argv[2]
def stop(name):
    if name == moment:
        print(name, flush=True)
        time.sleep(600)
real_read, real_replace, real_unlink = store.read_one, os.replace, pathlib.Path.unlink
reads = []
def read_one(*a, **k):
    reads.append(1)
    if len(reads) == 5:
        stop("reading")
    return real_read(*a, **k)
def replace(src, dst):
    stop("tmp written")
    real_replace(src, dst)
    stop("renamed")
unlinks = []
def unlink(self, *a, **k):
    real_unlink(self, *a, **k)
    unlinks.append(1)
    if len(unlinks) == 3:
        stop("some old parts removed")
store.read_one, os.replace, pathlib.Path.unlink = read_one, replace, unlink
print("start", flush=True)
store.compact("dimension", root)
print("done", flush=True)
"""


def _compaction(moment: str, root: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", KILLABLE, moment, str(root)], stdout=subprocess.PIPE, text=True,
                            env=env)


def _state(root: Path) -> tuple[int, int, int]:
    folder = root / "dimension"
    names = [p.name for p in folder.iterdir()]
    return (sum(n.startswith("part-") for n in names), sum(n.startswith("compact-") for n in names),
            sum(n.endswith(".tmp") for n in names))


def test_sigkill_at_any_moment_of_a_compaction_loses_nothing(tmp_path):
    pristine = tmp_path / "pristine"
    for s in range(12):
        store.write_records(linear_records(4, seed=s), "dimension", pristine)
    truth = store.load("dimension", pristine).set_index("cell_key")[["widths", "dimension", "seed"]]
    assert len(truth) == 48
    states = {}
    moments = ["reading", "tmp written", "renamed", "some old parts removed"]
    delays = [0.0, 0.02, 0.05, 0.1, 0.2, 0.4]
    for what in moments + [f"after {d} s" for d in delays]:
        root = tmp_path / re.sub(r"\W", "_", what)
        shutil.copytree(pristine, root)
        proc = _compaction(what, root)
        assert proc.stdout.readline().strip() == "start"
        if what in moments:
            assert proc.stdout.readline().strip() == what
        else:
            time.sleep(float(what.split()[1]))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        states[what] = _state(root)
        got = store.load("dimension", root).set_index("cell_key")[["widths", "dimension", "seed"]]
        assert len(got) == 48 and got.sort_index().equals(truth.sort_index()), what
        assert store.keys("dimension", root) == set(truth.index)
        # and a compaction that finishes afterwards leaves one file with every row once
        assert store.compact("dimension", root)[1] == 48
        assert [p.name.startswith("compact-") for p in store.part_files("dimension", root)] == [True]
        assert len(pd.read_parquet(store.part_files("dimension", root)[0])) == 48
    # the moments were really hit: old parts only, a stray .tmp, old and new together, new and some old
    assert states["reading"] == (12, 0, 0)
    assert states["tmp written"] == (12, 0, 1)
    assert states["renamed"] == (12, 1, 0)
    assert states["some old parts removed"] == (9, 1, 0)


# ------------------------------------------------------------------ the whole story through the CLI
GRIDS = {
    "fiber_small.yaml": """
name: fiber_small
computations: [fiber]
model: mlp
axes:
  widths: [[2, 2, 1]]
  activation: ["x^3", "x^4"]
  bias: [false]
  timeout_solver: [5]
  seed: [0]
timeout_s: 60
""",
    "edd_small.yaml": """
name: edd_small
computations: [edd]
model: mlp
axes:
  widths: [[2, 1, 1]]
  activation: ["x^2", "x^3"]
  weights: ["bombieri", "generic"]
  method: ["exact"]
  seed: [0]
timeout_s: 120
""",
}


@pytest.mark.slow
def test_a_truncated_part_file_warns_once_everywhere_is_quarantined_and_recomputed(tmp_path, cli):
    shutil.copy(ROOT / "grids" / "quickstart.yaml", tmp_path)
    for name, text in GRIDS.items():
        (tmp_path / name).write_text(text)
    results = tmp_path / "results"
    total = {}
    for grid in ("quickstart.yaml", "fiber_small.yaml", "edd_small.yaml"):
        cells = load_grid(tmp_path / grid).cells()
        recs = run_cells(cells)
        assert {r["status"] for r in recs} == {"ok"}
        for i in range(0, len(recs), 10):  # several part files, as batches of a run write them
            store.write_records(recs[i:i + 10], cells[0].computation, results)
        total[cells[0].computation] = len(cells)
    assert total == {"dimension": 90, "fiber": 2, "edd": 4}

    victim = store.part_files("dimension", results)[3]
    rows = pq.read_metadata(victim).num_rows
    victim_keys = set(file_keys(victim))
    assert rows == 10 and len(victim_keys) == 10
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    rel = victim.relative_to(tmp_path)

    commands = [["catalog", "ls"], ["catalog", "show", "dimension"], ["catalog", "stale"], ["check"],
                ["report", "--out", tmp_path / "rep"], ["verify", "--sample", "1"], ["run", "quickstart.yaml", "--dry-run"],
                ["catalog", "compact"]]
    for args in commands:
        r = cli(*args, cwd=tmp_path)
        assert r.returncode == 0, (args, r.stderr)
        lines = warnings_in(r.stderr)  # (verify's local cluster also names its dashboard on stderr)
        assert len(lines) == 1 and lines[0].startswith(f"{WARNING} {rel} ("), (args, r.stderr)
        assert not re.search(r"Traceback|error|warning: (?!skipped)", r.stderr), (args, r.stderr)
        if args[0] == "run":
            assert f"{rows} cell(s) to run lived only in damaged" in r.stdout
            assert f"90 cells, {90 - rows} already in results, {rows} to run" in r.stdout
    # the commands that read no dimension part file say nothing of it
    for args in (["catalog", "runs"], ["catalog", "show", "fiber"], ["catalog", "show", "edd"]):
        r = cli(*args, cwd=tmp_path)
        assert r.returncode == 0 and r.stderr == "", (args, r.stderr)
    code = (f"from neurovar import load; print(len(load('dimension', {str(results)!r})), "
            f"len(load('fiber', {str(results)!r})), len(load('edd', {str(results)!r})))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.split() == [str(90 - rows), "2", "4"]
    assert len(warnings_in(r.stderr)) == 1 and len(r.stderr.splitlines()) == 1

    r = cli("catalog", "doctor", cwd=tmp_path)
    assert r.returncode == 0 and f"{rel}: Parquet magic bytes not found in footer ({rows} row(s)" in r.stdout
    r = cli("catalog", "doctor", "--repair", cwd=tmp_path)
    assert r.returncode == 0 and "quarantined 1 file(s)" in r.stdout
    assert (results / "_quarantine" / "dimension" / victim.name).exists() and not victim.exists()
    r = cli("catalog", "ls", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == ""

    r = cli("run", "quickstart.yaml", "--workers", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"{rows} cell(s) to run lived only in damaged or quarantined part files" in r.stdout
    assert f"computed {rows} new cells ({rows} ok" in " ".join(r.stdout.split())
    df = store.load("dimension", results)
    assert len(df) == 90 and df["cell_key"].is_unique
    assert set(df["cell_key"]) == {c.key for c in load_grid(tmp_path / "quickstart.yaml").cells()}
    assert victim_keys <= set(df["cell_key"])
    for grid, n in (("fiber_small.yaml", 2), ("edd_small.yaml", 4)):
        r = cli("run", grid, cwd=tmp_path)
        assert r.returncode == 0 and f"all {n} cells already in results" in r.stdout and "damaged" not in r.stdout


@pytest.mark.slow
def test_the_chaos_bench_damage_fault_loses_nothing(tmp_path):
    """``bench/bench_chaos.py`` part 3 at a small size: a part file cut mid-run, a compaction SIGKILLed."""
    from contextlib import ExitStack

    from bench import bench_chaos as chaos

    grid = tmp_path / "chaos.yaml"
    grid.write_text(chaos.chaos_grid(16))
    with ExitStack() as stack:
        addr, _, _ = chaos.start_cluster(stack, tmp_path, 2)
        d = chaos.run_with_damage(grid, tmp_path / "damage", addr, tmp_path, seed=1)
    print(d)
    assert d["first_run"]["returncode"] == 0 and d["returncode"] == 0, d
    assert d["compaction_killed"] and d["quarantined"]
    assert d["victim_rows"] > 0 and d["rerun_said"] == d["rerun_computed"] == d["lived_only_there"]
    assert d["cells"] == 2112 and d["lost"] == 0 and d["duplicated"] == 0


def test_a_file_removed_by_a_compaction_during_a_read_is_no_damage(tmp_path, capfd):
    """The reader listed the old parts, a compaction removed them: it lists again, warns of nothing."""
    merged = store.write_records(linear_records(3), "dimension", tmp_path)
    listings = iter([[tmp_path / "dimension" / "part-removed-meanwhile.parquet", merged], [merged]])
    table = parts.read_parts(lambda: next(listings), store.schema("dimension"))
    assert sorted(table.column("dimension").to_pylist()) == [3, 4, 5] and capfd.readouterr().err == ""
    assert parts.damaged(tmp_path) == []
