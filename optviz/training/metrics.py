"""One run's record of the trainer's events: per-step numpy arrays, per-epoch events and how the run ended.

The trainer keeps one :class:`RunMetrics` per run and hands it back in its result; the training tab builds its own
from the same events on the GUI thread; checkpoints store it as plain lists and the CSV writer reads its arrays.
Per-step values live in arrays that grow in place (amortised O(1) appends), so a live plot reads them without
re-stacking thousands of Python floats.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable

import numpy as np

from optviz.training.events import BatchEvent, EpochEvent, Event, RunFinished, RunStarted

EPOCH_VALUES = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")


class Series:
    """A growing array of rows of ``width`` values (0 = scalars); ``values`` is a view of the filled part."""

    def __init__(self, width: int = 0, dtype: type = np.float64) -> None:
        self._data = np.empty((256, width) if width else 256, dtype=dtype)
        self._n = 0

    @classmethod
    def of(cls, values: Iterable, width: int = 0, dtype: type = np.float64) -> Series:
        series = cls(width, dtype)
        for value in values:
            series.append(value)
        return series

    def append(self, value: float | np.ndarray) -> None:
        if self._n == len(self._data):
            grown = np.empty((2 * len(self._data),) + self._data.shape[1:], dtype=self._data.dtype)
            grown[:self._n] = self._data
            self._data = grown
        self._data[self._n] = value
        self._n += 1

    @property
    def values(self) -> np.ndarray:
        return self._data[:self._n]

    def __len__(self) -> int:
        return self._n


class RunMetrics:
    """Everything one run reported: feed it the run's events with :meth:`add` (other runs' events are the caller's
    to filter out); read the per-step arrays, ``epochs``, ``finished`` and :meth:`summary`."""

    def __init__(self, started: RunStarted | None = None) -> None:
        self.started: RunStarted | None = None
        self.label, self.device, self.layer_names = "", "", ()
        self.epochs: list[EpochEvent] = []
        self.finished: RunFinished | None = None
        self._steps = Series(dtype=np.int64)
        self._loss, self._lr, self._accuracy = Series(), Series(), Series()
        self._grads: Series | None = None  # made by the first batch: its width is the number of layers
        if started is not None:
            self.add(started)

    def add(self, event: Event) -> None:
        """Record ``event``; pictures, folds and cross-validation summaries are not part of a run's metrics."""
        if isinstance(event, BatchEvent):
            self._steps.append(event.step)
            self._loss.append(event.loss)
            self._lr.append(event.lr)
            self._accuracy.append(event.accuracy)
            if self._grads is None:
                self._grads = Series(len(event.grad_norms))
            self._grads.append(event.grad_norms)
        elif isinstance(event, EpochEvent):
            self.epochs.append(event)
        elif isinstance(event, RunFinished):
            self.finished = event
        elif isinstance(event, RunStarted):
            self.started = event
            self.label, self.device, self.layer_names = event.label, event.device, event.layer_names

    # ---- reading ------------------------------------------------------------------------------------------------

    @property
    def steps(self) -> np.ndarray:
        """int64 (n,): the global step of each recorded batch."""
        return self._steps.values

    @property
    def batch_loss(self) -> np.ndarray:
        return self._loss.values

    @property
    def lr(self) -> np.ndarray:
        return self._lr.values

    @property
    def batch_accuracy(self) -> np.ndarray:
        return self._accuracy.values

    @property
    def grad_norms(self) -> np.ndarray:
        """float64 (n, layers): each layer's gradient norm at each step, input → output."""
        if self._grads is None:
            return np.zeros((0, len(self.layer_names)))
        return self._grads.values

    @property
    def step(self) -> int:
        """The last step recorded (0 before the first batch)."""
        return int(self._steps.values[-1]) if len(self._steps) else 0

    def __len__(self) -> int:
        return len(self._steps)

    def epoch_values(self, name: str) -> np.ndarray:
        """``train_loss``, ``train_accuracy``, ``val_loss`` or ``val_accuracy`` per epoch."""
        if name not in EPOCH_VALUES:
            raise ValueError(f"Unknown epoch value {name!r} (allowed: {', '.join(EPOCH_VALUES)})")
        return np.array([getattr(e, name) for e in self.epochs], dtype=float)

    def epoch_of_steps(self) -> np.ndarray:
        """The epoch of each recorded step: the first epoch whose last step is at or after it."""
        ends = np.array([e.step for e in self.epochs], dtype=np.int64)
        return np.searchsorted(ends, self.steps, side="left")

    def summary(self) -> dict[str, Any]:
        """JSON-ready results (NaN becomes None): what ``optviz train --json`` prints for a run."""
        fin = self.finished
        grads = self.grad_norms
        return {
            "label": self.label,
            "status": fin.status if fin else "running",
            "step": fin.step if fin else self.step,
            "message": fin.message if fin else "",
            "test_accuracy": _num(fin.test_accuracy) if fin else None,
            "test_loss": _num(fin.test_loss) if fin else None,
            "device": self.device,
            "seconds": _num(fin.seconds) if fin else None,
            "epochs": [{"train_loss": _num(e.train_loss), "val_loss": _num(e.val_loss),
                        "train_accuracy": _num(e.train_accuracy), "val_accuracy": _num(e.val_accuracy)}
                       for e in self.epochs],
            # the last step's gradient norm per layer, input → output (PlainNet vs ResNet: first ≪ last or not)
            "grad_norms": dict(zip(self.layer_names, (_num(float(g)) for g in grads[-1]))) if len(grads) else {},
        }

    # ---- plain containers (checkpoints) ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and numbers, loadable with ``torch.load(weights_only=True)``."""
        fin = self.finished
        return {
            "label": self.label, "device": self.device, "layer_names": list(self.layer_names),
            "steps": self.steps.tolist(), "batch_loss": self.batch_loss.tolist(), "lr": self.lr.tolist(),
            "batch_accuracy": self.batch_accuracy.tolist(), "grad_norms": self.grad_norms.tolist(),
            "epochs": [dataclasses.asdict(e) for e in self.epochs],
            "finished": None if fin is None else {**dataclasses.asdict(fin), "confusion": fin.confusion.tolist()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunMetrics:
        """The inverse of :meth:`to_dict` (a file without batch accuracies gets NaN for them)."""
        m = cls()
        m.label, m.device, m.layer_names = d["label"], d["device"], tuple(d["layer_names"])
        steps = list(d["steps"])
        accuracy = d.get("batch_accuracy") or [math.nan] * len(steps)
        m._steps = Series.of(steps, dtype=np.int64)
        m._loss, m._lr, m._accuracy = Series.of(d["batch_loss"]), Series.of(d["lr"]), Series.of(accuracy)
        if d["grad_norms"]:
            m._grads = Series.of(d["grad_norms"], width=len(d["grad_norms"][0]))
        m.epochs = [EpochEvent(**e) for e in d["epochs"]]
        fin = d.get("finished")
        m.finished = None if fin is None else RunFinished(**{**fin, "confusion": np.asarray(fin["confusion"],
                                                                                           np.int64)})
        return m


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
