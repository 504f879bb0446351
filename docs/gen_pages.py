"""MkDocs hook: the tables of the site that are generated from the code at build time.

A page asks for a table with a marker on a line of its own:

``<!-- generated: columns NAME -->``
    the options (with type, default and help text) and the output columns (with their
    Parquet kind) of the computation ``NAME``, read from its registered ``Computation``;
``<!-- generated: columns -->``
    the provenance columns, the model fields, and the above for every computation;
``<!-- generated: references NAME -->``
    the literature registry's claims about computation ``NAME``, with paper and place;
``<!-- generated: literature -->``
    every paper of the literature registry and every claim, with its place and status;
``<!-- generated: api -->``
    the functions and model classes of ``import neurovar`` that are generated from the registries
    at import time (so no static reader sees them), with their docstrings' first lines;
``<!-- generated: statements -->``
    every entry of the registry of theorems and conjectures (``neurovar check``).

So the column reference and the literature table cannot drift from the code: a new
option, output, model field or claim appears on the site at the next build.
"""

from __future__ import annotations

import re

MARKER = re.compile(r"^<!-- generated: (columns|references|literature|statements|api)(?: ([\w-]+))? -->$", re.M)

#: what the provenance columns hold (catalog/store.py writes them; RESERVED_COLUMNS lists them)
PROVENANCE = {
    "cell_key": "hash of the canonical cell, the computation's version and its code fingerprint",
    "cell_spec": "the exact inputs, as JSON (model, options, seed)",
    "computation": "the computation's name",
    "computation_version": "the computation's hand-kept VERSION",
    "code_fingerprint": "hash of the source of the computation's module and every pipeline/ module it imports",
    "git_revision": "the checkout's commit (+dirty when pipeline/ has uncommitted edits)",
    "status": "ok, timeout or error",
    "error": "the message of a timeout or error row",
    "seconds": "wall time of the cell",
    "seed": "the seed of the random parameter and evaluation points",
    "timeout_s": "the cell's time limit",
    "versions": "package versions (JSON)",
    "host": "the machine that computed the cell",
    "timestamp": "when the cell finished",
    "flow_run_id": "the Prefect flow run",
    "run_id": "the neurovar run (a row of results/_runs)",
    "written_at": "when the part file was written",
}


def _cell(v) -> str:
    text = "" if v is None else str(v)
    return text.replace("|", "\\|").replace("\n", " ")


def _type(annotation) -> str:
    text = getattr(annotation, "__name__", None) if not str(annotation).startswith("typing") else None
    text = text or str(annotation).replace("typing.", "")
    return f"`{text}`"


def _default(field) -> str:
    from pydantic_core import PydanticUndefined

    return "required" if field.default is PydanticUndefined else f"`{field.default!r}`"


def columns(name: str) -> str:
    from neurovar.pipeline.compute import get_computation

    comp = get_computation(name)
    lines = [f"**Options** of `{name}` (grid axes, `--flags` of `neurovar compute {name}`; "
             f"version {comp.version}):", "", "| option | type | default | meaning |", "|---|---|---|---|"]
    fields = comp.params.model_fields
    for key, field in fields.items():
        lines.append(f"| `{key}` | {_type(field.annotation)} | {_default(field)} | {_cell(field.description)} |")
    if not fields:
        lines.append("| (none) | | | |")
    needs = {True: "a model", False: "no model", None: "a model or implicit equations"}[comp.needs_model]
    models = ", ".join(f"`{m}`" for m in comp.models) if comp.models else "every model"
    lines += ["", f"It takes {needs} ({models}).", "",
              f"**Output columns** of `{name}` (besides the inputs and the provenance columns):", "",
              "| column | kind |", "|---|---|"]
    for out, col in comp.output_columns().items():
        note = f" (the output `{out}`, renamed: an input has its name)" if col != out else ""
        lines.append(f"| `{col}` | {comp.outputs[out]}{note} |")
    return "\n".join(lines)


