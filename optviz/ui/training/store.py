"""The runs of the training tab as plain data: config, growing curves, latest pictures, status (no Qt).

The tab feeds every trainer event to :meth:`RunRecord.add`; the views read the numpy views of the curves. Curves
grow in place (amortised O(1) appends), so a refresh never re-stacks thousands of Python floats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from optviz.core.optimizers import REGISTRY
from optviz.training.config import TrainConfig
from optviz.training.events import (BatchEvent, EpochEvent, Event, FoldFinished, Pictures, RunFinished, RunMetrics,
                                    RunStarted)

# Set1-like, then Dark2-like: distinct on a dark background, the registry colours first
PALETTE = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#66c2a5", "#e6ab02",
           "#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#66a61e", "#999999")


class Series:
    """A growing float64 array of rows of ``width`` values (0 = scalars); ``values`` is a view of the filled part."""

    def __init__(self, width: int = 0) -> None:
        self._data = np.empty((256, width) if width else 256, dtype=float)
        self._n = 0

    def append(self, value: float | np.ndarray) -> None:
        if self._n == len(self._data):
            grown = np.empty((2 * len(self._data),) + self._data.shape[1:], dtype=float)
            grown[:self._n] = self._data
            self._data = grown
        self._data[self._n] = value
        self._n += 1

    @property
    def values(self) -> np.ndarray:
        return self._data[:self._n]

    def __len__(self) -> int:
        return self._n


@dataclass(eq=False)
class RunRecord:
    """One run in the runs list: what started it, everything it reported, and how it ended."""

    id: int
    name: str
    color: str
    config: TrainConfig  # the whole config of the start() that made it (a race keeps all its optimizers)
    job: int  # which start() made it
    started: RunStarted
    metrics: RunMetrics = field(default_factory=RunMetrics)
    steps: Series = field(default_factory=Series)
    loss: Series = field(default_factory=Series)
    lr: Series = field(default_factory=Series)
    accuracy: Series = field(default_factory=Series)
    grads: Series | None = None  # (steps, layers) gradient norms
    pictures: Pictures | None = None
    last_batch: BatchEvent | None = None
    fold_result: FoldFinished | None = None
    error: str = ""  # set when the job failed before this run ended
    trainer: object | None = None  # the job's Trainer once it has ended (for checkpoints); None for CV folds
    version: int = 0  # bumped by every event: views redraw only what changed

    def __post_init__(self) -> None:
        self.metrics.add(self.started)

    @property
    def index(self) -> int:
        """The run's index in its job's events (race index, or fold)."""
        return self.started.run

    @property
    def finished(self) -> RunFinished | None:
        return self.metrics.finished

    @property
    def epochs(self) -> list[EpochEvent]:
        return self.metrics.epochs

    @property
    def running(self) -> bool:
        return self.finished is None and not self.error

    @property
    def status(self) -> str:
        """running, finished, stopped, diverged or failed."""
        if self.finished is not None:
            return self.finished.status
        return "failed" if self.error else "running"

    def add(self, event: Event) -> None:
        self.version += 1
        if isinstance(event, BatchEvent):
            self.steps.append(event.step)
            self.loss.append(event.loss)
            self.lr.append(event.lr)
            self.accuracy.append(event.accuracy)
            if self.grads is None:
                self.grads = Series(len(event.grad_norms))
            self.grads.append(event.grad_norms)
            self.last_batch = event
            return  # RunMetrics's per-batch lists are not needed here: the Series hold them
        if isinstance(event, Pictures):
            self.pictures = event
        elif isinstance(event, FoldFinished):
            self.fold_result = event
        self.metrics.add(event)

    def full_metrics(self) -> RunMetrics:
        """A RunMetrics with the per-batch lists filled in (for the CSV and checkpoint writers)."""
        m = self.metrics
        grads = list(self.grads.values) if self.grads is not None else []
        return RunMetrics(m.label, m.device, m.layer_names, [int(s) for s in self.steps.values],
                          self.loss.values.tolist(), self.lr.values.tolist(), self.accuracy.values.tolist(), grads,
                          list(m.epochs), m.finished)

    def fail(self, message: str) -> None:
        self.error = message
        self.version += 1

    def status_text(self) -> str:
        """For the runs list: "running 40%", "finished", "stopped at step 120", "diverged at step 312"."""
        fin = self.finished
        if fin is None:
            if self.error:
                return "failed"
            total = self.started.epochs * self.started.n_batches
            done = self.last_batch.step if self.last_batch else 0
            return f"running {100 * done / max(total, 1):.0f}%"
        if fin.status == "finished":
            return "finished"
        return f"{fin.status} at step {fin.step}"

    def epoch_x(self, unit: str) -> np.ndarray:
        """Where each epoch's values sit on the x axis: the step ending it, or its end in epochs (1, 2, …)."""
        if unit == "epochs":
            return np.array([e.epoch + 1 for e in self.epochs], dtype=float)
        return np.array([e.step for e in self.epochs], dtype=float)

    def batch_x(self, unit: str) -> np.ndarray:
        steps = self.steps.values
        return steps / max(self.started.n_batches, 1) if unit == "epochs" else steps

    def epoch_values(self, name: str) -> np.ndarray:
        """``train_loss``, ``val_loss``, ``train_accuracy`` or ``val_accuracy`` per epoch."""
        return np.array([getattr(e, name) for e in self.epochs], dtype=float)


class RunStore:
    """The ordered records of the runs list, with ids and colours."""

    def __init__(self) -> None:
        self._records: dict[int, RunRecord] = {}
        self._next_id = 1

    def __iter__(self) -> Iterator[RunRecord]:
        return iter(list(self._records.values()))

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, run_id: int) -> bool:
        return run_id in self._records

    def get(self, run_id: int) -> RunRecord:
        return self._records[run_id]

    def find(self, job: int, index: int) -> RunRecord | None:
        """The run of ``job`` whose events carry ``run == index``."""
        for record in self._records.values():
            if record.job == job and record.index == index:
                return record
        return None

    def add(self, config: TrainConfig, job: int, started: RunStarted) -> RunRecord:
        name = f"{started.label} · {config.model}" + (f" · fold {started.fold + 1}" if started.fold is not None else "")
        record = RunRecord(self._next_id, name, self._color(config, started), config, job, started)
        self._records[record.id] = record
        self._next_id += 1
        return record

    def remove(self, run_id: int) -> None:
        self._records.pop(run_id, None)

    def _color(self, config: TrainConfig, started: RunStarted) -> str:
        """The optimizer's registry colour when no other run shows it, else the first palette colour not in use."""
        used = {r.color for r in self._records.values()}
        choice = config.optimizers[started.run] if started.fold is None and started.run < len(config.optimizers) \
            else config.optimizers[0]
        preferred = REGISTRY[choice.name].color
        if preferred not in used:
            return preferred
        free = [c for c in PALETTE if c not in used]
        return free[0] if free else PALETTE[len(self._records) % len(PALETTE)]

