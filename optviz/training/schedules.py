"""The learning-rate schedule registry: one entry per schedule, read by the config, the CLI, the panel and the tests.

Every schedule counts time in epochs, fractional within an epoch, and the learning rate is updated after every
batch (n batches per epoch, step s from 0, base rate lr₀, T steps after the warm-up):

===========  =======================================  =========================================
none         lr₀
step         lr₀ · γ^⌊s / (step_size·n)⌋               torch StepLR
exponential  lr₀ · γ^(s/n)                             torch ExponentialLR with γ^(1/n) per batch
time         lr₀ / (1 + k·s/n)                         torch LambdaLR
cosine       η + (lr₀ − η)(1 + cos(π·s/T))/2           torch CosineAnnealingLR
===========  =======================================  =========================================

An entry's ``build(optimizer, values, n_batches, total_steps)`` returns a ``torch.optim.lr_scheduler`` stepped
once per batch; ``values`` are the entry's parameters, resolved (:meth:`ScheduleSpec.resolve`). The warm-up that
may precede any schedule is the training's ``warmup_epochs`` (see ``optimization.build_scheduler``). To add a
schedule, add an entry to :data:`SCHEDULES`: the config, the CLI and the panel read the dict when they need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch
from torch.optim import lr_scheduler

from optviz.core.params import Spec, resolve

Builder = Callable[[torch.optim.Optimizer, Mapping[str, Any], int, int], lr_scheduler.LRScheduler]


@dataclass(frozen=True)
class ScheduleSpec:
    """A registry entry: a name, the title a form shows, its parameters, the scheduler builder and the formula."""

    name: str
    title: str
    params: tuple[Spec, ...]
    build: Builder
    doc: str = ""

    def resolve(self, values: Mapping[str, Any] | None = None, *, text: bool = False) -> dict[str, Any]:
        """Defaults overridden by ``values``, each validated (parsed, for text); unknown names are refused."""
        return resolve(self.params, values, f"schedule {self.name}", text=text)


def _num(name: str, default: float, low: float, high: float, doc: str, **kw: Any) -> Spec:
    return Spec(name, "float", default, low, high, label=f"{name} value", doc=doc, **kw)


def _constant(optimizer: torch.optim.Optimizer, v: Mapping[str, Any], n: int, total: int) -> lr_scheduler.LRScheduler:
    return lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)


def _step(optimizer: torch.optim.Optimizer, v: Mapping[str, Any], n: int, total: int) -> lr_scheduler.LRScheduler:
    return lr_scheduler.StepLR(optimizer, step_size=max(1, round(v["step_size"] * n)), gamma=v["gamma"])


def _exponential(optimizer: torch.optim.Optimizer, v: Mapping[str, Any], n: int,
                 total: int) -> lr_scheduler.LRScheduler:
    return lr_scheduler.ExponentialLR(optimizer, gamma=v["gamma"] ** (1.0 / n))


def _time(optimizer: torch.optim.Optimizer, v: Mapping[str, Any], n: int, total: int) -> lr_scheduler.LRScheduler:
    k = v["k"]
    return lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 / (1.0 + k * s / n))


def _cosine(optimizer: torch.optim.Optimizer, v: Mapping[str, Any], n: int, total: int) -> lr_scheduler.LRScheduler:
    return lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total), eta_min=v["eta_min"])


NONE = ScheduleSpec("none", "constant", (), _constant, doc="lr₀")
STEP = ScheduleSpec(
    "step", "step",
    (_num("step_size", 1.0, 0.0, 1e4, "epochs between drops", low_open=True),
     _num("gamma", 0.5, 0.0, 1.0, "factor at each drop", low_open=True)),
    _step, doc="lr₀ · γ^⌊t / step_size⌋, t in epochs")
EXPONENTIAL = ScheduleSpec(
    "exponential", "exponential", (_num("gamma", 0.7, 0.0, 1.0, "factor per epoch", low_open=True),),
    _exponential, doc="lr₀ · γ^t, t in epochs")
TIME = ScheduleSpec(
    "time", "1/t (time-based)", (_num("k", 1.0, 0.0, 1e4, "lr/(1 + k·t), t in epochs"),),
    _time, doc="lr₀ / (1 + k·t), t in epochs")
COSINE = ScheduleSpec(
    "cosine", "cosine", (_num("eta_min", 0.0, 0.0, 10.0, "learning rate at the end"),),
    _cosine, doc="η + (lr₀ − η)(1 + cos(π·t/T))/2 over the T epochs after the warm-up")

SCHEDULES: dict[str, ScheduleSpec] = {s.name: s for s in (NONE, STEP, EXPONENTIAL, TIME, COSINE)}
