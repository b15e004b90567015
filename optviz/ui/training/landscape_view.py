"""The loss-landscape window: the loss around one or two finished runs' weights, with each optimizer's path.

One panel per run, side by side (ResNet beside PlainNet is the paper's headline figure): a heatmap in the
playground's look (``core.field.sample``'s colours, log where the loss spans decades, a colour bar that reads true
values, contours, ``TrueAxis`` ticks), the trajectory projected on the plane with its start (green) and end (red)
marked, and below it the loss along the straight line from the initial to the final weights; a "3D" tab shows the
surface with the path on it (``widgets.surface3d``, where OpenGL is available). The computation
runs in a :class:`~optviz.training.jobs.TrainingJob` thread (progress, Cancel); the window only draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QTabWidget, QVBoxLayout, QWidget

from optviz.core.field import format_value, sample, scale_label
from optviz.training import landscape as ls
from optviz.training.jobs import JobEnded, TrainingJob
from optviz.training.results import TrainResult
from optviz.ui.training.job_window import JobWindow
from optviz.ui.training.margins import room_before_colorbar, room_for_end_labels
from optviz.ui.widgets.axes import TrueAxis, linear_tick, true_axes
from optviz.ui.widgets.spec_form import SpecForm

QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum" for a widget's size
UPSAMPLE = 4  # the picture is drawn bilinearly between the computed points, this many times finer
POLL_MS = 150
LOG_RATIO = 30.0  # log colours when the largest loss is this many times the smallest
EXPLAIN = ("White: the optimizer's path projected on the plane, from the initial weights (green) to the final ones "
           "(red star). Below: the loss on the straight line from the initial to the final weights. Colours are "
           "drawn bilinearly between the computed points.")


@dataclass(frozen=True)
class LandscapeRun:
    """What one panel slices: a finished run (its result holds the weights and the trajectory) and its name."""

    name: str
    result: TrainResult  # the run alone (``TrainResult.alone``)


class _Grid:
    """The slice as ``core.field.sample`` reads a surface: so the colours, ticks and contours are the
    playground's own."""

    def __init__(self, landscape: ls.Landscape) -> None:
        loss = landscape.loss
        finite = loss[np.isfinite(loss)]
        self.log_scale = bool(finite.size and finite.min() > 0 and finite.max() / finite.min() > LOG_RATIO)
        self.field_key = ("landscape", id(landscape))
        self._l = landscape

    def grid(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a, b, loss = self._l.alphas, self._l.betas, self._l.loss
        k = len(a) * UPSAMPLE
        xs, ys = np.linspace(a[0], a[-1], k), np.linspace(b[0], b[-1], k)
        fx, fy = np.interp(xs, a, np.arange(len(a))), np.interp(ys, b, np.arange(len(b)))
        x0, y0 = np.minimum(fx.astype(int), len(a) - 2), np.minimum(fy.astype(int), len(b) - 2)
        tx, ty = (fx - x0)[None, :], (fy - y0)[:, None]
        z = ((1 - ty) * ((1 - tx) * loss[y0][:, x0] + tx * loss[y0][:, x0 + 1])
             + ty * ((1 - tx) * loss[y0 + 1][:, x0] + tx * loss[y0 + 1][:, x0 + 1]))
        return torch.from_numpy(xs), torch.from_numpy(ys), torch.from_numpy(z)


class LandscapePanel(QWidget):
    """One run's slice: heatmap, contours, path, colour bar; the 1-D line below; a "3D" tab beside the map unless
    ``with_3d`` is False (a picture: the map alone)."""

    def __init__(self, name: str, parent: QWidget | None = None, *, with_3d: bool = True) -> None:
        super().__init__(parent)
        self.name = name
        self.title = QLabel(f"<b>{name}</b>")
        self.title.setWordWrap(True)
        self.plot = pg.PlotWidget(axisItems=true_axes())
        item = self.plot.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        self.equal_aspect = True  # α and β in the same units: drawn on one scale, so circles stay round
        self._set_axis_labels(None)
        room_for_end_labels(item, right=False)  # no title above the map: its top tick was cut in half
        item.getViewBox().sigResized.connect(self._on_map_resized)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        item.addItem(self.image)
        self.contours = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(255, 255, 255, 70, width=1))
        item.addItem(self.contours)
        self.colorbar = pg.ColorBarItem(colorMap="viridis", interactive=False, width=14, colorMapMenu=False)
        self.colorbar.setImageItem(self.image, insert_in=item)
        self.colorbar.axis.enableAutoSIPrefix(False)
        self.colorbar.axis.setWidth(58)  # room for "2.295"
        room_before_colorbar(item)
        self.path = pg.PlotDataItem(pen=pg.mkPen("#ffffff", width=2), symbol="o", symbolSize=4,
                                    symbolBrush="#ffffff", symbolPen=None)
        self.start = pg.ScatterPlotItem(size=12, brush=pg.mkBrush("#2ecc40"), pen=pg.mkPen("#000000"),
                                        hoverable=True, tip=lambda x, y, data: f"initial weights\n({x:.3g}, {y:.3g})")
        self.end = pg.ScatterPlotItem(size=14, symbol="star", brush=pg.mkBrush("#ff4136"), pen=pg.mkPen("#000000"),
                                      hoverable=True, tip=lambda x, y, data: "final weights (0, 0)")
        for it in (self.path, self.start, self.end):
            item.addItem(it)
        self.line = pg.PlotWidget(axisItems={"left": TrueAxis("left"), "bottom": TrueAxis("bottom")})
        self.line.setMaximumHeight(170)
        line = self.line.getPlotItem()
        line.setMenuEnabled(False)
        line.hideButtons()
        line.setLabel("bottom", "t  (0 = initial weights, 1 = final weights)")
        line.setLabel("left", "loss")
        room_for_end_labels(line)
        self.line_curve = line.plot(pen=pg.mkPen("#1f77b4", width=2))
        self.line_marks = pg.ScatterPlotItem(size=10, pen=pg.mkPen("#000000"))
        line.addItem(self.line_marks)
        self.map_page = QWidget()  # the map centred, as wide as its height makes its view box square
        row = QHBoxLayout(self.map_page)
        row.setContentsMargins(0, 0, 0, 0)
        row.addStretch(1)
        row.addWidget(self.plot, 1000)  # all the width up to its maximum; the rest split on either side
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        self.surface3d = None
        if with_3d:
            self.views = QTabWidget()
            self.views.setDocumentMode(True)
            self.views.addTab(self.map_page, "Map")
            self.view3d_page = QWidget()  # the 3D view is built when first shown (OpenGL starts only then)
            QVBoxLayout(self.view3d_page).setContentsMargins(0, 0, 0, 0)
            self.views.addTab(self.view3d_page, "3D")
            self.views.currentChanged.connect(self._on_views_current_changed)
            layout.addWidget(self.views, 1)
        else:
            layout.addWidget(self.map_page, 1)
        layout.addWidget(self.line)
        self.landscape: ls.Landscape | None = None

    def _set_axis_labels(self, result: ls.Landscape | None) -> None:
        """α and β named; where they are not in the same units, their directions' lengths and that the axes are
        not to one scale."""
        item = self.plot.getPlotItem()
        self.equal_aspect = result is None or same_units(result)
        if self.equal_aspect:
            item.setLabel("bottom", "α (direction 1)")
            item.setLabel("left", "β (direction 2, same units as α)")
        else:
            n1, n2 = (format_value(float(np.linalg.norm(d))) for d in (result.d1, result.d2))
            item.setLabel("bottom", f"α (direction 1, ‖d₁‖ = {n1})")
            item.setLabel("left", f"β (direction 2, ‖d₂‖ = {n2}; not to α's scale)")
        item.getViewBox().setAspectLocked(self.equal_aspect, ratio=1.0)
        self._fit_map_width()

    def _on_map_resized(self) -> None:
        self._fit_map_width()

    def _fit_map_width(self) -> None:
        """With equal aspect, the map no wider than makes its view box square: the slice fills the box instead
        of a band of empty axis on either side."""
        if not self.equal_aspect:
            self.plot.setMaximumWidth(QWIDGETSIZE_MAX)
            return
        view = self.plot.getPlotItem().getViewBox()
        around = self.plot.width() - view.width()  # the axes, the colour bar and the margins
        self.plot.setMaximumWidth(max(int(round(view.height() + around)), 160))

    def show_landscape(self, result: ls.Landscape) -> None:
        self.landscape = result
        self._set_axis_labels(result)
        field = sample(_Grid(result))
        (x0, x1), (y0, y1) = field.xs[[0, -1]], field.ys[[0, -1]]
        self.image.setImage(field.colour, autoLevels=False)
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        log = field.log and len(field.ticks) >= 2  # 10, 100, 1000 (or 5, 10, 20, 50) on a log picture
        self.colorbar.axis.setTicks([list(field.ticks) if log else colorbar_ticks(field.colour, field.z)])
        self.colorbar.getAxis("left").setLabel(scale_label(field.scale, "loss"))  # "equalised": ticks not even
        self.colorbar.setLevels((0.0, 1.0))
        self.contours.setData(*field.contours)
        path = result.path
        self.path.setData(path[:, 0], path[:, 1]) if len(path) else self.path.setData([], [])
        self.start.setData(path[:1, 0], path[:1, 1]) if len(path) else self.start.setData([], [])
        self.end.setData(path[-1:, 0], path[-1:, 1]) if len(path) else self.end.setData([0.0], [0.0])
        self.plot.getPlotItem().getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)
        self.title.setText(f"<b>{self.name}</b><br>{describe(result)}")
        self.title.setToolTip("\n".join(result.notes))
        if len(result.line_t):
            self.line_curve.setData(result.line_t, result.line_loss)
            at = [int(np.argmin(np.abs(result.line_t - t))) for t in (0.0, 1.0)]
            self.line_marks.setData([result.line_t[i] for i in at], [result.line_loss[i] for i in at],
                                    brush=[pg.mkBrush("#2ecc40"), pg.mkBrush("#ff4136")])
        else:
            self.line_curve.setData([], [])
            self.line_marks.setData([], [])
        self.line.setVisible(bool(len(result.line_t)))
        self._fill_3d()

    def _on_views_current_changed(self, index: int) -> None:
        if index == 1:
            self.ensure_3d()

    def ensure_3d(self):
        """The 3D view (:class:`~optviz.ui.widgets.surface3d.Surface3D`; a one-line placeholder without OpenGL)."""
        if self.surface3d is None:
            from optviz.ui.widgets.surface3d import Surface3D

            self.surface3d = Surface3D(names=("α", "β", "loss"))
            self.view3d_page.layout().addWidget(self.surface3d)
            self._fill_3d()
        return self.surface3d

    def _fill_3d(self) -> None:
        if self.surface3d is None or self.landscape is None:
            return
        field = sample(_Grid(self.landscape))
        self.surface3d.set_grid(field.xs, field.ys, field.z, field.colour)
        self.surface3d.set_colorbar(map_ticks(field), scale_label(field.scale, "loss"))
        self.surface3d.set_legend([("the run's path", "#ffffff"), ("initial weights", "#2ecc40", "●"),
                                   ("final weights", "#ff4136", "●")])
        path = self.landscape.path
        if len(path):
            z = bilinear(self.landscape, path)  # the path's height is the surface's there, interpolated
            points = np.c_[path, z]
            self.surface3d.set_paths([(points, "#ffffff")])
            self.surface3d.set_heads(points[[0, -1]], ["#2ecc40", "#ff4136"])
        else:
            self.surface3d.set_paths([])
            self.surface3d.set_heads(np.zeros((0, 3)), [])


