"""A learning-rate sweep in one job: N copies of a network, one learning rate each, trained together.

Every copy starts from the same initial weights (the trainer's: the config's seed) and sees the same batches in
the same order; copy k differs from the others only by its learning rate ``lrs[k]`` (a log grid from
:func:`lr_grid`). Each copy has its own ``torch.optim`` optimizer (the registry's, so every update rule is torch's
own; on the stacked and vmap engines its fused implementation where torch has one: SGD, Adam, AdamW, Adagrad)
and schedule. Three engines compute the copies' losses and gradients:

- ``stacked`` (:mod:`optviz.training.stacked`): the copies' weights as stacked tensors and one hand-written
  forward and backward for all of them (the first layer, whose input is the same batch for every copy, as one
  matrix product; linear layers as ``bmm``; pooling without strided kernels); the optimizers step each copy's
  weights as one flat tensor. Plain stacks of layers only (LeNet, the MLP without BatchNorm or dropout); for other
  models it runs ``loop`` and says why (``LrSweep.note``). Copy k follows a single run at ``lrs[k]`` up to float
  rounding.
- ``vmap``: the copies stacked (``torch.func.stack_module_state``) and run as one batched network
  (``functional_call`` under ``vmap``): one forward and one backward a step for all copies, the optimizers working
  on views of the stacked weights. The sum of the copies' losses has, for each copy, exactly that copy's
  gradient, so copy k follows a single run at ``lrs[k]`` up to float rounding (tests: float32, a few steps).
- ``loop``: the copies as separate networks, one after the other on each batch — bit for bit single runs.

``auto`` takes vmap on CUDA and ``stacked`` on the CPU (the loop where stacked cannot run the model): on the CPU
``vmap`` turns each conv into a grouped conv, which measured slower than the separate convs it replaces, and the
stacked engine was fastest (benchmarks/lr_sweep.py prints all three against sequential runs).

A copy whose loss becomes non-finite, or more than :data:`DIVERGE_FACTOR` times the first step's loss (the same for
every copy: same weights, same batch), stops there ("diverged at step s", its weights put back to the last finite
ones, as the trainer does) while the others go on. With dropout, the loop gives each copy its own random stream (as
the runs of a race have), so a copy is still a single run; vmap shares one mask among the copies
(``randomness="same"``). BatchNorm copies keep their own running statistics.

:func:`sweep_lr` emits :class:`SweepStarted` then one :class:`SweepStep` per step (plain floats and arrays) and
returns a :class:`LrSweep`. ``final_train_loss`` is each copy's mean batch loss over the last
:data:`FINAL_WINDOW` steps (NaN for a diverged copy).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from optviz.core.optimizers import OptimizerChoice
from optviz.core.params import ParamError, Spec, quote
from optviz.training.config import ConfigError, TrainConfig, validate
from optviz.training.data import Loader, prepare
from optviz.training.models import build_model
from optviz.training.optimization import build_optimizer, build_scheduler, decoupled_decay, l1_penalty
from optviz.training.pooling import replace_pools
from optviz.training.stacked import StackedCopies, unsupported
from optviz.training.trainer import Control, describe_device, pick_device

COPIES = Spec("copies", "int", 8, 1, 32, title="Copies", doc="learning rates tried at once (copies of the model)")
FINAL_WINDOW = 50  # steps averaged for final_train_loss
DIVERGE_FACTOR = 10.0  # a copy has diverged when its loss is not finite or above this × the first step's loss


@dataclass(frozen=True)
class SweepStarted:
    lrs: np.ndarray  # (N,)
    label: str  # the optimizer, e.g. "adam"
    device: str
    n_batches: int  # per epoch
    epochs: int
    planned_steps: int


@dataclass(frozen=True)
class SweepStep:
    step: int  # from 1
    epoch: int  # from 0
    losses: np.ndarray  # (N,) float64 batch losses of this step; NaN for copies that have diverged
    diverged: tuple[int, ...] = ()  # copies that diverged at this step


@dataclass(frozen=True, eq=False)
class LrSweep:
    """The sweep at its end; ``losses[s, k]`` is copy k's batch loss at step s + 1 (NaN from its divergence)."""

    config: TrainConfig
    lrs: np.ndarray  # (N,)
    losses: np.ndarray  # (S, N)
    diverged_step: np.ndarray  # (N,) int64, 0 when the copy never diverged
    steps: int
    stopped: bool
    device: str
    seconds: float
    states: tuple[dict[str, torch.Tensor], ...] = ()  # each copy's final state dict (CPU)
    engine: str = "loop"
    note: str = ""  # why the engine asked for did not run, e.g. "stacked engine: BatchNorm (…); ran loop"

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_step > 0

    @property
    def final_train_loss(self) -> np.ndarray:
        """Mean batch loss of the last FINAL_WINDOW steps; NaN for diverged copies."""
        window = self.losses[-FINAL_WINDOW:]
        out = window.mean(0) if len(window) else np.full(len(self.lrs), np.nan)
        return np.where(self.diverged, np.nan, out)

    def best(self) -> int | None:
        """The copy with the lowest final training loss (None when every copy diverged)."""
        loss = self.final_train_loss
        return None if np.isnan(loss).all() else int(np.nanargmin(loss))

    def report(self) -> dict:
        """What ``optviz sweep-lr --json`` prints (NaN as null)."""
        def num(x: float) -> float | None:
            return None if not math.isfinite(x) else float(x)

        return {"lrs": [float(v) for v in self.lrs], "final_train_loss": [num(v) for v in self.final_train_loss],
                "diverged": [bool(v) for v in self.diverged],
                "diverged_step": [int(s) if s else None for s in self.diverged_step], "steps": self.steps,
                "best_lr": None if self.best() is None else float(self.lrs[self.best()]), "device": self.device,
                "engine": self.engine, "engine_note": self.note, "seconds": self.seconds}


