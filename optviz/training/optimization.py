"""Optimizers from the registry, weight decay (L2 or decoupled), the L1 penalty and learning-rate schedules.

Weight decay is the training's own setting, ``TrainConfig.weight_decay`` (an optimizer entry of a training keeps its
``weight_decay`` hyperparameter at 0; see ``config``):

- L2 (``decoupled=False``): passed to the torch optimizer as its ``weight_decay``, i.e. ``g ← g + λ·w``.
- decoupled (``decoupled=True``): ``w ← w − lr·λ·w`` just before the optimizer's step, as torch's AdamW does; for
  Adam this is exactly AdamW.
- AdamW's own ``weight_decay`` is decoupled by construction: it gets the training's value in both cases (and with
  ``decoupled`` the step above does the same thing instead), so AdamW always decays decoupled. An optimizer without
  a ``weight_decay`` (Rprop) takes weight decay only decoupled.

L1: ``α·Σ|w|`` over every trainable parameter is added to the loss (so the reported loss includes it).

Schedules come from the registry ``schedules.SCHEDULES`` (its docstring has the formulas) and update the learning
rate after every batch. With a warm-up of W steps the rate first rises as lr₀·(s+1)/(W+1), then the schedule starts
with the steps that remain.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch.optim import lr_scheduler

from optviz.core.optimizers import OptimizerChoice
from optviz.training.config import ConfigError, TrainConfig, schedule_values, training_choice
from optviz.core.schedules import scheduler


def build_optimizer(choice: OptimizerChoice, params: Sequence[torch.nn.Parameter],
                    config: TrainConfig, **extra: Any) -> torch.optim.Optimizer:
    """The registry's optimizer over ``params``, with the config's L2 weight decay unless it is decoupled
    (``extra``: torch.optim keywords such as ``fused``).

    ConfigError when ``choice`` sets a weight decay of its own (the training's setting is the one owner).
    """
    values = dict(training_choice(choice).values)
    if "weight_decay" in choice.spec.hyper_names:
        values["weight_decay"] = 0.0 if config.decoupled else config.weight_decay
    elif config.weight_decay and not config.decoupled:
        raise ConfigError(f"Invalid weight_decay for optimizer {choice.label}: {config.weight_decay:g} as L2 in the "
                          f"gradient (allowed: 0, or decoupled: {choice.spec.title} has no weight_decay of its own)")
    return choice.spec.build(params, values, **extra)


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


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                    n_batches: int) -> lr_scheduler.LRScheduler | None:
    """The config's schedule, stepped once per batch, preceded by the linear warm-up if there is one; None for a
    constant rate."""
    total = config.epochs * n_batches
    warm = int(round(config.warmup_epochs * n_batches))
    return scheduler(optimizer, config.schedule, schedule_values(config), n_batches, total, warm)
