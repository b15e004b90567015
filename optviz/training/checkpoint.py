"""Checkpoints (model, optimizer, config and metrics of every run, one file) and metrics as CSV.

``save_checkpoint(path, config, runs, data)`` with what a training handed back (``result = trainer.run()``:
``result.config, result.runs, result.data``); ``load_checkpoint(path)`` gives a :class:`Checkpoint` whose
``model(i)`` rebuilds run i's network with its weights. Files are read with ``torch.load(weights_only=True)``:
only tensors and plain containers, never code. Each run also holds its bounded weight trajectory
(``trajectory.WeightPath``, read with ``Checkpoint.trajectory(i)``; absent from older files, which still load).
"""

from __future__ import annotations

import csv
import io
import math
import pickle
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn

from optviz.core.files import write_atomic
from optviz.training.config import ConfigError, TrainConfig
from optviz.training.metrics import RunMetrics
from optviz.training.results import DataStats, RunResult, load_model
from optviz.training.trajectory import WeightPath

FORMAT = "optviz-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a readable optviz checkpoint: one line naming it."""


def save_checkpoint(path: str, config: TrainConfig, runs: Sequence[RunResult], data: DataStats) -> None:
    """``runs`` trained with ``config`` on ``data``: weights, optimizer state and metrics of each, in one file.

    ``config.optimizers[i]`` is run i's optimizer (save one run of a race with ``results.one_run(config, i)``).
    """
    if len(runs) != len(config.optimizers):
        raise ValueError(f"{len(runs)} run(s) to save but the config lists {len(config.optimizers)} optimizer(s)")
    payload = {
        "format": FORMAT, "version": VERSION, "config": config.to_dict(),
        "data": {"classes": list(data.classes), "mean": list(data.mean), "std": list(data.std),
                 "image_shape": list(data.image_shape)},
        "runs": [{"label": r.label, "status": r.status, "step": r.step, "model": dict(r.model_state),
                  "optimizer": r.optimizer_state, "metrics": r.metrics.to_dict(),
                  **({"trajectory": r.trajectory.to_dict()} if r.trajectory is not None else {})} for r in runs],
    }
    write_atomic(path, lambda fh: torch.save(payload, fh))  # OutputError naming the file; the old file stays


@dataclass
class Checkpoint:
    config: TrainConfig
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_shape: tuple[int, int, int]
    runs: list[dict[str, Any]]  # label, status, step, model (state dict), optimizer (state dict), metrics (dict)

    @property
    def data(self) -> DataStats:
        return DataStats(self.classes, self.mean, self.std, self.image_shape)

    def model(self, run: int = 0) -> nn.Module:
        """Run ``run``'s network with its saved weights, on the CPU, in eval mode."""
        return load_model(self.config, self.data, self.runs[run]["model"])

    def optimizer(self, model: nn.Module, run: int = 0) -> torch.optim.Optimizer:
        """Run ``run``'s optimizer over ``model``'s parameters, with its saved state (to continue training)."""
        from optviz.training.optimization import build_optimizer

        opt = build_optimizer(self.config.optimizers[run], [p for p in model.parameters() if p.requires_grad],
                              self.config)
        opt.load_state_dict(self.runs[run]["optimizer"])
        return opt

    def metrics(self, run: int = 0) -> RunMetrics:
        return RunMetrics.from_dict(self.runs[run]["metrics"])

    def trajectory(self, run: int = 0) -> WeightPath | None:
        """Run ``run``'s saved weight trajectory (checked against its network by ``load_checkpoint``); None in
        files written before trajectories were saved."""
        saved = self.runs[run].get("trajectory")
        return None if saved is None else WeightPath.from_dict(saved)

    def result(self, run: int = 0) -> RunResult:
        """Run ``run`` as a :class:`RunResult` (what a training hands back), e.g. for the landscape."""
        r = self.runs[run]
        return RunResult(r["label"], r["status"], r["step"], r["model"], r["optimizer"], self.metrics(run),
                         self.trajectory(run))


