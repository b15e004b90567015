"""Route one job's events to its run records and say how far along the job is (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass, field

from optviz.training.events import BatchEvent, CrossValFinished, Event, FoldFinished, RunStarted
from optviz.training.jobs import JobEnded, TrainingJob
from optviz.training.records import RunRecord, RunRecords
from optviz.training.results import TrainResult


@dataclass
class Changes:
    """What a batch of events did, in the order it happened."""

    count: int = 0
    new_runs: list[RunRecord] = field(default_factory=list)
    updated: list[RunRecord] = field(default_factory=list)  # every record an event reached, new ones included
    folds: list[RunRecord] = field(default_factory=list)  # records whose fold_result just arrived
    crossval: CrossValFinished | None = None
    ended: JobEnded | None = None


def clock(seconds: float) -> str:
    """``1:02:03`` or ``2:03``."""
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class JobTracker:
    """Routes a job's events to its records (made on RunStarted) and estimates progress and time left."""

    def __init__(self, job: TrainingJob, records: RunRecords) -> None:
        self.job = job
        self._records = records
        self.runs: dict[int, RunRecord] = {}  # by the events' ``run``
        self.last_batch: BatchEvent | None = None
        self.expected_runs = job.config.kfold or len(job.config.optimizers)

    def apply(self, events: list[Event | JobEnded]) -> Changes:
        changes = Changes(count=len(events))
        for event in events:
            if isinstance(event, JobEnded):
                self._end(event, changes)
            elif isinstance(event, CrossValFinished):
                changes.crossval = event
            elif isinstance(event, RunStarted):
                record = self._records.add(self.job.config, self.job.id, event)
                self.runs[event.run] = record
                changes.new_runs.append(record)
                _touch(changes, record)
            else:
                self._route(event, changes)
        return changes

    def _route(self, event: Event, changes: Changes) -> None:
        index = event.fold if isinstance(event, FoldFinished) else event.run
        record = self.runs.get(index)
        if record is None or record.id not in self._records:
            return  # deleted by the user meanwhile
        record.add(event)
        _touch(changes, record)
        if isinstance(event, BatchEvent):
            self.last_batch = event
        elif isinstance(event, FoldFinished):
            changes.folds.append(record)

    def _end(self, ended: JobEnded, changes: Changes) -> None:
        self.job.error, self.job.ended = ended.error, True
        self.job.stop_clock()
        changes.ended = ended
        trained = ended.result if isinstance(ended.result, TrainResult) else None
        for index, record in self.runs.items():
            if record.id not in self._records:
                continue
            if trained is not None and index < len(trained.runs):
                # the record's own metrics stand for the trainer's copy of the same events: one record per run
                record.result = trained.alone(index, record.metrics)
            if record.running:
                record.fail(ended.error or "the trainer ended before this run finished")
            _touch(changes, record)

    # ---- progress ---------------------------------------------------------------------------------------------

    def per_run_steps(self) -> int:
        first = next(iter(self.runs.values()), None)
        return first.planned_steps if first else 0  # max steps, when set, ends every run early

    def fraction(self) -> float:
        """Done / planned steps over every run of the job (an ended run counts as done)."""
        per_run = self.per_run_steps()
        if not per_run:
            return 0.0
        done = sum(r.metrics.step if r.running else per_run for r in self.runs.values())
        return min(done / (per_run * self.expected_runs), 1.0)

    def text(self) -> str:
        """``fold 2/5 · epoch 1/3 · batch 37/70 · 0:42 left``."""
        if self.job.ended:
            if self.job.error:
                return "failed: " + self.job.error
            n = len(self.runs)
            stopped = any(r.status == "stopped" for r in self.runs.values())
            return f"{'stopped' if stopped else 'done'}: {n} run{'s' if n != 1 else ''} in " \
                   f"{clock(self.job.active_seconds())}"
        b = self.last_batch
        if b is None:
            return "paused" if self.job.paused else "loading data and building the model…"
        s = self.runs[b.run].started
        parts = [f"fold {s.fold + 1}/{self.expected_runs}"] if s.fold is not None else []
        parts += [f"epoch {b.epoch + 1}/{s.epochs}", f"batch {b.batch + 1}/{s.n_batches}"]
        f = self.fraction()
        if f > 0.01:
            parts.append(f"{clock(self.job.active_seconds() * (1 - f) / f)} left")
        return ("paused · " if self.job.paused else "") + " · ".join(parts)


def _touch(changes: Changes, record: RunRecord) -> None:
    if record not in changes.updated:  # a race's few records: a short list
        changes.updated.append(record)
