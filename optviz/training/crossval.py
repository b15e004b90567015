"""k-fold cross-validation: train one config k times, each fold of the training pool once the validation set.

The test split is held out as usual (and each fold's run still reports its test scores). Every fold's events
carry ``run = fold`` (and ``RunStarted.fold``), so the training tab can draw the folds as separate curves; after
each fold a ``FoldFinished`` and at the end a ``CrossValFinished`` with the mean and (population) std.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np

from optviz.training.config import ConfigError, TrainConfig, validate
from optviz.training.data import kfold_splits
from optviz.training.events import CrossValFinished, Event, FoldFinished
from optviz.training.metrics import RunMetrics
from optviz.training.trainer import Control, Trainer


@dataclass(frozen=True)
class CrossValResult:
    folds: tuple[RunMetrics, ...]
    summary: CrossValFinished
    device: str
    seconds: float


def cross_validate(config: TrainConfig, on_event: Callable[[Event], None] | None = None,
                   control: Control | None = None) -> CrossValResult:
    """Run the ``config.kfold`` folds one after another (a stop ends the current fold and skips the rest)."""
    config = validate(config)
    if config.kfold < 2:
        raise ConfigError(f"Invalid kfold: {config.kfold} (allowed: an integer in [2, 100] for cross-validation)")
    control = control or Control()
    emit = on_event or (lambda event: None)
    folds: list[RunMetrics] = []
    seconds, device = 0.0, ""
    for fold, splits in enumerate(kfold_splits(config)):
        if control.stopped:
            break
        result = Trainer(dataclasses.replace(config, kfold=0), splits=splits, fold=fold).run(emit, control)
        metrics = result.runs[0].metrics
        seconds += result.seconds
        device = result.device
        folds.append(metrics)
        last = metrics.epochs[-1] if metrics.epochs else None
        emit(FoldFinished(fold, last.val_loss if last else float("nan"), last.val_accuracy if last else float("nan")))
    summary = _summary(folds)
    emit(summary)
    return CrossValResult(tuple(folds), summary, device, seconds)


def _summary(folds: list[RunMetrics]) -> CrossValFinished:
    acc = np.array([m.epochs[-1].val_accuracy if m.epochs else np.nan for m in folds], np.float64)
    loss = np.array([m.epochs[-1].val_loss if m.epochs else np.nan for m in folds], np.float64)

    def stats(x: np.ndarray) -> tuple[float, float]:
        return (float(x.mean()), float(x.std())) if len(x) else (float("nan"), float("nan"))

    (mean_acc, std_acc), (mean_loss, std_loss) = stats(acc), stats(loss)
    return CrossValFinished(tuple(acc.tolist()), tuple(loss.tolist()), mean_acc, std_acc, mean_loss, std_loss)
