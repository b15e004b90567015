"""Every registry optimizer as one element-wise update with per-row hyperparameters (the fast engine's rules).

Each row of a batch is one path (one start point of one optimizer). A row's optimizer and hyperparameters are a
row of :func:`hyper_table`, so one batch can hold any mix of optimizers and any hyperparameter values (a
stability map gives every row its own learning rate). The update is torch.optim's single-tensor update, operation
for operation and in its order (read from torch/optim/{sgd,adagrad,rmsprop,adam}.py); with g the gradient at x
and t the step (1, 2, …):

    every rule   g ← g + wd·x                                    (only where wd ≠ 0)
    sgd family   b ← g at t = 1, else μ·b + (1−τ)·g;  d ← g + μ·b (nesterov) or b (μ ≠ 0) or g;  x ← x − lr·d
    adagrad      s ← s + g²;  x ← x − lr/(1 + (t−1)·decay) · g/(√s + ε)
    rmsprop      s ← α·s + (1−α)·g²;  c ← lerp(c, g, 1−α);  a ← √(s − c²) (centered) or √s;  a ← a + ε
                 μ > 0: b ← μ·b + g/a, x ← x − lr·b;  else x ← x − lr·g/a
    adam         m ← lerp(m, g, 1−β₁);  v ← β₂·v + (1−β₂)·g²;  v̂ ← max(v̂, v) (amsgrad)
                 x ← x − lr/(1−β₁ᵗ) · m / (√(v̂ or v)/√(1−β₂ᵗ) + ε)

:func:`torch_step` writes this with torch operations on whole batches (the maps' eager engine: any device, no
compiler); the C kernel (:mod:`optviz.core.kernel_source`) writes the same lines for arrays of rows. Both are
tested against torch.optim.
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import torch

from optviz.core.optimizers import REGISTRY, OptimizerChoice

KINDS = {"sgd": 0, "momentum": 0, "nesterov": 0, "adagrad": 1, "rmsprop": 2, "adam": 3}
# Columns of a hyperparameter row (the C kernel's H_* constants follow this order).
COLUMNS = ("kind", "lr", "weight_decay", "momentum", "dampening", "nesterov", "lr_decay", "eps", "alpha",
           "centered", "beta1", "beta2", "amsgrad", "initial_accumulator_value")
COL = {name: i for i, name in enumerate(COLUMNS)}
STATE = ("buf", "sum", "avg", "max")  # per coordinate: momentum buffer, squares, averages, amsgrad maximum


def hyper_row(choice: OptimizerChoice) -> np.ndarray:
    """One row of the table for a registry choice (its torch.optim keywords, flags as 0/1)."""
    return np.array(_row(choice.name, tuple(sorted(choice.values.items()))))


@functools.lru_cache(maxsize=1024)
def _row(name: str, values: tuple) -> tuple[float, ...]:
    row = [0.0] * len(COLUMNS)
    row[COL["kind"]] = KINDS[name]
    for key, value in REGISTRY[name].torch_kwargs(dict(values)).items():
        if key == "betas":
            row[COL["beta1"]], row[COL["beta2"]] = value
        elif key in COL:
            row[COL[key]] = float(value)
    return tuple(row)


def hyper_table(choices: Sequence[OptimizerChoice]) -> np.ndarray:
    """``(len(choices), len(COLUMNS))`` float64: one row per choice."""
    return np.stack([hyper_row(c) for c in choices]) if choices else np.zeros((0, len(COLUMNS)))


def initial_state(table: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``(len(STATE), rows, 2)`` state at step 0 for rows whose table rows are ``groups`` (Adagrad's sum starts at
    its initial accumulator value, everything else at 0)."""
    state = np.zeros((len(STATE), len(groups), 2))
    state[1] = table[groups, COL["initial_accumulator_value"]][:, None]
    return state


