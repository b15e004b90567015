"""The update rule of each registry optimizer as torch.optim implements it, line by line, with the numbers of one
recorded step substituted.

Each line is (formula, numbers): the formula in HTML, and the same line with this step's values put in, ending
in the value that torch.optim's state held after the step (the recorded state, never recomputed here: only the
intermediate products shown on the way, like β₁·m, are multiplied out for reading). A vector is written (x, y).
The weight-decay line appears only where weight_decay ≠ 0 (torch adds λ·x to the gradient; AdamW, and NAdam and
RAdam with decoupled_weight_decay, multiply x by 1 − lr·λ instead).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from optviz.ui.playground.inside import Inside

Line = tuple[str, str]
# Combining hats land on the next glyph in some sans fonts (Qt's default here): a serif font places them
_SERIF = "<span style=\"font-family:'DejaVu Serif','Times New Roman',serif\">{}</span>"
M_HAT, V_HAT = _SERIF.format("m\u0302"), _SERIF.format("v\u0302")


def num(value: float) -> str:
    """A number as the rule shows it: 4 significant digits, a true minus sign."""
    value = float(value)
    if not np.isfinite(value):
        return "nan" if np.isnan(value) else ("∞" if value > 0 else "−∞")
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}·10<sup>{int(exponent)}</sup>"
    return text.replace("-", "−")


def vec(v) -> str:
    v = np.asarray(v, dtype=float).reshape(-1)
    return "(" + ", ".join(num(c) for c in v) + ")"


class Step:
    """The numbers of one recorded step k (torch's t = k + 1) of an inspected path."""

    def __init__(self, inside: Inside, k: int) -> None:
        self.inside, self.k, self.t = inside, k, k + 1
        self.h = dict(inside.choice.values)
        self.x = inside.positions[k]
        self.x_next = inside.positions[k + 1]
        self.g = inside.at("grad", k)
        self.lr = float(inside.at("lr", k))
        self.update = inside.at("update", k)
        self.eff = inside.at("effective_lr", k)
        self._state = inside.state()

    def after(self, key: str) -> np.ndarray:
        """torch.optim's state ``key`` after this step."""
        return self._state[key][self.k]

    def before(self, key: str, initial: float = 0.0) -> np.ndarray:
        """torch.optim's state ``key`` before this step (its initial value before the first)."""
        return self._state[key][self.k - 1] if self.k > 0 else np.full(2, initial)

    def has(self, key: str) -> bool:
        return key in self._state and bool(np.all(np.isfinite(self._state[key][self.k])))

    def decay_lines(self, decoupled: bool = False) -> list[Line]:
        wd = float(self.h.get("weight_decay", 0.0))
        if wd == 0:
            return []
        if decoupled:
            return [("x ← x · (1 − lr·λ)", f"{vec(self.x)} · (1 − {num(self.lr)}·{num(wd)})  <i>(decoupled)</i>")]
        return [("g ← g + λ·x", f"{vec(self.g)} + {num(wd)}·{vec(self.x)} = {vec(self.g + wd * self.x)}")]

    def g_used(self) -> np.ndarray:
        """The gradient after weight decay in the gradient (what the rule's g is from its second line on)."""
        return self.g + float(self.h.get("weight_decay", 0.0)) * self.x

    def first(self) -> list[Line]:
        noise = " + noise" if getattr(self.inside.choice, "noise", 0.0) else ""
        return [(f"g = ∇f(x){noise}", f"∇f{vec(self.x)}{noise} = {vec(self.g)}")]

    def last(self, formula: str, factor: str) -> Line:
        """The final line: x ← x − ``formula``, with ``factor`` the update's numbers before the result."""
        return (f"x ← x − {formula}", f"{vec(self.x)} − {factor} = {vec(self.x_next)}")


def _sgd(s: Step) -> list[Line]:
    g = s.g_used()
    return s.first() + s.decay_lines() + [s.last("lr·g", f"{num(s.lr)}·{vec(g)}")]


def _momentum(s: Step) -> list[Line]:
    mu, tau = float(s.h["momentum"]), float(s.h.get("dampening", 0.0))
    g, b = s.g_used(), s.after("momentum_buffer")
    if s.k == 0:
        buf = ("b ← g  <i>(first step)</i>", f"{vec(b)}")
    else:
        damp = "" if tau == 0 else f"(1 − {num(tau)})·"
        buf = ("b ← μ·b + (1 − τ)·g" if tau else "b ← μ·b + g",
               f"{num(mu)}·{vec(s.before('momentum_buffer'))} + {damp}{vec(g)} = {vec(b)}")
    lines = s.first() + s.decay_lines() + [buf]
    if s.inside.choice.spec.fixed.get("nesterov") or s.h.get("nesterov"):
        return lines + [s.last("lr·(g + μ·b)", f"{num(s.lr)}·({vec(g)} + {num(mu)}·{vec(b)})")]
    return lines + [s.last("lr·b", f"{num(s.lr)}·{vec(b)}")]


def _adagrad(s: Step) -> list[Line]:
    g, total = s.g_used(), s.after("sum")
    init = float(s.h.get("initial_accumulator_value", 0.0))
    lines = s.first() + s.decay_lines()
    decay = float(s.h.get("lr_decay", 0.0))
    if decay:
        lines.append(("lr<sub>t</sub> = lr / (1 + (t − 1)·lr_decay)",
                      f"{num(s.h['lr'])} / (1 + {s.t - 1}·{num(decay)}) = {num(s.lr / (1 + (s.t - 1) * decay))}"))
    lines.append(("s ← s + g²", f"{vec(s.before('sum', init))} + {vec(g ** 2)} = {vec(total)}"))
    lines.append(("η = lr / (√s + ε)", f"{vec(s.eff)}  <i>(per coordinate)</i>"))
    return lines + [s.last("η·g", f"{vec(s.eff)}·{vec(g)}")]


def _rmsprop(s: Step) -> list[Line]:
    a = float(s.h["alpha"])
    g, v = s.g_used(), s.after("square_avg")
    lines = s.first() + s.decay_lines()
    lines.append(("v ← α·v + (1 − α)·g²", f"{num(a)}·{vec(s.before('square_avg'))} + {num(1 - a)}·{vec(g ** 2)} = "
                                          f"{vec(v)}"))
    root = "√v"
    if s.h.get("centered"):
        gm = s.after("grad_avg")
        lines.append(("ḡ ← α·ḡ + (1 − α)·g", f"{num(a)}·{vec(s.before('grad_avg'))} + {num(1 - a)}·{vec(g)} = "
                                             f"{vec(gm)}"))
        root = "√(v − ḡ²)"
    if float(s.h.get("momentum", 0.0)) > 0 and s.has("momentum_buffer"):
        mu = float(s.h["momentum"])
        b = s.after("momentum_buffer")
        lines.append((f"b ← μ·b + g / ({root} + ε)", f"{num(mu)}·{vec(s.before('momentum_buffer'))} + … = {vec(b)}"))
        return lines + [s.last("lr·b", f"{num(s.lr)}·{vec(b)}")]
    lines.append((f"η = lr / ({root} + ε)", f"{vec(s.eff)}  <i>(per coordinate)</i>"))
    return lines + [s.last("η·g", f"{vec(s.eff)}·{vec(g)}")]


def _adam(s: Step, decoupled: bool = False) -> list[Line]:
    b1, b2 = float(s.h["beta1"]), float(s.h["beta2"])
    g = s.g if decoupled else s.g_used()
    m, v = s.after("exp_avg"), s.after("exp_avg_sq")
    c1, c2 = float(s.inside.at("bias1", s.k)), float(s.inside.at("bias2", s.k))
    lines = s.first() + s.decay_lines(decoupled)
    lines.append(("m ← β₁·m + (1 − β₁)·g", f"{num(b1)}·{vec(s.before('exp_avg'))} + {num(1 - b1)}·{vec(g)} = "
                                            f"{vec(m)}"))
    lines.append(("v ← β₂·v + (1 − β₂)·g²", f"{num(b2)}·{vec(s.before('exp_avg_sq'))} + {num(1 - b2)}·"
                                             f"{vec(g ** 2)} = {vec(v)}"))
    lines.append((M_HAT + " = m / (1 − β₁<sup>t</sup>)", f"{vec(m)} / (1 − {num(b1)}<sup>{s.t}</sup>) = {vec(m)} / "
                                                    f"{num(c1)} = {vec(m / c1)}"))
    vname = "v"
    if s.h.get("amsgrad") and s.has("max_exp_avg_sq"):
        lines.append(("v<sub>max</sub> ← max(v<sub>max</sub>, v)", vec(s.after("max_exp_avg_sq"))))
        v, vname = s.after("max_exp_avg_sq"), "v<sub>max</sub>"
    lines.append((V_HAT + f" = {vname} / (1 − β₂<sup>t</sup>)", f"{vec(v)} / {num(c2)} = {vec(v / c2)}"))
    lines.append(("η = lr / (√" + V_HAT + " + ε)", f"{vec(s.eff)}  <i>(per coordinate)</i>"))
    return lines + [s.last("η·" + M_HAT, f"{vec(s.eff)}·{vec(m / c1)}")]


def _general(formulas: list[str], keys: tuple[str, ...]) -> Callable[[Step], list[Line]]:
    """A rule shown as torch documents it, with the gradient, the state after the step and the update in numbers."""

    def rule(s: Step) -> list[Line]:
        lines = s.first() + [(f, "") for f in formulas]
        lines += [(f"{key} <i>(state after)</i>", vec(s.after(key))) for key in keys if s.has(key)]
        return lines + [("x ← x + Δx", f"{vec(s.x)} + {vec(s.update)} = {vec(s.x_next)}")]

    return rule


RULES: dict[str, Callable[[Step], list[Line]]] = {
    "sgd": _sgd,
    "momentum": _momentum,
    "nesterov": _momentum,
    "adagrad": _adagrad,
    "rmsprop": _rmsprop,
    "adam": _adam,
    "adamw": lambda s: _adam(s, decoupled=True),
    "nadam": _general(["μ<sub>t</sub> = β₁·(1 − ½·0.96<sup>t·ψ</sup>)  (ψ: momentum_decay)",
                       "m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²",
                       "x ← x − lr·[μ<sub>t+1</sub>·m / (1 − Πμ<sub>1…t+1</sub>) + (1 − μ<sub>t</sub>)·g / "
                       "(1 − Πμ<sub>1…t</sub>)] / (√" + V_HAT + " + ε)"], ("exp_avg", "exp_avg_sq")),
    "radam": _general(["m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²",
                       "ρ<sub>t</sub> = ρ<sub>∞</sub> − 2t·β₂<sup>t</sup> / (1 − β₂<sup>t</sup>)",
                       "ρ<sub>t</sub> > 5: x ← x − lr·" + M_HAT + "·r<sub>t</sub>·√(1 − β₂<sup>t</sup>) / (√v + ε);  "
                       "else x ← x − lr·" + M_HAT], ("exp_avg", "exp_avg_sq")),
    "adamax": _general(["m ← β₁·m + (1 − β₁)·g",
                        "u ← max(β₂·u, |g| + ε)",
                        "x ← x − lr·m / ((1 − β₁<sup>t</sup>)·u)"], ("exp_avg", "exp_inf")),
    "adadelta": _general(["v ← ρ·v + (1 − ρ)·g²",
                          "Δ = √(u + ε) / √(v + ε) · g",
                          "u ← ρ·u + (1 − ρ)·Δ²;  x ← x − lr·Δ"], ("square_avg", "acc_delta")),
    "asgd": _general(["x ← x·(1 − λ·η) − η·g",
                      "η ← lr / (1 + λ·lr·t)<sup>α</sup>;  μ ← 1 / max(1, t − t₀);  ax ← ax + μ·(x − ax)"],
                     ("ax", "eta", "mu")),
    "rprop": _general(["per coordinate: g·g<sub>prev</sub> > 0: s ← min(s·η₊, s<sub>max</sub>);  "
                       "< 0: s ← max(s·η₋, s<sub>min</sub>), g ← 0",
                       "x ← x − s·sign(g)"], ("prev", "step_size")),
    "muon": _general(["B ← μ·B + g;  B̃ = g + μ·B (nesterov) or B",
                      "O = NewtonSchulz(B̃): on a 1×2 matrix, about B̃ / ‖B̃‖ (a unit step direction)",
                      "x ← x − lr′·O  (lr′: torch's shape adjustment of lr)"], ("momentum_buffer",)),
}


def rule_lines(inside: Inside, k: int) -> list[Line]:
    """The rule of the inspected optimizer with step k's numbers (k < inside.steps)."""
    return RULES.get(inside.choice.name, _general([], ()))(Step(inside, k))
