"""The confusion matrix of a finished run on its test set: rows = true class, columns = predicted."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(self.plot_widget, 1)

    def show_matrix(self, confusion: np.ndarray | None, classes: tuple[str, ...], status: str = "") -> None:
        if confusion is not None and not confusion.any():
            confusion = None  # a stopped or diverged run has no test evaluation
        if self.matrix is not None and confusion is not None and np.array_equal(confusion, self.matrix):
            return
        self.matrix = confusion
        for t in self._texts:
            self.plot.removeItem(t)
        self._texts = []
        if confusion is None:
            self.image.clear()
            self.plot_widget.setVisible(False)
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
        ticks = [(i + 0.5, name) for i, name in enumerate(classes)]
        self.plot.getAxis("left").setTicks([ticks])
        self.plot.getAxis("bottom").setTicks([ticks])
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

    @staticmethod
    def _waiting(status: str) -> str:
        if status == "running":
            return "The confusion matrix on the test set appears when the run finishes."
        if status in ("stopped", "diverged", "failed"):
            return f"This run {status} before its test evaluation: no confusion matrix."
        return "Select a run in the runs list."
