"""What a finished training hands back: frozen, on the CPU, with no live model, optimizer or dataset.

``Trainer.run`` returns a :class:`TrainResult`; it can cross threads, outlive the trainer, be written with
``checkpoint.save_checkpoint(path, result.config, result.runs, result.data)`` and rebuild every run's network.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

import torch
from torch import nn

from optviz.training.config import TrainConfig
from optviz.training.metrics import RunMetrics
from optviz.training.models import build_model
from optviz.training.trajectory import WeightPath


@dataclass(frozen=True)
class DataStats:
    """What a model needs to know about its data: class names, normalisation (training split), input shape."""

    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_shape: tuple[int, int, int]  # (C, H, W)


@dataclass(frozen=True, eq=False)  # tensors do not compare to one bool
class RunResult:
    """One run at its end: CPU copies of its weights and optimizer state, and its metrics."""

    label: str
    status: str  # "finished" | "stopped" | "diverged" (a diverged run keeps its last finite weights)
    step: int
    model_state: Mapping[str, torch.Tensor]
    optimizer_state: Mapping[str, Any]
    metrics: RunMetrics
    trajectory: WeightPath | None = None  # bounded snapshots of the weights (trajectory.py), for the landscape


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Every run of one training (one optimizer, or a race) and what it was trained with."""

    config: TrainConfig
    data: DataStats
    runs: tuple[RunResult, ...]
    device: str
    seconds: float

    @property
    def metrics(self) -> list[RunMetrics]:
        return [r.metrics for r in self.runs]

    def model(self, run: int = 0) -> nn.Module:
        """Run ``run``'s network with its final weights, on the CPU, in eval mode."""
        return load_model(self.config, self.data, self.runs[run].model_state)

    def alone(self, run: int, metrics: RunMetrics | None = None) -> TrainResult:
        """Run ``run`` on its own, the config narrowed to its optimizer (a race's run saved alone); ``metrics``
        replaces the trainer's record of it by another record of the same events (the training tab's)."""
        one = self.runs[run] if metrics is None else dataclasses.replace(self.runs[run], metrics=metrics)
        config = dataclasses.replace(self.config, optimizers=(self.config.optimizers[run],))
        return dataclasses.replace(self, config=config, runs=(one,))


def load_model(config: TrainConfig, data: DataStats, state: Mapping[str, torch.Tensor]) -> nn.Module:
    """A network built from ``config`` for ``data``, with the weights ``state``, on the CPU, in eval mode."""
    c, h, _ = data.image_shape
    model = build_model(config, c, len(data.classes), h)
    model.load_state_dict(state)
    return model.eval()


def cpu_copy(value: Any) -> Any:
    """``value`` with every tensor detached and copied to the CPU (state dicts: nested dicts, lists, tuples)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: cpu_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(cpu_copy(v) for v in value)
    return value
