"""What a finished training hands back: frozen, on the CPU, with no live model, optimizer or dataset.

``Trainer.run`` returns a :class:`TrainResult`; it can cross threads, outlive the trainer, be written with
``checkpoint.save_checkpoint(path, result.config, result.runs, result.data)`` and rebuild every run's network.
A run's tensors (weights, optimizer state, weight trajectory) are kept in a file mapped into memory
(:func:`off_heap`), so the runs a training lab accumulates hold their bulk on disk, read when used.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from optviz.core.files import cache_root
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


MIN_OFF_HEAP = 1024  # elements: smaller tensors stay in memory (a mapping per run, not per bias)


def off_heap(value: Any, folder: str | os.PathLike | None = None) -> Any:
    """``value`` (tensors in dicts, lists, tuples and dataclasses such as a WeightPath) with its float32 CPU
    tensors of at least MIN_OFF_HEAP elements moved into ONE file of ``folder`` (default: the cache folder's
    ``runs``) that is mapped into memory and already deleted: pages are read when used and the OS may drop them
    again, the process's own memory keeps none of them, and nothing is left on disk after the process. ``value``
    itself where no such file can be written or mapped (a read-only or full disk)."""
    found: list[torch.Tensor] = []
    _collect(value, found)
    if not found or os.name != "posix":  # elsewhere a mapped file cannot be deleted while it is open
        return value
    name = None
    try:
        folder = Path(folder) if folder is not None else cache_root() / "runs"
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix="run-", suffix=".f32")
        with os.fdopen(fd, "wb") as fh:
            for t in found:
                fh.write(t.detach().contiguous().numpy().tobytes())
        mapped = torch.from_file(name, shared=False, size=sum(t.numel() for t in found), dtype=torch.float32)
    except (OSError, RuntimeError):
        return value
    finally:
        if name is not None:
            try:
                os.unlink(name)  # the mapping stays valid; the file goes with it
            except OSError:
                pass
    views, offset = {}, 0
    for t in found:
        views[id(t)] = mapped[offset:offset + t.numel()].view(t.shape)
        offset += t.numel()
    return _rebuild(value, views)


def _offered(v: Any) -> bool:
    return isinstance(v, torch.Tensor) and v.device.type == "cpu" and v.dtype == torch.float32 and \
        v.numel() >= MIN_OFF_HEAP


def _parts(v: Any) -> list:
    """What a container holds (dict values, list and tuple items, dataclass fields); [] for anything else."""
    if isinstance(v, dict):
        return list(v.values())
    if isinstance(v, (list, tuple)):
        return list(v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return [getattr(v, f.name) for f in dataclasses.fields(v)]
    return []


def _collect(v: Any, out: list[torch.Tensor]) -> None:
    if _offered(v):
        out.append(v)
    for x in _parts(v):
        _collect(x, out)


def _rebuild(v: Any, views: dict[int, torch.Tensor]) -> Any:
    if isinstance(v, torch.Tensor):
        return views.get(id(v), v)
    if isinstance(v, dict):
        return type(v)((k, _rebuild(x, views)) for k, x in v.items())
    if isinstance(v, (list, tuple)) and not hasattr(v, "_fields"):
        return type(v)(_rebuild(x, views) for x in v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return dataclasses.replace(v, **{f.name: _rebuild(getattr(v, f.name), views)
                                         for f in dataclasses.fields(v) if f.init})
    return v