def lr_grid(low: float, high: float, copies: int) -> np.ndarray:
    """``copies`` learning rates spaced evenly on a log scale from ``low`` to ``high``."""
    copies = COPIES.validate(copies)
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 or high <= 0:
        raise ParamError(f"Invalid learning-rate range: {low:g}:{high:g} (allowed: two numbers above 0, LOW:HIGH)")
    if copies > 1 and low >= high:
        raise ParamError(f"Invalid learning-rate range: {low:g}:{high:g} (allowed: LOW below HIGH)")
    return np.geomspace(low, high, copies) if copies > 1 else np.array([low])


def check_lrs(config: TrainConfig, lrs: Sequence[float]) -> TrainConfig:
    """The validated config (one optimizer) when every lr is allowed for it; ConfigError/ParamError otherwise."""
    config = validate(config)
    if len(config.optimizers) != 1:
        raise ConfigError(f"A learning-rate sweep trains one optimizer (got {len(config.optimizers)})")
    if config.kfold:
        raise ConfigError("A learning-rate sweep does not cross-validate (kfold 0)")
    COPIES.validate(len(lrs))
    choice = config.optimizers[0]
    for lr in lrs:
        choice.spec.resolve({**choice.values, "lr": float(lr)})  # the registry's message for a bad lr
    return config


