"""Apply one job's events to the run store and say how far along the job is (no Qt)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from optviz.training.events import (BatchEvent, CrossValFinished, Event, FoldFinished, RunFinished, RunStarted)
from optviz.ui.training.store import RunRecord, RunStore
from optviz.ui.training.worker import JobEnded, TrainingJob


@dataclass
class Changes:
    """What a batch of events did, for the tab to react to."""

    count: int = 0
    new_runs: list[RunRecord] = field(default_factory=list)
    finished_runs: list[RunRecord] = field(default_factory=list)
    folds: list[FoldFinished] = field(default_factory=list)
    crossval: CrossValFinished | None = None
    ended: JobEnded | None = None


def slim(trainer):
    """``trainer`` without its dataset arrays: a checkpoint needs only the models and the data statistics."""
    s = trainer.splits
    if s is not None:
        empty = (s.train[0][:0], s.train[1][:0])
        trainer.splits = dataclasses.replace(s, train=empty, val=empty, test=empty)
    return trainer


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class JobTracker:
    """Routes a job's events to its records (made on RunStarted) and estimates progress and time left."""

    def __init__(self, job: TrainingJob, store: RunStore) -> None:
        self.job = job
        self._store = store
        self.records: dict[int, RunRecord] = {}  # by the events' ``run``
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
                record = self._store.add(self.job.config, self.job.id, event)
                self.records[event.run] = record
                changes.new_runs.append(record)
            else:
                self._route(event, changes)
        return changes

    def _route(self, event: Event, changes: Changes) -> None:
        index = event.fold if isinstance(event, FoldFinished) else event.run
        record = self.records.get(index)
        if record is None or record.id not in self._store:
            return  # deleted by the user meanwhile
        record.add(event)
        if isinstance(event, BatchEvent):
            self.last_batch = event
        elif isinstance(event, RunFinished):
            changes.finished_runs.append(record)
        elif isinstance(event, FoldFinished):
            changes.folds.append(event)

    def _end(self, ended: JobEnded, changes: Changes) -> None:
        self.job.error, self.job.ended = ended.error, True
        self.job.stop_clock()
        changes.ended = ended
        trainer = slim(self.job.trainers[0]) if self.job.trainers and not self.job.config.kfold else None
        for record in self.records.values():
            record.trainer = trainer
            if record.running:
                record.fail(ended.error or "the trainer ended before this run finished")

    # ---- progress ---------------------------------------------------------------------------------------------

    def per_run_steps(self) -> int:
        first = next(iter(self.records.values()), None)
        return first.started.epochs * first.started.n_batches if first else 0

    def fraction(self) -> float:
        """Done / planned steps over every run of the job (an ended run counts as done)."""
        per_run = self.per_run_steps()
        if not per_run:
            return 0.0
        done = sum(per_run if not r.running else (r.last_batch.step if r.last_batch else 0)
                   for r in self.records.values())
        return min(done / (per_run * self.expected_runs), 1.0)

    def text(self) -> str:
        """``fold 2/5 · epoch 1/3 · batch 37/70 · 0:42 left``."""
        if self.job.ended:
            if self.job.error:
                return "failed: " + self.job.error
            n = len(self.records)
            stopped = any(r.status == "stopped" for r in self.records.values())
            return f"{'stopped' if stopped else 'done'}: {n} run{'s' if n != 1 else ''} in " \
                   f"{_clock(self.job.active_seconds())}"
        b = self.last_batch
        if b is None:
            return "paused" if self.job.paused else "loading data and building the model…"
        record = self.records[b.run]
        s = record.started
        parts = [f"fold {s.fold + 1}/{self.expected_runs}"] if s.fold is not None else []
        parts += [f"epoch {b.epoch + 1}/{s.epochs}", f"batch {b.batch + 1}/{s.n_batches}"]
        f = self.fraction()
        if f > 0.01:
            parts.append(f"{_clock(self.job.active_seconds() * (1 - f) / f)} left")
        return ("paused · " if self.job.paused else "") + " · ".join(parts)