def all_columns() -> str:
    from neurovar.pipeline.compute import RESERVED_COLUMNS, computations
    from neurovar.pipeline.models import MODELS

    out = ["### Provenance columns (every row)", "", "| column | holds |", "|---|---|"]
    for col in sorted(RESERVED_COLUMNS):
        out.append(f"| `{col}` | {_cell(PROVENANCE.get(col, ''))} |")
    out += ["", "### Model fields", "", "Every field of a model's spec is a grid axis, a `--flag` and a column.", "",
            "| model | field | type | default | meaning |", "|---|---|---|---|---|"]
    for model, (spec, _cls) in MODELS.items():
        for key, field in spec.model_fields.items():
            if key != "model":
                out.append(f"| `{model}` | `{key}` | {_type(field.annotation)} | {_default(field)} | "
                           f"{_cell(field.description)} |")
    for name in computations():
        out += ["", f"### {name}", "", columns(name)]
    return "\n".join(out)


def _claims():
    from neurovar.catalog.literature import load_registry

    for paper in load_registry().values():
        for claim in paper.claims:
            yield paper, claim


def references(name: str) -> str:
    rows = ["| paper | place | claim | id |", "|---|---|---|---|"]
    for paper, claim in _claims():
        if name in (claim.grid or {}).get("computations", []):
            tag = "" if claim.confirmed else " *(unconfirmed)*"
            rows.append(f"| {_cell(paper.authors)} ({paper.year}) | {_cell(claim.place)} | {_cell(claim.claim)}{tag} "
                        f"| `{claim.id}` |")
    if len(rows) == 2:
        return f"The literature registry has no claim about `{name}` yet."
    return "\n".join(rows)


def literature() -> str:
    from neurovar.catalog.literature import load_registry

    papers = load_registry()
    out = []
    for key, paper in papers.items():
        link = f" [{paper.url}]({paper.url})" if paper.url else ""
        out += [f"### {key}", "", f"{_cell(paper.citation)}.{link}", "",
                "| id | place | claim | compared | read as |", "|---|---|---|---|---|"]
        for c in paper.claims:
            out.append(f"| `{c.id}` | {_cell(c.place)} | {_cell(c.claim)} | {c.compare} `{_cell(c.published_text())}` "
                       f"| {c.source} |")
        out.append("")
    total = sum(len(p.claims) for p in papers.values())
    return f"{len(papers)} papers, {total} claims.\n\n" + "\n".join(out)


def statements() -> str:
    from neurovar.catalog.conjectures import REGISTRY

    rows = ["| name | kind | computation | statement | source |", "|---|---|---|---|---|"]
    for c in REGISTRY.values():
        rows.append(f"| `{c.name}` | {c.kind} | `{c.computation}` | {_cell(c.statement)} | {_cell(c.source)} |")
    return "\n".join(rows)


def api() -> str:
    import neurovar
    from neurovar.api import models

    def first(doc: str | None) -> str:
        return _cell((doc or "").strip().split("\n\n")[0])

    rows = ["| call | what it does |", "|---|---|"]
    for name in sorted(neurovar.__all__):
        if name in ("__version__", "models"):
            continue
        rows.append(f"| `neurovar.{name}` | {first(getattr(neurovar, name).__doc__)} |")
    for name in sorted(vars(models)):
        rows.append(f"| `neurovar.models.{name}` | {first(getattr(models, name).__doc__)} |")
    return "\n".join(rows)


def render(kind: str, arg: str | None) -> str:
    if kind == "columns":
        return columns(arg) if arg else all_columns()
    if kind == "references":
        return references(arg)
    if kind == "statements":
        return statements()
    if kind == "api":
        return api()
    return literature()


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 - the MkDocs hook signature
    return MARKER.sub(lambda m: render(m.group(1), m.group(2)), markdown)
