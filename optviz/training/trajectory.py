"""A run's weight trajectory, kept bounded: what the loss-landscape view needs to draw the optimizer's path.

The trainer offers every run's trainable weights after every step; :class:`Trajectory` keeps at most
:data:`MAX_SNAPSHOTS` of them (fewer for big models: at most :data:`MAX_BYTES` per run, never fewer than 3),
evenly spaced in steps, plus the final weights. It starts by keeping every step; when full it drops every other
snapshot and doubles its stride, so the kept steps stay evenly spaced however long the run turns out to be
(0, s, 2s, … with s a power of two) and the cost is a modulo test per step and O(K log steps) copies in all.

:class:`WeightPath` is the frozen result (steps, a (K, P) float32 matrix of flattened weights in
``model.named_parameters()`` order, the parameter names and shapes), saved into checkpoints. The trainer keeps it
in a file mapped into memory (``results.off_heap``), read when a landscape asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch
from torch import nn

MAX_SNAPSHOTS = 32  # snapshots per run before the final weights (Li et al. used one per epoch)
MAX_BYTES = 128 * 2**20  # per run: big models keep fewer snapshots
MIN_SNAPSHOTS = 3


@dataclass(frozen=True, eq=False)
class WeightPath:
    """Snapshots of a run's trainable weights: ``weights[k]`` (flattened, float32, CPU) after ``steps[k]`` steps."""

    steps: tuple[int, ...]
    weights: torch.Tensor  # (K, P) float32
    names: tuple[str, ...]  # trainable parameters, model.named_parameters() order
    shapes: tuple[tuple[int, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"steps": torch.tensor(self.steps, dtype=torch.int64), "weights": self.weights,
                "names": list(self.names), "shapes": [list(s) for s in self.shapes]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WeightPath:
        """ValueError naming what is wrong when ``d`` is not a saved trajectory."""
        steps, weights = d["steps"], d["weights"]
        if not isinstance(weights, torch.Tensor) or weights.dim() != 2 or not isinstance(steps, torch.Tensor):
            raise ValueError("trajectory: weights must be a (K, P) tensor and steps a tensor")
        names, shapes = tuple(str(n) for n in d["names"]), tuple(tuple(int(v) for v in s) for s in d["shapes"])
        size = sum(_numel(s) for s in shapes)
        if len(steps) != len(weights) or len(names) != len(shapes) or weights.shape[1] != size or not len(steps):
            raise ValueError(f"trajectory: {len(steps)} steps, {tuple(weights.shape)} weights, {len(names)} names "
                             f"for {size} parameters do not agree")
        return cls(tuple(int(s) for s in steps.tolist()), weights.float(), names, shapes)

    def check_fits(self, model: nn.Module) -> None:
        """ValueError unless the snapshots are of ``model``'s trainable parameters (names and shapes)."""
        names, shapes = zip(*[(n, tuple(p.shape)) for n, p in model.named_parameters() if p.requires_grad])
        if tuple(names) != self.names or tuple(shapes) != self.shapes:
            diff = next((f"{a}{list(sa)} vs {b}{list(sb)}" for a, sa, b, sb in
                         zip(self.names, self.shapes, names, shapes) if (a, sa) != (b, sb)),
                        f"{len(self.names)} vs {len(names)} parameters")
            raise ValueError(f"trajectory does not fit the model ({diff})")


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def flat(params: Sequence[torch.Tensor]) -> torch.Tensor:
    """The parameters as one float32 CPU vector (a copy)."""
    return torch.cat([p.detach().reshape(-1).float() for p in params]).cpu()


class Trajectory:
    """Keeps at most ``limit`` evenly spaced snapshots of a run's weights (see the module docstring)."""

    def __init__(self, model: nn.Module, limit: int = MAX_SNAPSHOTS, max_bytes: int = MAX_BYTES) -> None:
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.names = tuple(n for n, _ in named)
        self.shapes = tuple(tuple(p.shape) for _, p in named)
        size = max(1, sum(p.numel() for _, p in named)) * 4
        self.limit = max(MIN_SNAPSHOTS, min(limit, max_bytes // size))
        self.stride = 1
        self._steps: list[int] = []
        self._weights: list[torch.Tensor] = []

    def offer(self, step: int, params: Sequence[torch.Tensor]) -> None:
        """Called after every step (and with step 0 before training); copies only the steps it keeps."""
        if step % self.stride:
            return
        self._steps.append(step)
        self._weights.append(flat(params))
        if len(self._steps) > self.limit:
            self.stride *= 2
            keep = [i for i, s in enumerate(self._steps) if s % self.stride == 0]
            self._steps = [self._steps[i] for i in keep]
            self._weights = [self._weights[i] for i in keep]

    def result(self, step: int, params: Sequence[torch.Tensor]) -> WeightPath:
        """The snapshots, ending with ``params`` as the weights after ``step`` steps (the run's final weights; a
        diverged run's are the last finite ones, which replace any snapshot at that step)."""
        steps, weights = list(self._steps), list(self._weights)
        while steps and steps[-1] >= step:
            steps.pop()
            weights.pop()
        steps.append(step)
        weights.append(flat(params))
        return WeightPath(tuple(steps), torch.stack(weights), self.names, self.shapes)
