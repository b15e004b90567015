""""Copy as PyTorch": the torch.optim (and lr_scheduler) source that builds exactly what a run uses.

The text is for a person to paste into their own training loop; the app never executes it (the tests do, to check
that it builds the same optimizer as the registry). Keywords come in the order of torch's signature, every
value written with ``repr`` so that it reads back to the same float.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Mapping

from optviz.core.optimizers import OptimizerChoice

if TYPE_CHECKING:
    from optviz.training.config import TrainConfig

SCHED = "torch.optim.lr_scheduler"


def _kwargs(cls: type, kwargs: Mapping[str, Any]) -> str:
    order = list(inspect.signature(cls.__init__).parameters)
    keys = sorted(kwargs, key=lambda k: order.index(k) if k in order else len(order))
    return ", ".join(f"{k}={kwargs[k]!r}" for k in keys)


def optimizer_line(choice: OptimizerChoice, values: Mapping[str, Any] | None = None, params: str = "params") -> str:
    """``optimizer = torch.optim.Adam(params, lr=0.01, betas=(0.9, 0.999), …)`` for ``choice`` (or ``values``)."""
    spec = choice.spec
    kwargs = spec.torch_kwargs(choice.values if values is None else values)
    return f"optimizer = torch.optim.{spec.torch_class.__name__}({params}, {_kwargs(spec.torch_class, kwargs)})"


def scheduler_lines(name: str, values: Mapping[str, Any], n_batches: int, total: int, warm: int) -> list[str]:
    """The lines that build :func:`optviz.core.schedules.scheduler`'s scheduler (none for a constant rate)."""
    warm = min(warm, total)
    if name == "none" and warm == 0:
        return []
    main_total = total - warm
    if name == "none":
        main = f"{SCHED}.LambdaLR(optimizer, lambda s: 1.0)"
    elif name == "step":
        main = f"{SCHED}.StepLR(optimizer, step_size={max(1, round(values['step_size'] * n_batches))!r}, " \
               f"gamma={values['gamma']!r})"
    elif name == "exponential":
        main = f"{SCHED}.ExponentialLR(optimizer, gamma={values['gamma'] ** (1.0 / n_batches)!r})"
    elif name == "time":
        per = f" / {n_batches!r}" if n_batches != 1 else ""
        main = f"{SCHED}.LambdaLR(optimizer, lambda s: 1.0 / (1.0 + {values['k']!r} * s{per}))"
    elif name == "cosine":
        main = f"{SCHED}.CosineAnnealingLR(optimizer, T_max={max(1, main_total)!r}, eta_min={values['eta_min']!r})"
    else:  # a schedule added to the registry without a text here
        return [f"# schedule {name!r}: see optviz.core.schedules.SCHEDULES"]
    if warm == 0:
        return [f"scheduler = {main}", "# call scheduler.step() after every optimizer.step()"]
    return [f"warmup = {SCHED}.LinearLR(optimizer, start_factor={1.0 / (warm + 1)!r}, end_factor=1.0, "
            f"total_iters={warm!r})",
            f"main = {main}",
            f"scheduler = {SCHED}.SequentialLR(optimizer, [warmup, main], milestones=[{warm!r}])",
            "# call scheduler.step() after every optimizer.step()"]


def pytorch_source(choice: OptimizerChoice, steps: int | None = None, params: str = "params") -> str:
    """The playground's optimizer ``choice`` as PyTorch: its constructor, its scheduler for a run of ``steps``
    steps (a schedule needs ``steps``: cosine spans them), and its gradient noise as a comment."""
    lines = [optimizer_line(choice, params=params)]
    sched = choice.schedule
    if not sched.is_constant:
        if steps is None:
            raise ValueError("a schedule's text needs the number of steps")
        lines += scheduler_lines(sched.name, sched.values, 1, steps, sched.warmup)
    if choice.noise:
        lines.append(f"# gradient noise: before every optimizer.step(), p.grad += {choice.noise!r} * "
                     f"torch.randn_like(p.grad) (optviz seeds it with {choice.seed})")
    return "\n".join(lines)


def training_source(choice: OptimizerChoice, config: TrainConfig, n_batches: int, params: str = "params") -> str:
    """A training's optimizer as PyTorch: the registry's constructor with the training's weight decay (as
    :func:`optviz.training.optimization.build_optimizer` sets it) and its schedule stepped once per batch."""
    from optviz.training.config import schedule_values

    values = dict(choice.values)
    lines = []
    if "weight_decay" in choice.spec.hyper_names:
        values["weight_decay"] = 0.0 if config.decoupled else config.weight_decay
    lines.append(optimizer_line(choice, values, params))
    if config.decoupled and config.weight_decay:
        lines.append(f"# decoupled weight decay: before every optimizer.step(), p.mul_(1 - lr * "
                     f"{config.weight_decay!r}) for every p with a gradient")
    if config.l1:
        lines.append(f"# L1: loss = loss + {config.l1!r} * sum(p.abs().sum() for p in params)")
    total = config.epochs * n_batches
    lines += scheduler_lines(config.schedule, schedule_values(config), n_batches, total,
                             int(round(config.warmup_epochs * n_batches)))
    return "\n".join(lines)
