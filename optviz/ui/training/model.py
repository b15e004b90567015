"""The training tab's state: the runs list, the selected runs and the running job, with change signals.

Views read from the model and call its methods; nothing else holds training-tab state. Each start() runs the
trainer in a worker thread (:mod:`optviz.training.jobs`) that only queues frozen events; a QTimer on the GUI
thread drains the queue ``REFRESH_HZ`` times a second, applies the events to the run records and says what
changed, so nothing but frozen data crosses threads and drawing never lands on the training loop.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from optviz.core import memory
from optviz.training import export
from optviz.training.config import TrainConfig
from optviz.training.events import BatchEvent
from optviz.training.jobs import Runner, TrainingJob
from optviz.training.records import RunRecord, RunRecords
from optviz.training.tracking import Changes, JobTracker

REFRESH_HZ = 6  # at least 5 redraws a second keep a live curve smooth; each costs the GUI thread a few ms


class TrainingModel(QObject):
    """Holds the runs and the latest job; emits what changed (run ids as ints)."""

    run_added = Signal(int)
    runs_updated = Signal(list)  # ids whose data changed, once per drained batch of events
    run_renamed = Signal(int)
    run_removed = Signal(int)
    selection_changed = Signal()  # read ``selected`` and ``current``
    fold_finished = Signal(int)  # the run (a fold) whose ``fold_result`` arrived
    crossval_finished = Signal(object)  # CrossValFinished
    job_started = Signal()
    job_paused = Signal(bool)  # True: paused, False: resumed
    progressed = Signal()  # read ``progress()``
    job_ended = Signal(str)  # "" or the one-line error that ended it

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs = RunRecords()
        self.tracker: JobTracker | None = None
        self._jobs = 0
        self._selected: list[int] = []
        self._current: int | None = None
        self._timer = QTimer(self, interval=1000 // REFRESH_HZ)
        self._timer.timeout.connect(self._on_timer_timeout)

    # ---- reading ------------------------------------------------------------------------------------------------

    @property
    def job(self) -> TrainingJob | None:
        """The latest job (running or not)."""
        return self.tracker.job if self.tracker else None

    def is_running(self) -> bool:
        return self.tracker is not None and not self.tracker.job.ended

    @property
    def paused(self) -> bool:
        return self.is_running() and self.tracker.job.paused

    @property
    def last_batch(self) -> BatchEvent | None:
        """The latest batch of the latest job, any run."""
        return self.tracker.last_batch if self.tracker else None

    def progress(self) -> tuple[float, str]:
        """(fraction done in [0, 1], ``epoch 1/3 · batch 37/70 · 0:42 left``) of the latest job."""
        if self.tracker is None:
            return 0.0, "ready"
        return self.tracker.fraction(), self.tracker.text()

    @property
    def selected(self) -> list[int]:
        """Selected run ids, in list order."""
        return list(self._selected)

    @property
    def current(self) -> int | None:
        """The selected run whose pictures are shown."""
        return self._current

    def selected_records(self) -> list[RunRecord]:
        return [self.runs.get(i) for i in self._selected]

    def current_record(self) -> RunRecord | None:
        return self.runs.get(self._current) if self._current is not None else None

    # ---- the job ------------------------------------------------------------------------------------------------

    def start(self, config: TrainConfig, runner: Runner | None = None) -> None:
        """Train ``config`` in a worker thread (``runner`` instead of the trainer, for tests).

        ValueError (one line, ConfigError for a config that cannot run) and nothing started, when it cannot start.
        """
        if self.is_running():
            raise ValueError("A training is running")
        job = TrainingJob(self._jobs + 1, config, runner)
        self._jobs += 1
        self.tracker = JobTracker(job, self.runs)
        job.start()
        self._timer.start()
        self.job_started.emit()
        self.progressed.emit()

    def pause(self) -> None:
        if self.is_running() and not self.tracker.job.paused:
            self.tracker.job.pause()
            self.job_paused.emit(True)
            self.progressed.emit()

    def resume(self) -> None:
        if self.is_running() and self.tracker.job.paused:
            self.tracker.job.resume()
            self.job_paused.emit(False)
            self.progressed.emit()

    def stop(self) -> None:
        if self.is_running():
            self.tracker.job.stop()

    def shutdown(self, timeout: float = 60.0) -> None:
        """Stop the job and wait for its thread; its last events are recorded but announce nothing (the window is
        closing)."""
        self._timer.stop()
        if self.tracker is not None:
            self.tracker.job.stop()
            if self.tracker.job.join(timeout):
                self.tracker.apply(self.tracker.job.drain())

    def _on_timer_timeout(self) -> None:
        self.apply_events()

    def apply_events(self) -> None:
        """Drain the job's queue into the run records and announce what changed (the timer calls it)."""
        if self.tracker is None:
            return
        self._announce(self.tracker.apply(self.tracker.job.drain()))

    def _announce(self, changes: Changes) -> None:
        for record in changes.new_runs:
            self.run_added.emit(record.id)
        for record in changes.folds:
            self.fold_finished.emit(record.id)
        if changes.crossval is not None:
            self.crossval_finished.emit(changes.crossval)
        if changes.new_runs:  # new runs join the selection, the first of them shown
            new = [r.id for r in changes.new_runs]
            self.select(self._selected + new, current=new[0])
        updated = [r.id for r in changes.updated if r.id in self.runs]
        if updated:
            self.runs_updated.emit(updated)
        self.progressed.emit()
        if changes.ended is not None:
            self._timer.stop()
            self.tracker.job.join(10.0)  # it is past its last put: the join is immediate
            memory.trim()  # the job's batches, activations and snapshots leave freed heap behind (core.memory)
            self.job_ended.emit(changes.ended.error)

    # ---- the runs list --------------------------------------------------------------------------------------------

    def select(self, run_ids: list[int], current: int | None = None) -> None:
        """Select exactly ``run_ids`` (unknown ids are left out); ``current`` (default: the first) is the run whose
        pictures show."""
        ids = [i for i in dict.fromkeys(run_ids) if i in self.runs]
        current = current if current in ids else (ids[0] if ids else None)
        if (ids, current) != (self._selected, self._current):
            self._selected, self._current = ids, current
            self.selection_changed.emit()

    def rename(self, run_id: int, name: str) -> None:
        """Rename a run; an empty name is refused, a name another run has gets a ``#2`` (names stay distinct)."""
        name = self.runs.unique_name(name.strip(), run_id) if name.strip() else ""
        record = self.runs.get(run_id)
        if name and name != record.name:
            record.rename(name)
            self.run_renamed.emit(run_id)

    def remove(self, run_ids: list[int]) -> None:
        """Remove the runs of ``run_ids`` that have ended (a running run stays)."""
        for run_id in run_ids:
            if run_id in self.runs and not self.runs.get(run_id).running:
                self.runs.remove(run_id)
                self.run_removed.emit(run_id)
        self.select(self._selected, self._current)
        memory.trim()  # a run's metrics and plots free megabytes that the heap would otherwise keep (core.memory)

    def export_csv(self, run_id: int, path: str) -> str:
        """Write the run's metrics as CSV; "" or one line saying what went wrong."""
        return export.write_csv(self.runs.get(run_id), path)

    def export_checkpoint(self, run_id: int, path: str) -> str:
        """Write the run's checkpoint; "" or one line saying why it could not."""
        return export.write_checkpoint(self.runs.get(run_id), path)

    def checkpoint_problem(self, run_id: int) -> str:
        return export.checkpoint_problem(self.runs.get(run_id))

