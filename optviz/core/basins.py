"""Basins of attraction: the minimum that each optimizer reaches from every start of a grid, and a fair race.

For each optimizer (with its hyperparameters) every start of an N×N grid over the view box runs for the same
number of steps. A start is labelled

    k ≥ 0   it *ends in minimum k* (an index into ``surface.minima``): its path converged (the gradient norm stays
            below ``tol`` from some step to the last one, simulate's rule) and its last point lies within
            ``radius`` × the view box's diagonal of minimum k, the nearest listed minimum;
    −1      not converged within the steps (or settled somewhere that is not a listed minimum, e.g. a saddle);
    −2      diverged (a non-finite or far-out step, simulate's rule).

``steps[i, j]`` is the step at which a labelled start converged (−1 otherwise). ``labels[i, j]`` belongs to the
start ``(xs[j], ys[i])``. :func:`race` summarises each optimizer over the whole grid with the same step budget.

A choice's gradient noise and learning-rate schedule are playground run settings: the maps run the optimizer
itself, noiseless at its constant lr. An optimizer with weight decay (AdamW's default 0.01) settles where
∇f + decay = 0, not where ∇f = 0, so by this module's rule (‖∇f‖ < tol) it does not converge to a listed minimum.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from optviz.core.batch import Progress, track
from optviz.core.optimizers import OptimizerChoice
from optviz.core.params import Spec
from optviz.core.rules import hyper_table
from optviz.core.simulate import SimulationError
from optviz.core.surfaces import Surface

RESOLUTION = Spec("resolution", "int", 128, 2, 512, title="Resolution", doc="starts per side of the grid")
STEPS = Spec("steps", "int", 300, 1, 5000, title="Steps", doc="step budget of every start")
TOL = Spec("tol", "float", 1e-4, 0.0, 1.0, low_open=True, log=True, doc="gradient norm of a converged path")
RADIUS = Spec("radius", "float", 1e-2, 0.0, 1.0, low_open=True, log=True,
              doc="distance to a minimum, as a share of the view box's diagonal")


@dataclass(frozen=True)
class BasinMap:
    """One optimizer's map."""

    label: str
    choice: OptimizerChoice
    labels: np.ndarray  # (N, N) int: index into minima, -1 not converged, -2 diverged
    steps: np.ndarray  # (N, N) int: step of convergence, or -1


@dataclass(frozen=True)
class Basins:
    xs: np.ndarray  # (N,)
    ys: np.ndarray  # (N,)
    minima: np.ndarray  # (K, 2)
    minimum_kinds: tuple[str, ...]  # "global" | "local" for each minimum
    maps: tuple[BasinMap, ...]
    budget: int  # steps every start ran
    tol: float
    radius: float
    engine: str
    device: str
    seconds: float


@dataclass(frozen=True)
class RaceStats:
    """An optimizer over the whole grid, every start with the same step budget."""

    label: str
    global_share: float  # starts that end in a global minimum
    any_share: float  # starts that end in any listed minimum
    diverged_share: float
    median_steps: float  # over the starts that end in a minimum (NaN if none)
    p90_steps: float

    def texts(self) -> list[str]:
        """Global, any, diverged (in percent), median and p90 steps, as the tables write them."""
        return [share_text(self.global_share), share_text(self.any_share), share_text(self.diverged_share),
                steps_text(self.median_steps), steps_text(self.p90_steps)]


def share_text(share: float) -> str:
    """A share of the grid's starts in percent: 0 and 100 only when exact (3 diverged of 65,536 read "<0.1",
    not 0.0)."""
    if math.isnan(share):
        return "—"
    if share in (0.0, 1.0):
        return f"{100 * share:.0f}"
    return "<0.1" if share < 0.001 else ">99.9" if share > 0.999 else f"{100 * share:.1f}"


def steps_text(steps: float) -> str:
    return "—" if math.isnan(steps) else f"{steps:.0f}"


