"""The learning-rate schedule registry: one entry per schedule, read by both tabs, the CLI, the panels and the tests.

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

The playground uses the same entries with one "epoch" per step (``n_batches = 1``): a :class:`ScheduleChoice` per
optimizer (name, values, warm-up steps), :func:`scheduler` builds the torch scheduler for a real run and
:func:`lr_table` the learning rate of every step (torch's scheduler stepped on a dummy optimizer, so the fast engine
uses exactly the numbers torch would).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optviz.core.lazy import torch
from optviz.core.params import ParamError, Spec, parse_named, quote, resolve

Builder = Callable[[Any, Mapping[str, Any], int, int], Any]  # (torch optimizer, values, n, total) → lr scheduler


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


def _constant(optimizer: torch.optim.Optimizer, v: Mapping[str, Any], n: int, total: int) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)


def _step(optimizer: torch.optim.Optimizer, v: Mapping[str, Any], n: int, total: int) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, round(v["step_size"] * n)), gamma=v["gamma"])


def _exponential(optimizer: torch.optim.Optimizer, v: Mapping[str, Any], n: int,
                 total: int) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=v["gamma"] ** (1.0 / n))


def _time(optimizer: torch.optim.Optimizer, v: Mapping[str, Any], n: int, total: int) -> torch.optim.lr_scheduler.LRScheduler:
    k = v["k"]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 / (1.0 + k * s / n))


def _cosine(optimizer: torch.optim.Optimizer, v: Mapping[str, Any], n: int, total: int) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total), eta_min=v["eta_min"])


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


def run_defaults(name: str, steps: int) -> dict[str, float]:
    """Parameters of schedule ``name`` for a playground run of ``steps`` steps, one "epoch" each: the registry's
    defaults are per epoch of a training run (γ = 0.5 every epoch), which would halve the lr at every step and
    freeze a path within a few dozen. Here the lr falls over the run: by 8× in three drops (step), 100× (exponential),
    10× (1/t); the cosine's defaults already span the run."""
    n = max(1, int(steps))
    values = {"step": {"step_size": float(max(1, round(n / 4))), "gamma": 0.5},
              "exponential": {"gamma": float(f"{0.01 ** (1.0 / n):.4g}")},
              "time": {"k": float(f"{9.0 / n:.3g}")}}.get(name, {})
    return SCHEDULES[name].resolve(values)


def scheduler(optimizer: torch.optim.Optimizer, name: str, values: Mapping[str, Any], n_batches: int, total: int,
              warm: int) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Schedule ``name`` stepped once per batch over ``total`` steps, after a linear warm-up of ``warm`` steps that
    rises as lr₀·(s+1)/(warm+1); None for a constant rate. (The training lab and the playground both build theirs
    here.)"""
    warm = min(warm, total)
    if name == "none" and warm == 0:
        return None
    main = SCHEDULES[name].build(optimizer, values, n_batches, total - warm)
    if warm == 0:
        return main
    ramp = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0 / (warm + 1), end_factor=1.0, total_iters=warm)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [ramp, main], milestones=[warm])


WARMUP = Spec("warmup", "int", 0, 0, 100_000, label="warm-up steps", title="Warm-up (steps)",
              doc="steps of linear warm-up from ~0 to lr before the schedule")


@dataclass(frozen=True)
class ScheduleChoice:
    """A playground optimizer's schedule: a registry name, its parameters (resolved) and warm-up steps."""

    name: str = "none"
    values: Mapping[str, Any] = field(default_factory=dict)
    warmup: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or self.name.strip().lower() not in SCHEDULES:
            raise ParamError(f"Unknown schedule {quote(self.name)} (allowed: {', '.join(SCHEDULES)})")
        name = self.name.strip().lower()
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "values", SCHEDULES[name].resolve(self.values))
        object.__setattr__(self, "warmup", WARMUP.validate(self.warmup))

    @property
    def is_constant(self) -> bool:
        return self.name == "none" and self.warmup == 0

    def build(self, optimizer: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LRScheduler | None:
        """The torch scheduler for a run of ``steps`` steps (one "epoch" per step), or None for a constant rate."""
        return scheduler(optimizer, self.name, self.values, 1, max(1, steps), self.warmup)

    def to_dict(self) -> dict[str, Any]:
        defaults = SCHEDULES[self.name].resolve()
        return {"name": self.name, "values": {k: v for k, v in self.values.items() if v != defaults[k]},
                "warmup": self.warmup}


CONSTANT = ScheduleChoice()


def schedule_from_dict(item: Any) -> ScheduleChoice:
    """A schedule from ``{"name", "values", "warmup"}`` (any subset but name); ParamError if bad."""
    if isinstance(item, str):
        return ScheduleChoice(item)
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise ParamError('schedule must be an object like {"name": "cosine", "values": {"eta_min": 0}, "warmup": 0}')
    unknown = [k for k in item if k not in ("name", "values", "warmup")]
    if unknown:
        raise ParamError(f"unknown schedule key {quote(unknown[0])} (allowed: name, values, warmup)")
    values = item.get("values", {})
    if not isinstance(values, Mapping):
        raise ParamError(f"schedule values must be an object, got {values!r:.60}")
    return ScheduleChoice(item["name"], values, item.get("warmup", 0))


def parse_schedule(text: str, warmup: int | str = 0) -> ScheduleChoice:
    """``NAME[:key=value,…]`` (the CLI syntax), e.g. ``cosine:eta_min=0.001``, with ``warmup`` steps."""
    name, values = parse_named(text, "schedule")
    if name not in SCHEDULES:
        raise ParamError(f"Unknown schedule {quote(name)} (allowed: {', '.join(SCHEDULES)})")
    return ScheduleChoice(name, SCHEDULES[name].resolve(values, text=True),
                          WARMUP.parse(warmup) if isinstance(warmup, str) else warmup)


def lr_table(optimizer: torch.optim.Optimizer, schedule: ScheduleChoice, steps: int) -> np.ndarray:
    """(steps,) the learning rate of steps 1..steps of ``optimizer``'s first group under ``schedule``, read from
    torch's scheduler stepped on ``optimizer`` (a dummy: only its learning rate is used and changed)."""
    sched = schedule.build(optimizer, steps)
    out = np.empty(steps)
    for k in range(steps):
        out[k] = optimizer.param_groups[0]["lr"]
        if sched is not None:
            optimizer.step()  # no gradients: nothing moves; keeps torch's "step before scheduler" order quiet
            sched.step()
    return out
