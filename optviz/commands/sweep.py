"""`optviz sweep`: final loss over one or two hyperparameters of one optimizer from one start (npz or png)."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from optviz.commands import UsageError, output_file
from optviz.commands.basins import ENGINES, ProgressBar, write_map
from optviz.commands.paths import add_formula_arguments, labelled, parse_start, surface_from_args
from optviz.core.basins import STEPS
from optviz.core.devices import DEVICE
from optviz.core.params import quote
from optviz.core.surfaces import SURFACES
from optviz.core.sweep import RESOLUTION, Axis, Sweep, parse_axis, sweep


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="final loss over a grid of hyperparameter values",
        description="Run one optimizer from one start for every value of one or two hyperparameters (one batch) "
                    "and write the final loss (NaN where the path diverged). The npz holds final_loss (Ny×Nx), "
                    "diverged (Ny×Nx bool), x_values, y_values, x_name, y_name; final_loss[i, j] belongs to "
                    "(x_values[j], y_values[i]). Without --y it is a strip (Ny = 1).")
    p.add_argument("--surface", metavar="NAME[:k=v,…]", help=f"surface ({', '.join(SURFACES)})")
    add_formula_arguments(p)
    p.add_argument("--start", metavar="X,Y", required=True, help="start point")
    p.add_argument("--optimizer", metavar="NAME[:k=v,…]", required=True,
                   help="optimizer and the values of the hyperparameters that are not swept")
    p.add_argument("--x", metavar="NAME:LOW:HIGH[:log|:lin]", required=True,
                   help="e.g. lr:1e-4:1 (log by default for lr, as in the panel) or momentum:0:0.99; LOW below "
                        "HIGH (the axis grows to the right)")
    p.add_argument("--y", metavar="NAME:LOW:HIGH[:log|:lin]",
                   help="e.g. momentum:0:0.99, LOW below HIGH (leave out for a strip)")
    p.add_argument("--resolution", metavar="N", default=str(RESOLUTION.default),
                   help=f"{RESOLUTION.doc}: {RESOLUTION.allowed()} (default {RESOLUTION.default})")
    p.add_argument("--steps", metavar="N", default=str(STEPS.default),
                   help=f"steps: {STEPS.allowed()} (default {STEPS.default})")
    p.add_argument("--device", metavar="|".join(DEVICE.choices), default="auto", help="where to compute")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="auto: the compiled engine where it can exist, else eager")
    p.add_argument("--out", metavar="FILE.npz|FILE.png", required=True,
                   help="write the map here: the arrays (npz) or a figure (png: the map on true-value axes, a "
                        "colour bar of the final f − f*, diverged cells red, a caption)")


def npz_arrays(result: Sweep) -> dict[str, np.ndarray]:
    return {"final_loss": result.final_loss, "diverged": result.diverged, "x_values": result.x_values,
            "y_values": result.y_values, "x_name": np.array(result.x_name), "y_name": np.array(result.y_name)}


def axis_from_args(text: str, flag: str) -> Axis:
    """``NAME:LOW:HIGH[:log|:lin]`` with LOW below HIGH: a map's axis grows to the right and upwards, so a
    reversed range is refused (with the range the user meant) rather than drawn the other way round."""
    axis = parse_axis(text)
    if axis.low >= axis.high:  # NaN goes on to the registry's own message
        hint = f"; e.g. {axis.name}:{axis.high:g}:{axis.low:g}" if axis.low > axis.high else ""
        raise UsageError(f"Invalid {flag} {quote(text)}: LOW must be below HIGH (got {axis.low:g} and "
                         f"{axis.high:g}{hint})")
    return axis


def run(args: argparse.Namespace) -> int:
    out = output_file(args.out, "--out", (".npz", ".png"))
    surface = surface_from_args(args)
    (choice,) = labelled([args.optimizer])
    x, y = axis_from_args(args.x, "--x"), axis_from_args(args.y, "--y") if args.y else None
    resolution, steps = RESOLUTION.parse(args.resolution), STEPS.parse(args.steps)
    bar = ProgressBar(f"sweep {choice.name}")
    try:
        result = sweep(surface, choice, parse_start(args.start), x, y, resolution, steps,
                       engine=args.engine, device=DEVICE.parse(args.device), progress=bar)
    finally:
        bar.close()
    from optviz.core.image import sweep_picture

    write_map(out, npz_arrays(result), lambda: sweep_picture(result),
              lambda figures: figures.sweep_figure(result, surface))
    cells = result.final_loss.size
    print(f"wrote {out} ({result.final_loss.shape[0]}×{result.final_loss.shape[1]} cells, {steps} steps, "
          f"{int(result.diverged.sum())} of {cells} diverged, engine {result.engine}, device {result.device}, "
          f"{result.seconds:.1f} s)", file=sys.stderr)
    return 0
