"""What happens inside each step of a path: the gradient used, the update, the optimizer's state and step sizes.

``simulate(..., internals=True)`` records, for every step t = 1 … steps of every recorded path, the gradient the
step used (the surface's gradient at x_{t−1} plus the run's noise; weight decay is the optimizer's own business and
not included) and torch.optim's state after the step (the eager engine reads ``optimizer.state[p]``; the fast
engine keeps the same numbers, tested equal). :class:`Internals` derives the rest from those numbers, the same way
for both engines:

``effective_lr`` is, per coordinate, the factor by which the optimizer multiplies its direction in step t:

==========  ====================================  ===========================
optimizer   effective step size                   multiplies
==========  ====================================  ===========================
SGD family  lr                                    g (or the velocity)
Adagrad     lr/(1+(t−1)·decay) / (√sum + ε)       g
RMSProp     lr / (√v + ε)  (v − ḡ² if centered)   g (into the velocity if μ>0)
Adam(W)     lr / (√v̂ + ε), v̂ = v/(1−β₂ᵗ)         m̂ = m/(1−β₁ᵗ)
NAdam       lr / (√v̂ + ε)                         its mix of g and m
RAdam       lr·r·√(1−β₂ᵗ)/(√v + ε) once ρₜ > 5,   m̂
            else lr
Adamax      lr / u                                m̂
Adadelta    lr·√(Δ-average + ε)/√(v + ε)          g
ASGD        η (of this step)                      g
Rprop       the coordinate's step size            sign(g)
Muon        lr                                    NS(u), a unit-length direction
==========  ====================================  ===========================

``momentum`` is the velocity or first moment after the step (momentum_buffer, or exp_avg), ``second`` the
second moment (sum, square_avg, exp_avg_sq, exp_inf); NaN where the optimizer keeps none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optviz.core import rules


# What effective_lr means for each registry optimizer, in one line (tooltips).
EFFECTIVE_LR_DOC = {
    "sgd": "lr, multiplies g", "momentum": "lr, multiplies the velocity b", "nesterov": "lr, multiplies g + μ·b",
    "adagrad": "lr/(1+(t−1)·lr_decay)/(√sum + ε), multiplies g", "rmsprop": "lr/(√v + ε), multiplies g",
    "adam": "lr/(√v̂ + ε), multiplies m̂", "adamw": "lr/(√v̂ + ε), multiplies m̂",
    "nadam": "lr/(√v̂ + ε), multiplies its mix of g and m", "radam": "lr·r·√(1−β₂ᵗ)/(√v + ε) once ρₜ > 5 (else lr), "
    "multiplies m̂", "adamax": "lr/u, multiplies m̂", "adadelta": "lr·√(Δ-average + ε)/√(v + ε), multiplies g",
    "asgd": "η of the step, multiplies g", "rprop": "the coordinate's step size, multiplies sign(g)",
    "muon": "lr, multiplies NS(u), a unit-length direction",
}


@dataclass(frozen=True)
class Internals:
    """Per step t = 1 … steps (index t − 1) of optimizer i and recorded start s (an index into ``starts``)."""

    starts: tuple[int, ...]  # the start indices recorded
    grad: np.ndarray  # (n_opt, n_s, steps, 2) gradient used by step t (with noise)
    update: np.ndarray  # (n_opt, n_s, steps, 2) x_t − x_{t−1}
    slots: np.ndarray  # (n_opt, n_s, steps, 4, 2) the raw state slots after step t (rules.STATE)
    kinds: tuple[int, ...]  # rules.KINDS of each optimizer
    table: np.ndarray  # (n_opt, len(rules.COLUMNS)) hyperparameter rows
    lr: np.ndarray  # (n_opt, steps) the learning rate of each step
    initial: np.ndarray  # (n_opt, n_s, 4, 2) the state before step 1

    def state(self, i: int) -> dict[str, np.ndarray]:
        """Optimizer i's torch.optim state after every step, by torch's names: (n_s, steps, 2) each."""
        keys = rules.STATE_KEYS[self.kinds[i]]
        return {name: self.slots[i, :, :, rules.STATE.index(slot)] for slot, name in keys.items()}

    def _slot(self, name: str) -> np.ndarray:
        return self.slots[:, :, :, rules.STATE.index(name)]

    def _before(self, name: str) -> np.ndarray:
        """A slot before each step: the initial state, then the slot after the previous step."""
        k = rules.STATE.index(name)
        return np.concatenate([self.initial[:, :, None, k], self.slots[:, :, :-1, k]], axis=2)

    @property
    def steps(self) -> int:
        return self.grad.shape[2]

    @property
    def momentum(self) -> np.ndarray:
        """(n_opt, n_s, steps, 2) velocity / first moment after each step; NaN where the optimizer has none."""
        out = np.full(self.grad.shape, np.nan)
        for i, kind in enumerate(self.kinds):
            h = dict(zip(rules.COLUMNS, self.table[i]))
            if (kind == 0 and h["momentum"] != 0) or (kind == 2 and h["momentum"] > 0) or kind == 10:
                out[i] = self._slot("buf")[i]
            elif kind in (3, 4, 5, 6):
                out[i] = self._slot("avg")[i]
        return out

    @property
    def second(self) -> np.ndarray:
        """(n_opt, n_s, steps, 2) second moment after each step; NaN where the optimizer has none."""
        out = np.full(self.grad.shape, np.nan)
        for i, kind in enumerate(self.kinds):
            if kind in (1, 2, 3, 4, 5, 7):
                out[i] = self._slot("sum")[i]
            elif kind == 6:
                out[i] = self._slot("max")[i]
        return out

    @property
    def bias1(self) -> np.ndarray:
        """(n_opt, steps) 1 − β₁ᵗ of the Adam family (Adam, AdamW, RAdam, Adamax); NaN for the others."""
        return self._bias("beta1", (3, 5, 6))

    @property
    def bias2(self) -> np.ndarray:
        """(n_opt, steps) 1 − β₂ᵗ of the Adam family (Adam, AdamW, NAdam, RAdam); NaN for the others."""
        return self._bias("beta2", (3, 4, 5))

    def _bias(self, column: str, kinds: tuple[int, ...]) -> np.ndarray:
        t = np.arange(1, self.steps + 1, dtype=np.float64)
        out = np.full((len(self.kinds), self.steps), np.nan)
        for i, kind in enumerate(self.kinds):
            if kind in kinds:
                out[i] = 1.0 - np.power(self.table[i, rules.COL[column]], t)
        return out

    @property
    def effective_lr(self) -> np.ndarray:
        """(n_opt, n_s, steps, 2): the per-coordinate step size of each step (see the module's table)."""
        out = np.empty(self.grad.shape)
        t = np.arange(1, self.steps + 1, dtype=np.float64)
        with np.errstate(all="ignore"):
            for i, kind in enumerate(self.kinds):
                h = dict(zip(rules.COLUMNS, self.table[i]))
                lr = self.lr[i][None, :, None]
                s, prev = self._slot("sum")[i], self._before("sum")[i]
                if kind == 1:
                    out[i] = lr / (1.0 + (t[None, :, None] - 1.0) * h["lr_decay"]) / (np.sqrt(s) + h["eps"])
                elif kind == 2:
                    avg = self._slot("avg")[i]
                    v = s - avg * avg if h["centered"] else s
                    out[i] = lr / (np.sqrt(v) + h["eps"])
                elif kind in (3, 4):
                    v = np.maximum(self._slot("max")[i], s) if kind == 3 and h["amsgrad"] else s
                    bc2 = (1.0 - np.power(h["beta2"], t))[None, :, None]
                    out[i] = lr / (np.sqrt(v / bc2) + h["eps"])
                elif kind == 5:
                    rows = np.stack([rules.step_scalars(self.table[i:i + 1], int(k))[0] for k in t])
                    rho, rect = rows[:, rules.SCALARS.index("rho_t")], rows[:, rules.SCALARS.index("rect")]
                    bc2 = rows[:, rules.SCALARS.index("bc2")]
                    adaptive = (lr * rect[None, :, None] * np.sqrt(bc2)[None, :, None] / (np.sqrt(s) + h["eps"]))
                    out[i] = np.where((rho > 5.0)[None, :, None], adaptive, lr)
                elif kind == 6:
                    out[i] = lr / self._slot("max")[i]
                elif kind == 7:
                    out[i] = lr * np.sqrt(self._before("buf")[i] + h["eps"]) / np.sqrt(s + h["eps"])
                elif kind == 8:
                    out[i] = prev
                elif kind == 9:
                    out[i] = s
                else:
                    out[i] = np.broadcast_to(lr, out[i].shape)
        return out

    @property
    def angle(self) -> np.ndarray:
        """(n_opt, n_s, steps) degrees between the update and −grad (0: straight downhill); NaN where either is 0."""
        dot = -(self.update * self.grad).sum(-1)
        norms = np.linalg.norm(self.update, axis=-1) * np.linalg.norm(self.grad, axis=-1)
        with np.errstate(all="ignore"):
            cos = np.where(norms > 0, dot / norms, np.nan)
        return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def from_records(kinds: tuple[int, ...], table: np.ndarray, lr: np.ndarray, starts: tuple[int, ...],
                 positions: np.ndarray, records: np.ndarray, initial: np.ndarray) -> Internals:
    """Internals from raw records (n_opt, n_s, steps, 10): gradient used, then the 4 state slots × 2; positions
    (n_opt, n_s, steps + 1, 2) of the recorded starts."""
    grad = records[..., :2]
    slots = records[..., 2:].reshape(*records.shape[:-1], 4, 2)
    return Internals(starts, grad, np.diff(positions, axis=2), slots, kinds, table, lr, initial)
