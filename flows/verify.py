"""``neurovar verify``: recompute a sample of catalog rows independently and compare.

A row of the catalog is a claim: "this network's neurovariety has dimension 14",
"this fiber has 2 points". ``verify`` checks such claims the way ``git fsck``
checks a repository: it draws a sample of current rows (or the rows matching
``--where``), rebuilds each cell from its ``cell_spec`` with a **different
seed** (another random parameter point, other evaluation points, another
generic activation) and, where the computation takes a ``prime`` option, a
**different prime**, runs the cells on the cluster exactly like ``neurovar
run`` (the same ``--workers`` / ``--scheduler`` / ``--cluster`` options; cells
with a time limit run in the worker's killable child process), and compares the
deterministic outputs: counts, dimensions and ranks (:data:`COMPARED`), which
for generic choices must not depend on the seed or the prime.

A difference in a compared output is a *disagreement*, and the command exits 1.
A recomputation that did not finish, or left a compared output empty where the
catalog has one (e.g. a numerical lower bound instead of a count), is
*inconclusive*, not a disagreement. Nothing is written to the catalog.

Seeds that choose the question itself are kept: an ``independence`` row over a
``random:`` family tests the tuples its seed drew, so only its prime could
change (it takes none).

Example
-------
>>> from neurovar.pipeline.cells import make_cell, run_cell
>>> row = run_cell(make_cell("dimension", {"model": "mlp", "widths": [3, 2, 1], "activation": "x^2"}))
>>> cell = verification_cell(row)
>>> cell.seed != row["seed"], cell.params["prime"] != row["prime"]
(True, True)
>>> compare(row, run_cell(cell))["agree"]
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from neurovar.pipeline.record import plain
from neurovar.pipeline.errors import SpecError

from neurovar.pipeline.cells import Cell, make_cell

#: The deterministic outputs compared per computation (counts, dimensions, ranks and what they decide).
COMPARED: dict[str, tuple[str, ...]] = {
    "dimension": ("dimension", "expected_dimension", "ambient_dimension", "num_params", "defect", "filling"),
    "fiber": ("fiber_dimension", "positive_dimensional", "fiber_points", "expected_fiber_points",
              "only_known_symmetries"),
    "edd": ("edd", "positive_loss_points", "zero_loss_points", "codimension", "kernel_dimension"),
    "independence": ("k", "rank", "independent", "tuples_tested", "dependent_tuples"),
    "independence-threshold": ("k", "dependent_r", "min_r", "tuples_tested", "exceeds_bound"),
}
#: Added to a row's seed for its recomputation.
SEED_SHIFT = 7919
#: The prime a ``prime`` option switches to (and from).
PRIMES = (2**61 - 1, 2147483647)


def compared_outputs(computation: str) -> tuple[str, ...]:
    """The record columns compared for ``computation`` (integer and boolean outputs if it is not listed)."""
    from neurovar.pipeline.compute import get_computation

    comp = get_computation(computation)
    cols = comp.output_columns()
    if computation in COMPARED:
        return tuple(cols[k] for k in COMPARED[computation] if k in cols)
    return tuple(cols[k] for k, kind in comp.outputs.items()
                 if kind in ("int", "bool", "list<int>") and "prime" not in k and "seconds" not in k)


def _seed_picks_the_question(computation: str, params: dict) -> bool:
    if computation in ("independence", "independence-threshold"):
        return str(params.get("family") or "").startswith("random")
    return False


def verification_cell(row: dict) -> Cell:
    """The row's cell with another seed and, where it takes a ``prime`` option, another prime."""
    spec = json.loads(row["cell_spec"])
    comp = spec["computation"]
    params = dict(spec.get("params") or {})
    if "prime" in params:
        params["prime"] = PRIMES[1] if params["prime"] == PRIMES[0] else PRIMES[0]
    seed = int(spec.get("seed", 0))
    if not _seed_picks_the_question(comp, params):
        seed += SEED_SHIFT
    timeout = row.get("timeout_s")
    timeout = None if timeout is None or timeout != timeout else float(timeout)
    return make_cell(comp, spec.get("model"), params, seed=seed, timeout_s=timeout)


