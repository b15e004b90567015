"""The trainer: runs one config — one optimizer, or several racing — and reports everything as events.

Public API (no Qt; the training tab runs it in a worker thread)::

    from optviz.training.config import TrainConfig, validate, problems
    from optviz.training.trainer import Trainer, Control

    config = TrainConfig(model="lenet", optimizers=(OptimizerChoice("adam"), OptimizerChoice("sgd", {"lr": 0.1})))
    control = Control()                       # keep it in the GUI thread
    trainer = Trainer(config)                 # ConfigError (a ValueError, one line) if the config cannot run
    result = trainer.run(on_event, control)   # in the worker; blocks until the run ends; a TrainResult

    control.pause(); control.resume(); control.stop()   # from any thread; honoured between batches

``on_event(event)`` is called in the worker thread with the frozen dataclasses of :mod:`optviz.training.events`
(plain floats and numpy arrays, safe to hand to another thread), in this order:

- ``RunStarted`` once per run (``run`` = index in the race, ``label`` = the optimizer's label, ``device``,
  ``layer_names`` for the gradient norms, batches per epoch, split sizes, class names, normalisation);
- per batch, for each run in turn (the runs of a race advance together, batch by batch): ``BatchEvent`` with the
  training loss, learning rate, per-layer gradient norms (before clipping), samples/s and batch accuracy;
- per epoch, for each run: ``EpochEvent`` (train/validation loss and accuracy) then ``Pictures`` (predictions for
  16 test images, first conv filters, a CPU state-dict snapshot for ``models.feature_maps``);
- ``RunFinished`` per run: status "finished" (with test loss, accuracy and confusion matrix, after a last
  ``Pictures``), "stopped" (``control.stop()``; test values NaN) or "diverged" (non-finite loss: ``step`` is that
  step, the run keeps the last weights whose loss was finite, the other runs of a race go on).

Every run also ends with a ``Pictures``, whatever its status (a diverged run's shows the weights it kept).
Exceptions from ``on_event`` (and DatasetError for a bad file) propagate out of ``run``. Every run of a race
starts from the same initial weights and sees the same batches in the same order (and the same augmentation); on
the CPU, the same seed and config give the same numbers. ``config.max_steps`` ends the runs early as "finished".

Around it:

- ``config.problems(config)`` → one line per problem (tooltips); ``config.validate(config)`` raises the first;
  ``TrainConfig.to_dict()`` / ``TrainConfig.from_dict(d)`` for session files.
- ``crossval.cross_validate(config, on_event, control)`` for ``config.kfold`` ≥ 2: the same events with
  ``run = fold``, plus ``FoldFinished`` per fold and ``CrossValFinished`` (mean ± std) at the end.
- ``models.feature_maps(config, pictures.weights, pictures.images[i], mean=started.mean, std=started.std)`` →
  ``[(conv layer name, (C, h, w) float32)]``, on the CPU, in a worker.
- ``run`` returns a frozen :class:`~optviz.training.results.TrainResult`: the config, the data statistics and per
  run a :class:`~optviz.training.results.RunResult` (CPU copies of the weights and optimizer state, the
  run's :class:`~optviz.training.metrics.RunMetrics` and its bounded weight trajectory, ``trajectory.py``). It holds no live model and can cross threads;
  ``checkpoint.save_checkpoint(path, result.config, result.runs, result.data)`` / ``load_checkpoint(path)`` and
  ``checkpoint.write_metrics_csv(path, result.metrics)``. ``trainer.runs`` keeps the live models (for tests).
"""

from __future__ import annotations

import copy
import os
import threading
import time
from typing import Callable, Iterator

import numpy as np
import torch

from optviz.core.devices import cuda_available
from optviz.training.config import TrainConfig, validate
from optviz.training.data import Loader, Splits, prepare
from optviz.training.events import EpochEvent, Event, Pictures, RunFinished, RunStarted
from optviz.training.metrics import RunMetrics
from optviz.training.models import build_model
from optviz.training.results import DataStats, RunResult, TrainResult, cpu_copy, off_heap
from optviz.training.runstate import RunState, confusion_matrix
from optviz.training.trajectory import Trajectory, WeightPath

N_PICTURES = 16  # test images in the predictions grid


