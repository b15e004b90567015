"""The training tab: the side panel, Start/Pause/Stop, live curves, the runs list, gradient flow and pictures.

Threading: each start() runs the trainer in a worker thread (:mod:`.worker`) that only queues frozen events. A
QTimer on the GUI thread drains the queue ``REFRESH_HZ`` times a second, applies the events to the run store and
redraws what changed; nothing else crosses threads, and plot cost never lands on the training loop.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QProgressBar, QPushButton, QScrollArea, QSplitter,
                               QVBoxLayout, QWidget)

from optviz.training.config import ConfigError, TrainConfig, problems
from optviz.ui.training.crossval import CrossValView
from optviz.ui.training.export import write_checkpoint, write_csv
from optviz.ui.training.gradflow import GradientFlowView
from optviz.ui.training.panel import TrainingPanel
from optviz.ui.training.pictures import PicturesView
from optviz.ui.training.plots import CurvesView
from optviz.ui.training.runs import RunsView
from optviz.ui.training.store import RunStore
from optviz.ui.training.tracking import JobTracker
from optviz.ui.training.worker import Runner, TrainingJob

REFRESH_HZ = 6  # redraws a second while a run is live (the issue asks for at least 5)


class TrainingTab(QWidget):
    """Configure, run and compare trainings."""

    runs_finished = Signal()  # every run started by start() has ended (finished, stopped, diverged or failed)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = RunStore()
        self.tracker: JobTracker | None = None
        self._jobs = 0
        self.runner_factory = None  # tests/benchmarks: config → Runner, instead of the real trainer
        self.live_plots = True  # the benchmark switches redraws off to measure their cost
        self.panel = TrainingPanel()
        self.curves = CurvesView()
        self.runs = RunsView(self.store)
        self.gradflow = GradientFlowView()
        self.pictures = PicturesView()
        self.crossval = CrossValView()
        self.pictures.addTab(self.crossval, "Cross-validation")
        self._timer = QTimer(self, interval=1000 // REFRESH_HZ)
        self._timer.timeout.connect(self._on_timer_timeout)
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
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button):
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
        self.start_button.clicked.connect(self._on_start_clicked)
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.stop_button.clicked.connect(self._on_stop_clicked)
        self.curves.unit_changed.connect(self._on_curves_unit_changed)
        self.runs.selection_changed.connect(self._on_runs_selection_changed)
        self.runs.renamed.connect(self._on_runs_renamed)
        self.runs.delete_requested.connect(self._on_runs_delete_requested)
        self.runs.same_but_requested.connect(self._on_runs_same_but_requested)
        self.runs.export_csv_requested.connect(self._on_runs_export_csv_requested)
        self.runs.export_checkpoint_requested.connect(self._on_runs_export_checkpoint_requested)

    # ---- the interface the main window uses ------------------------------------------------------------------

    def set_config(self, data: dict) -> None:
        """Load a session's "training" object into the panel; raises ValueError (one line) if it is invalid."""
        self.panel.set_config(TrainConfig.from_dict(data))
        self._on_panel_changed()

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
            self._jobs += 1
            runner: Runner | None = self.runner_factory(config) if self.runner_factory else None
            job = TrainingJob(self._jobs, config, runner)
        except ValueError as exc:
            self.panel.show_problems(found or [str(exc)])
            self.runs_finished.emit()  # nothing started, so nothing is left to wait for
            return False
        self.panel.show_problems([])
        self.tracker = JobTracker(job, self.store)
        job.start()
        self._timer.start()
        self._update_buttons()
        return True

    def is_running(self) -> bool:
        return self.tracker is not None and not self.tracker.job.ended

    @property
    def job(self) -> TrainingJob | None:
        """The latest job (running or not)."""
        return self.tracker.job if self.tracker else None

    def pause(self) -> None:
        if self.is_running():
            self.tracker.job.pause()
            self._update_buttons()

    def resume(self) -> None:
        if self.is_running():
            self.tracker.job.resume()
            self._update_buttons()

    def stop(self) -> None:
        if self.is_running():
            self.tracker.job.stop()
            self._update_buttons()

    def shutdown(self) -> None:
        """Stop every run and wait for its thread to end (called when the window closes)."""
        self._timer.stop()
        if self.tracker is not None:
            self.tracker.job.stop()
            if self.tracker.job.join(60.0):
                self.tracker.apply(self.tracker.job.drain())  # its last events: the job is then marked ended
        self.pictures.shutdown()

    # ---- events → views ---------------------------------------------------------------------------------------

    def _on_timer_timeout(self) -> None:
        self.apply_events()

    def apply_events(self) -> None:
        """Drain the running job's queue, update the store and redraw (the timer calls it)."""
        if self.tracker is None:
            return
        changes = self.tracker.apply(self.tracker.job.drain())
        if changes.new_runs:
            new = [r.id for r in changes.new_runs]
            self.runs.refresh()
            self.runs.select(self.runs.selected_ids() + new, current=new[0])
        if changes.folds or changes.crossval or (changes.new_runs and self.tracker.job.config.kfold):
            self._show_crossval(changes)
        self._refresh_views()
        if changes.ended is not None:
            self._on_job_ended(changes.ended.error)

    def _show_crossval(self, changes) -> None:
        if changes.new_runs and changes.new_runs[0].started.fold == 0:
            self.crossval.clear()
        for fold in changes.folds:
            record = self.tracker.records.get(fold.fold)
            self.crossval.add_fold(fold, record.color if record else "#377eb8")
        if changes.crossval is not None:
            self.crossval.finish(changes.crossval)
            self.pictures.setCurrentWidget(self.crossval)

    def _refresh_views(self) -> None:
        self.runs.refresh()
        if self.tracker is not None:
            self.progress.setValue(int(1000 * self.tracker.fraction()))
            self.progress.setFormat(self.tracker.text())
        if self.live_plots and self.isVisible():
            self.curves.refresh()
            self.gradflow.refresh()
            self.pictures.refresh()

    def _on_job_ended(self, error: str) -> None:
        self._timer.stop()
        self.tracker.job.join(10.0)  # it is past its last put: the join is immediate
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
        self.pause_button.setText("Resume" if running and self.tracker.job.paused else "Pause")
        self.stop_button.setEnabled(running)

    def _on_panel_changed(self) -> None:
        self.panel.show_problems(problems(self.panel.config()))
        self._update_buttons()

    def _on_start_clicked(self) -> None:
        self.start()

    def _on_pause_clicked(self) -> None:
        if self.is_running() and self.tracker.job.paused:
            self.resume()
        else:
            self.pause()
        self._refresh_views()

    def _on_stop_clicked(self) -> None:
        self.stop()

    # ---- runs list --------------------------------------------------------------------------------------------

    def _on_runs_selection_changed(self, ids: list[int]) -> None:
        records = [self.store.get(i) for i in ids]
        self.curves.set_runs(records)
        self.gradflow.set_runs(records)
        current = self.runs.current_id()
        self.pictures.show_run(self.store.get(current) if current is not None else None)

    def _on_runs_renamed(self, run_id: int) -> None:
        self.curves.rename(self.store.get(run_id))
        self.gradflow.refresh(force=True)
        self.pictures.show_run(self.pictures.record)

    def _on_runs_delete_requested(self, ids: list[int]) -> None:
        for run_id in ids:
            if not self.store.get(run_id).running:
                self.store.remove(run_id)
        self.runs.refresh()
        self._on_runs_selection_changed(self.runs.selected_ids())

    def _on_runs_same_but_requested(self, run_id: int) -> None:
        self.panel.set_config(self.store.get(run_id).config)
        self._on_panel_changed()

    def _on_curves_unit_changed(self, unit: str) -> None:
        self.gradflow.set_unit(unit)

    def _on_runs_export_csv_requested(self, run_id: int) -> None:
        record = self.store.get(run_id)
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", f"{record.name}.csv", "CSV files (*.csv)")
        if path:
            self._report(write_csv(record, path))

    def _on_runs_export_checkpoint_requested(self, run_id: int) -> None:
        record = self.store.get(run_id)
        path, _ = QFileDialog.getSaveFileName(self, "Export checkpoint", f"{record.name}.pt", "Checkpoints (*.pt)")
        if path:
            self._report(write_checkpoint(record, path))

    def _report(self, error: str) -> None:
        self.panel.show_problems([error] if error else [])