def bias_corrections(table: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Adam's step size lr/(1−β₁ᵗ) and √(1−β₂ᵗ) for every table row, computed as torch.optim does (Python
    floats: libm's pow, which numpy also calls)."""
    lr, b1, b2 = (table[:, COL[c]] for c in ("lr", "beta1", "beta2"))
    with np.errstate(divide="ignore", invalid="ignore"):
        return lr / (1.0 - np.power(b1, float(t))), np.power(1.0 - np.power(b2, float(t)), 0.5)


def torch_optimizer(row: np.ndarray, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    """torch.optim itself for one table row (the eager maps use it where all rows share one optimizer)."""
    h = {name: float(row[i]) for i, name in enumerate(COLUMNS)}
    kind = int(h["kind"])
    if kind == 0:
        return torch.optim.SGD(params, lr=h["lr"], momentum=h["momentum"], dampening=h["dampening"],
                               weight_decay=h["weight_decay"], nesterov=bool(h["nesterov"]))
    if kind == 1:
        return torch.optim.Adagrad(params, lr=h["lr"], lr_decay=h["lr_decay"], weight_decay=h["weight_decay"],
                                   initial_accumulator_value=h["initial_accumulator_value"], eps=h["eps"])
    if kind == 2:
        return torch.optim.RMSprop(params, lr=h["lr"], alpha=h["alpha"], eps=h["eps"], weight_decay=h["weight_decay"],
                                   momentum=h["momentum"], centered=bool(h["centered"]))
    return torch.optim.Adam(params, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"],
                            weight_decay=h["weight_decay"], amsgrad=bool(h["amsgrad"]))


def torch_step(x: torch.Tensor, g: torch.Tensor, state: torch.Tensor, h: torch.Tensor, t: int,
               adam: tuple[torch.Tensor, torch.Tensor], kinds: Sequence[int] = (0, 1, 2, 3)
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, state) after step ``t`` (1, 2, …) for rows ``x`` (R, 2) with gradients ``g``, state (4, R, 2),
    hyperparameter rows ``h`` (R, len(COLUMNS)) and Adam's (step size, √(1−β₂ᵗ)) per row (R,) from
    :func:`bias_corrections`. The rules of ``kinds`` (those present) are computed and each row keeps its own; the
    operations are torch.optim's (addcmul and lerp where it uses them), so each row rounds as torch.optim does."""
    c = {name: h[:, i:i + 1] for i, name in enumerate(COLUMNS)}
    # Weight decay as torch adds it (only where it is not 0, so that x = inf gives no 0·inf).
    g = torch.where(c["weight_decay"] != 0, torch.addcmul(g, c["weight_decay"], x), g)
    rules = (_sgd, _adagrad, _rmsprop, _adam)
    results = {k: rules[k](x, g, state.unbind(0), c, t, adam) for k in sorted(set(kinds))}
    if len(results) == 1:
        (x_new, parts), = results.values()
        return x_new, torch.stack(parts)
    x_new, state_new = x, state
    for k, (x_k, parts) in results.items():
        mine = c["kind"] == k
        x_new = torch.where(mine, x_k, x_new)
        state_new = torch.where(mine, torch.stack(parts), state_new)
    return x_new, state_new


def _sgd(x, g, state, c, t, adam):
    buf, s, avg, vmax = state
    mom = c["momentum"]
    b = g if t == 1 else torch.addcmul(buf * mom, 1 - c["dampening"], g)
    d = torch.where(c["nesterov"] != 0, torch.addcmul(g, mom, b), torch.where(mom != 0, b, g))
    return torch.addcmul(x, -c["lr"], d), (torch.where(mom != 0, b, buf), s, avg, vmax)


def _adagrad(x, g, state, c, t, adam):
    buf, s, avg, vmax = state
    clr = c["lr"] / (1 + (t - 1) * c["lr_decay"])
    s = torch.addcmul(s, g, g)
    return x + ((-clr) * g) / (torch.sqrt(s) + c["eps"]), (buf, s, avg, vmax)


def _rmsprop(x, g, state, c, t, adam):
    buf, s, avg, vmax = state
    alpha, centered, mom, lr = c["alpha"], c["centered"] != 0, c["momentum"], c["lr"]
    s = torch.addcmul(s * alpha, (1 - alpha) * g, g)
    avg = torch.where(centered, torch.lerp(avg, g, (1 - alpha).expand_as(g)), avg)
    root = torch.sqrt(torch.where(centered, torch.addcmul(s, -avg, avg), s)) + c["eps"]
    buf = torch.where(mom > 0, buf * mom + g / root, buf)
    return torch.where(mom > 0, torch.addcmul(x, -lr, buf), x + ((-lr) * g) / root), (buf, s, avg, vmax)


def _adam(x, g, state, c, t, adam):
    buf, s, avg, vmax = state
    avg = torch.lerp(avg, g, (1 - c["beta1"]).expand_as(g))
    s = torch.addcmul(s * c["beta2"], (1 - c["beta2"]) * g, g)
    vmax = torch.where(c["amsgrad"] != 0, torch.maximum(vmax, s), vmax)
    step_size, bc2_sqrt = (a.unsqueeze(1) for a in adam)
    denom = torch.sqrt(torch.where(c["amsgrad"] != 0, vmax, s)) / bc2_sqrt + c["eps"]
    return x + ((-step_size) * avg) / denom, (buf, s, avg, vmax)
