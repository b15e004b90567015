"""The surface view: heatmap, colour bar, contours, critical points, paths and draggable start points.

Mouse: drag a start point to move it, double-click empty surface to add one, right-click a point to remove it;
drag/scroll on empty space pans/zooms. Keys: Delete removes the selected point, arrows nudge it (Shift: ×10).
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtWidgets import QApplication, QWidget

from optviz.core.surfaces import Surface
from optviz.ui.playground.field import Field
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.path_items import PathItems, split
from optviz.ui.playground.start_handles import StartHandle, StartHandles

COLORMAP = "viridis"  # perceptually uniform
NUDGE = 0.005  # of the view box width per arrow key press
_MARKER_STYLE = {  # symbol, size, pen, brush
    "global": ("star", 18, pg.mkPen("#000000", width=1), pg.mkBrush("#ffffff")),
    "local": ("o", 11, pg.mkPen("#ffffff", width=2), pg.mkBrush(None)),
    "saddle": ("x", 11, pg.mkPen("#000000", width=0.5), pg.mkBrush("#ff66cc")),
}
_KIND_WORDS = {"global": "global minimum", "local": "local minimum", "saddle": "saddle point"}


def marker_tip(x: float, y: float, data: dict) -> str:
    """Tooltip of a critical point marker."""
    return f"{_KIND_WORDS[data['kind']]}\nx = {x:.6g}, y = {y:.6g}\nf = {data['value']:.6g}"


def marker_spots(surface: Surface) -> list[dict]:
    """ScatterPlotItem spots for the surface's known minima and saddles."""
    spots = []
    for point in surface.minima + surface.saddles:
        symbol, size, pen, brush = _MARKER_STYLE[point.kind]
        spots.append({"pos": (point.x, point.y), "symbol": symbol, "size": size, "pen": pen, "brush": brush,
                      "data": {"kind": point.kind, "value": point.value}})
    return spots


def decade_ticks(lo: float, hi: float) -> list[list[tuple[float, str]]]:
    """Colour-bar ticks for log10 units: one labelled tick per decade (pyqtgraph labels 2…9 too, a crowd)."""
    superscript = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    decades = range(int(np.ceil(lo)), int(np.floor(hi)) + 1)
    return [[(float(k), f"10{str(k).translate(superscript)}") for k in decades]]


class SurfaceView(pg.PlotWidget):
    """Shows the model's surface, paths and start points, and edits the start points."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._field_key: tuple | None = None
        self._last_click = (0.0, QPointF())  # time and screen position of the last single left click
        plot = self.getPlotItem()
        plot.setAspectLocked(True)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setLabel("bottom", "x")
        plot.setLabel("left", "y")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        plot.addItem(self.image)
        self.contours = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(255, 255, 255, 70, width=1))
        self.contours.setZValue(-5)
        plot.addItem(self.contours)
        self.colorbar = pg.ColorBarItem(colorMap=COLORMAP, interactive=False, width=14, colorMapMenu=False)
        self.colorbar.setImageItem(self.image, insert_in=plot)
        self.markers = pg.ScatterPlotItem(hoverable=True, tip=marker_tip)
        self.markers.setZValue(5)
        plot.addItem(self.markers)
        self.legend = plot.addLegend(offset=(-8, 8), brush=pg.mkBrush(0, 0, 0, 150), labelTextSize="9pt")
        self.path_items = PathItems(model, plot, self.legend, self)
        self.start_handles = StartHandles(model, plot, self)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        model.field_changed.connect(self._on_model_field_changed)
        model.surface_changed.connect(self._on_model_surface_changed)
        self._on_model_surface_changed()
        self.fit_to_surface()

    def fit_to_surface(self) -> None:
        """Show exactly the surface's view box."""
        (x0, x1), (y0, y1) = self._model.surface.view
        self.getPlotItem().getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)

    def _on_model_surface_changed(self) -> None:
        surface = self._model.surface
        self.markers.setData(marker_spots(surface))
        self.getPlotItem().setTitle(f"{surface.title}:  f = {surface.formula}", size="10pt")

    def _on_model_field_changed(self) -> None:
        field: Field = self._model.field
        (x0, x1), (y0, y1) = field.xs[[0, -1]], field.ys[[0, -1]]
        self.image.setImage(field.colour, autoLevels=False)
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.colorbar.axis.setLogMode(field.log)
        self.colorbar.axis.setTicks(decade_ticks(*field.levels) if field.log else None)
        self.colorbar.getAxis("left").setLabel("f (log scale)" if field.log else "f")
        self.colorbar.setLevels(field.levels)
        self.contours.setData(*field.contours)
        if self._field_key is None or self._field_key[0] != field.key[0]:
            self.fit_to_surface()  # a different surface: its own view box
        self._field_key = field.key

    def _on_scene_mouse_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.isAccepted():
            return
        vb = self.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        if any(isinstance(item, StartHandle) for item in self.scene().items(ev.scenePos())):
            return
        # pyqtgraph reports a double click as such only when Qt sends press, release, double-click, release;
        # two quick single clicks at one spot count too, whatever the platform's event sequence.
        now, pos = time.monotonic(), ev.screenPos()
        last_time, last_pos = self._last_click
        quick = now - last_time < QApplication.doubleClickInterval() / 1000
        near = (pos - last_pos).manhattanLength() <= QApplication.startDragDistance()
        if not (ev.double() or (quick and near)):
            self._last_click = (now, pos)
            return
        self._last_click = (0.0, QPointF())
        point = vb.mapSceneToView(ev.scenePos())
        ev.accept()
        self._model.add_start(point.x(), point.y())

    def keyPressEvent(self, ev) -> None:  # noqa: N802
        model, key = self._model, ev.key()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and model.selected >= 0:
            model.remove_start(model.selected)
            return
        arrows = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, 1), Qt.Key.Key_Down: (0, -1)}
        if key in arrows and model.selected >= 0:
            (x0, x1), _ = model.surface.view
            step = NUDGE * (x1 - x0) * (10 if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1)
            x, y = model.starts[model.selected]
            dx, dy = arrows[key]
            model.move_start(model.selected, x + dx * step, y + dy * step)
            return
        super().keyPressEvent(ev)

    def plotted_paths(self, row: int) -> list[np.ndarray]:
        """The solid trails drawn for result row ``row``, one (L, 2) array per start (for tests)."""
        x, y = self.path_items.rows[row].trail.getData()
        return split(x, y, len(self._model.result.session.starts))
