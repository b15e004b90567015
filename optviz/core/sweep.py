"""Hyperparameter stability maps: one optimizer from one start, its final loss over one or two hyperparameters.

Every cell of the Ny × Nx grid is a row of one batch with its own hyperparameter values (the fast engine's rows
carry their hyperparameters, so the whole map is one run). ``final_loss[i, j]`` belongs to
``(x_values[j], y_values[i])``; it is NaN where the path diverged (simulate's rule). With one axis the map is a
strip (Ny = 1, no y values).

A choice's gradient noise and learning-rate schedule are playground run settings: the maps run the optimizer
itself, noiseless at its constant lr (a map of a noisy run would need a noise draw per cell and step).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from optviz.core.basins import STEPS
from optviz.core.batch import Progress, track
from optviz.core.optimizers import OptimizerChoice
from optviz.core.params import ParamError, Spec, quote
from optviz.core.rules import COL, hyper_row
from optviz.core.simulate import SimulationError
from optviz.core.surfaces import Surface

RESOLUTION = Spec("resolution", "int", 64, 2, 512, title="Resolution", doc="values per axis")


@dataclass(frozen=True)
class Axis:
    """A hyperparameter swept from ``low`` to ``high``: geometric steps when ``log`` (None: as the registry
    shows the hyperparameter, so the learning rate gets a log axis)."""

    name: str
    low: float
    high: float
    log: bool | None = None

    def values(self, n: int) -> np.ndarray:
        if self.log:
            return np.geomspace(self.low, self.high, n)
        return np.linspace(self.low, self.high, n)


def parse_axis(text: str) -> Axis:
    """``NAME:LOW:HIGH[:log|:lin]``, e.g. ``lr:1e-4:1:log`` or ``momentum:0:0.99`` (default: the registry's)."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3].lower() not in ("log", "lin")) or not parts[0]:
        raise ParamError(f"Malformed axis {quote(text)} (expected NAME:LOW:HIGH, NAME:LOW:HIGH:log or :lin)")
    try:
        low, high = float(parts[1]), float(parts[2])
    except ValueError:
        raise ParamError(f"Malformed axis {quote(text)} (LOW and HIGH must be numbers)") from None
    return Axis(parts[0].lower(), low, high, None if len(parts) == 3 else parts[3].lower() == "log")


def check_axis(choice: OptimizerChoice, axis: Axis) -> Axis:
    """``axis`` if it names a numeric hyperparameter of ``choice`` and both ends are allowed values."""
    spec = choice.spec.hyper(axis.name)
    if spec.kind != "float":
        raise ParamError(f"Invalid axis {quote(axis.name)}: not a number (allowed: "
                         f"{', '.join(h.name for h in choice.spec.hypers if h.kind == 'float')})")
    for end in (axis.low, axis.high):
        choice.spec.resolve({**choice.values, axis.name: end})  # the registry's checks, nesterov's included
    if axis.log is None:
        axis = dataclasses.replace(axis, log=spec.log)
    if axis.log and min(axis.low, axis.high) <= 0:
        raise ParamError(f"Invalid axis {quote(axis.name)}: a log axis needs ends above 0")
    if axis.low == axis.high:
        raise ParamError(f"Invalid axis {quote(axis.name)}: LOW and HIGH are equal")
    return axis


@dataclass(frozen=True)
class Sweep:
    final_loss: np.ndarray  # (Ny, Nx), NaN where diverged
    diverged: np.ndarray  # (Ny, Nx) bool
    x_values: np.ndarray  # (Nx,)
    y_values: np.ndarray  # (Ny,), empty for a strip
    x_name: str
    y_name: str  # "" for a strip
    choice: OptimizerChoice
    start: tuple[float, float]
    steps: int
    engine: str
    device: str
    seconds: float
    x_log: bool = False  # the values are geometric steps (a log axis draws them evenly)
    y_log: bool = False


def sweep(surface: Surface, choice: OptimizerChoice, start: tuple[float, float], x: Axis, y: Axis | None = None,
          resolution: int = RESOLUTION.default, steps: int = STEPS.default, *, engine: str = "auto",
          device: str = "auto", far: float = 10.0, progress: Progress | None = None) -> Sweep:
    """Final loss of ``choice`` from ``start`` over ``x`` (and ``y``): one batch, one row per cell."""
    resolution, steps = RESOLUTION.validate(resolution), STEPS.validate(steps)
    if not all(np.isfinite(start)):
        raise SimulationError("Invalid start point: coordinates must be finite numbers")
    x = check_axis(choice, x)
    if y is not None:
        y = check_axis(choice, y)
        if y.name == x.name:
            raise ParamError(f"Invalid axes: both sweep {quote(x.name)}")
    t0 = time.perf_counter()
    xv = x.values(resolution)
    yv = y.values(resolution) if y is not None else np.zeros(0)
    ny = max(1, len(yv))
    # 1. One table row per cell: the choice's row with the swept columns replaced.
    table = np.tile(hyper_row(choice), (ny * resolution, 1))
    table[:, COL[x.name]] = np.tile(xv, ny)
    if y is not None:
        table[:, COL[y.name]] = np.repeat(yv, resolution)
    groups = np.arange(len(table), dtype=np.int32)
    starts = np.tile(np.asarray(start, dtype=np.float64), (len(table), 1))
    # 2. One run; the loss at the last step, NaN where the path left.
    run, used_engine, used_device = track(surface, table, groups, starts, steps, engine=engine, device=device,
                                          far=far, progress=progress)
    diverged = (run.diverged >= 0).reshape(ny, resolution)
    final = np.where(diverged, np.nan, run.last[:, 0].reshape(ny, resolution))
    return Sweep(final, diverged, xv, yv, x.name, y.name if y is not None else "", choice,
                 (float(start[0]), float(start[1])), steps, used_engine, used_device, time.perf_counter() - t0,
                 bool(x.log), bool(y is not None and y.log))