def compare(row: dict, rec: dict) -> dict:
    """Compare a catalog row with its recomputation.

    Returns ``{"agree": True | False | None, "differences": {...}, "reason": str}``;
    ``agree`` is None (inconclusive) when the recomputation did not finish or left a
    compared output empty.
    """
    cols = compared_outputs(row["computation"])
    if rec.get("status") != "ok":
        first = (rec.get("error") or "").splitlines()[0] if rec.get("error") else ""
        return {"agree": None, "differences": {}, "reason": f"recomputation {rec.get('status')}: {first}"}
    diffs, empty = {}, []
    for c in cols:
        a, b = plain(row.get(c)), plain(rec.get(c))
        if a is None and b is None:
            continue
        if a is None or b is None:
            empty.append(c)
        elif a != b:
            diffs[c] = (a, b)
    if diffs:
        return {"agree": False, "differences": diffs,
                "reason": "; ".join(f"{c}: catalog {a}, recomputed {b}" for c, (a, b) in diffs.items())}
    if empty:
        return {"agree": None, "differences": {}, "reason": f"no value to compare for {', '.join(empty)}"}
    shown = [f"{c} {plain(row.get(c))}" for c in cols if plain(row.get(c)) is not None][:3]
    return {"agree": True, "differences": {}, "reason": ", ".join(shown)}


@dataclass
class Verification:
    """What :func:`verify` found, one item per sampled row."""

    items: list[dict] = field(default_factory=list)

    def count(self, agree) -> int:
        return sum(1 for it in self.items if it["agree"] is agree)

    @property
    def agreements(self) -> int:
        return self.count(True)

    @property
    def disagreements(self) -> int:
        return self.count(False)

    @property
    def inconclusive(self) -> int:
        return self.count(None)


def sample_rows(results: str | Path, sample: int | None = None, where: dict | None = None,
                computations: list[str] | None = None, seed: int = 0) -> list[dict]:
    """Current ``ok`` rows of the catalog (all computations, or ``computations``) matching ``where``,
    then a uniform sample of ``sample`` of them drawn from ``seed`` (all of them if ``sample`` is None)."""
    from neurovar.catalog import store
    from neurovar.pipeline.errors import SpecError

    rows: list[dict] = []
    comps = computations or store.present_computations(results)
    matched_a_column = not where
    for comp in comps:
        df = store.load(comp, results, status="ok", parse_json=False)
        if where:
            if any(col not in df.columns for col in where):
                continue
            matched_a_column = True
            df = store.load(comp, results, status="ok", parse_json=False, filters=where)
        rows += [r for r in df.to_dict("records") if isinstance(r.get("cell_spec"), str)]
    if not matched_a_column:
        raise SpecError("--where", f"no computation in {results} has the column(s) {', '.join(where)}")
    rows.sort(key=lambda r: (r["computation"], r["cell_key"]))
    if sample is not None and sample < len(rows):
        idx = np.random.default_rng(seed).choice(len(rows), size=sample, replace=False)
        rows = [rows[i] for i in sorted(idx)]
    return rows


def recompute(cells: list[Cell], scheduler: str | None = None, workers: int | None = None,
              cluster: str | None = None, cluster_config: str | None = None) -> list[dict]:
    """Run cells on the cluster as ``neurovar run`` does (one Dask task per batch); records in order."""
    from distributed import as_completed

    from neurovar.pipeline.cells import failed_record
    from neurovar.pipeline.runner import run_batch

    from .cluster import dask_client, default_workers
    from .flow import pack_batches

    workers = workers or default_workers()
    batches = pack_batches(cells, workers)
    out: dict[str, dict] = {}
    with dask_client(scheduler, workers, cluster, cluster_config) as client:
        futures = {client.submit(run_batch, b, pure=False): b for b in batches}
        for fut in as_completed(futures):
            batch = futures.pop(fut)
            try:
                recs = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker: those cells are inconclusive
                recs = [failed_record(c, "error", f"batch failed on the cluster: {type(exc).__name__}: {exc}", 0.0)
                        for c in batch]
            for c, r in zip(batch, recs):
                out[c.key] = r
            fut.release()
    return [out[c.key] for c in cells]