def same_units(result: ls.Landscape) -> bool:
    """Whether α and β measure the same length in weight space: the two directions are as long as each other
    (PCA's are unit vectors; random ones are filter-normalised to the same weights, so their lengths agree)."""
    n1, n2 = float(np.linalg.norm(result.d1)), float(np.linalg.norm(result.d2))
    return n1 > 0 and n2 > 0 and abs(n1 - n2) <= 1e-3 * max(n1, n2)


def bilinear(result: ls.Landscape, points: np.ndarray) -> np.ndarray:
    """The slice's loss at ``points`` (K, 2), interpolated between grid points; NaN outside the grid."""
    a, b, loss = result.alphas, result.betas, result.loss
    fx, fy = np.interp(points[:, 0], a, np.arange(len(a))), np.interp(points[:, 1], b, np.arange(len(b)))
    x0, y0 = np.minimum(fx.astype(int), len(a) - 2), np.minimum(fy.astype(int), len(b) - 2)
    tx, ty = fx - x0, fy - y0
    z = ((1 - ty) * ((1 - tx) * loss[y0, x0] + tx * loss[y0, x0 + 1])
         + ty * ((1 - tx) * loss[y0 + 1, x0] + tx * loss[y0 + 1, x0 + 1]))
    outside = (points[:, 0] < a[0]) | (points[:, 0] > a[-1]) | (points[:, 1] < b[0]) | (points[:, 1] > b[-1])
    return np.where(outside, np.nan, z)


