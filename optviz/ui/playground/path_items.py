"""The optimizers' paths on the surface: per enabled optimizer a faint full path, a solid trail up to the
animation step, and head markers; plus a legend.

All start points of one optimizer are one curve, paths separated by a NaN point (``connect="finite"``), so the
number of items does not grow with the number of starts. Path j of row i occupies points
``j*(L+1) … j*(L+1)+L-1`` of the row's curves, where L is the number of points drawn per path.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject
from PySide6.QtGui import QColor

from optviz.ui.playground.colors import entry_colors, entry_title
from optviz.ui.playground.model import PlaygroundModel

# Antialiased lines wider than 1 px cost Qt's raster engine ~50× more than 1 px ones: wide trails only while
# the total is small enough to repaint at animation speed.
WIDE_TRAIL_POINTS = 40_000


def joined(paths: np.ndarray, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """x, y of the paths (n_starts, steps+1, 2) up to and including step ``stop``, NaN-separated."""
    part = paths[:, : stop + 1]
    gap = np.full((part.shape[0], 1, 2), np.nan)
    flat = np.concatenate((part, gap), axis=1).reshape(-1, 2)
    return flat[:, 0], flat[:, 1]


def split(x: np.ndarray, y: np.ndarray, n_starts: int) -> list[np.ndarray]:
    """Inverse of :func:`joined`: one (L, 2) array per start point."""
    per = len(x) // n_starts if n_starts else 0
    return [np.stack((x[j * per: (j + 1) * per - 1], y[j * per: (j + 1) * per - 1]), -1) for j in range(n_starts)]


class _RowItems:
    """The curves and markers of one optimizer row."""

    def __init__(self, plot: pg.PlotItem, color: QColor, wide: bool) -> None:
        faint = QColor(color)
        faint.setAlpha(130)
        self.future = pg.PlotCurveItem(pen=pg.mkPen(faint, width=1), connect="finite")
        self.trail = pg.PlotCurveItem(pen=pg.mkPen(color, width=2.2 if wide else 1), connect="finite")
        self.heads = pg.ScatterPlotItem(size=11, pen=pg.mkPen("#ffffff", width=1.5), brush=pg.mkBrush(color))
        for z, item in enumerate((self.future, self.trail, self.heads)):
            item.setZValue(10 + z)
            plot.addItem(item)

    def items(self) -> tuple:
        return self.future, self.trail, self.heads


class PathItems(QObject):
    """Draws the model's Result at the model's current step."""

    def __init__(self, model: PlaygroundModel, plot: pg.PlotItem, legend: pg.LegendItem,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._plot = plot
        self._legend = legend
        self.rows: list[_RowItems] = []
        self._built: tuple | None = None  # (rows, wide) the items were made for
        model.result_changed.connect(self._on_model_result_changed)
        model.step_changed.connect(self._on_model_step_changed)
        self._on_model_result_changed()

    def _on_model_result_changed(self) -> None:
        result = self._model.result
        self._rebuild_rows()
        if result is None:
            return
        for row, items in enumerate(self.rows):
            x, y = joined(result.paths.positions[row], result.paths.steps)
            items.future.setData(x, y)
        self._on_model_step_changed(self._model.step)

    def _rebuild_rows(self) -> None:
        """One _RowItems per row of the result; rebuilt only when the rows' optimizers or colours change."""
        result = self._model.result
        rows: list[tuple[str, str]] = []
        if result is not None:
            entries = result.session.optimizers
            colors = entry_colors(entries)
            rows = [(colors[i].name(), entry_title(entries[i])) for i in result.entries]
        wide = result is None or result.paths.positions[..., 0].size <= WIDE_TRAIL_POINTS
        if (rows, wide) == self._built:
            return
        for items in self.rows:
            for item in items.items():
                self._plot.removeItem(item)
        self._legend.clear()
        self.rows = [_RowItems(self._plot, QColor(color), wide) for color, _ in rows]
        for items, (_, title) in zip(self.rows, rows):
            self._legend.addItem(items.trail, title)
        self._built = (rows, wide)

    def _on_model_step_changed(self, step: int) -> None:
        result = self._model.result
        if result is None:
            return
        step = min(step, result.paths.steps)
        positions = result.paths.positions
        for row, items in enumerate(self.rows):
            x, y = joined(positions[row], step)
            items.trail.setData(x, y)
            heads = _heads(positions[row], result.paths.diverged_step[row], step)
            items.heads.setData(heads[:, 0], heads[:, 1])


def _heads(paths: np.ndarray, diverged: np.ndarray, step: int) -> np.ndarray:
    """Each start's position at ``step``; a diverged path's head stays at its last finite point."""
    stops = np.where((diverged >= 0) & (diverged < step), np.maximum(diverged - 1, 0), step)
    heads = paths[np.arange(len(paths)), stops]
    return heads[np.all(np.isfinite(heads), axis=1)]
