"""``neurovar voronoi``: the exact Voronoi cell of a point of a plane curve (the talk's cusp challenge)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from neurovar.pipeline.errors import SpecError

from .cli import app, console, fail


@app.command()
def voronoi(
    curve: Optional[str] = typer.Option(None, "--curve", help="the curve's equation in x and y, e.g. \"y^2+x^3\""),
    param: Optional[str] = typer.Option(None, "--param", help="a parametrisation \"cx(t), cy(t)\", e.g. \"-t^2, t^3\""),
    interval: Optional[str] = typer.Option(None, "--interval", help="restrict t to lo,hi (an arc with two end points)"),
    point: str = typer.Option("0,0", "--point", help="the point q of the curve, x,y (rationals)"),
    box: str = typer.Option("-1,1,-1,1", "--box", help="xmin,xmax,ymin,ymax for the area and the samples"),
    samples: int = typer.Option(100_000, "--samples", help="Monte Carlo samples (uniform in the box)"),
    seed: int = typer.Option(0, "--seed", help="seed of the samples"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write a PNG of the curve, the cell and the samples"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Exact boundary equation, area in a box and Monte Carlo fraction of the Voronoi cell of a curve point."""
    from neurovar.pipeline.algebra.voronoi import parse_box, parse_curve, parse_point, voronoi_report

    try:
        if samples < 1:
            raise SpecError("--samples", f"must be at least 1, got {samples}")
        c = parse_curve(curve, param, interval)
        q = parse_point(point)
        b = parse_box(box)
        if not c.has_param:
            raise SpecError("--param", "the elimination and the samples need a parametrisation \"cx(t), cy(t)\" "
                                       "of the curve (e.g. --param \"-t^2, t^3\" for y^2+x^3)")
        rep = voronoi_report(c, q, b, samples=samples, seed=seed)
    except SpecError as e:
        fail(str(e))
    if plot is not None:
        from neurovar.catalog.plots import voronoi_picture

        rep["plot"] = str(voronoi_picture(c, rep, plot))
    public = {k: v for k, v in rep.items() if not k.startswith("_")}
    if as_json:
        sys.stdout.write(json.dumps(public) + "\n")
        return
    for k, v in public.items():
        console.print(f"[bold cyan]{k}[/] {json.dumps(v) if isinstance(v, (list, dict)) else v}", highlight=False,
                      soft_wrap=True)