def verify(results: str | Path, sample: int | None = 20, where: dict | None = None,
           computations: list[str] | None = None, seed: int = 0, **cluster) -> Verification:
    """Recompute a sample of rows with another seed and prime; compare their deterministic outputs."""
    rows = sample_rows(results, sample, where, computations, seed)
    cells = [verification_cell(r) for r in rows]
    recs = recompute(cells, **cluster) if cells else []
    v = Verification()
    for row, cell, rec in zip(rows, cells, recs):
        item = {"computation": row["computation"], "cell_key": row["cell_key"], "seed": cell.seed,
                "describe": cell.describe(), **compare(row, rec)}
        v.items.append(item)
    return v


# ------------------------------------------------------------------ the command
def _command():
    from .cli import app, console, fail

    @app.command("verify")
    def verify_command(
        results: Path = typer.Option(Path("results"), "--results", help="catalog root"),
        sample: Optional[int] = typer.Option(None, "--sample", help="rows to recompute, drawn uniformly (default 20; "
                                                                    "with --where: every matching row)"),
        where: list[str] = typer.Option([], "--where", help="COLUMN=VALUE: recompute the matching rows"),
        computation: list[str] = typer.Option([], "--computation", help="only these computations (repeatable)"),
        seed: int = typer.Option(0, "--seed", help="seed of the sample drawn"),
        workers: Optional[int] = typer.Option(None, "--workers", help="local Dask workers (default: one per core)"),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="an existing Dask scheduler, tcp://HOST:8786"),
        cluster: Optional[str] = typer.Option(None, "--cluster", help="start workers through slurm or pbs"),
        cluster_config: Optional[Path] = typer.Option(None, "--cluster-config", help="YAML with the job queue settings"),
        as_json: bool = typer.Option(False, "--json", help="print one JSON object per row"),
    ) -> None:
        """Recompute a sample of catalog rows with another seed and prime; exit 1 if a count, dimension
        or rank disagrees."""
        from neurovar.catalog import store
        from neurovar.pipeline.compute import computations

        from .commands import _parse_where, results_folder

        try:
            results_folder(results, must_exist=True)
            if sample is not None and sample < 1:
                raise SpecError("--sample", f"must be at least 1, got {sample}")
            if workers is not None and workers < 1:
                raise SpecError("--workers", f"must be at least 1, got {workers}")
            for c in computation:
                if c not in computations():
                    raise SpecError("--computation", f"unknown computation {c!r}; choose one of {', '.join(computations())}")
            if cluster is not None:
                from .hpc import load_cluster_config

                load_cluster_config(cluster, cluster_config)
            from .cluster import scheduler_address

            scheduler_address(scheduler)
            filters = _parse_where(where)
            n = sample if sample is not None else (None if filters else 20)
            rows = sample_rows(results, n, filters, list(computation) or None, seed)
        except SpecError as e:
            fail(str(e))
        if not rows:
            fail(f"--results: no current ok rows to verify in {results}" + (" matching --where" if where else ""))
        v = Verification()
        cells = [verification_cell(r) for r in rows]
        recs = recompute(cells, scheduler=scheduler, workers=workers, cluster=cluster,
                         cluster_config=str(cluster_config) if cluster_config else None)
        word = {True: "agree", False: "DISAGREE", None: "inconclusive"}
        for row, cell, rec in zip(rows, cells, recs):
            item = {"computation": row["computation"], "cell_key": row["cell_key"], "seed": cell.seed,
                    "describe": cell.describe(), **compare(row, rec)}
            v.items.append(item)
            if as_json:
                print(json.dumps({k: item[k] for k in ("computation", "cell_key", "agree", "reason")}, default=str))
            else:
                style = {True: "green", False: "bold red", None: "yellow"}[item["agree"]]
                console.print(f"[{style}]{word[item['agree']]}[/] {item['cell_key']} {item['describe']}: "
                              f"{item['reason']}", highlight=False, soft_wrap=True)
        ign = sum(sum(store.load(c, results, parse_json=False).attrs.get("ignored", {}).values())
                  for c in (list(computation) or store.present_computations(results)))
        if not as_json:
            console.print(f"verified {len(v.items)} row(s) of {results} with another seed and prime: "
                          f"{v.agreements} agreements, {v.disagreements} disagreements, {v.inconclusive} inconclusive"
                          + (f"; {ign} stale row(s) not sampled" if ign else ""), highlight=False)
        if v.disagreements:
            raise SystemExit(1)

    return verify_command


_command()


__all__ = ["COMPARED", "Verification", "compare", "compared_outputs", "recompute", "sample_rows", "verification_cell",
           "verify"]
