"""Live curves of the selected runs: loss (per batch, smoothed, validation), accuracy and learning rate."""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from optviz.training.analysis import EmaSmoother, overfit_epoch, thin
from optviz.training.records import RunRecord
from optviz.ui.widgets.axes import true_axes
from optviz.ui.training.curve_items import RunItems, points
from optviz.ui.training.margins import room_for_end_labels
from optviz.ui.training.model import TrainingModel

DEFAULT_SMOOTHING = 0.9
MAX_POINTS = 1200  # per curve drawn: about the plot's width in pixels


def slider_to_weight(position: int) -> float:
    """0 → 0 (off), 50 → 0.9, 100 → 0.99: fine control where smoothing matters."""
    return 0.0 if position <= 0 else round(1.0 - 10.0 ** (-position / 50.0), 4)


def weight_to_slider(weight: float) -> int:
    return 0 if weight <= 0 else int(round(-50.0 * math.log10(1.0 - weight)))


class CurvesView(QWidget):
    """Three plots of the model's selected runs (one colour per run), redrawn by :meth:`refresh` when their data
    changed; the legend is a row of its own under the plots, so that it never hides a curve."""

    unit_changed = Signal(str)  # "steps" | "epochs"

    def __init__(self, model: TrainingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._runs: dict[int, tuple[RunRecord, RunItems]] = {}
        self._weight = DEFAULT_SMOOTHING
        self._extent = 0.0  # the x range shown: where the longest shown run will end
        self._ranges: dict[str, tuple[float, float]] = {}  # y range set on each plot
        self._manual = False  # the user panned or zoomed: leave the ranges alone
        self.graphics = pg.GraphicsLayoutWidget()
        self.loss_plot = self._plot(0, 0, "Loss (○ validation)", "loss", rowspan=2)
        self.accuracy_plot = self._plot(0, 1, "Accuracy (○ validation)", "%")
        self.lr_plot = self._plot(1, 1, "Learning rate", "lr")
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._controls())
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self._legend_row())
        model.selection_changed.connect(self._on_model_selection_changed)
        model.run_renamed.connect(self._on_model_run_renamed)

    def _on_model_selection_changed(self) -> None:
        self.set_runs(self._model.selected_records())

    def _on_model_run_renamed(self, run_id: int) -> None:
        self.rename(self._model.runs.get(run_id))

    def _plot(self, row: int, col: int, title: str, ylabel: str, rowspan: int = 1) -> pg.PlotItem:
        plot = self.graphics.addPlot(row=row, col=col, rowspan=rowspan, axisItems=true_axes())
        plot.setTitle(title, size="10pt")
        plot.setLabel("left", ylabel)
        plot.setLabel("bottom", "step")
        plot.getViewBox().sigRangeChangedManually.connect(self._on_view_range_changed_manually)
        room_for_end_labels(plot, top=False)  # an end tick went unlabelled (a 14-step run read 0 … 13)
        # no grid: alpha-blended grid lines were most of the repaint cost (the benchmark)
        return plot

    def _legend_row(self) -> QLabel:
        """The runs' colours and names, on the plots' background, wrapping between entries."""
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setStyleSheet("QLabel { background: black; color: #d0d0d0; padding: 2px 8px 4px 8px; }")
        self.legend.setToolTip("Each run's colour in every plot, in the runs list and in the gradient flow")
        self.legend.hide()
        return self.legend

    def legend_entries(self) -> list[tuple[str, str]]:
        """(name, colour) of each run in the legend, in order."""
        return [(r.name, r.color) for r, _ in self._runs.values()]

    def _show_legend(self) -> None:
        entries = [f"<span style='color:{c}'>━━</span>&nbsp;{html.escape(n).replace(' ', '&nbsp;')}"
                   for n, c in self.legend_entries()]
        self.legend.setText(" &nbsp; &nbsp; ".join(entries))
        self.legend.setVisible(bool(entries))

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
        # the curves get log10 values from _points; only the axes are told, for their tick labels
        self.loss_plot.getAxis("left").setLogMode(self.log_loss.isChecked())
        self.lr_plot.getAxis("left").setLogMode(self.log_lr.isChecked())
        self._ranges = {}
        self.refresh(force=True)

    def _on_unit_combo_changed(self, unit: str) -> None:
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            plot.setLabel("bottom", unit[:-1])
        self._reset_ranges()
        self.refresh(force=True)
        self.unit_changed.emit(unit)

    def _on_view_range_changed_manually(self, *_args) -> None:
        self._manual = True

    def _reset_ranges(self) -> None:
        self._extent, self._ranges, self._manual = 0.0, {}, False

    # ---- runs ---------------------------------------------------------------------------------------------------

    def set_runs(self, records: list[RunRecord]) -> None:
        """Show exactly ``records`` (the selected runs)."""
        wanted = {r.id: r for r in records}
        for run_id in [i for i in self._runs if i not in wanted]:
            self._remove(run_id)
        for record in records:
            if record.id not in self._runs:
                self._runs[record.id] = (record, self._add(record))
        self._reset_ranges()
        self._show_legend()
        self.refresh()

    def shown_ids(self) -> list[int]:
        return list(self._runs)

    def _add(self, r: RunRecord) -> RunItems:
        return RunItems.create(self.loss_plot, self.accuracy_plot, self.lr_plot, r.color)

    def _remove(self, run_id: int) -> None:
        _record, items = self._runs.pop(run_id)
        items.remove(self.loss_plot, self.accuracy_plot, self.lr_plot)

    def rename(self, record: RunRecord) -> None:
        if record.id in self._runs:
            self._show_legend()

    # ---- drawing ------------------------------------------------------------------------------------------------

    def refresh(self, force: bool = False) -> None:
        """Redraw the runs whose data or the view settings changed since they were last drawn."""
        state = (self._weight, self.unit, self.log_loss.isChecked(), self.log_lr.isChecked())
        for record, items in self._runs.values():
            if force or (record.version, *state) != items.drawn:
                self._draw_batches(record, items)
            epochs = (len(record.epochs), *state)
            if force or epochs != items.drawn_epochs:
                self._draw_epochs(record, items)  # the symbols are costly to rebuild: only when an epoch ends
                items.drawn_epochs = epochs
            items.drawn = (record.version, *state)
        self._fit()

    def _fit(self) -> None:
        """Set the ranges by hand: x shows the whole planned run from the start (it shows how far along the runs
        are), y grows with the data and shrinks when the data fills less than half of it. pyqtgraph's auto-range
        would re-measure every item and re-lay out the axes at every repaint: most of a live plot's cost."""
        if self._manual:
            return
        extent = max((r.extent(self.unit) for r, _ in self._runs.values()), default=0.0)
        plots = {"loss": self.loss_plot, "accuracy": self.accuracy_plot, "lr": self.lr_plot}
        for name, plot in plots.items():
            if extent and extent != self._extent:
                plot.setXRange(0, extent, padding=0.02)
            found = [b for _, items in self._runs.values() for b in items.plot_bounds(name)]
            if found:
                self._fit_y(name, plot, min(b[0] for b in found), max(b[1] for b in found))
        self._extent = extent

    def _fit_y(self, name: str, plot: pg.PlotItem, lo: float, hi: float) -> None:
        current = self._ranges.get(name)
        if current is not None and current[0] <= lo and hi <= current[1] and hi - lo >= 0.5 * (current[1] - current[0]):
            return
        pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi) * 0.1, 1e-3)
        self._ranges[name] = (lo - pad, hi + pad)
        plot.setYRange(lo - pad, hi + pad, padding=0)

    def _draw_batches(self, r: RunRecord, items: RunItems) -> None:
        """The per-batch curves, thinned to about MAX_POINTS each (their cost stays flat as a run grows)."""
        log_loss = self.log_loss.isChecked()
        x = r.batch_x(self.unit)
        for name in ("loss_smoother", "acc_smoother"):
            if getattr(items, name).weight != self._weight:
                setattr(items, name, EmaSmoother(self._weight))
        m = r.metrics
        loss = m.batch_loss
        smooth = items.loss_smoother.update(loss)
        accuracy = 100.0 * items.acc_smoother.update(m.batch_accuracy)
        wide, narrow = self._budget(self.loss_plot, x), self._budget(self.accuracy_plot, x)
        curves = [("loss", items.raw, thin(*points(x, loss, log_loss), 2 * wide, peaks=True)),
                  ("loss", items.smooth, thin(*points(x, smooth, log_loss), wide)),
                  ("accuracy", items.acc, thin(*points(x, accuracy, False), narrow)),
                  ("lr", items.lr, thin(*points(x, m.lr, self.log_lr.isChecked()), narrow))]
        items.raw.setVisible(self._weight > 0)
        self._set_curves(items, "batches", curves)

    @staticmethod
    def _budget(plot: pg.PlotItem, x: np.ndarray) -> int:
        """Points worth drawing for ``x``: one per pixel of the width the curve spans (a long run is thinned)."""
        if len(x) < 2:
            return MAX_POINTS
        (x0, x1), _ = plot.getViewBox().viewRange()
        fraction = min(max((x[-1] - x[0]) / (x1 - x0), 0.0), 1.0) if x1 > x0 else 1.0
        return int(np.clip(plot.getViewBox().width() * fraction, 100, MAX_POINTS))

    @staticmethod
    def _set_curves(items: RunItems, kind: str, curves: list) -> None:
        """setData each curve and remember the y bounds of the visible ones under ``kind``."""
        found: dict[str, list] = {}
        for plot, item, (x, y) in curves:
            item.setData(x, y)
            if len(y) and item.isVisible():
                found.setdefault(plot, []).append((float(np.min(y)), float(np.max(y))))
        items.bounds[kind] = found

    def _draw_epochs(self, r: RunRecord, items: RunItems) -> None:
        ex = r.epoch_x(self.unit)
        self._set_curves(items, "epochs", [
            ("loss", items.val, points(ex, r.metrics.epoch_values("val_loss"), self.log_loss.isChecked())),
            ("accuracy", items.val_acc, points(ex, 100.0 * r.metrics.epoch_values("val_accuracy"), False))])
        self._place_marker(r, items.marker, ex)

    @staticmethod
    def _place_marker(r: RunRecord, marker: pg.InfiniteLine, ex: np.ndarray) -> None:
        epoch = overfit_epoch(r.metrics.epoch_values("train_loss"), r.metrics.epoch_values("val_loss"))
        if epoch is None:
            marker.hide()
            return
        index = [e.epoch for e in r.epochs].index(epoch)
        marker.show()  # before setFormat: a hidden label ignores it
        marker.setValue(float(ex[index]))
        marker.label.setFormat(f"overfitting after epoch {epoch + 1}")

    def overfit_marker_visible(self, run_id: int) -> bool:
        return self._runs[run_id][1].marker.isVisible()

    def curve_data(self, run_id: int, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) a curve shows: raw, smooth, val, acc, val_acc or lr (for tests and screenshots)."""
        item = getattr(self._runs[run_id][1], name)
        x, y = item.getOriginalDataset() if isinstance(item, pg.PlotDataItem) else item.getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))
