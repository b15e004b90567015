"""`optviz basins`: basin-of-attraction maps and a fair race of optimizers over a grid of starts (npz or png)."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from optviz.commands import UsageError, output_file, plural, write_or_keep
from optviz.commands.paths import add_formula_arguments, labelled, surface_from_args
from optviz.core.basins import RADIUS, RESOLUTION, STEPS, TOL, Basins, basins, race
from optviz.core.devices import DEVICE
from optviz.core.files import write_atomic
from optviz.core.surfaces import SURFACES

ENGINES = ("auto", "eager", "fast")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "basins", help="which minimum each optimizer reaches from every start of a grid",
        description="Label every start of an N×N grid over the view box by the minimum its path ends in (index "
                    "into minima; -1 not converged within the steps, -2 diverged) and print a race: the share of "
                    "starts that reach the global minimum, any minimum, or diverge, and the median and 90th "
                    "percentile steps to converge, all with the same step budget. A start ends in minimum k when "
                    "its gradient norm stays below --tol from some step to the last and its last point lies "
                    "within --radius × the view box's diagonal of minimum k. The npz holds minima (K×2), xs, ys "
                    "(N), optimizers, and per optimizer LABEL/labels and LABEL/steps (N×N; labels[i, j] is the "
                    "start (xs[j], ys[i])).")
    p.add_argument("--surface", metavar="NAME[:k=v,…]",
                   help=f"surface, optionally with parameters ({', '.join(SURFACES)})")
    add_formula_arguments(p)
    p.add_argument("--optimizer", metavar="NAME[:k=v,…]", action="append", required=True,
                   help="optimizer with torch.optim keywords, e.g. adam:lr=0.05 (repeat for several)")
    p.add_argument("--resolution", metavar="N", default=str(RESOLUTION.default),
                   help=f"{RESOLUTION.doc}: {RESOLUTION.allowed()} (default {RESOLUTION.default})")
    p.add_argument("--steps", metavar="N", default=str(STEPS.default),
                   help=f"{STEPS.doc}: {STEPS.allowed()} (default {STEPS.default})")
    p.add_argument("--tol", metavar="G", default=str(TOL.default), help=f"{TOL.doc} (default {TOL.default:g})")
    p.add_argument("--radius", metavar="R", default=str(RADIUS.default),
                   help=f"{RADIUS.doc} (default {RADIUS.default:g})")
    p.add_argument("--device", metavar="|".join(DEVICE.choices), default="auto", help="where to compute")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="auto: the compiled engine where it can exist, else eager")
    p.add_argument("--out", metavar="FILE.npz|FILE.png", required=True,
                   help="write the maps here: the arrays (npz) or a figure (png: a titled panel per optimizer with "
                        "true-value axes and the minima marked, the legend, the criterion and the race table)")


class ProgressBar:
    """A one-line bar on stderr, drawn only on a terminal."""

    def __init__(self, title: str) -> None:
        self.title, self.shown = title, -1
        self.on = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        percent = int(100 * done / max(1, total))
        if self.on and percent != self.shown:
            self.shown = percent
            bar = "#" * (percent // 4)
            print(f"\r{self.title} [{bar:<25}] {percent:3d}%", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.on and self.shown >= 0:
            print(file=sys.stderr)


def write_map(out: Path, arrays: dict[str, np.ndarray], picture: Callable[[], np.ndarray],
              figure: Callable[[Any], Any]) -> None:
    """A map as a PNG (``out`` ends in .png) or as an npz of ``arrays``. The PNG is ``figure(figures)``, drawn
    with :mod:`optviz.ui.figures` (the GUI's views, offscreen); where Qt cannot start, ``picture()``, the bare
    RGB map, with a note saying why. Where the file cannot be written, the map is kept in the temporary folder
    (:func:`~optviz.commands.write_or_keep`)."""
    if out.suffix.lower() == ".png":
        data = figure_png(figure, picture)
    else:
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        data = buf.getvalue()
    write_or_keep(out, lambda path: write_atomic(path, data))


def figure_png(figure: Callable[[Any], Any], picture: Callable[[], np.ndarray]) -> bytes:
    """The figure's PNG bytes, or the bare picture's where Qt cannot start (one line on stderr says why)."""
    from optviz.core.image import png_bytes

    try:
        from optviz.ui import figures  # Qt and the GUI's views: only for a PNG
    except ImportError as exc:
        why = f"Qt could not be loaded ({exc})"
    else:
        try:
            figures.start_qt()
        except figures.QtUnavailable as exc:
            why = str(exc)
        else:
            made = figure(figures)
            try:
                return made.png()
            finally:
                made.close()
    first = why.splitlines()[0] if why else "Qt could not start"
    print(f"note: the PNG is the bare map, without titles, axes or legend: {first}", file=sys.stderr)
    return png_bytes(picture())


def race_lines(result: Basins) -> list[str]:
    """The race as a table of text: a header, then one line per optimizer (stdout, and the figure's table)."""
    widths = (10, 11, 12, 14, 11)  # two spaces before each column's header
    heads = ("global %", "any min %", "diverged %", "median steps", "p90 steps")
    lines = [f"{'optimizer':<16}" + "".join(f"{h:>{w}}" for h, w in zip(heads, widths))]
    for r in race(result):
        lines.append(f"{r.label:<16}" + "".join(f"{t:>{w}}" for t, w in zip(r.texts(), widths)))
    return lines


def npz_arrays(result: Basins) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {"minima": result.minima, "minimum_kinds": np.array(result.minimum_kinds, str),
                                     "xs": result.xs, "ys": result.ys, "steps_budget": np.array(result.budget),
                                     "optimizers": np.array([m.label for m in result.maps], str)}
    for m in result.maps:
        arrays[f"{m.label}/labels"] = m.labels
        arrays[f"{m.label}/steps"] = m.steps
    return arrays


def run(args: argparse.Namespace) -> int:
    out = output_file(args.out, "--out", (".npz", ".png"))
    surface = surface_from_args(args)
    choices = labelled(args.optimizer)
    resolution, steps = RESOLUTION.parse(args.resolution), STEPS.parse(args.steps)
    tol, radius, device = TOL.parse(args.tol), RADIUS.parse(args.radius), DEVICE.parse(args.device)
    if len(choices) > 16:
        raise UsageError(f"Too many --optimizer: {len(choices)} (allowed: 1 to 16)")
    bar = ProgressBar(f"basins {surface.name}")
    try:
        result = basins(surface, choices, resolution, steps, tol=tol, radius=radius, engine=args.engine,
                        device=device, progress=bar)
    finally:
        bar.close()
    from optviz.core.image import basins_picture

    lines = race_lines(result)
    print("\n".join(lines), flush=True)  # first: a file that then fails to write does not cost the race
    write_map(out, npz_arrays(result), lambda: basins_picture(result),
              lambda figures: figures.basins_figure(result, surface, lines))
    print(f"wrote {out} ({plural(len(choices), 'optimizer', 'optimizers')} × {resolution}×{resolution} starts, "
          f"{steps} steps each, "
          f"engine {result.engine}, device {result.device}, {result.seconds:.1f} s)", file=sys.stderr)
    return 0
