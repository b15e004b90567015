"""The training tab: the side panel, Start/Pause/Stop, live curves, the runs list, gradient flow and pictures.

:class:`~optviz.ui.training.model.TrainingModel` holds the runs and the job; the views subscribe to it. The tab
lays them out, turns the panel and buttons into model calls, and paces the live redraws.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QMessageBox, QProgressBar, QPushButton, QScrollArea,
                               QSplitter, QVBoxLayout, QWidget)

from optviz.training.config import ConfigError, TrainConfig, problems
from optviz.training.jobs import Runner, TrainingJob
from optviz.ui.training.crossval import CrossValView
from optviz.ui.training.gradflow import GradientFlowView
from optviz.ui.training.model import REFRESH_HZ, TrainingModel
from optviz.ui.training.panel import TrainingPanel
from optviz.ui.training.pictures import PicturesView
from optviz.ui.training.plots import CurvesView
from optviz.ui.training.runs import RunsView

__all__ = ["REFRESH_HZ", "TrainingTab"]

PROBLEM_BELOW = "the reason is in red under the settings"


class TrainingTab(QWidget):
    """Configure, run and compare trainings."""

    runs_finished = Signal()  # every run started by start() has ended (finished, stopped, diverged or failed)
    settings_changed = Signal()  # the user changed a setting in the panel

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TrainingModel(self)
        self.runner_factory: Callable[[TrainConfig], Runner] | None = None  # tests/benchmarks: instead of the trainer
        self.live_plots = True  # the benchmark switches redraws off to measure their cost
        self.last_message: QMessageBox | None = None  # the latest export error shown
        self.windows: list[QWidget] = []  # landscape and LR-sweep windows (each has shutdown())
        self.panel = TrainingPanel()
        self.curves = CurvesView(self.model)
        self.runs = RunsView(self.model)
        self.gradflow = GradientFlowView(self.model)
        self.pictures = PicturesView(self.model)
        self.crossval = CrossValView(self.model)
        self.pictures.addTab(self.crossval, "Cross-validation")
        self._build()
        self._connect()
        self._on_panel_changed()

    # ---- layout -----------------------------------------------------------------------------------------------

    def _build(self) -> None:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.panel)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.panel.sizeHint().width() + 24)
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.sweep_button = QPushButton("LR sweep…")
        self.sweep_button.setToolTip("Train copies of this model at many learning rates at once, from the same "
                                     "weights and batches, and pick one")
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button, self.sweep_button):
            buttons.addWidget(b)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("ready")
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(scroll, 1)
        column.addLayout(buttons)
        column.addWidget(self.progress)
        column.addWidget(self.panel.problems)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.curves)
        top.addWidget(self.runs)
        top.setSizes([760, 330])
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.gradflow)
        bottom.addWidget(self.pictures)
        bottom.setSizes([520, 570])
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(top)
        right.addWidget(bottom)
        right.setSizes([470, 400])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(right)
        main.setStretchFactor(1, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(main)

    def _connect(self) -> None:
        self.panel.changed.connect(self._on_panel_changed)
        self.panel.changed.connect(self.settings_changed)
        self.start_button.clicked.connect(self._on_start_clicked)
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.stop_button.clicked.connect(self._on_stop_clicked)
        self.curves.unit_changed.connect(self._on_curves_unit_changed)
        self.runs.same_but_requested.connect(self._on_runs_same_but_requested)
        self.runs.export_csv_requested.connect(self._on_runs_export_csv_requested)
        self.runs.export_checkpoint_requested.connect(self._on_runs_export_checkpoint_requested)
        self.runs.landscape_requested.connect(self._on_runs_landscape_requested)
        self.sweep_button.clicked.connect(self._on_sweep_clicked)
        self.model.runs_updated.connect(self._on_model_runs_updated)
        self.model.progressed.connect(self._on_model_progressed)
        self.model.crossval_finished.connect(self._on_model_crossval_finished)
        self.model.job_started.connect(self._update_buttons)
        self.model.job_paused.connect(self._update_buttons)
        self.model.job_ended.connect(self._on_model_job_ended)

    # ---- the interface the main window uses ------------------------------------------------------------------

    def set_config(self, config: TrainConfig | Mapping[str, Any]) -> None:
        """Load a session's training settings (a TrainConfig, or its dict form) into the panel; raises ValueError
        (one line) if the dict is invalid."""
        self.panel.set_config(config if isinstance(config, TrainConfig) else TrainConfig.from_dict(dict(config)))
        self._on_panel_changed()

    def config(self) -> TrainConfig:
        """The panel's configuration (a session's training settings)."""
        return self.panel.config()

    def config_dict(self) -> dict:
        """The panel's configuration as a session's "training" object."""
        return self.panel.config().to_dict()

    def start(self) -> bool:
        """Start training with the panel's configuration (off the GUI thread); False, with the reason shown in
        the panel, when the configuration cannot run or a training is already running."""
        if self.is_running():
            return False
        config = self.panel.config()
        found = problems(config)
        try:
            if found:
                raise ConfigError(found[0])
            self.model.start(config, self.runner_factory(config) if self.runner_factory else None)
        except ValueError as exc:
            self.panel.show_problems(found or [str(exc)])
            self.progress.setValue(0)  # not an older job's words
            self.progress.setFormat(f"not started: {PROBLEM_BELOW}")
            self.runs_finished.emit()  # nothing started, so nothing is left to wait for
            return False
        self.panel.show_problems([])
        return True

    def is_running(self) -> bool:
        return self.model.is_running()

    @property
    def job(self) -> TrainingJob | None:
        """The latest job (running or not), or None."""
        return self.model.job

    def pause(self) -> None:
        self.model.pause()

    def resume(self) -> None:
        self.model.resume()

    def stop(self) -> None:
        self.model.stop()

    def shutdown(self) -> None:
        """Stop every run and wait for its thread to end (called when the window closes)."""
        self.model.shutdown()
        self.pictures.shutdown()
        for window in self.windows:
            window.shutdown()
            window.close()

    # ---- model → views ----------------------------------------------------------------------------------------

    def _on_model_runs_updated(self, _ids: list[int]) -> None:
        self._refresh_views()

    def _refresh_views(self) -> None:
        """Redraw the live views (each redraws only what changed); skipped while the tab is hidden."""
        if self.live_plots and self.isVisible():
            self.curves.refresh()
            self.gradflow.refresh()
            self.pictures.refresh()

    def _on_model_progressed(self) -> None:
        fraction, text = self.model.progress()
        self.progress.setValue(int(1000 * fraction))
        job = self.model.job  # a failure's reason is written in full, in red, under the settings: a long one
        failed = job is not None and job.ended and bool(job.error)  # wrapped and was cut in the bar
        self.progress.setFormat(f"failed: {PROBLEM_BELOW}" if failed else text)

    def _on_model_crossval_finished(self, _result) -> None:
        self.pictures.setCurrentWidget(self.crossval)

    def _on_model_job_ended(self, error: str) -> None:
        if error:
            self.panel.show_problems([error])
        else:
            self.progress.setValue(1000)
        self._refresh_views()
        self.curves.refresh(force=True)
        self._update_buttons()
        self.runs_finished.emit()

    def showEvent(self, event) -> None:  # noqa: N802 — redraw what changed while another tab was shown
        super().showEvent(event)
        self._refresh_views()

    # ---- controls ---------------------------------------------------------------------------------------------

    def _update_buttons(self) -> None:
        running = self.is_running()
        found = problems(self.panel.config())
        self.start_button.setEnabled(not running and not found)
        self.start_button.setToolTip("A training is running" if running else (found[0] if found else
                                     "Train with these settings (a race when several optimizers are listed)"))
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if self.model.paused else "Pause")
        self.stop_button.setEnabled(running)

    def _on_panel_changed(self) -> None:
        self.panel.show_problems(problems(self.panel.config()))
        self._update_buttons()

    def _on_start_clicked(self) -> None:
        self.start()

    def _on_pause_clicked(self) -> None:
        if self.model.paused:
            self.model.resume()
        else:
            self.model.pause()

    def _on_stop_clicked(self) -> None:
        self.model.stop()

    def _on_curves_unit_changed(self, unit: str) -> None:
        self.gradflow.set_unit(unit)

    # ---- runs list --------------------------------------------------------------------------------------------

    def _on_runs_same_but_requested(self, run_id: int) -> None:
        self.panel.set_config(self.model.runs.get(run_id).config)
        self._on_panel_changed()

    def _on_runs_export_csv_requested(self, run_id: int) -> None:
        name = self.model.runs.get(run_id).name
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", f"{name}.csv", "CSV files (*.csv)")
        if path:
            self._report(self.model.export_csv(run_id, path))

    def _on_runs_export_checkpoint_requested(self, run_id: int) -> None:
        name = self.model.runs.get(run_id).name
        path, _ = QFileDialog.getSaveFileName(self, "Export checkpoint", f"{name}.pt", "Checkpoints (*.pt)")
        if path:
            self._report(self.model.export_checkpoint(run_id, path))

    def _report(self, error: str) -> None:
        """An export that failed: a message box naming the file and the reason (the previous file is intact)."""
        if error:
            box = QMessageBox(QMessageBox.Icon.Warning, "Export failed", error, QMessageBox.StandardButton.Ok, self)
            box.open()  # window-modal, without blocking the event loop
            self.last_message = box

    # ---- landscape and learning-rate sweep windows ----------------------------------------------------------

    def _on_runs_landscape_requested(self, run_ids: list[int]) -> None:
        self.open_landscape(run_ids)

    def open_landscape(self, run_ids: list[int]) -> QWidget:
        """A window slicing the loss around the runs' final weights (two side by side)."""
        from optviz.ui.training.landscape_view import LandscapeRun, LandscapeView

        records = [self.model.runs.get(i) for i in run_ids]
        window = LandscapeView([LandscapeRun(r.name, r.result) for r in records])
        return self._show_window(window, 1300, 760)

    def _on_sweep_clicked(self) -> None:
        self.open_sweep()

    def open_sweep(self) -> QWidget:
        """A learning-rate sweep window for the panel's model and (first) optimizer."""
        from optviz.ui.training.lr_sweep_view import LrSweepView

        config = self.panel.config()  # a race sweeps its first optimizer; a sweep does not cross-validate
        window = LrSweepView(dataclasses.replace(config, optimizers=config.optimizers[:1], kfold=0))
        window.run_requested.connect(self._on_sweep_run_requested)
        return self._show_window(window, 1200, 650)

    def _show_window(self, window: QWidget, width: int, height: int) -> QWidget:
        window.setParent(self, Qt.WindowType.Window)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        window.resize(width, height)
        for old in [w for w in self.windows if not w.isVisible()]:  # closed (and shut down) by the user
            old.deleteLater()
        self.windows = [w for w in self.windows if w.isVisible()] + [window]
        window.show()
        return window

    def _on_sweep_run_requested(self, lr: float) -> None:
        """Train one normal run with the panel's settings at ``lr`` (the sweep's point the user clicked)."""
        config = self.panel.config()
        choice = config.optimizers[0]
        choice = dataclasses.replace(choice, values={**choice.values, "lr": lr})
        self.panel.set_config(dataclasses.replace(config, optimizers=(choice,)))
        self._on_panel_changed()
        self.start()