def map_ticks(field) -> list[tuple[float, str]]:
    """The colour bar's ticks of a slice's Field: its decades on a log picture, else round values
    (:func:`colorbar_ticks`); what the map's colour bar shows."""
    return list(field.ticks) if field.log and len(field.ticks) >= 2 else colorbar_ticks(field.colour, field.z)


def colorbar_ticks(colour: np.ndarray, z: np.ndarray, count: int = 6) -> list[tuple[float, str]]:
    """About ``count`` colour-bar ticks at round values of the loss (1, 2 or 5 × 10ⁿ apart), placed where the
    picture's colour map puts them, labelled with as many decimals as their spacing needs (a slice's loss can
    span 2.290 to 2.300, where three significant digits would repeat one label)."""
    flat_z, flat_c = z.ravel(), colour.ravel()
    ok = np.isfinite(flat_z)
    order = np.argsort(flat_z[ok])
    zs, cs = flat_z[ok][order], flat_c[ok][order]
    if zs.size < 2 or zs[-1] <= zs[0]:
        return [(float(cs[0]), format_value(float(zs[0])))] if zs.size else []
    raw = (zs[-1] - zs[0]) / count
    unit = 10.0 ** np.floor(np.log10(raw))
    step = next(m * unit for m in (1, 2, 5, 10) if m * unit >= raw)
    values = np.arange(np.ceil(zs[0] / step), np.floor(zs[-1] / step) + 1) * step
    return [(float(np.interp(v, zs, cs)), linear_tick(float(v), step)) for v in values]