class _Stacked:
    """The copies as one batched network: stacked weights, ``functional_call`` under ``vmap``."""

    def __init__(self, base: nn.Module, n: int, l1: float) -> None:
        params, self.buffers = stack_module_state([copy.deepcopy(base).train() for _ in range(n)])
        self.names, self.stacked = list(params), list(params.values())
        self.params, self.l1 = params, l1
        template = copy.deepcopy(base).to("meta").train()
        replace_pools(template)

        def loss_of(p: dict, b: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            loss = F.cross_entropy(functional_call(template, (p, b), (x,)), y)
            return loss + l1 * l1_penalty(list(p.values())) if l1 > 0 else loss

        self._batched = vmap(loss_of, in_dims=(0, 0, None, None), randomness="same")
        self.trainable = [[p.detach()[i] for p in self.stacked] for i in range(n)]  # views, for the optimizers
        self.state = [self.trainable[i] + [b[i] for b in self.buffers.values()] for i in range(n)]

    def losses(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Every copy's loss on (x, y), with the gradients left in the views' ``.grad``."""
        losses = self._batched(self.params, self.buffers, x, y)
        # copy i's loss depends on copy i's weights only. Laid out as the weights: vmap transposes the linear
        # layers' gradients, and fused optimizers read them as if it did not (one copy per tensor, not per view)
        grads = [g.contiguous() for g in torch.autograd.grad(losses.sum(), self.stacked)]
        for k, views in enumerate(self.trainable):
            for v, g in zip(views, grads):
                v.grad = g[k]
        return losses.detach()

    def stop(self, copies: list[int], optimizers: list[torch.optim.Optimizer]) -> None:
        """Copies that diverged: still computed (one batched call for all), no longer stepped."""

    def state_dict(self, i: int) -> dict[str, torch.Tensor]:
        return {**{k: p[i].detach().cpu().clone() for k, p in self.params.items()},
                **{k: b[i].detach().cpu().clone() for k, b in self.buffers.items()}}


class _Looped:
    """The copies as separate networks, each forward and backward in turn on the same batch (bit for bit a
    single run: the trainer's own computation)."""

    def __init__(self, base: nn.Module, n: int, l1: float) -> None:
        self.models = [copy.deepcopy(base).train() for _ in range(n)]
        self.l1 = l1
        self.trainable = [[p for p in m.parameters() if p.requires_grad] for m in self.models]
        self.state = [list(m.state_dict().values()) for m in self.models]
        self.live = np.ones(n, bool)
        self.device = next(base.parameters()).device
        self.rng = [self._get_rng() for _ in range(n)]  # each copy's own random stream (dropout), as in a race

    def _get_rng(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        cuda = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        return torch.get_rng_state(), cuda

    def _set_rng(self, state: tuple[torch.Tensor, torch.Tensor | None]) -> None:
        torch.set_rng_state(state[0])
        if state[1] is not None:
            torch.cuda.set_rng_state(state[1], self.device)

    def stop(self, copies: list[int], optimizers: list[torch.optim.Optimizer]) -> None:
        """Copies that diverged are not computed any more."""
        self.live[copies] = False

    def losses(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = torch.full((len(self.models),), math.nan, device=x.device)
        for i in np.flatnonzero(self.live):
            for p in self.trainable[i]:
                p.grad = None
            self._set_rng(self.rng[i])
            loss = F.cross_entropy(self.models[i](x), y)
            self.rng[i] = self._get_rng()
            if self.l1 > 0:
                loss = loss + self.l1 * l1_penalty(self.trainable[i])
            loss.backward()
            out[i] = loss.detach()
        return out

    def state_dict(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self.models[i].state_dict().items()}


ENGINES = ("auto", "stacked", "vmap", "loop")


def _optimizer(choice: OptimizerChoice, params: list[torch.Tensor], config: TrainConfig,
               fused: bool) -> torch.optim.Optimizer:
    """A copy's torch.optim optimizer. ``fused``: torch's fused implementation where it has one for this rule and
    device (SGD, Adam, AdamW, Adagrad: one kernel per step instead of one per operation, 3× faster for Adam on
    LeNet's weights on the CPU, and one launch instead of dozens on CUDA; the same update to float rounding),
    else the plain one, which the loop engine always takes (its copies are single runs bit for bit)."""
    if fused and "fused" in inspect.signature(choice.spec.torch_class.__init__).parameters:
        try:
            return build_optimizer(choice, params, config, fused=True)
        except RuntimeError:  # no fused kernel for this device or dtype
            pass
    return build_optimizer(choice, params, config)


def sweep_lr(config: TrainConfig, lrs: Sequence[float], on_event: Callable[[object], None] | None = None,
             control: Control | None = None, *, engine: str = "auto") -> LrSweep:
    """Train ``len(lrs)`` copies of ``config``'s model with ``config.optimizers[0]`` at each lr (module doc).

    ``engine``: "stacked" (stacked weights, hand-written batched forward and backward; the loop for models it
    cannot run, with the reason in ``note``), "vmap" (one batched network), "loop" (the copies in turn), "auto":
    vmap on CUDA, stacked on the CPU (the fastest there: benchmarks/lr_sweep.py).
    """
    cfg = check_lrs(config, lrs)
    if engine not in ENGINES:
        raise ParamError(f"Invalid engine: {quote(engine)} (allowed: {', '.join(ENGINES)})")
    control = control or Control()
    emit = on_event or (lambda _e: None)
    lrs = np.asarray(lrs, np.float64)
    n = len(lrs)
    t0 = time.perf_counter()
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)  # as the trainer: the same initial weights and batches as a single run
    splits = prepare(cfg)
    loader = Loader(splits.train, splits.mean, splits.std, batch_size=cfg.batch_size, device=device, shuffle=True,
                    augment=cfg.augment, seed=cfg.seed)
    c, h, _ = splits.image_shape
    base = build_model(cfg, c, len(splits.classes), h).to(device)
    choice = cfg.optimizers[0]
    if engine == "auto":
        engine = "vmap" if device.type == "cuda" else "stacked"
    note = ""
    if engine == "stacked" and (why := unsupported(base)):
        engine, note = "loop", f"stacked engine: {why}; ran loop"
    if engine == "stacked":
        copies = StackedCopies(base, n, cfg.l1, choice.spec.torch_class)
    else:
        copies = (_Stacked if engine == "vmap" else _Looped)(base, n, cfg.l1)
    optimizers, schedulers = [], []
    for i in range(n):
        one = dataclasses.replace(choice, values={**choice.values, "lr": float(lrs[i])})
        opt = _optimizer(one, copies.trainable[i], cfg, fused=engine != "loop")
        optimizers.append(opt)
        schedulers.append(build_scheduler(opt, cfg, len(loader)))
    backup = [[t.detach().clone() for t in state] for state in copies.state]
    planned = cfg.epochs * len(loader) if not cfg.max_steps else min(cfg.max_steps, cfg.epochs * len(loader))
    emit(SweepStarted(lrs.copy(), choice.label, describe_device(device), len(loader), cfg.epochs, planned))
    live = np.ones(n, bool)
    diverged_step = np.zeros(n, np.int64)
    history: list[np.ndarray] = []
    step, stopped, limit = 0, False, math.inf
    for epoch in range(cfg.epochs):
        for x, y in loader:
            if control.wait():
                stopped = True
                break
            step += 1
            values = copies.losses(x, y).double().cpu().numpy()
            if step == 1:
                finite = values[np.isfinite(values)]
                limit = DIVERGE_FACTOR * float(finite.max()) if finite.size else math.inf
            new = [int(i) for i in np.flatnonzero(live) if not values[i] <= limit]  # NaN too
            with torch.no_grad():
                for i in new:  # stop there, with the last weights (and statistics) whose loss was acceptable
                    live[i] = False
                    diverged_step[i] = step
                    torch._foreach_copy_(copies.state[i], backup[i])
                if new:
                    copies.stop(new, optimizers)
                for i in np.flatnonzero(live):
                    torch._foreach_copy_(backup[i], copies.state[i])
                    if cfg.clip_grad:
                        nn.utils.clip_grad_norm_(copies.trainable[i], cfg.clip_grad)
                    if cfg.decoupled and cfg.weight_decay > 0:
                        decoupled_decay(optimizers[i], cfg.weight_decay)
                    optimizers[i].step()
                    if schedulers[i] is not None:
                        schedulers[i].step()
            values = np.where(live, values, np.nan)
            history.append(values)
            emit(SweepStep(step, epoch, values, tuple(new)))
            if not live.any() or (cfg.max_steps and step >= cfg.max_steps):
                break
        if stopped or not live.any() or (cfg.max_steps and step >= cfg.max_steps):
            break
    losses_all = np.array(history).reshape(len(history), n)
    states = tuple(copies.state_dict(i) for i in range(n))
    return LrSweep(cfg, lrs, losses_all, diverged_step, step, stopped, describe_device(device),
                   time.perf_counter() - t0, states, engine, note)
