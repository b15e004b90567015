"""Regularisation in the playground: the surface box's penalty (none / L1 / L2 and its strength α), and on the
surface the constraint region through the moved minimum (a diamond |x|+|y| = r for L1, a circle x²+y² = r² for
L2), the moved minimum ringed, the unregularised minimum faintly with an arrow "moved by L1", and a caption.

The surface itself, its heatmap and its critical-point markers are the regularised surface's: the session's
``penalty`` makes ``Session.make_surface()`` return it. The geometry (:func:`optviz.core.regularize.geometry`)
may run a critical-point search, so it is computed in a worker; a result for another surface is dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from optviz.core.params import Spec, fmt
from optviz.core.regularize import KIND, NO_PENALTY, STRENGTH, TITLES, Geometry, Penalty, geometry, strength_name
from optviz.core.session import Session
from optviz.core.surfaces import Surface
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.path_items import Z_HEADS
from optviz.ui.widgets.spec_form import SpecForm
from optviz.ui.workers import LatestRunner

KIND_WORDS = {"l1": "L1", "l2": "L2"}
PENALTY_COLOR = "#b8ff3c"  # the region, the moved minimum's ring, the arrow and its label (not the starts' yellow)
LABEL_PX = 9.0  # the label's corner this far from the unregularised minimum, away from the arrow
Z_REGION = 5.0  # the region and the arrow: above the contours, under every path
Z_RING = Z_HEADS + 1.5  # the moved minimum's ring and label: above the markers, under the step overlay


def surface_params(surface: Surface, penalty: Penalty) -> tuple[tuple[Spec, ...], dict[str, float]]:
    """The parameters the surface box edits, and their values: the surface's own, without the penalty's α
    (a regularised surface has it as parameter ``strength_name(kind)``; the penalty form edits it)."""
    alpha = strength_name(penalty.kind) if penalty.active else None
    specs = tuple(p for p in surface.params if p.name != alpha)
    values = surface.param_values()
    return specs, {p.name: values[p.name] for p in specs}


def caption_text(penalty: Penalty, g: Geometry | None) -> str:
    """'L1 α=20: minimum on the axis x = 0', 'L2 α=20: minimum shrunk towards 0 (‖x‖ 3.16 → 1.35)', …"""
    if not penalty.active:
        return ""
    head = f"{KIND_WORDS[penalty.kind]} α={fmt(float(penalty.strength))}"
    if g is None or g.minimum is None:
        return f"{head}: no minimum in the view"
    x, y = g.minimum.x, g.minimum.y
    base = g.base_minimum
    if base is not None and (base.x, base.y) == (x, y):
        return f"{head}: the minimum stays at ({fmt(x)}, {fmt(y)})"
    if x == 0.0 and y == 0.0:
        return f"{head}: minimum at the origin (x = y = 0)"
    if x == 0.0 or y == 0.0:
        return f"{head}: minimum on the axis {'x' if x == 0.0 else 'y'} = 0, at ({fmt(x)}, {fmt(y)})"
    where = f"minimum at ({x:.4g}, {y:.4g})"
    if base is not None:
        before, after = math.hypot(base.x, base.y), math.hypot(x, y)
        if after < before:
            where += f", shrunk towards 0 (‖x‖ {before:.3g} → {after:.3g})"
    return f"{head}: {where}"


@dataclass(frozen=True)
class GeometryResult:
    key: tuple  # the regularised surface's field key
    penalty: Penalty
    geometry: Geometry | None


def compute_geometry(session: Session) -> GeometryResult:
    """The constraint region and the moved minimum of the session's penalty (in the job thread)."""
    penalty = session.penalty
    key = session.make_surface().field_key
    if not penalty.active:
        return GeometryResult(key, penalty, None)
    base = session.with_(penalty=NO_PENALTY).make_surface()
    return GeometryResult(key, penalty, geometry(base, penalty))


