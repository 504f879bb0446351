"""``neurovar solve FILE``: all isolated solutions of a square polynomial system, certified, as JSON.

The file is plain text: a ``variables:`` line naming the unknowns, then the
equations (one per line, or ``;``-separated), each meaning ``= 0``; ``#``
starts a comment. For example::

    # a circle and a hyperbola
    variables: x, y
    x^2 + y^2 - 5
    x*y - 2

Bad input (a file that is missing or empty, no ``variables:`` line, a
non-square system, a symbol that is not a variable) exits 2 with one line
naming the problem; nothing is written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from .cli import app, fail


def read_system(path: Path) -> tuple[list[str], list[str]]:
    """``(equations, variables)`` of a system file (see the module); raises ValueError naming the problem."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror or e}); give a text file") from None
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise ValueError(f"{path}: the file is empty; write a 'variables: x, y' line, then one equation per line")
    head = lines[0]
    if not head.lower().startswith("variables:"):
        raise ValueError(f"{path}: the first line must be 'variables: x, y, ...' (the unknowns), got {head!r}")
    variables = [v.strip() for v in head.split(":", 1)[1].replace(" ", ",").split(",") if v.strip()]
    equations = [e.strip() for ln in lines[1:] for e in ln.split(";") if e.strip()]
    return equations, variables


@app.command()
def solve(
    file: Path = typer.Argument(..., help="the system: a 'variables:' line, then one equation per line"),
    method: str = typer.Option("auto", "--method", "--start",
                               help="auto | total-degree | bkk | monodromy (auto: bkk when every solution lies in "
                                    "the torus and the BKK bound is below Bezout's, else total-degree)"),
    seed: int = typer.Option(0, "--seed", help="seed of the random start (gamma, chart, loops)"),
    trace: str = typer.Option("auto", "--trace", help="auto | always | never: the trace test after total degree"),
    time_limit: float = typer.Option(None, "--time-limit", help="seconds for the monodromy (a cut count is a "
                                                                 "lower bound)"),
) -> None:
    """All isolated solutions of a square system, each certified (Krawczyk), as one JSON object."""
    from neurovar.pipeline.numeric.solve import SystemInputError, solve as solve_system

    try:
        equations, variables = read_system(file)
        r = solve_system(equations, variables, method=method, seed=seed, trace=trace, time_limit=time_limit)
    except SystemInputError as e:
        fail(f"{file}: {e}" if e.field != "method" and e.field != "trace" else f"--{e}")
    except ValueError as e:
        fail(str(e))
    sys.stdout.write(json.dumps(r.to_json()) + "\n")
