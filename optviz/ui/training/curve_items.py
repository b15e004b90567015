"""The plot items of one run in the curves view: its batch, smoothed, validation and lr curves and its marker."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPen

from optviz.training.analysis import EmaSmoother


def pen(color: str, width: float = 2.0, alpha: int = 255, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    """A cosmetic pen of ``color`` at ``alpha`` (0–255)."""
    c = QColor(color)
    c.setAlpha(alpha)
    return pg.mkPen(c, width=width, style=style)


def points(x: np.ndarray, y: np.ndarray, log: bool) -> tuple[np.ndarray, np.ndarray]:
    """The points a plot can show, in view coordinates: finite ones, and on a log axis positive ones as log10."""
    if not log:
        keep = np.isfinite(y)
        return x[keep], y[keep]
    keep = np.isfinite(y) & (y > 0)
    return x[keep], np.log10(y[keep])


def _curve(plot: pg.PlotItem, line: QPen, antialias: bool | None = None) -> pg.PlotCurveItem:
    options = {} if antialias is None else {"antialias": antialias}
    item = pg.PlotCurveItem(pen=line, **options)
    plot.addItem(item)
    return item


@dataclass
class RunItems:
    """The plot items of one run and what they were last drawn from."""

    raw: pg.PlotCurveItem  # plain curves: a third of PlotDataItem's cost per setData
    smooth: pg.PlotCurveItem
    val: pg.PlotDataItem  # with symbols; redrawn only when an epoch ends
    acc: pg.PlotCurveItem
    val_acc: pg.PlotDataItem
    lr: pg.PlotCurveItem
    marker: pg.InfiniteLine
    loss_smoother: EmaSmoother = field(default_factory=lambda: EmaSmoother(0.0))
    acc_smoother: EmaSmoother = field(default_factory=lambda: EmaSmoother(0.0))
    drawn: tuple = ()
    drawn_epochs: tuple = ()
    bounds: dict = field(default_factory=dict)  # "batches"/"epochs" → plot → [(low, high)] of the curves shown

    @classmethod
    def create(cls, loss: pg.PlotItem, accuracy: pg.PlotItem, lr: pg.PlotItem, c: str) -> RunItems:
        """A run's curves in colour ``c`` on the three plots."""
        dash = Qt.PenStyle.DashLine
        items = cls(
            raw=_curve(loss, pen(c, 1, 60), antialias=False),  # a faint zigzag: aliasing is invisible
            smooth=_curve(loss, pen(c, 2)),
            val=loss.plot(pen=pen(c, 2, 255, dash), symbol="o", symbolSize=7, symbolBrush=c, symbolPen=c),
            acc=_curve(accuracy, pen(c, 2)),
            val_acc=accuracy.plot(pen=pen(c, 2, 255, dash), symbol="o", symbolSize=7, symbolBrush=c, symbolPen=c),
            lr=_curve(lr, pen(c, 2)),
            marker=pg.InfiniteLine(angle=90, movable=False, pen=pen(c, 1.5, 200, Qt.PenStyle.DotLine),
                                   label="overfitting", labelOpts={"position": 0.95, "color": c, "anchors":
                                                                   [(0, 0), (0, 0)]}),
        )
        loss.addItem(items.marker)
        items.marker.hide()
        return items

    def remove(self, loss: pg.PlotItem, accuracy: pg.PlotItem, lr: pg.PlotItem) -> None:
        for plot, names in ((loss, ("raw", "smooth", "val", "marker")), (accuracy, ("acc", "val_acc")),
                            (lr, ("lr",))):
            for name in names:
                plot.removeItem(getattr(self, name))

    def plot_bounds(self, plot: str) -> list[tuple[float, float]]:
        return [b for part in self.bounds.values() for b in part.get(plot, ())]
