"""Gradient flow: per-layer gradient norms over the steps, as one heatmap per selected run on a shared log scale.

Rows are the model's conv and linear layers, input at the top; columns are steps; the heatmaps are stacked on one
time axis. With a shared colour scale, PlainNet-20's input layers fade to the dark end while ResNet-20's stay as
bright as its output layers.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from optviz.training.records import RunRecord
from optviz.ui.training.model import TrainingModel

MAX_COLUMNS = 600  # steps are averaged (in log space) into at most this many columns
MAX_SHOWN = 4  # heatmaps stacked; more selected runs show the last four selected
_FLOOR = 1e-12  # a zero gradient norm, in log scale


def log_norms(grads: np.ndarray, max_columns: int = MAX_COLUMNS) -> np.ndarray:
    """log10 of (steps, layers) gradient norms, steps averaged into at most ``max_columns`` bins (NaN-free)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(np.maximum(grads, _FLOOR))
    logs[~np.isfinite(logs)] = math.log10(_FLOOR)
    n = len(logs)
    if n <= max_columns:
        return logs
    edges = np.linspace(0, n, max_columns + 1).astype(int)
    return np.add.reduceat(logs, edges[:-1], axis=0) / np.diff(edges)[:, None]


def layer_ticks(names: tuple[str, ...], height_px: float) -> list[tuple[float, str]]:
    """Tick labels for the layer axis: every k-th layer so that labels are at least 13 px apart; always the last."""
    n = len(names)
    if n == 0:
        return []
    k = max(1, math.ceil(n * 13.0 / max(height_px, 1.0)))
    chosen = list(range(0, n, k))
    if chosen[-1] != n - 1:  # always label the output layer, dropping a neighbour it would overlap
        chosen = chosen[:-1] if n - 1 - chosen[-1] < k else chosen
        chosen.append(n - 1)
    return [(i + 0.5, names[i]) for i in chosen]


class GradientFlowView(QWidget):
    """Heatmaps of log10 gradient norm (layers × steps) for the model's selected runs, with one colour bar."""

    def __init__(self, model: TrainingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.graphics = pg.GraphicsLayoutWidget()
        self._hint = QLabel("Gradient flow: select runs in the runs list. Dark rows = vanishing gradients.")
        self._hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._hint)
        layout.addWidget(self.graphics, 1)
        self._cmap = pg.colormap.get("viridis")
        self.colorbar = pg.ColorBarItem(values=(-6, 0), colorMap=self._cmap, label="log₁₀ ‖gradient‖",
                                        interactive=False, width=14)
        self._records: list[RunRecord] = []
        self._plots: list[tuple[pg.PlotItem, pg.ImageItem]] = []
        self._drawn: tuple = ()
        self._extent: tuple = ()
        self._levels_shown: tuple = ()
        self.unit = "steps"
        model.selection_changed.connect(self._on_model_selection_changed)
        model.run_renamed.connect(self._on_model_run_renamed)

    def _on_model_selection_changed(self) -> None:
        self.set_runs(self._model.selected_records())

    def _on_model_run_renamed(self, _run_id: int) -> None:
        self.refresh(force=True)

    def set_runs(self, records: list[RunRecord]) -> None:
        records = records[-MAX_SHOWN:]
        if [r.id for r in records] != [r.id for r in self._records]:
            self._rebuild(records)
        self.refresh(force=True)

    def set_unit(self, unit: str) -> None:
        self.unit = unit
        self.refresh(force=True)

    def _rebuild(self, records: list[RunRecord]) -> None:
        self.graphics.clear()
        self._extent, self._levels_shown = (), ()
        self._records, self._plots = list(records), []
        for i, r in enumerate(records):
            plot = self.graphics.addPlot(row=i, col=0)
            plot.invertY(True)
            plot.setMouseEnabled(x=True, y=False)
            if i:
                plot.setXLink(self._plots[0][0])  # one time axis: compare runs at the same step
            image = pg.ImageItem(axisOrder="col-major")
            plot.addItem(image)
            self._plots.append((plot, image))
        for i, (plot, _) in enumerate(self._plots):
            plot.setLabel("bottom", self.unit[:-1] if i == len(self._plots) - 1 else None)
        if records:
            self.colorbar.setImageItem([image for _, image in self._plots])
            self.graphics.addItem(self.colorbar, row=0, col=1, rowspan=len(records))
        self._hint.setVisible(not records)

    def refresh(self, force: bool = False) -> None:
        drawn = tuple((r.id, r.version, r.name) for r in self._records) + (self.unit,)
        if not force and drawn == self._drawn:
            return
        self._drawn = drawn
        images = [log_norms(r.metrics.grad_norms) if len(r.metrics) else None for r in self._records]
        levels = self._levels([im for im in images if im is not None])
        extent = max((r.started.epochs * (1 if self.unit == "epochs" else r.started.n_batches)
                      for r in self._records), default=0)
        for r, (plot, item), logs in zip(self._records, self._plots, images):
            if extent and self._extent != (extent, self.unit):
                plot.setXRange(0, extent, padding=0.01)  # the whole planned run: a steady axis
            self._label(plot, r)
            if logs is None:
                item.clear()
                continue
            n_steps = len(r.metrics)
            span = n_steps / max(r.started.n_batches, 1) if self.unit == "epochs" else n_steps
            item.setImage(logs, autoLevels=False, levels=levels)
            item.setRect(QRectF(0.0, 0.0, span, logs.shape[1]))
            names = r.started.layer_names or tuple(str(i) for i in range(logs.shape[1]))
            ticks = layer_ticks(names, plot.getViewBox().height() or 300)
            if ticks != getattr(plot, "_optviz_ticks", None):
                plot.getAxis("left").setTicks([ticks, []])
                plot._optviz_ticks = ticks
        self._extent = (extent, self.unit)
        if levels != self._levels_shown:
            self._levels_shown = levels
            self.colorbar.setLevels(levels)

    def _label(self, plot: pg.PlotItem, r: RunRecord) -> None:
        """Title and x label, set only when they change (a title change re-lays out the plot)."""
        title = f"<span style='color:{r.color}'>■</span> {r.name}"
        bottom = self.unit[:-1] if plot is self._plots[-1][0] else None
        if getattr(plot, "_optviz_label", None) != (title, bottom):
            plot.setTitle(title, size="9pt")
            plot.setLabel("bottom", bottom)
            plot._optviz_label = (title, bottom)

    @staticmethod
    def _levels(images: list[np.ndarray]) -> tuple[float, float]:
        """A colour range shared by every shown run: the 1st to 99th percentile, so one spike doesn't wash it out."""
        if not images:
            return (-6.0, 0.0)
        values = np.concatenate([im.ravel() for im in images])
        values = values[values > math.log10(_FLOOR)]
        if not len(values):
            return (-6.0, 0.0)
        lo, hi = np.percentile(values, [1, 99])
        lo, hi = math.floor(2 * lo) / 2, math.ceil(2 * hi) / 2  # half decades: steady while a run grows
        return (float(lo), float(hi if hi > lo else lo + 1.0))

    def shown_ids(self) -> list[int]:
        return [r.id for r in self._records]

    def image_data(self, index: int) -> np.ndarray | None:
        """The log-norm image of the ``index``-th heatmap (for tests)."""
        return self._plots[index][1].image
