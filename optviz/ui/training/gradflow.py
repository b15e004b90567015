"""Gradient flow: per-layer gradient norms over the steps, as one heatmap per selected run on a shared log scale.

Rows are the model's conv and linear layers, input at the top; columns are steps, each run on its own x range (its
planned steps), step k's column centred on k (where the loss plot draws step k's loss), the axis from 0. With a
shared colour scale, PlainNet-20's input layers fade to the dark end while ResNet-20's stay as bright as its output
layers. Each heatmap keeps at least ``MIN_HEATMAP_PX`` of height (the stack scrolls);
the layers whose names don't fit are named by the tooltip, with the norm under the cursor.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from optviz.core.field import format_value
from optviz.training.records import RunRecord
from optviz.ui.widgets.axes import TrueAxis, decade_ticks
from optviz.ui.training.margins import room_for_end_labels
from optviz.ui.training.model import TrainingModel

MAX_COLUMNS = 600  # steps are averaged (in log space) into at most this many columns
MAX_SHOWN = 4  # heatmaps stacked; more selected runs show the last four selected
_FLOOR = 1e-12  # a zero gradient norm, in log scale
MIN_HEATMAP_PX = 120  # each heatmap's height at least: below it, a deep network's rows blur into each other
LABEL_PX = 13  # layer names at least this far apart


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
    """Tick labels for the layer axis: every k-th layer so that labels are at least ``LABEL_PX`` apart; always the
    last."""
    n = len(names)
    if n == 0:
        return []
    k = max(1, math.ceil(n * LABEL_PX / max(height_px, 1.0)))
    chosen = list(range(0, n, k))
    if chosen[-1] != n - 1:  # always label the output layer, dropping a neighbour it would overlap
        chosen = chosen[:-1] if n - 1 - chosen[-1] < k else chosen
        chosen.append(n - 1)
    return [(i + 0.5, names[i]) for i in chosen]


class GradientFlowView(QWidget):
    """Heatmaps of gradient norm (layers × steps, log colour scale) for the model's selected runs, one colour bar."""

    def __init__(self, model: TrainingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._hint = QLabel("Gradient flow: select runs in the runs list. Rows are layers, input at the top; "
                            "dark rows = vanishing gradients. Hover a heatmap for the layer and its norm.")
        self._hint.setWordWrap(True)
        self.graphics = pg.GraphicsLayoutWidget()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setWidget(self.graphics)
        self._cmap = pg.colormap.get("viridis")
        self.colorbar = pg.ColorBarItem(values=(-6, 0), colorMap=self._cmap, label="‖gradient‖ (log scale)",
                                        interactive=False, width=14)
        self.colorbar.axis.enableAutoSIPrefix(False)
        self.colorbar.axis.setTicks(decade_ticks(-6, 0))
        self.colorbar_view = pg.GraphicsLayoutWidget()  # beside the scrolled stack: always in sight
        self.colorbar_view.addItem(self.colorbar)
        self.colorbar_view.setFixedWidth(92)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.scroll, 1)
        row.addWidget(self.colorbar_view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._hint)
        layout.addLayout(row, 1)
        self._records: list[RunRecord] = []
        self._plots: list[tuple[pg.PlotItem, pg.ImageItem]] = []
        self._drawn: tuple = ()
        self._extent: tuple = ()
        self._levels_shown: tuple = ()
        self.unit = "steps"
        self.graphics.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        model.selection_changed.connect(self._on_model_selection_changed)
        model.run_renamed.connect(self._on_model_run_renamed)
        self._rebuild([])

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
            plot = self.graphics.addPlot(row=i, col=0, axisItems={"left": TrueAxis("left"),
                                                                  "bottom": TrueAxis("bottom")})
            room_for_end_labels(plot, top=False)  # the first tick, 0, was hidden: the axis read from 50
            plot.invertY(True)
            plot.setMouseEnabled(x=True, y=False)
            plot.getViewBox().setMinimumHeight(MIN_HEATMAP_PX)
            plot.getViewBox().sigResized.connect(self._on_view_resized)
            image = pg.ImageItem(axisOrder="col-major")
            plot.addItem(image)
            self._plots.append((plot, image))
        self.colorbar.setImageItem([image for _, image in self._plots])
        self._fit_height()
        self._hint.setVisible(not records)
        self.colorbar_view.setVisible(bool(records))

    def _on_view_resized(self) -> None:
        self._set_layer_ticks()

    def refresh(self, force: bool = False) -> None:
        drawn = tuple((r.id, r.version, r.name) for r in self._records) + (self.unit,)
        if not force and drawn == self._drawn:
            return
        self._drawn = drawn
        images = [log_norms(r.metrics.grad_norms) if len(r.metrics) else None for r in self._records]
        levels = self._levels([im for im in images if im is not None])
        extents = tuple(r.extent(self.unit) for r in self._records)
        relabelled = False
        for r, (plot, item), logs, extent in zip(self._records, self._plots, images, extents):
            step = self._step_width(r)
            if extent and self._extent != (extents, self.unit):  # the run's whole planned length: a steady axis
                plot.setXRange(0, extent + step / 2, padding=0.01)
            relabelled |= self._label(plot, r)
            if logs is None:
                item.clear()
                continue
            item.setImage(logs, autoLevels=False, levels=levels)
            item.setRect(QRectF(step / 2, 0.0, len(r.metrics) * step, logs.shape[1]))
            plot.setYRange(0, logs.shape[1], padding=0)
        self._extent = (extents, self.unit)
        if relabelled:
            self._fit_height()
        self._set_layer_ticks()
        if levels != self._levels_shown:
            self._levels_shown = levels
            self.colorbar.setLevels(levels)
            self.colorbar.axis.setTicks(decade_ticks(*levels))

    def _set_layer_ticks(self) -> None:
        """Name as many layers as fit each heatmap's height, every heatmap's axis as wide as the widest name."""
        font = self._plots[0][0].getAxis("left").style["tickFont"] if self._plots else None
        metrics = QFontMetrics(font or QApplication.font())
        width = 0
        for r, (plot, _) in zip(self._records, self._plots):
            ticks = layer_ticks(self.layer_names(r), plot.getViewBox().height() or MIN_HEATMAP_PX)
            width = max([width] + [metrics.horizontalAdvance(text) for _, text in ticks])
            if ticks != getattr(plot, "_optviz_ticks", None):
                plot.getAxis("left").setTicks([ticks, []])
                plot._optviz_ticks = ticks
        for plot, _ in self._plots:
            if plot.getAxis("left").width() != width + 14:
                plot.getAxis("left").setWidth(width + 14)

    def _step_width(self, r: RunRecord) -> float:
        """One step on the x axis: 1, or a fraction of an epoch."""
        return 1.0 / max(r.started.n_batches, 1) if self.unit == "epochs" else 1.0

    @staticmethod
    def layer_names(r: RunRecord) -> tuple[str, ...]:
        n = r.metrics.grad_norms.shape[1] if len(r.metrics) else len(r.started.layer_names)
        return r.started.layer_names or tuple(str(i) for i in range(n))

    def _label(self, plot: pg.PlotItem, r: RunRecord) -> bool:
        """Title and x label, set only when they change (a title change re-lays out the plot); True if changed."""
        title = f"<span style='color:{r.color}'>■</span> {html.escape(r.name)}"
        bottom = self.unit[:-1] if plot is self._plots[-1][0] else None
        if getattr(plot, "_optviz_label", None) == (title, bottom):
            return False
        plot.setTitle(title, size="9pt")
        plot.setLabel("bottom", bottom)
        plot._optviz_label = (title, bottom)
        return True

    def _fit_height(self) -> None:
        """The stack is at least as tall as its heatmaps' minimum heights need (the scroll area scrolls it)."""
        for plot, _ in self._plots:  # their titles and labels changed: forget the cached size hints
            plot.layout.invalidate()
            plot.updateGeometry()
        self.graphics.ci.layout.invalidate()
        minimum = self.graphics.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).height()
        self.graphics.setMinimumHeight(int(math.ceil(minimum)) + 2 * self.graphics.frameWidth() + 4)

    # ---- hover ----------------------------------------------------------------------------------------------------

    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        for r, (plot, image) in zip(self._records, self._plots):
            if plot.getViewBox().sceneBoundingRect().contains(pos):
                p = plot.getViewBox().mapSceneToView(pos)
                image.setToolTip(self.describe(r, p.x(), p.y()))

    def describe(self, r: RunRecord, x: float, y: float) -> str:
        """What is at (x, y) of run ``r``'s heatmap: the layer, and the gradient norm at that step."""
        names = self.layer_names(r)
        row = int(math.floor(y))
        if not 0 <= row < len(names):
            return ""
        text = f"{r.name}\nlayer {row + 1}/{len(names)}: {names[row]}"
        steps = r.metrics.steps
        if len(steps):
            x = x / self._step_width(r)
            step = math.floor(x + 0.5)  # step k's column spans [k − ½, k + ½)
            i = int(np.clip(np.searchsorted(steps, step), 0, len(steps) - 1))
            if 0.5 <= x < steps[-1] + 0.5:
                text += f"\nstep {int(steps[i])}: ‖gradient‖ = {format_value(float(r.metrics.grad_norms[i, row]))}"
        return text

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

    def heatmap(self, index: int) -> tuple[pg.PlotItem, pg.ImageItem]:
        """The ``index``-th heatmap's plot and image (for tests and screenshots)."""
        return self._plots[index]
