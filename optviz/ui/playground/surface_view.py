"""The surface view: heatmap, colour bar, contours, critical points, paths and draggable start points.

Mouse: drag a start point to move it, double-click empty surface to add one, right-click a point to remove it;
drag/scroll on empty space pans/zooms. Keys: Delete removes the selected point, arrows nudge it (Shift: ×10).

Layout: the title (elided to the width, full text in its tooltip) above the plot, the colour bar to its right and
the legend below the x axis, so that neither covers the surface and no text can push them out of the widget.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication, QWidget

from optviz.core.field import Field, scale_label
from optviz.core.surfaces import Point
from optviz.ui.playground.compute import shown_field, shown_result, surface_key
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.path_items import Z_HEADS, PathItems
from optviz.ui.playground.start_handles import StartHandle, StartHandles
from optviz.ui.playground.wells_editor import WellsEditor
from optviz.ui.playground.step_overlay import StepOverlay
from optviz.ui.playground.fan_items import FanItems
from optviz.ui.playground.regularization import RegularizationItems

COLORMAP = "viridis"  # perceptually uniform
NUDGE = 0.005  # of the view box width per arrow key press
TITLE_PT = 10
LEGEND_COLUMN_PX = 115  # room for one legend entry ("Momentum" and its line)
_MARKER_STYLE = {  # symbol, size, pen, brush: small enough that 121 minima and 220 saddles stay readable
    "global": ("star", 17, pg.mkPen("#000000", width=1), pg.mkBrush("#ffffff")),
    "local": ("o", 7, pg.mkPen("#000000", width=1), pg.mkBrush("#ffffff")),
    "saddle": ("x", 8, pg.mkPen("#000000", width=0.5), pg.mkBrush("#ff66cc")),
}
_KIND_WORDS = {"global": "global minimum", "local": "local minimum", "saddle": "saddle point"}
_SCALE_TIP = ("Colours: {scale}. Where most of the surface would be one colour, colours are partly spread by area "
              "(histogram equalisation) so that its features show; the ticks always show true values of f.")


def marker_tip(x: float, y: float, data: dict) -> str:
    """Tooltip of a critical point marker."""
    return f"{_KIND_WORDS[data['kind']]}\nx = {x:.6g}, y = {y:.6g}\nf = {data['value']:.6g}"


def marker_spots(points: tuple[Point, ...]) -> list[dict]:
    """ScatterPlotItem spots for critical points: global minima stars, local minima dots, saddles crosses."""
    spots = []
    for point in points:
        symbol, size, pen, brush = _MARKER_STYLE[point.kind]
        spots.append({"pos": (point.x, point.y), "symbol": symbol, "size": size, "pen": pen, "brush": brush,
                      "data": {"kind": point.kind, "value": point.value}})
    return spots


class _Legend(pg.LegendItem):
    """A legend that its plot's layout places (below the x axis) instead of floating over the data."""

    def __init__(self) -> None:
        super().__init__(offset=None, brush=pg.mkBrush(0, 0, 0, 0), labelTextSize="9pt", colCount=3)

    def updateSize(self) -> None:  # noqa: N802 — the layout needs its size, not a geometry at (0, 0)
        hint = self.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize)
        self.setMinimumSize(hint)
        self.setMaximumSize(hint)
        self.updateGeometry()

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 — it stays where the layout put it
        ev.ignore()


