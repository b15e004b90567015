"""Loss against step, one curve per optimizer and start, with a cursor at the animation step.

Where the surface has a global minimum f*, the plot shows the gap f − f* on a log axis (a straight line means
linear convergence); otherwise (the saddle) the raw loss on a linear axis. Tick labels are true values: no SI
prefix or ×10ⁿ factor ever rescales them. The y range covers every path while it is on the surface's view box,
so a diverging path's 10¹⁸ does not squash the others into one line: its curve leaves through the top and ends
at its divergence step with a triangle. Hovering shows the nearest curve's value; dragging the cursor scrubs.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QWidget

from optviz.ui.playground.colors import entry_colors, entry_title
from optviz.ui.playground.compute import shown_field, shown_result, surface_key
from optviz.ui.playground.model import PlaygroundModel, Result
from optviz.ui.widgets.axes import true_axes

GAP_FLOOR = 1e-12  # f − f* below this is drawn at this value (f* is known to about 1e-10)
LOG_PAD = 0.3  # decades of room above and below the curves on a log axis


def loss_curves(result: Result, minima) -> tuple[np.ndarray, bool, str]:
    """The plotted y values (n_opt, n_starts, steps+1) in view units (log10 of the gap f − f* where the surface
    has minima), whether they are logarithms, and the axis label; non-finite losses become NaN."""
    losses = result.paths.losses
    best = [m.value for m in minima if m.kind == "global"]
    if not best:
        return np.where(np.isfinite(losses), losses, np.nan), False, "loss f"
    with np.errstate(all="ignore"):
        gap = np.where(np.isfinite(losses), np.maximum(losses - min(best), GAP_FLOOR), np.nan)
    return np.log10(gap), True, "f − f*"


def y_range(values: np.ndarray, result: Result, log: bool) -> tuple[float, float]:
    """The y range: every finite value of a path while it is inside the surface's view box (a diverged path's
    values once it left are off the top), with a little room."""
    (x0, x1), (y0, y1) = result.session.make_surface().view
    pos = result.paths.positions
    with np.errstate(invalid="ignore"):
        inside = (pos[..., 0] >= x0) & (pos[..., 0] <= x1) & (pos[..., 1] >= y0) & (pos[..., 1] <= y1)
    kept = values[inside & np.isfinite(values)]
    if kept.size == 0:
        kept = values[np.isfinite(values)]
    if kept.size == 0:
        return (-1.0, 1.0) if not log else (-12.0, 0.0)
    lo, hi = float(kept.min()), float(kept.max())
    pad = LOG_PAD if log else 0.05 * (hi - lo)
    if hi - lo < 1e-9:
        pad = max(pad, 0.5 if log else 0.5 * max(abs(hi), 1.0))
    return lo - pad, hi + pad


def divergence_spots(values: np.ndarray, result: Result, colors: list, bounds: tuple[float, float]) -> list[dict]:
    """A marker at each diverged curve's divergence step: a triangle at the edge it left through, else a cross."""
    lo, hi = bounds
    inset = 0.03 * (hi - lo)  # a marker at the edge sits just inside it, whole
    spots = []
    for row, start in zip(*np.nonzero(result.paths.diverged_step >= 0)):
        d = int(result.paths.diverged_step[row, start])
        curve = values[row, start, : d + 1]
        finite = curve[np.isfinite(curve)]
        if np.isfinite(curve[-1]):
            y = float(curve[-1])
        else:  # it jumped to a non-finite loss: off the side its last finite value was heading for
            y = np.inf if finite.size == 0 or finite[-1] >= (lo + hi) / 2 else -np.inf
        symbol = "t1" if y > hi else "t" if y < lo else "x"
        title = entry_title(result.session.optimizers[result.entries[row]])
        spots.append({"pos": (d, min(max(y, lo + inset), hi - inset)), "symbol": symbol, "size": 11 + 3 * row,
                      "brush": pg.mkBrush(colors[row]), "data": f"{title}, start {start + 1}: diverged at step {d}"})
    return sorted(spots, key=lambda spot: -spot["size"])  # larger first: optimizers diverging together all show


