"""Noisy gradients as a fan: for every enabled optimizer with gradient noise, K runs that differ only in their
seeds (seed, seed + 1, …), drawn faintly, and their mean path dashed in the optimizer's colour. Computed in a
worker (:func:`optviz.core.noise.fan`, the same engines as the paths), stale results dropped."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor

from optviz.core.noise import FAN, fan
from optviz.core.params import Spec
from optviz.core.session import Session
from optviz.ui.playground.colors import entry_colors
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.path_items import Z_FUTURE
from optviz.ui.workers import LatestRunner

FAN_SEEDS = Spec("fan", "int", 0, 0, FAN.high, title="Noise fan", label="noise fan seeds",
                 doc="draw this many seeds of every optimizer with gradient noise, faintly, with their mean path "
                     "(0: off)")


@dataclass(frozen=True)
class FanResult:
    session: Session
    seeds: int
    fans: tuple[tuple[int, np.ndarray, np.ndarray], ...]  # (entry, positions (K, n, L, 2), mean (n, L, 2))


def compute_fans(session: Session, seeds: int) -> FanResult:
    surface = session.make_surface()
    (x0, x1), (y0, y1) = surface.view
    out = []
    for i, entry in enumerate(session.optimizers):
        if entry.enabled and entry.choice.noise > 0 and seeds > 0 and session.starts:
            f = fan(surface, entry.choice, session.starts, session.steps, seeds, device=session.device)
            pos = f.paths.positions.copy()
            with np.errstate(invalid="ignore"):  # far outside the view: not drawn (a diverged seed's jumps)
                far = (pos[..., 0] < 2 * x0 - x1) | (pos[..., 0] > 2 * x1 - x0) | \
                      (pos[..., 1] < 2 * y0 - y1) | (pos[..., 1] > 2 * y1 - y0)
            pos[far] = np.nan
            out.append((i, pos, f.mean))
    return FanResult(session, seeds, tuple(out))


def _joined(paths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All paths (…, L, 2) as one NaN-separated polyline."""
    flat = paths.reshape(-1, paths.shape[-2], 2)
    gap = np.full((len(flat), 1, 2), np.nan)
    joined = np.concatenate((flat, gap), axis=1).reshape(-1, 2)
    return joined[:, 0], joined[:, 1]


class FanItems(QObject):
    """Requests the fans when the inputs or the seed count change and draws the latest on ``plot``."""

    def __init__(self, model: PlaygroundModel, plot: pg.PlotItem, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._plot = plot
        self.items: list[tuple[int, pg.PlotCurveItem, pg.PlotCurveItem]] = []
        self.result: FanResult | None = None
        self._runner = LatestRunner(compute_fans, delay_ms=60, parent=self)
        self._runner.finished.connect(self._on_runner_finished)
        model.inputs_changed.connect(self._request)
        model.fan_changed.connect(self._request)
        model.surface_changed.connect(self._clear)

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        return self._runner.shutdown(timeout_s)

    def is_busy(self) -> bool:
        return self._runner.is_busy()

    def _request(self, *args) -> None:
        dragging = bool(args[0]) if args and isinstance(args[0], bool) else False
        if dragging:
            return  # the fan follows on release
        self._runner.request(self._model.session, self._model.fan)

    def _clear(self) -> None:
        for _, cloud, mean in self.items:
            self._plot.removeItem(cloud)
            self._plot.removeItem(mean)
        self.items = []

    def _on_runner_finished(self, result: FanResult) -> None:
        self._clear()
        self.result = result
        if _surface_of(result.session) != _surface_of(self._model.session):
            return  # computed on another surface (another formula, other wells or penalty): not drawn
        colors = entry_colors(result.session.optimizers)
        for entry, positions, mean in result.fans:
            faint = QColor(colors[entry])
            faint.setAlpha(70)
            cloud = pg.PlotCurveItem(*_joined(positions), pen=pg.mkPen(faint, width=1), connect="finite")
            line = pg.PlotCurveItem(*_joined(mean), connect="finite",
                                    pen=pg.mkPen(colors[entry], width=2, style=Qt.PenStyle.DashLine))
            for z, item in ((Z_FUTURE - 0.5, cloud), (Z_FUTURE + 0.5, line)):
                item.setZValue(z)
                self._plot.addItem(item, ignoreBounds=True)
            self.items.append((entry, cloud, line))


def _surface_of(session) -> tuple:
    """What decides a session's surface: its name, parameters, formula and view, edited wells and penalty."""
    return (session.surface, tuple(sorted(session.surface_params.items())), session.formula, session.view,
            session.wells, session.penalty)
