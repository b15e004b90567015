"""The learning-rate sweep window: copies of the panel's model trained at many learning rates in one job.

Left plot: every copy's batch loss against the step, coloured by its learning rate (viridis, low lr dark), each
curve ending where its copy diverged. Right plot: the loss (mean of the last :data:`SMOOTH` steps) against the
learning rate at the current step, diverged copies as red crosses at the top; clicking a point emits
``run_requested(lr)`` (the training tab then starts a normal run with that lr). The sweep runs in a
:class:`~optviz.training.jobs.TrainingJob` thread; a timer drains its events.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from optviz.core.params import ParamError
from optviz.training.config import TrainConfig
from optviz.training.jobs import JobEnded, TrainingJob
from optviz.training.lr_sweep import (COPIES, FINAL_WINDOW, LrSweep, SweepStarted, SweepStep, check_lrs, lr_grid,
                                      sweep_lr)
from optviz.ui.training.job_window import JobWindow
from optviz.ui.training.margins import room_for_end_labels
from optviz.ui.widgets.axes import true_axes
from optviz.ui.widgets.spec_form import SpecForm

POLL_MS = 160
SMOOTH = FINAL_WINDOW  # steps averaged for the loss-vs-lr curve: at the end it is the sweep's final loss
_CMAP = pg.colormap.get("viridis")


def lr_colour(k: int, n: int) -> str:
    """Copy k of n: dark (low lr) to yellow (high lr)."""
    return _CMAP.map(0.9 * k / max(1, n - 1), mode="qcolor").name()


class LrSweepView(JobWindow, QWidget):
    """Sweep settings, Start/Stop, the two plots; ``run_requested(lr)`` when the user clicks a learning rate."""

    run_requested = Signal(float)

    def __init__(self, config: TrainConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config
        choice = config.optimizers[0]
        lr = choice.spec.hyper("lr")
        low = dataclasses.replace(lr, name="lr_low", title="Lowest lr", label="lowest learning rate", low=0.0,
                                  low_open=True, default=1e-4)
        high = dataclasses.replace(lr, name="lr_high", title="Highest lr", label="highest learning rate", low=0.0,
                                   low_open=True, default=min(1.0, lr.high or 1.0))
        self.setWindowTitle(f"Learning-rate sweep — {config.model} · {choice.label} · {config.dataset}")
        self.form = SpecForm((low, high, COPIES), {"copies": 12}, owner="the sweep")
        self.form.setMaximumWidth(320)
        self.start_button = QPushButton("Start sweep")
        self.stop_button = QPushButton("Stop")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("ready")
        self.about = QLabel(f"{config.model} with {choice.label} on {config.dataset}: every copy starts from the same "
                            "weights and sees the same batches; only its learning rate differs. Click a learning "
                            "rate on the right to train a normal run with it.")
        self.about.setWordWrap(True)
        self.curves = pg.PlotWidget(axisItems=true_axes())
        self.curves.getPlotItem().setLabel("bottom", "step")
        self.curves.getPlotItem().setLabel("left", "batch loss")
        self.curves.getPlotItem().setLogMode(False, True)
        self.curves.getPlotItem().setTitle("every copy's loss · colour: learning rate, dark = low, yellow = high",
                                           size="9pt")
        self.by_lr = pg.PlotWidget(axisItems=true_axes())
        self.by_lr.getPlotItem().setLabel("bottom", "learning rate")
        self._set_loss_label(0)
        self.by_lr.getPlotItem().setLogMode(True, True)
        self.by_lr.getPlotItem().setTitle("loss by learning rate now · red ×: diverged · click one to train it",
                                          size="9pt")
        self.by_lr_curve = self.by_lr.plot(pen=pg.mkPen("#aaaaaa", width=1))
        self.points = pg.ScatterPlotItem(size=11, hoverable=True, tip=self._tip)
        self.points.sigClicked.connect(self._on_points_clicked)
        self.crosses = pg.ScatterPlotItem(size=12, symbol="x", pen=pg.mkPen("#ff4136", width=2),
                                          brush=pg.mkBrush("#ff4136"), hoverable=True, tip=self._tip)
        self.crosses.sigClicked.connect(self._on_points_clicked)
        for item in (self.points, self.crosses):
            self.by_lr.addItem(item)
        for plot in (self.curves, self.by_lr):
            room_for_end_labels(plot.getPlotItem(), top=False)
        top = QHBoxLayout()
        top.addWidget(self.form)
        buttons = QVBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        top.addLayout(buttons)
        top.addWidget(self.about, 1)
        plots = QHBoxLayout()
        plots.addWidget(self.curves, 1)
        plots.addWidget(self.by_lr, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addLayout(plots, 1)
        self.job: TrainingJob | None = None
        self.result: LrSweep | None = None
        self.error = ""
        self.lrs = np.zeros(0)
        self.losses: list[np.ndarray] = []
        self.diverged: dict[int, int] = {}  # copy → step
        self._lines: list[pg.PlotDataItem] = []
        self._planned = 1
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.cancel)
        self._update_buttons()

    # ---- the job -----------------------------------------------------------------------------------------------

    def start(self) -> bool:
        """Start the sweep with the form's range; False (with the reason in the progress bar) if it cannot."""
        if self.busy():
            return False
        v = self.form.values()
        try:
            lrs = lr_grid(v["lr_low"], v["lr_high"], v["copies"])
            config = check_lrs(self.config, lrs)
        except ParamError as exc:
            self.error = str(exc)
            self.progress.setFormat(self.error)
            return False
        self.lrs, self.losses, self.diverged, self.result, self.error = lrs, [], {}, None, ""
        for line in self._lines:
            self.curves.removeItem(line)
        n = len(lrs)
        self._lines = [self.curves.plot(pen=pg.mkPen(lr_colour(k, n), width=1.5), name=f"lr {lrs[k]:.3g}")
                       for k in range(n)]

        def runner(on_event, control) -> LrSweep:
            return sweep_lr(config, lrs, on_event, control)

        self._start_job(config, runner, "loading data and building the copies…")
        return True

    def _drain(self) -> None:
        if self.job is None:
            return
        changed = False
        for event in self.job.drain():
            if isinstance(event, SweepStarted):
                self._planned = max(1, event.planned_steps)
            elif isinstance(event, SweepStep):
                self.losses.append(event.losses)
                for k in event.diverged:
                    self.diverged[k] = event.step
                changed = True
            elif isinstance(event, JobEnded):
                self._end(event)
        if changed:
            self._redraw()

    def _end(self, ended: JobEnded) -> None:
        self.job.ended = True
        self._timer.stop()
        self.error = ended.error
        if ended.error:
            self.progress.setFormat(f"failed: {ended.error}")
        else:
            self.result = ended.result
            best = self.result.best()
            best_text = f"; lowest loss at lr {self.result.lrs[best]:.3g}" if best is not None else ""
            self.progress.setValue(1000)
            self.progress.setFormat(f"{'stopped' if self.result.stopped else 'done'}: {self.result.steps} steps, "
                                    f"{len(self.diverged)} of {len(self.lrs)} diverged{best_text} "
                                    f"({self.result.seconds:.0f} s, {self.result.engine} on {self.result.device})")
        self._redraw()
        self._update_buttons()

    # ---- drawing ---------------------------------------------------------------------------------------------

    def current_losses(self) -> np.ndarray:
        """Each copy's loss at the current step (mean of its last SMOOTH finite steps); NaN once diverged."""
        if not self.losses:
            return np.full(len(self.lrs), np.nan)
        window = np.array(self.losses[-SMOOTH:])
        finite = np.isfinite(window)
        count = finite.sum(0)
        out = np.where(count > 0, np.where(finite, window, 0.0).sum(0) / np.maximum(count, 1), np.nan)
        out[list(self.diverged)] = np.nan
        return out

    def _redraw(self) -> None:
        history = np.array(self.losses) if self.losses else np.zeros((0, len(self.lrs)))
        steps = np.arange(1, len(history) + 1)
        for k, line in enumerate(self._lines):
            y = history[:, k] if len(history) else np.zeros(0)
            keep = np.isfinite(y) & (y > 0)
            line.setData(steps[keep], y[keep])
        if not self.busy() and self.result is None:
            return
        now = self.current_losses()
        self._set_loss_label(len(history))
        finite = np.isfinite(now) & (now > 0)
        n = len(self.lrs)
        self.by_lr_curve.setData(self.lrs[finite], now[finite])
        # scatter items are not log-transformed by the plot: their positions are given as log10 values
        self.points.setData([{"pos": (np.log10(self.lrs[k]), np.log10(now[k])), "brush": pg.mkBrush(lr_colour(k, n)),
                              "data": k} for k in np.flatnonzero(finite)])
        top = np.log10(float(np.nanmax(now[finite])) * 1.5) if finite.any() else 1.0
        self.crosses.setData([{"pos": (np.log10(self.lrs[k]), top), "data": k} for k in sorted(self.diverged)])
        step = len(history)
        if self.busy():
            self.progress.setValue(int(1000 * min(1.0, step / self._planned)))
            self.progress.setFormat(f"step {step} of {self._planned} · {len(self.diverged)} of {n} diverged")

    def _set_loss_label(self, steps: int) -> None:
        """The right plot's y label: the mean of how many steps it is (a 14-step sweep said "the last 50")."""
        n = min(SMOOTH, steps)
        words = {0: f"mean of the last {SMOOTH} steps", 1: "the last step"}.get(n, f"mean of the last {n} steps")
        self.by_lr.getPlotItem().setLabel("left", f"loss ({words})")

    def _tip(self, x: float, y: float, data: int) -> str:
        lr = self.lrs[data]
        if data in self.diverged:
            return f"lr {lr:.3g}: diverged at step {self.diverged[data]}\nclick to train a run with this lr"
        return f"lr {lr:.3g}: loss {10.0 ** y:.4g}\nclick to train a run with this lr"

    def _on_points_clicked(self, _item, points, *_args) -> None:
        if len(points):
            self.request_run(int(points[0].data()))

    def request_run(self, copy_index: int) -> None:
        """Ask for a normal run at copy ``copy_index``'s learning rate (what a click does)."""
        self.run_requested.emit(float(self.lrs[copy_index]))

    def _update_buttons(self) -> None:
        self.start_button.setEnabled(not self.busy())
        self.stop_button.setEnabled(self.busy())