def grid(surface: Surface, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """xs (N,), ys (N,) over the view box and the starts (N·N, 2) in row-major (ys, xs) order."""
    (x0, x1), (y0, y1) = surface.view
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return xs, ys, np.column_stack((xx.ravel(), yy.ravel()))


def label_rows(final: np.ndarray, converged: np.ndarray, diverged: np.ndarray, minima: np.ndarray,
               max_distance: float) -> np.ndarray:
    """The label of every row from where it ended and its statuses (the module's criterion)."""
    labels = np.full(len(final), -1, dtype=np.int64)
    ok = (converged >= 0) & (diverged < 0)
    if len(minima) and ok.any():
        d = np.linalg.norm(final[ok, None, :] - minima[None, :, :], axis=-1)
        nearest = d.argmin(axis=1)
        labels[np.nonzero(ok)[0]] = np.where(d[np.arange(len(nearest)), nearest] <= max_distance, nearest, -1)
    labels[diverged >= 0] = -2
    return labels


def basins(surface: Surface, optimizers: Sequence[OptimizerChoice], resolution: int = RESOLUTION.default,
           steps: int = STEPS.default, *, tol: float = TOL.default, radius: float = RADIUS.default,
           engine: str = "auto", device: str = "auto", far: float = 10.0, progress: Progress | None = None
           ) -> Basins:
    """Every optimizer's basin map on an N×N grid of starts over the view box (see the module docstring)."""
    resolution, steps = RESOLUTION.validate(resolution), STEPS.validate(steps)
    tol, radius = TOL.validate(tol), RADIUS.validate(radius)
    if not optimizers:
        raise SimulationError("Invalid optimizers: none given (allowed: one or more registry optimizers)")
    t0 = time.perf_counter()
    xs, ys, starts = grid(surface, resolution)
    points = surface.minima
    minima = np.array([(p.x, p.y) for p in points], dtype=np.float64).reshape(-1, 2)
    (x0, x1), (y0, y1) = surface.view
    max_distance = radius * float(np.hypot(x1 - x0, y1 - y0))
    n_rows, n_opt = len(starts), len(optimizers)
    # One batch of rows for all optimizers (on a GPU one launch per operation for every map: launches, not
    # arithmetic, bound these sizes there); the eager engine, the reference, runs torch.optim itself, one optimizer
    # at a time.
    batches = [[i] for i in range(n_opt)] if engine == "eager" else [list(range(n_opt))]
    maps, used = [], ("", "")
    for batch in batches:
        def part(done: int, total: int, first: int = batch[0] * n_rows) -> None:
            if progress:
                progress(first + done, n_opt * n_rows)

        groups = np.repeat(np.arange(len(batch), dtype=np.int32), n_rows)
        run, *used = track(surface, hyper_table([optimizers[i] for i in batch]), groups,
                           np.tile(starts, (len(batch), 1)), steps, engine=engine, device=device, tol=tol, far=far,
                           progress=part)
        for j, i in enumerate(batch):
            rows = slice(j * n_rows, (j + 1) * n_rows)
            labels = label_rows(run.position[rows], run.converged[rows], run.diverged[rows], minima, max_distance)
            conv = np.where(labels >= 0, run.converged[rows], -1)
            maps.append(BasinMap(optimizers[i].label, optimizers[i], labels.reshape(resolution, resolution),
                                 conv.reshape(resolution, resolution)))
    return Basins(xs, ys, minima, tuple(p.kind for p in points), tuple(maps), steps, tol, radius, used[0], used[1],
                  time.perf_counter() - t0)


def race(result: Basins) -> list[RaceStats]:
    """Each optimizer's shares and convergence steps over the whole grid (the same budget for all)."""
    glob = [k for k, kind in enumerate(result.minimum_kinds) if kind == "global"]
    out = []
    for m in result.maps:
        labels, steps = m.labels.ravel(), m.steps.ravel()
        reached = steps[labels >= 0]
        out.append(RaceStats(
            m.label, float(np.isin(labels, glob).mean()), float((labels >= 0).mean()), float((labels == -2).mean()),
            float(np.median(reached)) if len(reached) else float("nan"),
            float(np.percentile(reached, 90)) if len(reached) else float("nan")))
    return out
