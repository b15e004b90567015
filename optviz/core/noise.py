"""Gaussian gradient noise, drawn up front so that both engines add the same numbers, and fans of seeds.

A run with ``noise`` σ > 0 adds σ·ξ to the gradient of every step (ξ standard normal, float64, from
``torch.Generator``). The numbers of start j come from their own generator, seeded by (seed, j), in blocks of
:data:`BLOCK` steps: adding a start point or more steps leaves the noise of the existing steps as it was, so a
path only changes where the settings change it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Sequence

import numpy as np
from optviz.core.lazy import torch

from optviz.core.optimizers import OptimizerChoice
from optviz.core.params import Spec

if TYPE_CHECKING:
    from optviz.core.simulate import Paths
    from optviz.core.surfaces import Surface

BLOCK = 1024  # steps drawn per call of the generator
MAX_STARTS = 1 << 16  # start indices per seed (seed·MAX_STARTS + j seeds start j)
FAN = Spec("fan", "int", 8, 1, 256, label="fan size", title="Seeds", doc="runs with seeds seed, seed+1, …")


def draw(choice: OptimizerChoice, n_starts: int, steps: int) -> np.ndarray | None:
    """(n_starts, steps, 2) the noise added to the gradients of ``choice``'s paths, or None without noise."""
    if choice.noise == 0 or n_starts == 0 or steps == 0:
        return None
    blocks = -(-steps // BLOCK)
    out = np.empty((n_starts, blocks * BLOCK, 2))
    gen = torch.Generator()
    for j in range(n_starts):
        gen.manual_seed(choice.seed * MAX_STARTS + j)
        for b in range(blocks):
            out[j, b * BLOCK:(b + 1) * BLOCK] = torch.randn((BLOCK, 2), generator=gen, dtype=torch.float64).numpy()
    return out[:, :steps] * choice.noise


@dataclass(frozen=True)
class Fan:
    """K runs of one noisy optimizer that differ only in their seeds, and their mean path."""

    paths: Paths  # one "optimizer" per seed: positions (K, n_starts, steps + 1, 2)
    seeds: tuple[int, ...]
    mean: np.ndarray  # (n_starts, steps + 1, 2) mean over the runs still finite at each step (NaN where none)


def fan(surface: Surface, choice: OptimizerChoice, starts: Sequence[Sequence[float]] | np.ndarray, steps: int,
        k: int, **kw) -> Fan:
    """``k`` runs of ``choice`` with seeds ``choice.seed``, ``choice.seed + 1``, … (one simulate call, so the
    same settings always draw the same fan); ``kw`` goes to :func:`optviz.core.simulate.simulate`."""
    from optviz.core.simulate import simulate

    k = FAN.validate(k)
    seeds = tuple(choice.seed + i for i in range(k))
    runs = [replace(choice, seed=s, label=f"{choice.label} seed {s}") for s in seeds]
    paths = simulate(surface, runs, starts, steps, **kw)
    with np.errstate(all="ignore"):
        finite = np.isfinite(paths.positions).all(-1, keepdims=True)
        count = finite.sum(0)
        total = np.where(finite, paths.positions, 0.0).sum(0)
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return Fan(paths, seeds, mean)