class LossPlot(pg.PlotWidget):
    """Loss-vs-step curves of the model's Result, cursor on the model's step."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent, axisItems=true_axes(steps=True))
        self._model = model
        self._values: np.ndarray | None = None
        self._shown: tuple | None = None  # (id of the result, field key) last drawn
        plot = self.getPlotItem()
        plot.setLabel("bottom", "step")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setMenuEnabled(False)
        self._fit_axis_width()
        self.curves: list[pg.PlotCurveItem] = []
        self.cursor = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#dddddd", width=1.5),
                                      hoverPen=pg.mkPen("#ffe14d", width=2))
        self.cursor.setZValue(20)
        plot.addItem(self.cursor, ignoreBounds=True)
        self.divergence = pg.ScatterPlotItem(pen=pg.mkPen("#ffffff", width=1), hoverable=True,
                                             tip=lambda x, y, data: data)
        self.divergence.setZValue(25)
        plot.addItem(self.divergence, ignoreBounds=True)
        self.computing = pg.TextItem("computing…", anchor=(0.5, 0.5), color="#ffffff")
        self.computing.setZValue(30)
        plot.addItem(self.computing, ignoreBounds=True)
        self.hover_label = pg.TextItem(anchor=(0, 1), color="#ffffff", fill=pg.mkBrush(0, 0, 0, 180))
        self.hover_dot = pg.ScatterPlotItem(size=9, pen=pg.mkPen("#ffffff"), brush=pg.mkBrush(None))
        for item in (self.hover_label, self.hover_dot):
            item.setZValue(30)
            item.hide()
            plot.addItem(item, ignoreBounds=True)
        self.cursor.sigPositionChanged.connect(self._on_cursor_position_changed)
        self._mouse_proxy = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=30, slot=self._on_scene_mouse_moved)
        model.result_changed.connect(self._on_model_result_changed)
        model.field_changed.connect(self._on_model_result_changed)
        model.surface_changed.connect(self._on_model_result_changed)
        model.step_changed.connect(self._on_model_step_changed)
        self._on_model_result_changed()

    def _fit_axis_width(self) -> None:
        """Room for the widest tick label and the axis label side by side (pyqtgraph sizes the axis from the
        labels it drew last, so a new, wider label would overlap the axis title for a frame or for good)."""
        axis = self.getPlotItem().getAxis("left")
        metrics = QFontMetrics(axis.style["tickFont"] or self.font())
        widest = max(metrics.horizontalAdvance(s) for s in ("10⁻¹²", "−0.0001", "2×10⁻¹²", "−1000"))
        axis.setWidth(widest + metrics.height() + 16)

    def _shown_data(self):
        """The result and the minima to draw against, or None while either is not in for the current surface."""
        result, field = shown_result(self._model), shown_field(self._model)
        if result is None or field is None or field.key != surface_key(result.session) or field.minima is None:
            return None
        return result, field

    def _on_model_result_changed(self) -> None:
        shown = self._shown_data()
        drawn = None if shown is None else (id(shown[0]), shown[1].key)  # Results hold arrays: compare identity
        if drawn is not None and drawn == self._shown:
            return
        self._shown = drawn
        plot = self.getPlotItem()
        result = None if shown is None else shown[0]
        colors = [] if result is None else [entry_colors(result.session.optimizers)[i] for i in result.entries]
        if [c.name() for c in colors] != [c.opts["pen"].color().name() for c in self.curves]:
            for curve in self.curves:  # rebuilt only when the optimizers shown change: a drag keeps them
                plot.removeItem(curve)
            self.curves = [pg.PlotCurveItem(pen=pg.mkPen(color, width=1.8), connect="finite") for color in colors]
            for curve in self.curves:
                plot.addItem(curve)
        self._values = None
        self.computing.setVisible(shown is None and bool(self._model.session.starts))
        if shown is None:
            for curve in self.curves:
                curve.setData([], [])
            self.divergence.setData([])
            self.computing.setPos(*plot.getViewBox().viewRect().center().toTuple())
            return
        values, log, label = loss_curves(result, shown[1].minima)
        self._values = values
        plot.getAxis("left").setLogMode(log)  # the values are log10 already; the axis labels them 10ⁿ
        plot.setLabel("left", label)
        n_starts, steps = values.shape[1], np.arange(result.paths.steps + 1, dtype=float)
        x = np.tile(np.append(steps, np.nan), n_starts)
        for row, curve in enumerate(self.curves):
            y = np.concatenate([np.append(values[row, j], np.nan) for j in range(n_starts)])
            curve.setData(x, y)
        bounds = y_range(values, result, log)
        self.divergence.setData(divergence_spots(values, result, colors, bounds))
        plot.setXRange(0, max(1, result.session.steps), padding=0.02)  # a drag preview's curves grow into it
        plot.setYRange(*bounds, padding=0.0)
        self._on_model_step_changed(self._model.step)

    def _on_model_step_changed(self, step: int) -> None:
        self.cursor.blockSignals(True)
        self.cursor.setValue(step)
        self.cursor.blockSignals(False)

    def _on_cursor_position_changed(self, line: pg.InfiniteLine) -> None:
        self._model.set_step(int(round(line.value())))

    def hover_text(self, step: int, y_view: float) -> tuple[str, float] | None:
        """Text for the curve nearest to ``y_view`` (view units: log10 when log-scaled) at ``step``, and its y."""
        result, values = shown_result(self._model), self._values
        if result is None or values is None or not 0 <= step <= min(result.paths.steps, values.shape[2] - 1):
            return None
        shown = values[:, :, step]
        distance = np.abs(np.nan_to_num(shown - y_view, nan=np.inf))
        if not np.isfinite(distance).any():
            return None
        row, start = np.unravel_index(np.argmin(distance), distance.shape)
        entry = result.session.optimizers[result.entries[row]]
        raw = result.paths.losses[row, start, step]
        text = f"{entry_title(entry)}, start {start + 1}\nstep {step}: f = {raw:.6g}"
        return text, float(shown[row, start])

    def _on_scene_mouse_moved(self, event: tuple) -> None:
        vb = self.getPlotItem().getViewBox()
        pos = event[0]
        found = None
        if vb.sceneBoundingRect().contains(pos):
            point = vb.mapSceneToView(pos)
            step = int(round(point.x()))
            found = self.hover_text(step, point.y())
        if found is None:
            self.hover_label.hide()
            self.hover_dot.hide()
            return
        text, y = found
        self.hover_label.setText(text)
        self.hover_label.setPos(step, y)
        self.hover_dot.setData([step], [y])
        self.hover_label.show()
        self.hover_dot.show()
        self.setToolTip(text)
