"""Cross-validation results: per-fold validation scores as a table and a bar chart with the mean ± std."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from optviz.training.events import CrossValFinished, FoldFinished
from optviz.ui.widgets.axes import true_axes
from optviz.ui.training.margins import room_for_end_labels
from optviz.ui.training.model import TrainingModel


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if math.isfinite(x) else "–"


def _num(x: float) -> str:
    return f"{x:.3f}" if math.isfinite(x) else "–"


class CrossValView(QWidget):
    """Folds as they finish, then the summary; the bars are validation accuracy, the band mean ± std."""

    def __init__(self, model: TrainingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.summary = QLabel("Set k-fold above 0 in the panel to cross-validate: each fold is the validation set "
                              "once, the scores show how much the result depends on the split.")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["fold", "val accuracy", "val loss"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.chart = pg.PlotWidget(axisItems=true_axes())  # bars in %, and the axis reads %, never rescaled
        self.chart.setLabel("left", "validation accuracy (%)")
        self.chart.setLabel("bottom", "fold")
        self.chart.setMouseEnabled(x=False, y=True)
        room_for_end_labels(self.chart.getPlotItem())  # no title above: the top label, 100, was cut in half
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush="#377eb8")
        self.chart.addItem(self.bars)
        self.band = pg.LinearRegionItem(orientation="horizontal", movable=False, brush=(255, 212, 0, 50),
                                        pen=pg.mkPen(None))
        self.mean_line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen("#ffd400", width=2),
                                         label="mean", labelOpts={"position": 0.97, "color": "#ffd400",
                                                                   "fill": (0, 0, 0, 190),
                                                                   "anchors": [(1, 1), (1, 1)]})
        self.chart.addItem(self.band)
        self.chart.addItem(self.mean_line)
        self.band.hide()
        self.mean_line.hide()
        self.folds: list[FoldFinished] = []
        self.colors: dict[int, str] = {}  # fold → its run's colour
        self.result: CrossValFinished | None = None
        row = QHBoxLayout()
        row.addWidget(self.table)
        row.addWidget(self.chart, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addLayout(row, 1)
        self._redraw()  # the axes in % before any fold (they read 0 to 1.0 under "(%)")
        model.run_added.connect(self._on_model_run_added)
        model.fold_finished.connect(self._on_model_fold_finished)
        model.crossval_finished.connect(self._on_model_crossval_finished)

    def _on_model_run_added(self, run_id: int) -> None:
        if self._model.runs.get(run_id).started.fold == 0:  # a new cross-validation begins
            self.clear()

    def _on_model_fold_finished(self, run_id: int) -> None:
        record = self._model.runs.get(run_id)
        self.add_fold(record.fold_result, record.color)

    def _on_model_crossval_finished(self, result: CrossValFinished) -> None:
        self.finish(result)

    def clear(self) -> None:
        self.folds, self.result, self.colors = [], None, {}
        self.summary.setText("Cross-validation running: folds appear as they finish.")
        self._redraw()

    def add_fold(self, fold: FoldFinished, color: str = "#377eb8") -> None:
        self.folds.append(fold)
        self.colors[fold.fold] = color
        self._redraw()

    def finish(self, result: CrossValFinished) -> None:
        self.result = result
        self.summary.setText(
            f"{len(result.val_accuracies)}-fold cross-validation: validation accuracy "
            f"{_pct(result.mean_accuracy)} ± {100 * result.std_accuracy:.1f} points, validation loss "
            f"{_num(result.mean_loss)} ± {_num(result.std_loss)} (mean ± std over the folds)")
        self._redraw()

    def _redraw(self) -> None:
        folds = sorted(self.folds, key=lambda f: f.fold)
        self.table.setRowCount(len(folds) + (1 if self.result else 0))
        for i, f in enumerate(folds):
            self._set_row(i, str(f.fold + 1), _pct(f.val_accuracy), _num(f.val_loss))
        if self.result is not None:
            r = self.result
            self._set_row(len(folds), "mean ± std", f"{_pct(r.mean_accuracy)} ± {100 * r.std_accuracy:.1f}",
                          f"{_num(r.mean_loss)} ± {_num(r.std_loss)}")
        self._fit_table()
        x = np.array([f.fold + 1 for f in folds], dtype=float)
        heights = np.array([100 * f.val_accuracy if math.isfinite(f.val_accuracy) else 0.0 for f in folds])
        brushes = [self.colors.get(f.fold, "#377eb8") for f in folds]
        self.bars.setOpts(x=x, height=heights, width=0.6, brushes=brushes)
        shown = self.result is not None and math.isfinite(self.result.mean_accuracy)
        self.mean_line.setVisible(shown)  # before setFormat: a hidden label ignores it
        self.band.setVisible(shown)
        if shown:
            mean, std = 100 * self.result.mean_accuracy, 100 * self.result.std_accuracy
            self.mean_line.setValue(mean)
            self.mean_line.label.setFormat(f"mean {mean:.1f}% ± {std:.1f}")
            self.band.setRegion((mean - std, mean + std))
        self.chart.getAxis("bottom").setTicks([[(v, str(int(v))) for v in x]])
        self.chart.setYRange(0.0, 100.0)  # bars from 0: their lengths compare the accuracies
        self.chart.setXRange(0.4, max(len(folds), 1) + 0.6)

    def _fit_table(self) -> None:
        """The table as wide as its columns ("1.793 ± 0.004" was cut behind a scroll bar at 1280×800), the chart
        taking the rest."""
        table = self.table
        width = table.horizontalHeader().length() + 2 * table.frameWidth()
        if table.verticalHeader().length() + table.horizontalHeader().height() > table.viewport().height():
            width += table.verticalScrollBar().sizeHint().width()  # ten folds scroll
        table.setFixedWidth(width)

    def _set_row(self, row: int, *cells: str) -> None:
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.table.setItem(row, col, item)
