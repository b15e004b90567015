"""Events the trainer emits: frozen dataclasses of plain floats and numpy arrays, safe to pass between threads.

Never put live tensors or the model in an event. ``run`` is the index of the run inside a race (0 for a single
run); ``label`` is the run's display name (the optimizer label for a race).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np


@dataclass(frozen=True)
class RunStarted:
    run: int
    label: str
    device: str
    layer_names: tuple[str, ...]  # the layers whose gradient norms BatchEvent.grad_norms reports, input → output
    n_batches: int  # batches per epoch
    epochs: int
    n_train: int
    n_val: int
    n_test: int
    classes: tuple[str, ...]
    # added: what feature_maps() needs to rebuild the model's input from a [0, 1] image
    mean: tuple[float, ...] = ()  # per-channel normalisation, from the training split only
    std: tuple[float, ...] = ()
    image_shape: tuple[int, ...] = ()  # (C, H, W)
    fold: int | None = None  # the fold, in k-fold cross-validation (then run == fold)


@dataclass(frozen=True)
class BatchEvent:
    run: int
    step: int  # global step, from 1
    epoch: int  # from 0
    batch: int  # within the epoch, from 0
    loss: float  # training loss of this batch (data term + penalties)
    lr: float  # learning rate used for this step
    grad_norms: np.ndarray  # float64 (n_layers,), L2 norm of each layer's gradient before clipping
    samples_per_s: float
    accuracy: float = math.nan  # added: training accuracy of this batch


@dataclass(frozen=True)
class EpochEvent:
    run: int
    epoch: int  # from 0
    step: int  # global step at the end of the epoch
    train_loss: float  # mean over the epoch's batches
    train_accuracy: float  # fraction in [0, 1]
    val_loss: float  # nan when there is no validation set
    val_accuracy: float
    seconds: float  # wall time since the run started


@dataclass(frozen=True)
class Pictures:
    """What the training tab draws besides curves; taken from the model at the end of an epoch and of the run."""

    run: int
    epoch: int
    images: np.ndarray  # float32 (n, C, H, W) test images, un-normalised to [0, 1]
    labels: np.ndarray  # int64 (n,)
    predictions: np.ndarray  # int64 (n,)
    filters: np.ndarray | None  # float32 (out, in, kh, kw) first conv layer, None for an MLP
    # added: a CPU copy of the model's state dict (numpy), for training.models.feature_maps() in a worker
    weights: Mapping[str, np.ndarray] | None = None


@dataclass(frozen=True)
class RunFinished:
    run: int
    status: str  # "finished" | "stopped" | "diverged"
    step: int  # last step taken (for "diverged": the step whose loss was non-finite)
    test_loss: float  # nan when stopped before the end
    test_accuracy: float
    confusion: np.ndarray  # int64 (n_classes, n_classes), rows = true class, columns = predicted
    seconds: float
    message: str = ""


@dataclass(frozen=True)
class FoldFinished:
    """One fold of k-fold cross-validation."""

    fold: int
    val_loss: float
    val_accuracy: float


@dataclass(frozen=True)
class CrossValFinished:
    """The end of k-fold cross-validation: every fold's final validation scores, their mean and (population) std."""

    val_accuracies: tuple[float, ...]
    val_losses: tuple[float, ...]
    mean_accuracy: float
    std_accuracy: float
    mean_loss: float
    std_loss: float


Event = RunStarted | BatchEvent | EpochEvent | Pictures | RunFinished | FoldFinished | CrossValFinished


@dataclass
class RunMetrics:
    """Everything recorded about one run, built from its events (the CLI's JSON and the GUI's runs list read it)."""

    label: str = ""
    device: str = ""
    layer_names: tuple[str, ...] = ()
    steps: list[int] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    batch_accuracy: list[float] = field(default_factory=list)  # added
    grad_norms: list[np.ndarray] = field(default_factory=list)
    epochs: list[EpochEvent] = field(default_factory=list)
    finished: RunFinished | None = None

    def add(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.label, self.device, self.layer_names = event.label, event.device, event.layer_names
        elif isinstance(event, BatchEvent):
            self.steps.append(event.step)
            self.batch_loss.append(event.loss)
            self.lr.append(event.lr)
            self.batch_accuracy.append(event.accuracy)
            self.grad_norms.append(event.grad_norms)
        elif isinstance(event, EpochEvent):
            self.epochs.append(event)
        elif isinstance(event, RunFinished):
            self.finished = event

    def summary(self) -> dict[str, Any]:
        """JSON-ready results (NaN becomes None): what ``optviz train --json`` prints for a run."""
        fin = self.finished
        return {
            "label": self.label,
            "status": fin.status if fin else "running",
            "step": fin.step if fin else (self.steps[-1] if self.steps else 0),
            "message": fin.message if fin else "",
            "test_accuracy": _num(fin.test_accuracy) if fin else None,
            "test_loss": _num(fin.test_loss) if fin else None,
            "device": self.device,
            "seconds": _num(fin.seconds) if fin else None,
            "epochs": [{"train_loss": _num(e.train_loss), "val_loss": _num(e.val_loss),
                        "train_accuracy": _num(e.train_accuracy), "val_accuracy": _num(e.val_accuracy)}
                       for e in self.epochs],
            # the last step's gradient norm per layer, input → output (PlainNet vs ResNet: first ≪ last or not)
            "grad_norms": dict(zip(self.layer_names, (_num(float(g)) for g in self.grad_norms[-1])))
            if self.grad_norms else {},
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
