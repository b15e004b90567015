"""`optviz surfaces [--json]`: list the built-in surfaces with their view boxes and critical points; with
``--formula EXPR [--view …]`` describe that formula's surface the same way."""

from __future__ import annotations

import argparse
import json

from optviz.commands import plural
from optviz.commands.paths import add_formula_arguments, formula_from_args
from optviz.core.surfaces import SURFACES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("surfaces", help="list the built-in loss surfaces")
    p.add_argument("--json", action="store_true", help="print a JSON list with formulas, view boxes and minima")
    add_formula_arguments(p)


def run(args: argparse.Namespace) -> int:
    custom = formula_from_args(args)
    surfaces = [custom] if custom is not None else list(SURFACES.values())
    if args.json:
        print(json.dumps([s.to_json() for s in surfaces], indent=2))
        return 0
    for s in surfaces:
        (x0, x1), (y0, y1) = s.view
        best = min((m for m in s.minima if m.kind == "global"), key=lambda m: m.value, default=None)
        where = f"global min {best.value:g} at ({best.x:.4g}, {best.y:.4g})" if best else "no minimum"
        params = ", ".join(f"{p.name}={v:g}" for p, v in zip(s.params, s.param_values().values()))
        print(f"{s.name:16} {s.formula}")
        print(f"{'':16} view x∈[{x0:g}, {x1:g}] y∈[{y0:g}, {y1:g}]; {where}; "
              f"{plural(len(s.minima), 'minimum', 'minima')}, {plural(len(s.saddles), 'saddle', 'saddles')}"
              + (f"; params {params}" if params else ""))
    return 0
