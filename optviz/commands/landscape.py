"""`optviz landscape`: the loss around a saved run's final weights, with its optimizer's path (npz or png)."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from optviz.commands import RunError, UsageError, output_file, plural
from optviz.commands.basins import ProgressBar, write_map
from optviz.core.devices import DEVICE, unavailable
from optviz.core.params import Spec

RUN = Spec("run", "int", 0, 0, 1000, doc="which run of the checkpoint (a race saves several)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from optviz.training.landscape import DIRECTIONS, PROBE, RANGE, RESOLUTION, SEED  # torch: only for this command

    p = sub.add_parser(
        "landscape", help="loss-landscape slice around a saved run's weights, with its optimizer's path",
        description="Evaluate the loss of a checkpoint's network on the plane θ* + α·d1 + β·d2 through its final "
                    "weights θ* (Li et al., 2018): random filter-normalised directions, or the first two PCA "
                    "directions of the run's saved weight trajectory (optviz train --save keeps one), on a probe of "
                    "training images. The npz holds loss (N×N; loss[i, j] is at alphas[j], betas[i]), alphas, "
                    "betas (N), path (K×2, the trajectory projected on the plane: first point the initial "
                    "weights, last the final ones), path_steps (K), explained (the share of the trajectory's "
                    "variance along d1 and d2), line_t and line_loss (the loss on the straight line from the "
                    "initial (t = 0) to the final weights (t = 1)), directions and notes. BatchNorm models are "
                    "evaluated in eval mode.")
    p.add_argument("--checkpoint", metavar="FILE", required=True, help="a checkpoint from optviz train --save")
    p.add_argument("--run", metavar="I", default="0", help=f"{RUN.doc} ({RUN.allowed()}; default 0)")
    p.add_argument("--resolution", metavar="N", default=str(RESOLUTION.default),
                   help=f"{RESOLUTION.doc} ({RESOLUTION.allowed()}; default {RESOLUTION.default})")
    p.add_argument("--probe", metavar="N", default=str(PROBE.default),
                   help=f"{PROBE.doc} ({PROBE.allowed()}; default {PROBE.default})")
    p.add_argument("--directions", metavar="|".join(DIRECTIONS.choices), default=DIRECTIONS.default,
                   help=f"{DIRECTIONS.doc} (default {DIRECTIONS.default})")
    p.add_argument("--seed", metavar="S", default="0", help=f"{SEED.doc} ({SEED.allowed()}; default 0)")
    p.add_argument("--range", metavar="R", default=None, help=f"{RANGE.doc} ({RANGE.allowed()})")
    p.add_argument("--device", metavar="|".join(DEVICE.choices), default="auto", help="where to compute")
    p.add_argument("--out", metavar="FILE.npz|FILE.png", required=True,
                   help="write the slice here: the arrays (npz) or a figure (png: the heatmap with contours and "
                        "the projected path, a colour bar of the loss, the loss on the straight line below)")


def run(args: argparse.Namespace) -> int:
    out = output_file(args.out, "--out", (".npz", ".png"), others={"--checkpoint": args.checkpoint})
    from optviz.training import landscape as ls
    from optviz.training.checkpoint import load_checkpoint
    from optviz.training.trainer import out_of_memory, training_threads

    resolution, probe = ls.RESOLUTION.parse(args.resolution), ls.PROBE.parse(args.probe)
    directions, seed = ls.DIRECTIONS.parse(args.directions), ls.SEED.parse(args.seed)
    range_ = None if args.range is None else ls.RANGE.parse(args.range)
    device, run_index = DEVICE.parse(args.device), RUN.parse(args.run)
    why = unavailable(device)
    if why:
        raise UsageError(why)
    checkpoint = load_checkpoint(args.checkpoint)  # CheckpointError: one line naming the file
    if run_index >= len(checkpoint.runs):
        raise UsageError(f"Invalid run: {run_index} (allowed: 0 to {len(checkpoint.runs) - 1}; the checkpoint "
                         f"holds {plural(len(checkpoint.runs), 'run', 'runs')})")
    import torch

    if device != "cuda":
        torch.set_num_threads(training_threads())
    result = checkpoint.result(run_index)
    bar = ProgressBar(f"landscape {checkpoint.config.model}")
    try:
        slice_ = ls.run_landscape(checkpoint.config, checkpoint.data, result.model_state, result.trajectory,
                                  probe=probe, directions=directions, resolution=resolution, range_=range_,
                                  seed=seed, device=device, progress=bar)
    except (RuntimeError, MemoryError) as exc:  # out of memory: one line saying what to try, status 1
        if not out_of_memory(exc, checkpoint.config):
            raise
        raise RunError(f"Out of memory for the landscape of {checkpoint.config.model} with a probe of {probe} "
                       "images: try a smaller --probe, or the CPU") from None
    finally:
        bar.close()
    name = f"{checkpoint.config.model} · {checkpoint.runs[run_index]['label']}"
    title = (f"Loss landscape of {name} on {checkpoint.config.dataset} (run {run_index}): "
             f"{ls.DIRECTION_WORDS[slice_.directions]}")
    write_map(out, slice_.arrays(), lambda: picture(slice_),
              lambda figures: figures.landscape_figure([(name, slice_)], title))
    share = "" if np.isnan(slice_.explained).all() else \
        f", the plane holds {100 * float(np.nansum(slice_.explained)):.1f}% of the path's variance"
    print(f"wrote {out} ({resolution}×{resolution} points, {slice_.directions} directions, probe {slice_.probe} "
          f"images, loss {np.nanmin(slice_.loss):.4g} to {np.nanmax(slice_.loss):.4g}{share}, device "
          f"{slice_.device}, {slice_.seconds:.1f} s)", file=sys.stderr)
    for note in slice_.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def picture(result) -> np.ndarray:
    """The slice as RGB: viridis (log colours where the loss spans more than two decades), white path with the
    start green and the end red, y growing upwards."""
    from optviz.core.image import viridis

    loss = result.loss
    finite = np.isfinite(loss)
    values = loss.copy()
    if finite.any() and float(loss[finite].min()) > 0 and float(loss[finite].max() / loss[finite].min()) > 100:
        values = np.log10(np.where(finite, loss, 1.0))
    img = np.zeros(loss.shape + (3,))
    img[:] = (220, 30, 30)
    if finite.any():
        lo, hi = float(values[finite].min()), float(values[finite].max())
        img[finite] = viridis((values[finite] - lo) / (hi - lo) if hi > lo else np.zeros(int(finite.sum())))
    n = loss.shape[0]
    k = max(1, -(-384 // n))
    img = np.repeat(np.repeat(img, k, axis=0), k, axis=1)
    side = img.shape[0]
    a0, a1, b0, b1 = result.alphas[0], result.alphas[-1], result.betas[0], result.betas[-1]

    def pixel(x: float, y: float) -> tuple[float, float]:
        return (x - a0) / (a1 - a0) * (side - 1), (y - b0) / (b1 - b0) * (side - 1)

    path = result.path
    for (xa, ya), (xb, yb) in zip(path[:-1], path[1:]):
        (pa, qa), (pb, qb) = pixel(xa, ya), pixel(xb, yb)
        for t in np.linspace(0, 1, int(max(abs(pb - pa), abs(qb - qa))) + 2):
            _dot(img, pa + t * (pb - pa), qa + t * (qb - qa), 1, (255, 255, 255))
    if len(path):
        _dot(img, *pixel(*path[0]), 4, (40, 200, 60))
        _dot(img, *pixel(*path[-1]), 4, (230, 40, 40))
    return img[::-1].astype(np.uint8)


def _dot(img: np.ndarray, px: float, py: float, r: int, colour: tuple[int, int, int]) -> None:
    i, j = int(round(py)), int(round(px))
    if 0 <= i < img.shape[0] and 0 <= j < img.shape[1]:
        img[max(0, i - r):i + r + 1, max(0, j - r):j + r + 1] = colour
