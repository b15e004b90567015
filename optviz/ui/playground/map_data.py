"""What the map views draw, computed in their job threads (no Qt): basin maps with their race, stability sweeps.

Basin colours are the CLI's (:mod:`optviz.core.image`): minimum k has ``BASIN_COLOURS[k % 10]``, darker where the
start took longer to converge (1 − 0.55 · steps / budget), grey where it did not converge within the budget,
black where it diverged. A stability map is coloured by log10 of the final f − f* (f*: the surface's global
minimum, or the map's smallest final loss where the surface lists none).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from optviz.core.basins import RADIUS, TOL, BasinMap, Basins, RaceStats, grid, label_rows, race
from optviz.core.batch import track
from optviz.core.image import BASIN_COLOURS, DIVERGED, NOT_CONVERGED
from optviz.core.optimizers import OptimizerChoice
from optviz.core.rules import hyper_table
from optviz.core.session import MapSettings, Session
from optviz.core.surfaces import Surface
from optviz.core.sweep import Axis, Sweep, sweep
from optviz.ui.playground.compute import surface_key
from optviz.ui.playground.map_jobs import Cancelled, Ticket

SHADE = 0.55  # how much darker the slowest converged start is than the fastest
LOSS_FLOOR = 1e-12  # f − f* below this is drawn as this (log colours)
BLOCK_ROWS = 16_384  # starts of one basin-map slice: the most work that Cancel (or a newer request) waits for


def basin_colour(k: int) -> tuple[int, int, int]:
    """The colour of minimum ``k``'s basin (and of its marker)."""
    return tuple(int(c) for c in BASIN_COLOURS[k % len(BASIN_COLOURS)])


def basin_rgba(labels: np.ndarray, steps: np.ndarray, budget: int) -> np.ndarray:
    """(N, N, 4) uint8 colours of a basin map, row i for ys[i] (the first row at the bottom, as plotted)."""
    img = np.empty(labels.shape + (4,), np.float64)
    img[..., :3] = NOT_CONVERGED
    img[..., 3] = 255
    img[labels == -2, :3] = DIVERGED
    shade = 1.0 - SHADE * np.clip(steps / max(1, budget), 0, 1)
    for k in np.unique(labels[labels >= 0]):
        where = labels == k
        img[where, :3] = np.asarray(basin_colour(int(k)), float) * shade[where][:, None]
    return np.round(img).astype(np.uint8)


@dataclass(frozen=True)
class BasinPanel:
    """One enabled optimizer entry's map (None where it could not be computed, with the reason)."""

    entry: int  # index into the session's optimizer entries
    map: BasinMap | None
    error: str = ""


@dataclass(frozen=True)
class BasinsResult:
    key: tuple  # what was computed (basins_key)
    basins: Basins  # grid, minima and the maps that were computed
    panels: tuple[BasinPanel, ...]
    stats: tuple[RaceStats, ...]  # one per panel with a map, in panel order


def basins_key(session: Session, resolution: int) -> tuple:
    """Everything a basin map depends on (start points are not among it)."""
    entries = tuple((i, e.choice) for i, e in enumerate(session.optimizers) if e.enabled)
    return surface_key(session), entries, session.steps, session.device, resolution


def compute_basins(ticket: Ticket, session: Session, resolution: int) -> BasinsResult:
    """Every enabled entry's basin map (optviz.core.basins's labels and criterion), one optimizer after another
    and BLOCK_ROWS starts at a time, so that Cancel waits for one block at most; an optimizer that fails is
    reported in its panel."""
    key = basins_key(session, resolution)
    entries = key[1]
    if not entries:
        raise ValueError("No optimizer is enabled: tick one in the side panel")
    t0 = time.perf_counter()
    surface = session.make_surface()
    xs, ys, starts = grid(surface, resolution)
    points = surface.minima
    minima = np.array([(p.x, p.y) for p in points], dtype=np.float64).reshape(-1, 2)
    (x0, x1), (y0, y1) = surface.view
    max_distance = RADIUS.default * float(np.hypot(x1 - x0, y1 - y0))
    rows, total = len(starts), len(entries) * len(starts)
    panels, maps, used, errors = [], [], ("", ""), []
    for k, (index, choice) in enumerate(entries):
        labels, conv = np.empty(rows, np.int64), np.empty(rows, np.int64)
        try:
            table = hyper_table([choice])
            for r0 in range(0, rows, BLOCK_ROWS):
                r1 = min(rows, r0 + BLOCK_ROWS)
                ticket.progress(k * rows + r0, total)

                def part(done: int, _n: int, base: int = k * rows + r0) -> None:
                    ticket.progress(base + done, total)

                run, *used = track(surface, table, np.zeros(r1 - r0, np.int32), starts[r0:r1], session.steps,
                                   device=session.device, tol=TOL.default, progress=part)
                labels[r0:r1] = label_rows(run.position, run.converged, run.diverged, minima, max_distance)
                conv[r0:r1] = np.where(labels[r0:r1] >= 0, run.converged, -1)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 — e.g. an optimizer the map engines do not know: shown in its panel
            errors.append((str(exc).strip().splitlines() or [type(exc).__name__])[0])
            panels.append(BasinPanel(index, None, errors[-1]))
            continue
        one = BasinMap(choice.label, choice, labels.reshape(resolution, resolution),
                       conv.reshape(resolution, resolution))
        maps.append(one)
        panels.append(BasinPanel(index, one))
    if not maps:
        raise ValueError(f"Could not compute the basin maps: {errors[0]}")
    result = Basins(xs, ys, minima, tuple(p.kind for p in points), tuple(maps), session.steps, TOL.default,
                    RADIUS.default, used[0], used[1], time.perf_counter() - t0)
    return BasinsResult(key, result, tuple(panels), tuple(race(result)))