def _unreadable(path: str, exc: Exception) -> str:
    """Why torch.load could not read ``path``, in a user's words."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except IsADirectoryError:
        return "a folder, not a file"
    except OSError as err:
        return err.strerror or type(err).__name__
    if not head:
        return "the file is empty"
    if head != b"PK\x03\x04":  # torch.save writes a zip archive
        return "not a file written by torch.save"
    if isinstance(exc, pickle.UnpicklingError):
        return "it holds objects other than tensors and plain data, which optviz never writes"
    return "the file is damaged or incomplete"


def load_checkpoint(path: str) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint``; CheckpointError (one line naming the file) otherwise."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found (expected an optviz checkpoint)") from None
    except Exception as exc:  # noqa: BLE001 — whatever torch.load trips on, the file is not a checkpoint
        raise CheckpointError(f"{path}: not an optviz checkpoint ({_unreadable(path, exc)})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an optviz checkpoint (no {FORMAT!r} marker)")
    if data.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {data.get('version')!r}, this optviz reads {VERSION}")
    try:
        config = TrainConfig.from_dict(data["config"])
        d = data["data"]
        checkpoint = Checkpoint(config, tuple(d["classes"]), tuple(d["mean"]), tuple(d["std"]),
                                tuple(d["image_shape"]), list(data["runs"]))
        if len(checkpoint.runs) != len(config.optimizers) or not checkpoint.runs:
            raise ValueError(f"{len(checkpoint.runs)} runs for {len(config.optimizers)} optimizers")
        for i in range(len(checkpoint.runs)):
            model = _fitting_model(checkpoint, i)  # the weights must fit the config's network
            saved = checkpoint.trajectory(i)
            if saved is not None:
                saved.check_fits(model)
    except ConfigError as exc:
        raise CheckpointError(f"{path}: bad config in checkpoint ({exc})") from None
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc).strip().splitlines()[0][:160]
        raise CheckpointError(f"{path}: damaged optviz checkpoint ({what})") from None
    return checkpoint


def _fitting_model(checkpoint: Checkpoint, run: int) -> nn.Module:
    """Run ``run``'s network; ValueError saying which weights do not fit the config's model."""
    try:
        return checkpoint.model(run)
    except RuntimeError as exc:  # load_state_dict: "Error(s) in loading state_dict…" then the details
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        detail = (lines[1] if len(lines) > 1 else lines[0] if lines else "")[:160]
        raise ValueError(f"run {run}'s weights do not fit model {checkpoint.config.model}: {detail}") from None


def write_metrics_csv(path: str, runs: Sequence[RunMetrics]) -> None:
    """One row per training step of every run; epoch metrics on the row of the epoch's last step; NaN left empty."""
    layers = list(runs[0].layer_names) if runs else []
    head = ["run", "label", "step", "epoch", "batch_loss", "lr", "batch_accuracy", "train_loss", "train_accuracy",
            "val_loss", "val_accuracy"] + [f"grad_norm:{name}" for name in layers]

    def cell(x: float | None) -> str:
        return "" if x is None or not math.isfinite(x) else repr(float(x))

    fh = io.StringIO(newline="")
    out = csv.writer(fh)
    out.writerow(head)
    for i, m in enumerate(runs):
        by_step = {e.step: e for e in m.epochs}
        columns = zip(m.steps.tolist(), m.epoch_of_steps().tolist(), m.batch_loss.tolist(), m.lr.tolist(),
                      m.batch_accuracy.tolist(), m.grad_norms.tolist())
        for step, epoch, loss, lr, acc, norms in columns:
            e = by_step.get(step)
            ends = [e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy] if e else [None] * 4
            out.writerow([i, m.label, step, epoch, cell(loss), cell(lr), cell(acc), *map(cell, ends),
                          *map(cell, norms)])
    write_atomic(path, fh.getvalue())