class SurfaceView(pg.PlotWidget):
    """Shows the model's surface, paths and start points, and edits the start points."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._field_key: tuple | None = None
        self._title = ""
        self._last_click = (0.0, QPointF())  # time and screen position of the last single left click
        plot = self.getPlotItem()
        plot.setAspectLocked(True)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setLabel("bottom", "x")
        plot.setLabel("left", "y")
        for name in ("bottom", "left"):
            plot.getAxis(name).enableAutoSIPrefix(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        plot.addItem(self.image)
        self.contours = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(255, 255, 255, 70, width=1))
        self.contours.setZValue(-5)
        plot.addItem(self.contours)
        self.colorbar = pg.ColorBarItem(colorMap=COLORMAP, interactive=False, width=14, colorMapMenu=False)
        self.colorbar.setImageItem(self.image, insert_in=plot)
        self.colorbar.axis.enableAutoSIPrefix(False)
        self.markers = pg.ScatterPlotItem(hoverable=True, tip=marker_tip)
        self.saddle_markers = pg.ScatterPlotItem(hoverable=True, tip=marker_tip)
        for item in (self.markers, self.saddle_markers):
            item.setZValue(Z_HEADS + 1)  # above the head rings: a path's head never hides a minimum
            plot.addItem(item)
        self.computing = pg.TextItem("computing…", anchor=(0.5, 0.5), color="#ffffff", fill=pg.mkBrush(0, 0, 0, 170))
        self.computing.setZValue(40)
        plot.addItem(self.computing, ignoreBounds=True)
        self.legend = _Legend()
        plot.layout.addItem(self.legend, 4, 1)
        plot.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.path_items = PathItems(model, plot, self.legend, self)
        self.start_handles = StartHandles(model, plot, self)
        self.wells_editor = WellsEditor(model, plot, self)  # clicks, drags and the wheel over wells, when active
        self.step_overlay = StepOverlay(model, plot, self)  # inside the step: arrows and step sizes at the head
        self.fan_items = FanItems(model, plot, self)  # noisy optimizers: K seeds faintly, and their mean path
        self.regularization = RegularizationItems(model, plot, self)  # L1/L2: the region and the moved minimum
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        model.field_changed.connect(self._on_model_field_changed)
        model.surface_changed.connect(self._on_model_surface_changed)
        model.result_changed.connect(self._update_computing)
        self._on_model_surface_changed()

    # -- what is shown ------------------------------------------------------------------------------------------
    def fit_to_surface(self) -> None:
        """Show exactly the surface's view box (and repair the layout, whatever a title did to it)."""
        self._fit_layout()
        (x0, x1), (y0, y1) = self._model.surface.view
        self.getPlotItem().getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)

    def set_saddles_visible(self, visible: bool) -> None:
        self.saddle_markers.setVisible(visible)

    def title_text(self) -> str:
        """The full title (the plot shows it elided to its width)."""
        return self._title

    def _on_model_surface_changed(self) -> None:
        surface = self._model.surface
        self._title = f"{surface.title}:  f = {surface.formula}"
        self._set_title()
        if self._field_key is None or self._field_key[0] != surface.identity:
            self.fit_to_surface()  # a different surface: its own view box at once, not when the picture arrives
        self._on_model_field_changed()

    def _on_model_field_changed(self) -> None:
        field: Field | None = shown_field(self._model)
        stale = field is None  # the picture is of another surface: dim it, drop its contours and markers
        self.image.setOpacity(0.3 if stale else 1.0)
        self.colorbar.setOpacity(0.3 if stale else 1.0)
        self.contours.setVisible(not stale)
        minima = () if stale or field.minima is None else field.minima
        saddles = () if stale or field.saddles is None else field.saddles
        self.markers.setData(marker_spots(minima))
        self.saddle_markers.setData(marker_spots(saddles))
        field = self._model.field
        if field is not None and field.key != self._field_key:
            self._show_field(field)
        self._update_computing()

    def _show_field(self, field: Field) -> None:
        (x0, x1), (y0, y1) = field.xs[[0, -1]], field.ys[[0, -1]]
        self.image.setImage(field.colour, autoLevels=False)
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        axis = self.colorbar.axis
        axis.setLogMode(False)  # the indices are already transformed; the ticks carry the true values
        axis.setTicks([list(field.ticks)])
        self.colorbar.getAxis("left").setLabel(scale_label(field.scale))
        self.colorbar.setToolTip(_SCALE_TIP.format(scale=field.scale))
        self.colorbar.setLevels(field.levels)
        self.contours.setData(*field.contours)
        self._field_key = field.key

    def _update_computing(self) -> None:
        """"computing…" over the surface while its picture or paths belong to another surface."""
        model = self._model
        field = model.field
        busy = field is None or field.key != surface_key(model.session)
        busy = busy or (shown_result(model) is None and bool(model.session.starts))
        (x0, x1), (y0, y1) = model.surface.view
        self.computing.setPos((x0 + x1) / 2, (y0 + y1) / 2)
        self.computing.setVisible(busy)

    # -- layout ---------------------------------------------------------------------------------------------
    def _set_title(self) -> None:
        plot = self.getPlotItem()
        font = QFont(self.font())
        font.setPointSizeF(TITLE_PT)
        room = max(80, self.width() - plot.getAxis("left").width() - self.colorbar.width() - 60)
        text = QFontMetrics(font).elidedText(self._title, Qt.TextElideMode.ElideRight, int(room))
        plot.setTitle(text, size=f"{TITLE_PT}pt")
        plot.titleLabel.setToolTip(self._title)
        columns = max(1, min(3, int(room // LEGEND_COLUMN_PX)))  # six optimizers: two rows of three
        self.legend.setColumnCount(columns)
        self._fit_layout()

    def _fit_layout(self) -> None:
        """The plot fills the widget again: pyqtgraph only sets its size on resize, so a minimum width that grew
        for a moment (a long title) would otherwise keep it wider than the widget."""
        self.getPlotItem().resize(QSizeF(self.viewport().size()))

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        if getattr(self, "legend", None) is not None:  # pyqtgraph resizes once before __init__ has run
            self._set_title()

    # -- editing --------------------------------------------------------------------------------------------
    def _on_scene_mouse_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.isAccepted() or self.wells_editor.active:
            return  # while the wells are edited, a click on the surface adds a well
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
        """The solid trails drawn for result row ``row``, one (M, 2) array per start (read from the curve)."""
        return self.path_items.drawn(row)
