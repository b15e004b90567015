"""The confusion matrix of a finished run on its test set: rows = true class, columns = predicted.

The rows are named in full; the columns' names are as long as a cell is wide (Shapes' "square" and "triangle" ran
into each other under 40-pixel cells): shortened to prefixes (``tri.``) when they must be, with the full names
written under the matrix and every cell's tooltip naming its true and predicted class.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


LABEL_GAP_PX = 6  # at least this much space between two column names


def short_names(names: tuple[str, ...], width: float, metrics: QFontMetrics) -> tuple[str, ...]:
    """``names`` as they fit ``width`` pixels each (with a gap): whole, else all cut to the longest common length
    that fits and keeps them apart (``circ.``, ``ring``, ``squa.``), else their numbers from 1."""
    def fits(texts) -> bool:
        return len(set(texts)) == len(texts) and all(metrics.horizontalAdvance(t) + LABEL_GAP_PX <= width
                                                     for t in texts)

    if fits(names):
        return tuple(names)
    for n in range(max((len(name) for name in names), default=0) - 1, 0, -1):
        cut = tuple(name if len(name) <= n + 1 else name[:n] + "." for name in names)
        if fits(cut):
            return cut
    return tuple(str(i + 1) for i in range(len(names)))


def row_fractions(confusion: np.ndarray) -> np.ndarray:
    """Each row divided by its total (a class with no test samples stays 0)."""
    totals = confusion.sum(axis=1, keepdims=True)
    return np.divide(confusion, totals, out=np.zeros(confusion.shape, float), where=totals > 0)


class ConfusionView(QWidget):
    """A heatmap of per-true-class fractions, with the counts written in the cells."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.plot_widget = pg.PlotWidget()
        self.plot = self.plot_widget.getPlotItem()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "true class")
        self.plot.setLabel("bottom", "predicted class")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("CET-L4"))  # dark red → yellow: the diagonal stands out
        self.plot.addItem(self.image)
        self._texts: list[pg.TextItem] = []
        self._font = QFont()
        self._font.setPointSizeF(7.5)
        self.matrix: np.ndarray | None = None
        self.classes: tuple[str, ...] = ()
        self.columns: tuple[str, ...] = ()  # the column names drawn (shortened where the cells are narrow)
        self.names = QLabel()  # the full names of shortened columns
        self.names.setWordWrap(True)
        self.names.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.names)
        self.plot.getViewBox().sigResized.connect(self._on_view_resized)
        self.plot.getViewBox().sigRangeChanged.connect(self._on_view_resized)  # the locked aspect widens x
        self.plot_widget.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)

    def show_matrix(self, confusion: np.ndarray | None, classes: tuple[str, ...], status: str = "") -> None:
        if confusion is not None and not confusion.any():
            confusion = None  # a stopped or diverged run has no test evaluation
        if self.matrix is not None and confusion is not None and np.array_equal(confusion, self.matrix):
            return
        self.matrix = confusion
        for t in self._texts:
            self.plot.removeItem(t)
        self._texts = []
        self.classes = tuple(classes)
        if confusion is None:
            self.image.clear()
            self.plot_widget.setVisible(False)
            self.names.setVisible(False)
            self.message.setText(self._waiting(status))
            return
        self.plot_widget.setVisible(True)
        n = len(confusion)
        accuracy = np.trace(confusion) / max(confusion.sum(), 1)
        self.message.setText(f"Test set: {confusion.sum()} images, {100 * accuracy:.1f}% right. Colour: fraction "
                             "of the true class (row); numbers: counts.")
        fractions = row_fractions(confusion)
        self.image.setImage(fractions, levels=(0.0, 1.0))
        self.image.setRect(QRectF(0, 0, n, n))
        self.plot.getAxis("left").setTicks([[(i + 0.5, name) for i, name in enumerate(classes)]])
        self.columns = ()
        self._name_columns()
        for i in range(n):
            for j in range(n):
                if confusion[i, j]:
                    color = "#000000" if fractions[i, j] > 0.6 else "#ffffff"
                    text = pg.TextItem(str(int(confusion[i, j])), color=color, anchor=(0.5, 0.5))
                    text.setFont(self._font)
                    text.setPos(j + 0.5, i + 0.5)
                    self.plot.addItem(text)
                    self._texts.append(text)
        self.plot.setRange(xRange=(0, n), yRange=(0, n), padding=0.02)

    def _on_view_resized(self, *_args) -> None:
        self._name_columns()

    def _name_columns(self) -> None:
        """The column names as long as the cells' width lets them be, and the full names under the matrix when
        they are shortened."""
        if self.matrix is None:
            return
        axis = self.plot.getAxis("bottom")
        cell = self.plot.getViewBox().width() / max(self.plot.getViewBox().viewRect().width(), 1e-9)
        columns = short_names(self.classes, cell, QFontMetrics(axis.style["tickFont"] or self.font()))
        if columns == self.columns:
            return
        self.columns = columns
        axis.setTicks([[(i + 0.5, name) for i, name in enumerate(columns)]])
        shortened = [f"{c} = {name}" for c, name in zip(columns, self.classes) if c != name]
        self.names.setText("Predicted: " + ", ".join(shortened) if shortened else "")
        self.names.setVisible(bool(shortened))

    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        p = self.plot.getViewBox().mapSceneToView(pos)
        self.plot_widget.setToolTip(self.describe(p.x(), p.y()))

    def describe(self, x: float, y: float) -> str:
        """The cell at (x, y) in words: ``true square, predicted triangle: 12 (15% of square)``; "" outside."""
        m = self.matrix
        if m is None or not (0 <= x < len(m) and 0 <= y < len(m)):
            return ""
        i, j = int(y), int(x)
        share = 100 * row_fractions(m)[i, j]
        true = self.classes[i]
        return f"true {true}, predicted {self.classes[j]}: {int(m[i, j])} ({share:.0f}% of {true})"

    @staticmethod
    def _waiting(status: str) -> str:
        if status == "running":
            return "The confusion matrix on the test set appears when the run finishes."
        if status in ("stopped", "diverged", "failed"):
            return f"This run {status} before its test evaluation: no confusion matrix."
        return "Select a run in the runs list."
