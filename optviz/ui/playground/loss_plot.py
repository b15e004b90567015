"""Loss against step, one curve per optimizer and start, with a cursor at the animation step.

Where the surface has a known global minimum f*, the plot shows the gap f − f* on a log axis (a straight line
means linear convergence); otherwise (the saddle) the raw loss on a linear axis. Hovering shows the nearest
curve's value; dragging the cursor scrubs the animation.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from optviz.ui.playground.colors import entry_colors, entry_title
from optviz.ui.playground.model import PlaygroundModel, Result

GAP_FLOOR = 1e-12  # f − f* below this is drawn at this value (f* is known to about 1e-10)


def loss_curves(result: Result) -> tuple[np.ndarray, bool, str]:
    """The plotted y values (n_opt, n_starts, steps+1) in view units (log10 of the gap f − f* where f* is
    known), whether they are logarithms, and the axis label."""
    surface = result.session.make_surface()
    best = [m.value for m in surface.minima if m.kind == "global"]
    losses = result.paths.losses
    if not best:
        return losses, False, "loss f"
    with np.errstate(invalid="ignore"):
        gap = np.where(np.isfinite(losses), np.maximum(losses - min(best), GAP_FLOOR), np.nan)
    return np.log10(gap), True, "f − f*"


class LossPlot(pg.PlotWidget):
    """Loss-vs-step curves of the model's Result, cursor on the model's step."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._values: np.ndarray | None = None
        plot = self.getPlotItem()
        plot.setLabel("bottom", "step")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setMenuEnabled(False)
        self.curves: list[pg.PlotCurveItem] = []
        self.cursor = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#dddddd", width=1.5),
                                      hoverPen=pg.mkPen("#ffe14d", width=2))
        self.cursor.setZValue(20)
        plot.addItem(self.cursor, ignoreBounds=True)
        self.hover_label = pg.TextItem(anchor=(0, 1), color="#ffffff", fill=pg.mkBrush(0, 0, 0, 180))
        self.hover_dot = pg.ScatterPlotItem(size=9, pen=pg.mkPen("#ffffff"), brush=pg.mkBrush(None))
        for item in (self.hover_label, self.hover_dot):
            item.setZValue(30)
            item.hide()
            plot.addItem(item, ignoreBounds=True)
        self.cursor.sigPositionChanged.connect(self._on_cursor_position_changed)
        self._mouse_proxy = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=30, slot=self._on_scene_mouse_moved)
        model.result_changed.connect(self._on_model_result_changed)
        model.step_changed.connect(self._on_model_step_changed)

    def _on_model_result_changed(self) -> None:
        result = self._model.result
        plot = self.getPlotItem()
        colors = [] if result is None else [entry_colors(result.session.optimizers)[i] for i in result.entries]
        if [c.name() for c in colors] != [c.opts["pen"].color().name() for c in self.curves]:
            for curve in self.curves:  # rebuilt only when the optimizers shown change: a drag keeps them
                plot.removeItem(curve)
            self.curves = [pg.PlotCurveItem(pen=pg.mkPen(color, width=1.8), connect="finite") for color in colors]
            for curve in self.curves:
                plot.addItem(curve)
        self._values = None
        if result is None:
            return
        values, log, label = loss_curves(result)
        self._values = values
        plot.getAxis("left").setLogMode(log)  # the values are log10 already; the axis labels them 10ⁿ
        plot.setLabel("left", label)
        n_starts, steps = values.shape[1], np.arange(result.paths.steps + 1, dtype=float)
        x = np.tile(np.append(steps, np.nan), n_starts)
        for row, curve in enumerate(self.curves):
            y = np.concatenate([np.append(values[row, j], np.nan) for j in range(n_starts)])
            curve.setData(x, y)
        plot.setXRange(0, max(1, result.paths.steps), padding=0.02)
        self._on_model_step_changed(self._model.step)

    def _on_model_step_changed(self, step: int) -> None:
        self.cursor.blockSignals(True)
        self.cursor.setValue(step)
        self.cursor.blockSignals(False)

    def _on_cursor_position_changed(self, line: pg.InfiniteLine) -> None:
        self._model.set_step(int(round(line.value())))

    def hover_text(self, step: int, y_view: float) -> tuple[str, float] | None:
        """Text for the curve nearest to ``y_view`` (view units: log10 when log-scaled) at ``step``, and its y."""
        result, values = self._model.result, self._values
        if result is None or values is None or not 0 <= step <= result.paths.steps:
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