def training_threads() -> int:
    """Intra-op threads for training on the CPU: every core but one (the GUI's, or the rest of the machine's).

    torch's intra-op threads meet at a barrier after every op, so one preempted thread stalls them all: on 2 busy
    cores, LeNet trained at ~4000 samples/s with 1 thread and ~100–700 with 2 (benchmarks/plot_refresh.py), and the
    CLI with torch's default was 20–50× slower than the GUI. The CLI and the GUI share this one policy.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 2
    return max(1, cores - 1)


def use_training_threads(config: TrainConfig) -> None:
    """Apply :func:`training_threads` when ``config`` trains on the CPU (call in the training's thread)."""
    if config.device == "cpu" or (config.device == "auto" and not cuda_available()):
        torch.set_num_threads(training_threads())


def out_of_memory(exc: BaseException, config: TrainConfig) -> str:
    """What to tell the user when ``exc`` is torch's out-of-memory error (on the GPU or the CPU), else ""."""
    text = str(exc).lower()
    if not (isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in text):
        return ""
    gpu = isinstance(exc, torch.OutOfMemoryError) or "cuda" in text
    return (f"Out of memory on {'the GPU' if gpu else 'this machine'} (batch size {config.batch_size}, model "
            f"{config.model}, width {config.width}): try a smaller batch size, a narrower or shallower model"
            + (", or the CPU" if gpu else ""))


class Control:
    """Stop / pause / resume a run from another thread; the trainer checks it between batches."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._stopped = False
        self._paused = False

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def paused(self) -> bool:
        return self._paused

    def wait(self) -> bool:
        """Block while paused; True when the run should stop."""
        with self._cond:
            while self._paused and not self._stopped:
                self._cond.wait()
            return self._stopped


def pick_device(name: str) -> torch.device:
    """"auto" → CUDA when available, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """``cpu`` or ``cuda:0 (NVIDIA H100 80GB HBM3)``."""
    if device.type != "cuda":
        return device.type
    index = device.index if device.index is not None else torch.cuda.current_device()
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"


def run_labels(config: TrainConfig) -> list[str]:
    """Display labels of the runs, made unique (a race of ``adam`` and ``adam:lr=0.01`` keeps both apart)."""
    labels = [c.label for c in config.optimizers]
    out = []
    for i, (label, choice) in enumerate(zip(labels, config.optimizers)):
        if labels.count(label) > 1:
            changed = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in choice.changed().items())
            label = f"{choice.name}:{changed}" if changed else choice.name
            label = label if label not in out else f"{label} #{i + 1}"
        out.append(label)
    return out


