"""Optimizers from the registry, weight decay (L2 or decoupled), the L1 penalty and learning-rate schedules.

Weight decay, as ``TrainConfig.weight_decay``:

- L2 (``decoupled=False``): passed to the torch optimizer as its ``weight_decay``, i.e. ``g ← g + λ·w``; added to
  the optimizer's own ``weight_decay`` hyperparameter if that is set too.
- decoupled (``decoupled=True``): ``w ← w − lr·λ·w`` just before the optimizer's step, as torch's AdamW does; for
  Adam this is exactly AdamW.

L1: ``α·Σ|w|`` over every trainable parameter is added to the loss (so the reported loss includes it).

Schedules count time in epochs and update the learning rate after every batch (n batches per epoch, step s from 0,
base rate lr₀); with a warm-up of W steps the rate first rises as lr₀·(s+1)/(W+1) and the schedule then starts:

===========  =======================================  =========================================
none         lr₀
step         lr₀ · γ^⌊s / (step_size·n)⌋               torch StepLR
exponential  lr₀ · γ^(s/n)                             torch ExponentialLR with γ^(1/n) per batch
time         lr₀ / (1 + k·s/n)                         torch LambdaLR
cosine       η + (lr₀ − η)(1 + cos(π·s/T))/2           torch CosineAnnealingLR, T = all steps − W
===========  =======================================  =========================================
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch.optim import lr_scheduler

from optviz.core.optimizers import OptimizerChoice
from optviz.training.config import TrainConfig, schedule_values


def build_optimizer(choice: OptimizerChoice, params: Sequence[torch.nn.Parameter],
                    config: TrainConfig) -> torch.optim.Optimizer:
    """The registry's optimizer over ``params``, with the config's L2 weight decay added unless it is decoupled."""
    values = dict(choice.values)
    if not config.decoupled and config.weight_decay > 0:
        values["weight_decay"] = float(values.get("weight_decay", 0.0)) + config.weight_decay
    return choice.spec.build(params, values)


def decoupled_decay(optimizer: torch.optim.Optimizer, weight_decay: float) -> None:
    """``w ← w·(1 − lr·λ)`` for every parameter with a gradient (call just before ``optimizer.step()``)."""
    with torch.no_grad():
        for group in optimizer.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                torch._foreach_mul_(params, 1.0 - group["lr"] * weight_decay)


def l1_penalty(params: Sequence[torch.Tensor]) -> torch.Tensor:
    """Σ|w| over ``params``."""
    return torch.stack([p.abs().sum() for p in params]).sum()


def _main_schedule(optimizer: torch.optim.Optimizer, config: TrainConfig, n_batches: int,
                   total: int) -> lr_scheduler.LRScheduler:
    v = schedule_values(config)
    if config.schedule == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, round(v["step_size"] * n_batches)), gamma=v["gamma"])
    if config.schedule == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=v["gamma"] ** (1.0 / n_batches))
    if config.schedule == "time":
        k = v["k"]
        return lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 / (1.0 + k * s / n_batches))
    if config.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total), eta_min=v["eta_min"])
    return lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)


def warmup_steps(config: TrainConfig, n_batches: int) -> int:
    return int(round(config.warmup_epochs * n_batches))


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                    n_batches: int) -> lr_scheduler.LRScheduler | None:
    """The config's schedule, stepped once per batch, preceded by the linear warm-up if there is one; None for a
    constant rate."""
    total = config.epochs * n_batches
    warm = min(warmup_steps(config, n_batches), total)
    if config.schedule == "none" and warm == 0:
        return None
    main = _main_schedule(optimizer, config, n_batches, total - warm)
    if warm == 0:
        return main
    ramp = lr_scheduler.LinearLR(optimizer, start_factor=1.0 / (warm + 1), end_factor=1.0, total_iters=warm)
    return lr_scheduler.SequentialLR(optimizer, [ramp, main], milestones=[warm])


def expected_lr(config: TrainConfig, base: float, step: int, n_batches: int) -> float:
    """The closed form of the schedule: the learning rate used by step ``step`` (from 0); tests compare with it."""
    warm = min(warmup_steps(config, n_batches), config.epochs * n_batches)
    if step < warm:
        return base * (step + 1) / (warm + 1)
    s, v = step - warm, schedule_values(config)
    t = s / n_batches
    if config.schedule == "step":
        return base * v["gamma"] ** (s // max(1, round(v["step_size"] * n_batches)))
    if config.schedule == "exponential":
        return base * v["gamma"] ** t
    if config.schedule == "time":
        return base / (1.0 + v["k"] * t)
    if config.schedule == "cosine":
        T = max(1, config.epochs * n_batches - warm)
        return v["eta_min"] + (base - v["eta_min"]) * (1 + math.cos(math.pi * min(s, T) / T)) / 2
    return base