def describe(result: ls.Landscape) -> str:
    """``PCA directions: 91.2% + 5.1% of the path's variance · loss 0.21 to 4.7 · probe 1000``."""
    words = ls.DIRECTION_WORDS[result.directions]
    if not np.isnan(result.explained).all():
        e = 100 * result.explained
        words += f": {e[0]:.1f}% + {e[1]:.1f}% of the path's variance"
        if e.sum() < 5:  # random directions are nearly orthogonal to the path: its shadow is short
            words += " (the path runs almost across this plane: drawn, it is short, its start near its end)"
    finite = result.loss[np.isfinite(result.loss)]
    if finite.size:
        words += f" · loss {format_value(float(finite.min()))} to {format_value(float(finite.max()))}"
    return words + f" · probe {result.probe} images"


class LandscapeView(JobWindow, QWidget):
    """Settings, Compute/Cancel, progress, and one :class:`LandscapePanel` per run."""


    def __init__(self, runs: Sequence[LandscapeRun], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Loss landscape — " + " vs ".join(r.name for r in runs))
        self.runs = list(runs)
        self.form = SpecForm((ls.DIRECTIONS, ls.RESOLUTION, ls.PROBE, ls.RANGE, ls.SEED),
                             {"resolution": 21, "probe": 500}, titles={"directions": {"random": "Random",
                                                                                       "pca": "PCA of the path"}},
                             owner="the landscape")
        self.compute_button = QPushButton("Compute")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("ready")
        self.progress.setTextVisible(True)
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        self.panels = [LandscapePanel(r.name) for r in self.runs]
        self.form.setMaximumWidth(360)
        top = QHBoxLayout()
        top.addWidget(self.form)
        buttons = QVBoxLayout()
        buttons.addWidget(self.compute_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        top.addLayout(buttons)
        self.explain = QLabel("The loss on a plane through each run's final weights (Li et al., 2018): random "
                              "directions (filter-normalised, biases and BatchNorm zeroed) or the first two "
                              "principal directions of the run's saved weight trajectory, on a probe of training "
                              "images. " + EXPLAIN)
        self.explain.setWordWrap(True)
        top.addWidget(self.explain, 1)
        row = QHBoxLayout()
        for p in self.panels:
            row.addWidget(p, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addLayout(row, 1)
        layout.addWidget(self.notes)
        self.job: TrainingJob | None = None
        self.error = ""
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button.clicked.connect(self.cancel)
        self._update_buttons()
        if any(r.result.runs[0].trajectory is None for r in self.runs):
            self.form.set_choice_enabled("directions", "pca", False, "a run without a saved weight trajectory")

    # ---- the job -------------------------------------------------------------------------------------------

    def compute(self) -> bool:
        """Start computing every panel's slice with the form's settings; False while one is computing."""
        if self.busy():
            return False
        values = self.form.values()
        runs = self.runs

        def runner(on_event, control) -> list[ls.Landscape]:
            out = []
            for i, run in enumerate(runs):
                r = run.result
                out.append(ls.run_landscape(
                    r.config, r.data, r.runs[0].model_state, r.runs[0].trajectory, probe=values["probe"],
                    directions=values["directions"], resolution=values["resolution"], range_=values["range"],
                    seed=values["seed"], device="auto", cancel=lambda: control.stopped,
                    progress=lambda done, total, i=i: on_event(("progress", i, done, total))))
                on_event(("done", i, out[-1]))
            return out

        config = runs[0].result.config
        self.error = ""
        self._start_job(config, runner, "computing…")
        return True

    def _drain(self) -> None:
        if self.job is None:
            return
        for event in self.job.drain():
            if isinstance(event, JobEnded):
                self._end(event)
            elif event[0] == "progress":
                _, i, done, total = event
                self.progress.setValue(int(1000 * (i + done / max(total, 1)) / len(self.runs)))
                self.progress.setFormat(f"{self.runs[i].name}: {done} of {total} points")
            elif event[0] == "done":
                self.panels[event[1]].show_landscape(event[2])
                self.notes.setText("Notes: " + "; ".join(event[2].notes) if event[2].notes else "")

    def _end(self, ended: JobEnded) -> None:
        self.job.ended = True
        self._timer.stop()
        cancelled = self.job.control.stopped
        self.error = "" if cancelled else ended.error
        if cancelled:
            self.progress.setFormat("cancelled")
        elif ended.error:
            self.progress.setFormat(f"failed: {ended.error}")
        else:
            self.progress.setValue(1000)
            seconds = sum(r.seconds for r in ended.result)
            self.progress.setFormat(f"done in {seconds:.1f} s on {ended.result[0].device}")
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.compute_button.setEnabled(not self.busy())
        self.cancel_button.setEnabled(self.busy())
