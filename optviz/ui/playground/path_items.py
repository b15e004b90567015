"""The optimizers' paths on the surface: per enabled optimizer a faint full path, a solid trail up to the
animation step, a hollow ring at each path's head and an arrow where a path left the view box; plus a legend.

Paths are drawn inside the surface's view box only (clipped in the worker: compute.clip_paths), so a diverging
path ends at the box's edge with an arrow pointing the way it went instead of lines to points 10⁴ away. Head rings
and arrows grow by row and larger ones lie below, so optimizers at one point all show; the critical point markers
lie above them all. All start points of one optimizer are one curve, paths separated by NaN points
(``connect="finite"``), so the number of items does not grow with the number of starts.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF
from PySide6.QtGui import QColor, QPainterPath, QPolygonF, QTransform

from optviz.core.clip import ClippedPath, clip_paths
from optviz.ui.playground.colors import entry_colors, entry_title
from optviz.ui.playground.compute import shown_field, shown_result
from optviz.ui.playground.model import PlaygroundModel

# Antialiased lines wider than 1 px cost Qt's raster engine ~50× more than 1 px ones: wide trails only while
# the total is small enough to repaint at animation speed.
WIDE_TRAIL_POINTS = 40_000
RING_SIZE, RING_STEP = 9, 4  # head ring diameter of the first row and the growth per row, in pixels
ARROW_SIZE, ARROW_STEP = 14, 2  # the same for the arrows; larger ones of later rows are drawn below: all show
Z_FUTURE, Z_TRAIL, Z_HEADS = 10, 11, 12  # critical point markers (surface_view) sit above the heads


def _arrow(angle: float) -> QPainterPath:
    """A triangle pointing ``angle`` degrees (counter-clockwise from +x, y up), fitting the unit symbol box."""
    path = QPainterPath()
    path.addPolygon(QPolygonF([QPointF(0.5, 0.0), QPointF(-0.5, -0.38), QPointF(-0.5, 0.38), QPointF(0.5, 0.0)]))
    return QTransform().rotate(-angle).map(path)  # symbols are drawn with y pointing down


_ARROWS = {k * 10: _arrow(k * 10) for k in range(36)}  # quantised: the symbol atlas caches each once


class _RowItems:
    """The curves and markers of one optimizer row."""

    def __init__(self, plot: pg.PlotItem, color: QColor, wide: bool, index: int) -> None:
        faint = QColor(color)
        faint.setAlpha(70)  # the whole path, faintly, behind the trail that grows with the animation
        self.future = pg.PlotCurveItem(pen=pg.mkPen(faint, width=1), connect="finite")
        self.trail = pg.PlotCurveItem(pen=pg.mkPen(color, width=2.2 if wide else 1), connect="finite")
        self.heads = pg.ScatterPlotItem(size=RING_SIZE + RING_STEP * index, symbol="o",
                                        pen=pg.mkPen(color, width=2.5), brush=pg.mkBrush(None))
        self.exits = pg.ScatterPlotItem(size=ARROW_SIZE + ARROW_STEP * index, pen=pg.mkPen("#ffffff", width=1.5),
                                        brush=pg.mkBrush(color))
        below = 0.01 * index
        for z, item in zip((Z_FUTURE, Z_TRAIL, Z_HEADS - below, Z_HEADS - below), self.items()):
            item.setZValue(z)
            plot.addItem(item)
        self.clipped: list[ClippedPath] = []

    def items(self) -> tuple:
        return self.future, self.trail, self.heads, self.exits


class PathItems(QObject):
    """Draws the model's Result at the model's current step, on the surface the result was computed on."""

    def __init__(self, model: PlaygroundModel, plot: pg.PlotItem, legend: pg.LegendItem,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._plot = plot
        self._legend = legend
        self.rows: list[_RowItems] = []
        self._built: tuple | None = None  # (rows, wide) the items were made for
        model.result_changed.connect(self._on_model_result_changed)
        model.surface_changed.connect(self._on_model_result_changed)
        model.field_changed.connect(self._on_model_result_changed)
        model.step_changed.connect(self._on_model_step_changed)
        self._on_model_result_changed()

    def shown(self):
        """The result drawn: the model's, once it and the surface picture belong to the current surface."""
        return shown_result(self._model) if shown_field(self._model) is not None else None

    def _on_model_result_changed(self) -> None:
        result = self.shown()
        self._rebuild_rows(result)
        if result is None:
            for items in self.rows:
                for item in items.items():
                    item.setData([], [])
                items.clipped = []
            return
        clipped = getattr(result, "clipped", None)  # clipped in the worker; a Result made elsewhere is clipped here
        if clipped is None:
            box = result.session.make_surface().view
            clipped = tuple(tuple(clip_paths(paths, box)) for paths in result.paths.positions)
        for items, row in zip(self.rows, clipped):
            items.clipped = list(row)
            items.future.setData(*_joined([c.points for c in items.clipped]))
        self._on_model_step_changed(self._model.step)

    def _rebuild_rows(self, result) -> None:
        """One _RowItems per row of the result; rebuilt only when the rows' optimizers or colours change."""
        rows: list[tuple[str, str]] = []
        if result is not None:
            entries = result.session.optimizers
            colors = entry_colors(entries)
            rows = [(colors[i].name(), entry_title(entries[i])) for i in result.entries]
        wide = result is None or result.paths.positions[..., 0].size <= WIDE_TRAIL_POINTS
        if (rows, wide) == self._built or (result is None and self._built is not None):
            return  # no result for a moment (a new surface): keep the rows and the legend, drawn empty
        for items in self.rows:
            for item in items.items():
                self._plot.removeItem(item)
        self._legend.clear()
        self.rows = [_RowItems(self._plot, QColor(color), wide, i) for i, (color, _) in enumerate(rows)]
        for items, (_, title) in zip(self.rows, rows):
            self._legend.addItem(items.trail, title)
        self._built = (rows, wide)

    def _on_model_step_changed(self, step: int) -> None:
        result = self.shown()
        if result is None:
            return
        step = min(step, result.paths.steps)
        for items in self.rows:
            items.trail.setData(*_joined([c.points[: c.upto[step]] for c in items.clipped]))
            heads, arrows = [], []
            for c in items.clipped:
                if c.inside[step]:
                    heads.append(c.points[c.upto[step] - 1])
                elif c.last_exit[step] >= 0:
                    k = c.last_exit[step]
                    arrows.append((c.exit_points[k], c.exit_angles[k]))
            heads_xy = np.array(heads).reshape(-1, 2)
            items.heads.setData(heads_xy[:, 0], heads_xy[:, 1])
            items.exits.setData([_exit_spot(xy, angle) for xy, angle in arrows])

    def drawn(self, row: int) -> list[np.ndarray]:
        """The trail of result row ``row`` as drawn (read back from its curve), one (M, 2) array per start."""
        x, y = self.rows[row].trail.getData()
        sizes = [int(c.upto[min(self._model.step, len(c.upto) - 1)]) + 1 for c in self.rows[row].clipped]
        bounds = np.cumsum([0] + sizes)
        return [np.stack((x[s:e - 1], y[s:e - 1]), -1) for s, e in zip(bounds[:-1], bounds[1:])]


def _exit_spot(xy: np.ndarray, angle: float) -> dict:
    if math.isnan(angle):
        return {"pos": tuple(xy), "symbol": "x"}
    return {"pos": tuple(xy), "symbol": _ARROWS[int(round(angle / 10.0)) % 36 * 10]}


def _joined(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """x, y of the parts, each followed by a NaN point."""
    if not parts:
        return np.zeros(0), np.zeros(0)
    gap = np.full((1, 2), np.nan)
    flat = np.concatenate([np.concatenate((part, gap)) for part in parts])
    return flat[:, 0], flat[:, 1]