class Trainer:
    """Trains ``config``; see the module docstring for the events and the threading contract."""

    def __init__(self, config: TrainConfig, *, splits: Splits | None = None, fold: int | None = None) -> None:
        self.config = validate(config)
        self.fold = fold  # set by cross-validation: events then carry run = fold
        self.splits = splits
        self.device = pick_device(self.config.device)
        self.runs: list[RunState] = []
        self._metrics: list[RunMetrics] = []

    def run(self, on_event: Callable[[Event], None] | None = None, control: Control | None = None) -> TrainResult:
        """Train every run to its end; the events go to ``on_event`` as they happen (see the module docstring)."""
        cfg, control = self.config, control or Control()
        torch.manual_seed(cfg.seed)
        splits = self.splits = self.splits or prepare(cfg)
        loaders = self._loaders(splits)
        self._make_runs(splits, len(loaders["train"]))
        self._metrics = [RunMetrics() for _ in self.runs]
        t0 = time.perf_counter()

        def emit(event: Event) -> None:
            self._metrics[event.run - (self.fold or 0)].add(event)
            if on_event is not None:
                on_event(event)

        self._emit, self._t0, self._epoch = emit, t0, 0
        for r in self.runs:
            emit(RunStarted(r.index, r.label, describe_device(self.device), r.layer_names, len(loaders["train"]),
                            cfg.epochs, len(splits.train[1]), len(splits.val[1]), len(splits.test[1]), splits.classes,
                            splits.mean, splits.std, splits.image_shape, self.fold))
        stopped = self._epochs(loaders, control)
        for r in self._live():
            self._finish(r, loaders, "stopped" if stopped else "finished")
        return self._result(splits, time.perf_counter() - t0)

    def _result(self, splits: Splits, seconds: float) -> TrainResult:
        runs = []
        for i, (r, m) in enumerate(zip(self.runs, self._metrics)):  # each run's tensors in one mapped file
            weights, state, path = off_heap((cpu_copy(r.model.state_dict()), cpu_copy(r.optimizer.state_dict()),
                                             self._path(i)))
            runs.append(RunResult(r.label, r.status, r.step, weights, state, m, path))
        data = DataStats(tuple(splits.classes), tuple(splits.mean), tuple(splits.std), tuple(splits.image_shape))
        return TrainResult(self.config, data, tuple(runs), describe_device(self.device), seconds)

    # ---- setup ----------------------------------------------------------------------------------------------

    def _loaders(self, splits: Splits) -> dict[str, Loader]:
        cfg, dev = self.config, self.device
        eval_batch = max(256, cfg.batch_size)
        loaders = {
            "train": Loader(splits.train, splits.mean, splits.std, batch_size=cfg.batch_size, device=dev,
                            shuffle=True, augment=cfg.augment, seed=cfg.seed),
            "val": Loader(splits.val, splits.mean, splits.std, batch_size=eval_batch, device=dev),
            "test": Loader(splits.test, splits.mean, splits.std, batch_size=eval_batch, device=dev),
        }
        shown = next((p for p in (splits.test, splits.val, splits.train) if len(p[1])), splits.train)
        self._shown = Loader((shown[0][:N_PICTURES], shown[1][:N_PICTURES]), splits.mean, splits.std,
                             batch_size=N_PICTURES, device=dev)
        return loaders

    def _make_runs(self, splits: Splits, n_batches: int) -> None:
        c, h, _ = splits.image_shape
        base = build_model(self.config, c, len(splits.classes), h).to(self.device)
        labels = run_labels(self.config)
        offset = self.fold or 0  # in cross-validation, run = fold
        self.runs = [RunState(offset + i, choice, labels[i], copy.deepcopy(base), self.config, n_batches)
                     for i, choice in enumerate(self.config.optimizers)]
        self._trajectories = [Trajectory(r.model) for r in self.runs]  # bounded: see trajectory.MAX_SNAPSHOTS
        for r, t in zip(self.runs, self._trajectories):
            t.offer(0, r.params)

    def _path(self, i: int) -> WeightPath:
        """Run i's weight trajectory, ending with its final weights (a diverged run's: the last finite ones,
        taken two updates before the step whose loss was not finite)."""
        r = self.runs[i]
        return self._trajectories[i].result(max(0, r.step - 2) if r.status == "diverged" else r.step, r.params)

    def _live(self) -> list[RunState]:
        return [r for r in self.runs if r.running]

    # ---- the loop -------------------------------------------------------------------------------------------

    def _batches(self, loader: Loader) -> Iterator[tuple[int, torch.Tensor, torch.Tensor, float]]:
        """(batch, x, y, seconds spent fetching it)."""
        it = iter(loader)
        for batch in range(len(loader)):
            t = time.perf_counter()
            x, y = next(it)
            yield batch, x, y, time.perf_counter() - t

    def _epochs(self, loaders: dict[str, Loader], control: Control) -> bool:
        """Every epoch of every live run; True when stopped by ``control``."""
        race = len(self.runs) > 1
        for epoch in range(self.config.epochs):
            self._epoch = epoch
            for r in self._live():
                r.begin_epoch()
            for batch, x, y, data_seconds in self._batches(loaders["train"]):
                if control.wait():
                    return True
                for r in self._live():
                    if race:
                        r.set_rng(r.rng_state)
                    event = r.train_step(x, y, epoch, batch, data_seconds)
                    if race:
                        r.rng_state = r.get_rng()
                    if event is None:
                        self._finish(r, loaders, "diverged")
                    else:
                        self._trajectories[r.index - (self.fold or 0)].offer(r.step, r.params)
                        self._emit(event)
                if not self._live():
                    return False
                if self.config.max_steps and batch + 1 + epoch * len(loaders["train"]) >= self.config.max_steps:
                    break
            for r in self._live():
                self._end_epoch(r, epoch, loaders)
            if self.config.max_steps and (epoch + 1) * len(loaders["train"]) >= self.config.max_steps:
                break
        return False

    def _end_epoch(self, r: RunState, epoch: int, loaders: dict[str, Loader]) -> None:
        train_loss, train_acc = r.epoch_train_metrics()
        val_loss, val_acc, _, _ = r.evaluate(loaders["val"])
        self._emit(EpochEvent(r.index, epoch, r.step, train_loss, train_acc, val_loss, val_acc,
                              time.perf_counter() - self._t0))
        self._emit(self._pictures(r, epoch))

    def _pictures(self, r: RunState, epoch: int) -> Pictures:
        shown = self._shown
        return r.pictures(epoch, shown.images, shown.normalise(shown.images), shown.labels)

    def _finish(self, r: RunState, loaders: dict[str, Loader], status: str) -> None:
        n = len(self.splits.classes)
        test_loss = test_acc = float("nan")
        confusion = np.zeros((n, n), np.int64)
        if status == "finished":
            test_loss, test_acc, labels, preds = r.evaluate(loaders["test"])
            confusion = confusion_matrix(labels, preds, n)
        self._emit(self._pictures(r, self._epoch))
        if r.status == "running":
            r.status = status
        self._emit(RunFinished(r.index, r.status, r.step, test_loss, test_acc, confusion,
                               time.perf_counter() - self._t0, r.message))
