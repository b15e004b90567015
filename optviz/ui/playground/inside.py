"""What "inside the step" shows: the recorded internals of one path (the inspected optimizer, the selected start)
at the animation step, read from the model's Result; shared by the surface overlay, the internals plot and the rule.

At animation step s the head is at x_s and the step looked inside is the update x_s → x_{s+1}, torch.optim's step
t = s + 1: its gradient (at x_s, noise included), its update, the state after it. Every number comes from
``Paths.internals`` (recorded from torch.optim's state during the simulation); nothing is re-derived here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtGui import QColor

from optviz.core.optimizers import OptimizerChoice
from optviz.ui.playground.colors import entry_colors, entry_title
from optviz.ui.playground.compute import shown_field, shown_result
from optviz.ui.playground.model import PlaygroundModel

# torch.optim state keys whose presence makes the step size differ per coordinate (drawn as an ellipse)
ADAPTIVE_KEYS = ("sum", "square_avg", "exp_avg_sq", "exp_inf", "step_size", "acc_delta")
VELOCITY_KEY = "momentum_buffer"  # SGD with momentum, Nesterov, RMSProp with momentum, Muon


@dataclass(frozen=True)
class Inside:
    """One recorded path of the shown result: row ``row`` (entry ``entry``), start ``start``, all its steps."""

    row: int
    entry: int
    start: int
    choice: OptimizerChoice
    title: str
    color: QColor
    positions: np.ndarray  # (steps + 1, 2) the path
    internals: Any  # the result's Paths.internals
    index: int  # of ``start`` in internals.starts

    @property
    def steps(self) -> int:
        return len(self.positions) - 1

    def series(self, name: str) -> np.ndarray:
        """A recorded quantity over the steps: (steps, 2) per coordinate or (steps,) per step."""
        values = getattr(self.internals, name)
        if values.ndim == 2:  # (n_opt, steps): the lr and the bias corrections
            return values[self.row]
        return values[self.row, self.index]

    def state(self) -> dict[str, np.ndarray]:
        """torch.optim's state after each step, by torch's names: key → (steps, 2)."""
        return {k: v[self.index] for k, v in self.internals.state(self.row).items()}

    def at(self, name: str, k: int) -> np.ndarray | float:
        return self.series(name)[k]

    def has(self, name: str) -> bool:
        """The quantity is recorded for this optimizer (not all NaN)."""
        return bool(np.isfinite(self.series(name)).any())

    @property
    def state_keys(self) -> tuple[str, ...]:
        return tuple(getattr(self.choice.spec, "state_keys", ()))

    def adaptive(self) -> bool:
        """The step size differs per coordinate (Adagrad, RMSProp, the Adam family, Adadelta, Rprop)."""
        return any(key in self.state_keys for key in ADAPTIVE_KEYS)

    def has_velocity(self) -> bool:
        """A momentum buffer (velocity) that the update follows: Momentum, Nesterov, RMSProp with momentum, Muon."""
        return VELOCITY_KEY in self.state_keys and self.has("momentum")


def inspect(model: PlaygroundModel) -> tuple[Inside | None, str]:
    """The inspected path of the model's shown result, or None and why there is nothing to show."""
    result = shown_result(model) if shown_field(model) is not None else None
    if model.selected < 0 or not model.starts:
        return None, "Add a start point (double-click the surface) to look inside its steps."
    entry = model.inspected
    title = entry_title(model.entries[entry]) if 0 <= entry < len(model.entries) else "—"
    if result is None:
        return None, "computing…"
    if entry not in result.entries:
        return None, f"{title} is off: tick it in the side panel to look inside its steps."
    internals = getattr(result.paths, "internals", None)
    if internals is None or model.selected not in internals.starts or model.selected >= result.paths.positions.shape[1]:
        return None, "computing…"
    row = result.entries.index(entry)
    color = entry_colors(result.session.optimizers)[entry]
    choice = result.session.optimizers[entry].choice
    return Inside(row, entry, model.selected, choice, title, color,
                  result.paths.positions[row, model.selected], internals,
                  internals.starts.index(model.selected)), ""