class PenaltyForm(QWidget):
    """The penalty's kind and strength α (the core's Specs) and the caption of the latest geometry."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.form = SpecForm((KIND, STRENGTH), titles={KIND.name: TITLES}, owner="the penalty")
        self.kind_combo = self.form.editor(KIND.name)
        self.strength_box = self.form.editor(STRENGTH.name)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #555555;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form)
        layout.addWidget(self.caption)
        self.form.changed.connect(self._on_form_changed)
        model.surface_changed.connect(self._on_model_surface_changed)
        self._on_model_surface_changed()

    def set_caption(self, text: str) -> None:
        penalty = self._model.session.penalty
        if not text and penalty.kind != "none" and not penalty.active:  # L1 or L2 with α = 0: say what is missing
            text = "α = 0 adds nothing: set a strength above 0."
        self.caption.setText(text)
        self.caption.setVisible(bool(text))

    def _on_model_surface_changed(self) -> None:
        penalty = self._model.session.penalty
        self.form.set_values({KIND.name: penalty.kind, STRENGTH.name: penalty.strength})
        self.strength_box.setEnabled(penalty.kind != "none")
        if not penalty.active:
            self.set_caption("")

    def _on_form_changed(self, values: dict) -> None:
        self._model.set_penalty(Penalty(values[KIND.name], values[STRENGTH.name]))


class RegularizationItems(QObject):
    """Draws the latest geometry of the model's penalty on ``plot``; ``caption_changed`` carries its caption."""

    caption_changed = Signal(str)

    def __init__(self, model: PlaygroundModel, plot: pg.PlotItem, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._plot = plot
        self.result: GeometryResult | None = None  # the one drawn (None: nothing drawn)
        self.outline_halo = pg.PlotCurveItem(pen=pg.mkPen(QColor(0, 0, 0, 140), width=4))
        self.outline = pg.PlotCurveItem(pen=pg.mkPen(PENALTY_COLOR, width=2, style=Qt.PenStyle.DashLine))
        self.moved = pg.ScatterPlotItem(symbol="o", size=24, pen=pg.mkPen(PENALTY_COLOR, width=2.5),
                                        brush=pg.mkBrush(0, 0, 0, 0))
        faint = QColor(255, 255, 255, 120)
        self.base = pg.ScatterPlotItem(symbol="star", size=15, pen=pg.mkPen(QColor(0, 0, 0, 120)), brush=faint)
        self.arrow_line = pg.PlotCurveItem(pen=pg.mkPen(PENALTY_COLOR, width=1.5, style=Qt.PenStyle.DashLine))
        self.arrow_head = pg.ArrowItem(headLen=11, tipAngle=30, tailLen=0, pen=pg.mkPen(QColor(0, 0, 0, 160)),
                                       brush=pg.mkBrush(PENALTY_COLOR))
        self.label = pg.TextItem(color=PENALTY_COLOR, fill=pg.mkBrush(0, 0, 0, 150))
        for z, item in enumerate((self.outline_halo, self.outline, self.base, self.arrow_line, self.arrow_head)):
            item.setZValue(Z_REGION + 0.1 * z)
            plot.addItem(item, ignoreBounds=True)
        for z, item in enumerate((self.moved, self.label)):
            item.setZValue(Z_RING + 0.1 * z)
            plot.addItem(item, ignoreBounds=True)
        self.caption = pg.TextItem(anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 170), color="#ffffff")
        self.caption.setParentItem(plot.getViewBox())  # the bottom-left corner, whatever the zoom
        self.caption.setZValue(50)
        plot.getViewBox().sigResized.connect(self._place_caption)
        plot.getViewBox().sigRangeChanged.connect(self._place_label)
        self._runner = LatestRunner(compute_geometry, delay_ms=40, parent=self)
        self._runner.finished.connect(self._on_runner_finished)
        self._runner.failed.connect(self._on_runner_failed)
        self._requested: tuple | None = None  # the (field key, penalty) last asked for
        model.surface_changed.connect(self._on_model_surface_changed)
        model.field_changed.connect(self._on_model_field_changed)
        self._on_model_surface_changed()

    def items(self) -> tuple:
        return (self.outline_halo, self.outline, self.base, self.arrow_line, self.arrow_head, self.moved,
                self.label, self.caption)

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        return self._runner.shutdown(timeout_s)

    def is_busy(self) -> bool:
        return self._runner.is_busy()

    def _on_model_surface_changed(self) -> None:
        if self._requested != (self._model.surface.field_key, self._model.session.penalty):
            self._requested = None  # asked for something else since: ask again when this comes back
        if self.result is not None and not self._is_current(self.result):
            self._draw(None)  # another surface or α: the old region must not stay on the new surface
        if not self._model.session.penalty.active:
            self._draw(None)
        self._on_model_field_changed()

    def _on_model_field_changed(self) -> None:
        """Asks for the geometry once the current surface's critical points are in: the search is cached by then
        (the markers ran it), so the region does not run it a second time beside them."""
        model = self._model
        field, wanted = model.field, (model.surface.field_key, model.session.penalty)
        if not wanted[1].active or field is None or field.key != wanted[0] or field.minima is None:
            return
        if self._requested != wanted:
            self._requested = wanted
            self._runner.request(model.session)

    def _is_current(self, result: GeometryResult) -> bool:
        return (result.key, result.penalty) == (self._model.surface.field_key, self._model.session.penalty)

    def _on_runner_finished(self, result: GeometryResult) -> None:
        if self._is_current(result):
            self._draw(result)

    def _on_runner_failed(self, message: str) -> None:
        self._draw(None)  # the paths' own runner reports what is wrong with the surface
        self.caption_changed.emit(f"no region drawn: {message}")

    def _draw(self, result: GeometryResult | None) -> None:
        self.result = result
        g = result.geometry if result is not None else None
        text = caption_text(result.penalty, g) if result is not None else ""
        self.caption_changed.emit(text)
        shown = g is not None and g.minimum is not None
        for item in self.items():
            item.setVisible(shown)
        self.caption.setHtml(f"<div style='color:#ffffff; font-size:9pt'>{text}</div>")
        self.caption.setVisible(bool(text))
        self._place_caption()
        if not shown:
            return
        outline = np.asarray(g.outline, dtype=float)
        self.outline.setData(outline[:, 0], outline[:, 1])
        self.outline_halo.setData(outline[:, 0], outline[:, 1])
        m = g.minimum
        self.moved.setData([m.x], [m.y])
        self.moved.setToolTip(f"minimum with the {KIND_WORDS[g.penalty.kind]} penalty\nx = {m.x:.6g}, y = {m.y:.6g}")
        self._draw_move(g)

    def _draw_move(self, g: Geometry) -> None:
        b, m = g.base_minimum, g.minimum
        moved = b is not None and (b.x, b.y) != (m.x, m.y)
        for item in (self.base, self.arrow_line, self.arrow_head, self.label):
            item.setVisible(moved)
        if not moved:
            return
        self.base.setData([b.x], [b.y])
        self.base.setToolTip(f"minimum without the penalty\nx = {b.x:.6g}, y = {b.y:.6g}")
        self.arrow_line.setData([b.x, m.x], [b.y, m.y])
        self.arrow_head.setPos(m.x, m.y)
        # the view's aspect is locked: the arrow's angle on screen is its angle in data (y drawn upwards)
        self.arrow_head.setStyle(angle=math.degrees(math.atan2(-(m.y - b.y), m.x - b.x)) + 180.0)
        self.label.setText(f"moved by {KIND_WORDS[g.penalty.kind]}")
        self._place_label()

    def _place_label(self, *_) -> None:
        """Beside the unregularised minimum, on the side away from the arrow (so it covers neither)."""
        g = self.result.geometry if self.result is not None else None
        if g is None or g.base_minimum is None or g.minimum is None:
            return
        b, m = g.base_minimum, g.minimum
        right, up = m.x <= b.x, m.y <= b.y  # the arrow leaves to the left: the label goes right, and so on
        vb = self._plot.getViewBox()
        px, py = vb.viewPixelSize()
        (x0, x1), (y0, y1) = vb.viewRange()
        w, h = self.label.boundingRect().width() * px, self.label.boundingRect().height() * py
        if (right and b.x + w + LABEL_PX * px > x1) or (not right and b.x - w - LABEL_PX * px < x0):
            right = not right  # it would leave the view: the other side, over the arrow if need be
        if (up and b.y + h + LABEL_PX * py > y1) or (not up and b.y - h - LABEL_PX * py < y0):
            up = not up
        self.label.setAnchor((0.0 if right else 1.0, 1.0 if up else 0.0))
        sx, sy = (1.0 if right else -1.0), (1.0 if up else -1.0)
        self.label.setPos(b.x + sx * LABEL_PX * px, b.y + sy * LABEL_PX * py)

    def _place_caption(self, *_) -> None:
        self.caption.setPos(6, self._plot.getViewBox().height() - 6)

    def drawn_outline(self) -> np.ndarray | None:
        """The outline as drawn ((n, 2), read back from the curve), None when hidden."""
        if not self.outline.isVisible():
            return None
        xs, ys = self.outline.getData()
        return np.column_stack((xs, ys))

    def drawn_minimum(self) -> tuple[float, float] | None:
        """The ringed minimum as drawn, None when hidden."""
        if not self.moved.isVisible():
            return None
        x, y = self.moved.getData()
        return float(x[0]), float(y[0])
