"""Live curves of the selected runs: loss (per batch, smoothed, validation), accuracy and learning rate."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from optviz.training.analysis import EmaSmoother, overfit_epoch
from optviz.ui.training.store import RunRecord

DEFAULT_SMOOTHING = 0.9


def slider_to_weight(position: int) -> float:
    """0 → 0 (off), 50 → 0.9, 100 → 0.99: fine control where smoothing matters."""
    return 0.0 if position <= 0 else round(1.0 - 10.0 ** (-position / 50.0), 4)


def weight_to_slider(weight: float) -> int:
    return 0 if weight <= 0 else int(round(-50.0 * math.log10(1.0 - weight)))


def _pen(color: str, width: float = 2.0, alpha: int = 255, style=Qt.PenStyle.SolidLine):
    c = QColor(color)
    c.setAlpha(alpha)
    return pg.mkPen(c, width=width, style=style)


def _points(x: np.ndarray, y: np.ndarray, log: bool) -> tuple[np.ndarray, np.ndarray]:
    """Only the points a (log) plot can show: finite, and positive on a log axis."""
    keep = np.isfinite(y) & (y > 0) if log else np.isfinite(y)
    return x[keep], y[keep]


@dataclass
class _RunItems:
    """The plot items of one run and what they were last drawn from."""

    raw: pg.PlotDataItem
    smooth: pg.PlotDataItem
    val: pg.PlotDataItem
    acc: pg.PlotDataItem
    val_acc: pg.PlotDataItem
    lr: pg.PlotDataItem
    marker: pg.InfiniteLine
    loss_smoother: EmaSmoother = field(default_factory=lambda: EmaSmoother(0.0))
    acc_smoother: EmaSmoother = field(default_factory=lambda: EmaSmoother(0.0))
    drawn: tuple = ()


class CurvesView(QWidget):
    """Three plots of the selected runs (one colour per run), redrawn by :meth:`refresh` when their data changed."""

    unit_changed = Signal(str)  # "steps" | "epochs"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs: dict[int, tuple[RunRecord, _RunItems]] = {}
        self._weight = DEFAULT_SMOOTHING
        self.graphics = pg.GraphicsLayoutWidget()
        self.loss_plot = self._plot(0, 0, "Loss (○ validation)", "loss", rowspan=2)
        self.loss_plot.addLegend(offset=(10, -10), labelTextSize="9pt")  # bottom left: loss curves start high
        self.accuracy_plot = self._plot(0, 1, "Accuracy (○ validation)", "%")
        self.lr_plot = self._plot(1, 1, "Learning rate", "lr")
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._controls())
        layout.addWidget(self.graphics, 1)

    def _plot(self, row: int, col: int, title: str, ylabel: str, rowspan: int = 1) -> pg.PlotItem:
        plot = self.graphics.addPlot(row=row, col=col, rowspan=rowspan)
        plot.setTitle(title, size="10pt")
        plot.setLabel("left", ylabel)
        plot.setLabel("bottom", "step")
        plot.showGrid(x=True, y=True, alpha=0.2)
        return plot

    def _controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 100)
        self.smoothing_slider.setValue(weight_to_slider(DEFAULT_SMOOTHING))
        self.smoothing_slider.setMaximumWidth(180)
        self.smoothing_slider.setToolTip("Exponential moving average of the batch curves; 0 = off.\n"
                                         "The smoothed line always ends on the newest batch.")
        self.smoothing_label = QLabel()
        self.smoothing_slider.valueChanged.connect(self._on_smoothing_slider_moved)
        self.log_loss = QCheckBox("log loss")
        self.log_lr = QCheckBox("log lr")
        self.log_loss.toggled.connect(self._on_log_toggled)
        self.log_lr.toggled.connect(self._on_log_toggled)
        self.unit_combo = QComboBox()
        self.unit_combo.addItems(["steps", "epochs"])
        self.unit_combo.setToolTip("x axis: optimisation steps (batches) or epochs")
        self.unit_combo.currentTextChanged.connect(self._on_unit_combo_changed)
        self.loss_plot.setToolTip("Faint: the loss of each batch; line: smoothed; dashed with ○: validation loss "
                                  "after each epoch. A dotted vertical line marks where overfitting starts.")
        for w in (QLabel("Smoothing"), self.smoothing_slider, self.smoothing_label, self.log_loss, self.log_lr,
                  QLabel("x axis"), self.unit_combo):
            row.addWidget(w)
        row.addStretch(1)
        self._show_weight()
        return row

    # ---- settings ---------------------------------------------------------------------------------------------

    @property
    def unit(self) -> str:
        return self.unit_combo.currentText()

    @property
    def smoothing(self) -> float:
        return self._weight

    def set_smoothing(self, weight: float) -> None:
        self.smoothing_slider.setValue(weight_to_slider(weight))

    def _show_weight(self) -> None:
        self.smoothing_label.setText("off" if self._weight == 0 else f"{self._weight:.2f}")

    def _on_smoothing_slider_moved(self, position: int) -> None:
        self._weight = slider_to_weight(position)
        self._show_weight()
        self.refresh(force=True)

    def _on_log_toggled(self, _on: bool) -> None:
        self.loss_plot.setLogMode(y=self.log_loss.isChecked())
        self.lr_plot.setLogMode(y=self.log_lr.isChecked())
        self.refresh(force=True)

    def _on_unit_combo_changed(self, unit: str) -> None:
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            plot.setLabel("bottom", unit[:-1])
        self.refresh(force=True)
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            plot.enableAutoRange()
        self.unit_changed.emit(unit)

    # ---- runs ---------------------------------------------------------------------------------------------------

    def set_runs(self, records: list[RunRecord]) -> None:
        """Show exactly ``records`` (the runs selected in the runs list)."""
        wanted = {r.id: r for r in records}
        for run_id in [i for i in self._runs if i not in wanted]:
            self._remove(run_id)
        for record in records:
            if record.id not in self._runs:
                self._runs[record.id] = (record, self._add(record))
        self.refresh()

    def shown_ids(self) -> list[int]:
        return list(self._runs)

    def _add(self, r: RunRecord) -> _RunItems:
        c = r.color
        dash = Qt.PenStyle.DashLine
        items = _RunItems(
            raw=self.loss_plot.plot(pen=_pen(c, 1, 60)),
            smooth=self.loss_plot.plot(pen=_pen(c, 2), name=r.name),
            val=self.loss_plot.plot(pen=_pen(c, 2, 255, dash), symbol="o", symbolSize=7, symbolBrush=c, symbolPen=c),
            acc=self.accuracy_plot.plot(pen=_pen(c, 2)),
            val_acc=self.accuracy_plot.plot(pen=_pen(c, 2, 255, dash), symbol="o", symbolSize=7, symbolBrush=c,
                                            symbolPen=c),
            lr=self.lr_plot.plot(pen=_pen(c, 2)),
            marker=pg.InfiniteLine(angle=90, movable=False, pen=_pen(c, 1.5, 200, Qt.PenStyle.DotLine),
                                   label="overfitting →", labelOpts={"position": 0.95, "color": c, "anchors":
                                                                     [(1, 0), (1, 0)]}),
        )
        for item in (items.raw, items.acc):
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
        self.loss_plot.addItem(items.marker)
        items.marker.hide()
        return items

    def _remove(self, run_id: int) -> None:
        _record, items = self._runs.pop(run_id)
        for plot, names in ((self.loss_plot, ("raw", "smooth", "val", "marker")),
                            (self.accuracy_plot, ("acc", "val_acc")), (self.lr_plot, ("lr",))):
            for name in names:
                plot.removeItem(getattr(items, name))

    def rename(self, record: RunRecord) -> None:
        if record.id in self._runs:
            items = self._runs[record.id][1]
            self.loss_plot.legend.removeItem(items.smooth)
            self.loss_plot.legend.addItem(items.smooth, record.name)

    # ---- drawing ------------------------------------------------------------------------------------------------

    def refresh(self, force: bool = False) -> None:
        """Redraw the runs whose data or the view settings changed since they were last drawn."""
        state = (self._weight, self.unit, self.log_loss.isChecked(), self.log_lr.isChecked())
        for record, items in self._runs.values():
            drawn = (record.version, *state)
            if force or drawn != items.drawn:
                self._draw(record, items)
                items.drawn = drawn

    def _draw(self, r: RunRecord, items: _RunItems) -> None:
        unit, log_loss = self.unit, self.log_loss.isChecked()
        x = r.batch_x(unit)
        for name in ("loss_smoother", "acc_smoother"):
            if getattr(items, name).weight != self._weight:
                setattr(items, name, EmaSmoother(self._weight))
        loss = r.loss.values
        smooth = items.loss_smoother.update(loss)
        items.raw.setData(*_points(x, loss, log_loss))
        items.raw.setVisible(self._weight > 0)
        items.smooth.setData(*_points(x, smooth, log_loss))
        ex = r.epoch_x(unit)
        items.val.setData(*_points(ex, r.epoch_values("val_loss"), log_loss))
        items.acc.setData(*_points(x, 100.0 * items.acc_smoother.update(r.accuracy.values), False))
        items.val_acc.setData(*_points(ex, 100.0 * r.epoch_values("val_accuracy"), False))
        items.lr.setData(*_points(x, r.lr.values, self.log_lr.isChecked()))
        self._place_marker(r, items.marker, ex)

    @staticmethod
    def _place_marker(r: RunRecord, marker: pg.InfiniteLine, ex: np.ndarray) -> None:
        epoch = overfit_epoch(r.epoch_values("train_loss"), r.epoch_values("val_loss"))
        if epoch is None:
            marker.hide()
            return
        index = [e.epoch for e in r.epochs].index(epoch)
        marker.setValue(float(ex[index]))
        marker.label.setFormat(f"overfitting after epoch {epoch + 1} →")
        marker.show()

    def overfit_marker_visible(self, run_id: int) -> bool:
        return self._runs[run_id][1].marker.isVisible()

    def curve_data(self, run_id: int, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) a curve shows: raw, smooth, val, acc, val_acc or lr (for tests and screenshots)."""
        item = getattr(self._runs[run_id][1], name)
        x, y = item.getOriginalDataset()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))
