"""Events the trainer emits: frozen dataclasses of plain floats and numpy arrays, safe to pass between threads.

Never put live tensors or the model in an event. ``run`` is the index of the run inside a race (0 for a single
run); ``label`` is the run's display name (the optimizer label for a race).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

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
    # what feature_maps() needs to rebuild the model's input from a [0, 1] image
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
    accuracy: float = math.nan  # training accuracy of this batch


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
    # a CPU copy of the model's state dict (numpy), for training.models.feature_maps() in a worker
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
