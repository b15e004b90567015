"""Checkpoints (model, optimizer, config and metrics of every run, one file) and metrics as CSV.

``save_checkpoint(path, trainer)`` after ``trainer.run``; ``load_checkpoint(path)`` gives a :class:`Checkpoint`
whose ``model(i)`` rebuilds run i's network with its weights. Files are read with ``torch.load(weights_only=True)``:
only tensors and plain containers, never code.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from optviz.training.config import ConfigError, TrainConfig
from optviz.training.events import EpochEvent, RunFinished, RunMetrics
from optviz.training.models import build_model

FORMAT = "optviz-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a readable optviz checkpoint: one line naming it."""


def metrics_to_dict(m: RunMetrics) -> dict[str, Any]:
    """Plain lists and numbers (what a checkpoint stores)."""
    fin = m.finished
    return {
        "label": m.label, "device": m.device, "layer_names": list(m.layer_names), "steps": list(m.steps),
        "batch_loss": list(m.batch_loss), "lr": list(m.lr), "batch_accuracy": list(m.batch_accuracy),
        "grad_norms": [np.asarray(g, np.float64).tolist() for g in m.grad_norms],
        "epochs": [dataclasses.asdict(e) for e in m.epochs],
        "finished": None if fin is None else {**dataclasses.asdict(fin), "confusion": fin.confusion.tolist()},
    }


def metrics_from_dict(d: dict[str, Any]) -> RunMetrics:
    fin = d.get("finished")
    return RunMetrics(
        label=d["label"], device=d["device"], layer_names=tuple(d["layer_names"]), steps=list(d["steps"]),
        batch_loss=list(d["batch_loss"]), lr=list(d["lr"]), batch_accuracy=list(d.get("batch_accuracy", [])),
        grad_norms=[np.asarray(g, np.float64) for g in d["grad_norms"]],
        epochs=[EpochEvent(**e) for e in d["epochs"]],
        finished=None if fin is None else RunFinished(**{**fin, "confusion": np.asarray(fin["confusion"], np.int64)}),
    )


def save_checkpoint(path: str, trainer) -> None:
    """Every run of ``trainer`` (after ``run``): weights, optimizer state, config, data statistics, metrics."""
    splits = trainer.splits
    data = {
        "format": FORMAT, "version": VERSION, "config": trainer.config.to_dict(),
        "data": {"classes": list(splits.classes), "mean": list(splits.mean), "std": list(splits.std),
                 "image_shape": list(splits.image_shape)},
        "runs": [{"label": r.label, "status": r.status, "step": r.step,
                  "model": {k: v.detach().cpu() for k, v in r.model.state_dict().items()},
                  "optimizer": r.optimizer.state_dict(), "metrics": metrics_to_dict(m)}
                 for r, m in zip(trainer.runs, trainer.metrics)],
    }
    torch.save(data, path)


@dataclass
class Checkpoint:
    config: TrainConfig
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_shape: tuple[int, int, int]
    runs: list[dict[str, Any]]  # label, status, step, model (state dict), optimizer (state dict), metrics (dict)

    def model(self, run: int = 0) -> nn.Module:
        """Run ``run``'s network with its saved weights, on the CPU, in eval mode."""
        c, h, _ = self.image_shape
        model = build_model(self.config, c, len(self.classes), h)
        model.load_state_dict(self.runs[run]["model"])
        return model.eval()

    def optimizer(self, model: nn.Module, run: int = 0) -> torch.optim.Optimizer:
        """Run ``run``'s optimizer over ``model``'s parameters, with its saved state (to continue training)."""
        from optviz.training.optimization import build_optimizer

        opt = build_optimizer(self.config.optimizers[run], [p for p in model.parameters() if p.requires_grad],
                              self.config)
        opt.load_state_dict(self.runs[run]["optimizer"])
        return opt

    def metrics(self, run: int = 0) -> RunMetrics:
        return metrics_from_dict(self.runs[run]["metrics"])


def load_checkpoint(path: str) -> Checkpoint:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found (expected an optviz checkpoint)") from None
    except Exception as exc:  # noqa: BLE001 — whatever torch.load trips on, the file is not a checkpoint
        raise CheckpointError(f"{path}: not an optviz checkpoint ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an optviz checkpoint (no {FORMAT!r} marker)")
    if data.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {data.get('version')!r}, this optviz reads {VERSION}")
    try:
        config = TrainConfig.from_dict(data["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{path}: bad config in checkpoint ({exc})") from None
    d = data["data"]
    return Checkpoint(config, tuple(d["classes"]), tuple(d["mean"]), tuple(d["std"]), tuple(d["image_shape"]),
                      list(data["runs"]))


def _epoch_of_steps(m: RunMetrics) -> list[int]:
    ends = [e.step for e in m.epochs]
    return [bisect.bisect_left(ends, s) for s in m.steps]


def write_metrics_csv(path: str, runs: Sequence[RunMetrics]) -> None:
    """One row per training step of every run; epoch metrics on the row of the epoch's last step; NaN left empty."""
    layers = list(runs[0].layer_names) if runs else []
    head = ["run", "label", "step", "epoch", "batch_loss", "lr", "batch_accuracy", "train_loss", "train_accuracy",
            "val_loss", "val_accuracy"] + [f"grad_norm:{name}" for name in layers]

    def cell(x: float) -> str:
        return "" if x is None or (isinstance(x, float) and not math.isfinite(x)) else repr(float(x))

    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(head)
        for i, m in enumerate(runs):
            by_step = {e.step: e for e in m.epochs}
            accuracy = m.batch_accuracy or [math.nan] * len(m.steps)
            for step, epoch, loss, lr, acc, norms in zip(m.steps, _epoch_of_steps(m), m.batch_loss, m.lr, accuracy,
                                                          m.grad_norms):
                e = by_step.get(step)
                ends = [e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy] if e else [None] * 4
                out.writerow([i, m.label, step, epoch, cell(loss), cell(lr), cell(acc), *map(cell, ends),
                              *map(cell, norms)])