# -- stability maps ----------------------------------------------------------------------------------------------
LR_RANGE = MapSettings().stability_lr  # the learning-rate axis (log) unless the view is given another
Y_RANGES = {"momentum": (0.0, 0.99), "beta1": (0.0, 0.99), "beta2": (0.8, 0.9999), "alpha": (0.5, 0.999)}
_FIRST = {"rmsprop": ("alpha", "momentum")}  # where the issue names another hyperparameter first


def y_choices(choice: OptimizerChoice) -> tuple[str, ...]:
    """The hyperparameters worth a second axis beside lr for this optimizer ("": the lr strip, always last):
    momentum for Momentum/Nesterov, beta1 and beta2 for Adam (and any registry optimizer that has them), alpha
    for RMSProp; SGD, Adagrad and the rest get the strip only."""
    names = [h.name for h in choice.spec.hypers if h.kind == "float"]
    order = _FIRST.get(choice.name, tuple(Y_RANGES))
    return tuple(n for n in order if n in names) + ("",)


def axes_for(choice: OptimizerChoice, y_name: str, lr: tuple[float, float] = LR_RANGE) -> tuple[Axis, Axis | None]:
    """The lr axis (log, from ``lr[0]`` to ``lr[1]``) and the ``y_name`` axis (linear, None for a strip), the
    latter inside the registry's bounds."""
    x = Axis("lr", *lr, log=True)
    if not y_name:
        return x, None
    spec = choice.spec.hyper(y_name)
    low, high = Y_RANGES.get(y_name, (spec.low or 0.0, spec.high if spec.high is not None else 1.0))
    if spec.low is not None and (low < spec.low or (spec.low_open and low <= spec.low)):
        low = spec.low + 0.01
    return x, Axis(y_name, low, high, log=False)


@dataclass(frozen=True)
class StabilityResult:
    key: tuple
    entry: int
    sweep: Sweep
    f_star: float  # what the colours subtract from the final loss
    f_star_known: bool  # the surface's global minimum (False: the map's smallest final loss)
    colour: np.ndarray  # (Ny, Nx) log10(final − f*) clipped at LOSS_FLOOR, NaN where diverged


def stability_key(session: Session, entry: int, start: tuple[float, float], y_name: str, resolution: int,
                  lr: tuple[float, float] = LR_RANGE) -> tuple:
    """Everything a stability map depends on: not the swept hyperparameters' own values (a click on a cell sets
    them, and the map stays as it is)."""
    choice = session.optimizers[entry].choice
    swept = {"lr", y_name}
    fixed = tuple(sorted((k, v) for k, v in choice.values.items() if k not in swept))
    return (surface_key(session), entry, choice.name, fixed, tuple(start), y_name, resolution, tuple(lr),
            session.steps, session.device)


def compute_stability(ticket: Ticket, session: Session, entry: int, start: tuple[float, float], y_name: str,
                      resolution: int, lr: tuple[float, float] = LR_RANGE) -> StabilityResult:
    """Final loss of entry ``entry`` from ``start`` over lr from ``lr[0]`` to ``lr[1]`` (× ``y_name``), one
    batch."""
    choice = session.optimizers[entry].choice
    surface = session.make_surface()
    x, y = axes_for(choice, y_name, lr)
    ticket.progress(0, 1)
    result = sweep(surface, choice, start, x, y, resolution, session.steps, device=session.device,
                   progress=ticket.progress)
    return StabilityResult(stability_key(session, entry, start, y_name, resolution, lr), entry, result,
                           *stability_colour(result, surface))


def stability_colour(result: Sweep, surface: Surface) -> tuple[float, bool, np.ndarray]:
    """(f*, whether f* is the surface's global minimum, the map's colour values): log10 of the final f − f*,
    clipped at LOSS_FLOOR, NaN where diverged."""
    glob = [p.value for p in surface.minima if p.kind == "global"]
    finite = result.final_loss[np.isfinite(result.final_loss)]
    known = bool(glob)
    f_star = float(min(glob)) if known else (float(finite.min()) if len(finite) else 0.0)
    with np.errstate(invalid="ignore"):
        colour = np.log10(np.maximum(result.final_loss - f_star, LOSS_FLOOR))
    return f_star, known, colour


def colour_levels(colour: np.ndarray) -> tuple[float, float]:
    """The colour range (log10 units) of a stability map: its finite values, at least a decade wide."""
    finite = colour[np.isfinite(colour)]
    if not len(finite):
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo < 1.0:
        mid = (lo + hi) / 2
        lo, hi = mid - 0.5, mid + 0.5
    return math.floor(lo * 4) / 4, math.ceil(hi * 4) / 4
