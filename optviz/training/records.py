"""The runs of the training tab as plain data (no Qt): what started each, its metrics, latest pictures and end.

A :class:`RunRecord` is fed its run's events (:meth:`RunRecord.add`); its metrics are one
:class:`~optviz.training.metrics.RunMetrics`, and once its job has ended, ``result`` holds the frozen
:class:`~optviz.training.results.TrainResult` of this run alone (weights, optimizer state, config, the same
metrics) that checkpoints are written from.
:class:`RunRecords` is the ordered list with ids and colours.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field
from typing import Collection, Iterator

import numpy as np

from optviz.core.optimizers import REGISTRY
from optviz.training.config import TrainConfig
from optviz.training.events import EpochEvent, Event, FoldFinished, Pictures, RunFinished, RunStarted
from optviz.training.metrics import RunMetrics
from optviz.training.results import TrainResult

# lightness offsets of an optimizer colour's shades: lighter and darker in turn, the first pairs furthest apart
_SHADE_STEPS = (0.16, -0.12, 0.30, -0.20, 0.08, -0.06, 0.23, -0.16)
_LIGHTNESS = (0.22, 0.88)  # darker disappears on the plots' dark background, lighter turns white


def shade(color: str, n: int) -> str:
    """The ``n``-th shade of ``color`` (``#rrggbb``; 0 is the colour itself): lighter and darker in turn, and from
    the ninth on the hue turns a little further every eight, so any number of shades stay apart."""
    if n == 0:
        return color
    r, g, b = (int(color[i:i + 2], 16) / 255.0 for i in (1, 3, 5))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    step, turn = (n - 1) % len(_SHADE_STEPS), (n - 1) // len(_SHADE_STEPS)
    lightness = min(max(lightness + _SHADE_STEPS[step], _LIGHTNESS[0]), _LIGHTNESS[1])
    h = (h + 0.045 * turn * (1 if turn % 2 else -1)) % 1.0
    return "#" + "".join(f"{round(255 * c):02x}" for c in colorsys.hls_to_rgb(h, lightness, s))


def run_color(optimizer: str, used: Collection[str] = ()) -> str:
    """A run's colour: its optimizer's registry colour (the swatch of the optimizers list) when no run in ``used``
    shows it, else the first of its shades that none shows."""
    base = REGISTRY[optimizer].color
    for n in range(len(used) + 1):
        if shade(base, n) not in used:
            return shade(base, n)
    return shade(base, len(used) + 1)


@dataclass(eq=False)
class RunRecord:
    """One run in the runs list: what started it, everything it reported, and how it ended."""

    id: int
    name: str
    color: str
    config: TrainConfig  # the whole config of the start() that made it (a race keeps all its optimizers)
    job: int  # which start() made it
    started: RunStarted
    metrics: RunMetrics = field(init=False)
    pictures: Pictures | None = None  # the latest
    pictures_step: int = 0  # the step after which ``pictures`` were taken (the run's last step when they came)
    fold_result: FoldFinished | None = None
    result: TrainResult | None = None  # this run alone, once its job has ended; None for CV folds and failures
    error: str = ""  # set when the job failed before this run ended
    version: int = 0  # bumped by every change: views redraw only what changed

    def __post_init__(self) -> None:
        self.metrics = RunMetrics(self.started)

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
    def planned_steps(self) -> int:
        """The steps the run will take if nothing ends it early: every batch of every epoch, or max steps."""
        total = self.started.epochs * self.started.n_batches
        return min(total, self.config.max_steps) if self.config.max_steps else total

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
        if isinstance(event, Pictures):
            self.pictures, self.pictures_step = event, self.metrics.step
        elif isinstance(event, FoldFinished):
            self.fold_result = event
        else:
            self.metrics.add(event)

    def fail(self, message: str) -> None:
        self.error = message
        self.version += 1

    def rename(self, name: str) -> None:
        self.name = name
        self.version += 1

    def status_text(self) -> str:
        """For the runs list: "running 40%", "finished", "stopped at step 120", "diverged at step 312"."""
        fin = self.finished
        if fin is None:
            if self.error:
                return "failed"
            return f"running {100 * self.metrics.step / max(self.planned_steps, 1):.0f}%"
        if fin.status == "finished":
            return "finished"
        return f"{fin.status} at step {fin.step}"

    def epochs_done(self, step: int) -> float:
        """How many passes over the training set ``step`` steps make: 1.0 at the end of the first epoch."""
        return step / max(self.started.n_batches, 1)

    def when(self, step: int) -> str:
        """A point of the run in words: ``step 14 (1.56 epochs)``, ``step 9 (1 epoch)``. Steps count from 1; epochs
        are the passes done (as on the plots' epoch axis), so a run stopped mid-epoch is never rounded up to the
        next whole epoch."""
        done = self.epochs_done(step)
        number = f"{done:.0f}" if done == round(done) else f"{done:.3g}" if done < 10 else f"{done:.1f}"
        return f"step {step} ({number} epoch{'' if number == '1' else 's'})"

    def extent(self, unit: str) -> float:
        """Where the run will end on the x axis: its planned steps, or those in epochs."""
        return self.planned_steps / max(self.started.n_batches, 1) if unit == "epochs" else float(self.planned_steps)

    def epoch_x(self, unit: str) -> np.ndarray:
        """Where each epoch's values sit on the x axis: the step ending it, or that step in epochs (1, 2, …; a last
        epoch cut short by max steps ends where it stopped, 1.56, not at 2)."""
        steps = np.array([e.step for e in self.epochs], dtype=float)
        return steps / max(self.started.n_batches, 1) if unit == "epochs" else steps

    def batch_x(self, unit: str) -> np.ndarray:
        """Each recorded batch's x: its step, or its step in epochs."""
        steps = self.metrics.steps.astype(float)
        return steps / max(self.started.n_batches, 1) if unit == "epochs" else steps


class RunRecords:
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

    def unique_name(self, name: str, run_id: int | None = None) -> str:
        """``name``, or ``name #2``, ``name #3``…: the first that no run but ``run_id`` has (legends and the list
        tell runs apart by name)."""
        taken = {r.name for r in self._records.values() if r.id != run_id}
        n = 1
        found = name
        while found in taken:
            n += 1
            found = f"{name} #{n}"
        return found

    def add(self, config: TrainConfig, job: int, started: RunStarted) -> RunRecord:
        name = f"{started.label} · {config.model}" + (f" · fold {started.fold + 1}" if started.fold is not None else "")
        used = {r.color for r in self._records.values()}
        color = run_color(_optimizer(config, started), used)
        record = RunRecord(self._next_id, self.unique_name(name), color, config, job, started)
        self._records[record.id] = record
        self._next_id += 1
        return record

    def remove(self, run_id: int) -> None:
        self._records.pop(run_id, None)


def _optimizer(config: TrainConfig, started: RunStarted) -> str:
    """The registry name of the optimizer that trains ``started``'s run (every fold uses the first)."""
    race = started.fold is None and started.run < len(config.optimizers)
    return config.optimizers[started.run if race else 0].name
