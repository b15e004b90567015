"""The internals of the inspected path over its steps, with a cursor linked to the animation: the step size per
coordinate (and the scheduled lr), the momentum buffer's norm next to the gradient's, the angle between the update
and −∇f, Adam's bias-correction factors, the learning rate.

x is the step k of the update x_k → x_{k+1} (torch.optim's t = k + 1), so the cursor at animation step k sits on
the numbers that the surface overlay and the rule show. Log axes are :class:`TrueAxis` (ticks read true values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from optviz.ui.playground.inside import Inside, inspect
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.widgets.axes import true_axes

X_COLOR, Y_COLOR, THIRD_COLOR = "#4fc3f7", "#ffb74d", "#d0d0d0"


def _norm(v: np.ndarray) -> np.ndarray:
    return np.linalg.norm(v, axis=-1)


@dataclass(frozen=True)
class Quantity:
    """One choice of the plot: its title, y label, whether log-scaled, and its curves (label, values, dashed)."""

    name: str
    title: str
    label: str
    log: bool
    curves: Callable[[Inside], list[tuple[str, np.ndarray, bool]]]
    needs: str  # the recorded series that must have numbers for this choice to be offered
    tip: str


QUANTITIES: dict[str, Quantity] = {q.name: q for q in (
    Quantity("step", "Step size per coordinate", "step size", True,
             lambda i: [("x", i.series("effective_lr")[:, 0], False), ("y", i.series("effective_lr")[:, 1], False),
                        ("lr", i.series("lr"), True)],
             "effective_lr",
             "The step size each coordinate gets: lr for SGD and Momentum; lr/(√accumulated g² + ε) for Adagrad "
             "and RMSProp; lr/(√v̂ + ε) (multiplying m̂) for Adam. Dashed: the scheduled lr."),
    Quantity("momentum", "Momentum buffer ‖b‖ and gradient ‖∇f‖", "norm", True,
             lambda i: [("‖b‖", _norm(i.series("momentum")), False), ("‖∇f‖", _norm(i.series("grad")), True)],
             "momentum",
             "The norm of the velocity (momentum buffer, or Adam's first moment m) after each step, next to the "
             "norm of the gradient that step used."),
    Quantity("angle", "Angle between the update and −∇f", "degrees", False,
             lambda i: [("angle", i.series("angle"), False)],
             "angle",
             "0°: the step goes straight down the gradient; 90°: across it; above 90°: uphill (momentum carrying on)."),
    Quantity("bias", "Bias corrections 1−β₁ᵗ, 1−β₂ᵗ", "factor", False,
             lambda i: [("1−β₁ᵗ", i.series("bias1"), False), ("1−β₂ᵗ", i.series("bias2"), False)],
             "bias1",
             "Adam divides m by 1−β₁ᵗ and v by 1−β₂ᵗ: early on both are small, which scales the first steps up."),
    Quantity("lr", "Learning rate (schedule)", "lr", False,
             lambda i: [("lr", i.series("lr"), False)],
             "lr",
             "The learning rate each step used: constant, or as the schedule sets it."),
)}


class InternalsPlot(pg.PlotWidget):
    """One quantity of the inspected path over the steps; the cursor follows (and scrubs) the model's step."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent, axisItems=true_axes(steps=True))
        self._model = model
        self.quantity = "step"
        self.inside: Inside | None = None
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setLabel("bottom", "step k (the update x<sub>k</sub> → x<sub>k+1</sub>)")
        self.legend = plot.addLegend(offset=(-8, 8), labelTextSize="8pt", brush=pg.mkBrush(0, 0, 0, 150))
        self.curves = [pg.PlotCurveItem(connect="finite") for _ in range(3)]
        for curve in self.curves:
            plot.addItem(curve)
        self.cursor = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#dddddd", width=1.5),
                                      hoverPen=pg.mkPen("#ffe14d", width=2))
        self.cursor.setZValue(20)
        plot.addItem(self.cursor, ignoreBounds=True)
        self.message = pg.TextItem(anchor=(0.5, 0.5), color="#ffffff")
        self.message.setParentItem(plot.getViewBox())
        self.cursor.sigPositionChanged.connect(self._on_cursor_position_changed)
        for signal in (model.result_changed, model.field_changed, model.surface_changed, model.selection_changed,
                       model.inspected_changed):
            signal.connect(self.refresh)
        model.step_changed.connect(self._on_model_step_changed)
        self.refresh()

    def available(self) -> list[str]:
        """The quantities recorded for the inspected optimizer (all of them while nothing is shown)."""
        if self.inside is None:
            return list(QUANTITIES)
        return [name for name, q in QUANTITIES.items() if self.inside.has(q.needs)]

    def set_quantity(self, name: str) -> None:
        self.quantity = QUANTITIES[name].name
        self.refresh()

    def refresh(self, *_) -> None:
        self.inside, why = inspect(self._model)
        plot = self.getPlotItem()
        self.legend.clear()
        quantity = QUANTITIES[self.quantity]
        self.setToolTip(quantity.tip)
        if self.inside is None or not self.inside.has(quantity.needs):
            for curve in self.curves:
                curve.setData([], [])
            if self.inside is not None:
                why = f"{self.inside.title} has no {quantity.title[0].lower() + quantity.title[1:]}"
            self._show_message(why)
            return
        self._show_message("")
        colors = (X_COLOR, Y_COLOR, THIRD_COLOR)
        parts = quantity.curves(self.inside)
        steps = np.arange(self.inside.steps, dtype=float)
        plot.getAxis("left").setLogMode(quantity.log)  # the values below are log10 already
        plot.setLabel("left", quantity.label)
        shown = []
        for curve, color, part in zip(self.curves, colors, parts + [None] * 3):
            if part is None:
                curve.setData([], [])
                continue
            label, values, dashed = part
            y = np.asarray(values, dtype=float)
            if quantity.log:
                with np.errstate(all="ignore"):
                    y = np.where(y > 0, np.log10(np.abs(y)), np.nan)
            style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
            curve.setPen(pg.mkPen(color, width=1.6, style=style))
            curve.setData(steps, np.where(np.isfinite(y), y, np.nan))
            self.legend.addItem(curve, label)
            shown.append(y[np.isfinite(y)])
        values = np.concatenate(shown) if shown else np.zeros(0)
        plot.setXRange(0, max(1, self.inside.steps - 1), padding=0.02)
        if values.size:
            lo, hi = float(values.min()), float(values.max())
            pad = max(0.3 if quantity.log else 0.05 * (hi - lo), 1e-9)
            if hi - lo < 1e-12:
                pad = 0.5 if quantity.log else max(abs(hi) * 0.5, 0.5)
            plot.setYRange(lo - pad, hi + pad, padding=0.0)
        self._on_model_step_changed(self._model.step)

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        rect = self.getPlotItem().getViewBox().boundingRect()
        self.message.setPos(rect.center())

    def _on_model_step_changed(self, step: int) -> None:
        self.cursor.blockSignals(True)
        self.cursor.setValue(step)
        self.cursor.blockSignals(False)

    def _on_cursor_position_changed(self, line: pg.InfiniteLine) -> None:
        self._model.set_step(int(round(line.value())))

    def values_at(self, step: int) -> dict[str, float]:
        """The plotted values (true values, not logarithms) at ``step``, by legend label: what a user reads."""
        out = {}
        for curve, (sample, label) in zip(self.curves, self.legend.items):
            x, y = curve.getData()
            if x is not None and 0 <= step < len(y):
                out[label.text] = float(10.0 ** y[step]) if QUANTITIES[self.quantity].log else float(y[step])
        return out
