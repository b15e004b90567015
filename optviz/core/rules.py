"""Every registry optimizer as one element-wise update with per-row hyperparameters (the fast engine's rules).

Each row of a batch is one path (one start point of one optimizer). A row's optimizer and hyperparameters are a
row of :func:`hyper_table`, so one batch can hold any mix of optimizers and any hyperparameter values (a
stability map gives every row its own learning rate). The update is torch.optim's single-tensor update, operation
for operation and in its order (read from torch/optim/*.py); with g the gradient at x and t the step (1, 2, …):

    weight decay g ← g + wd·x, or x ← x·(1 − lr·wd) where decoupled (AdamW, NAdam/RAdam's flag; only where wd ≠ 0)
    sgd family   b ← g at t = 1, else μ·b + (1−τ)·g;  d ← g + μ·b (nesterov) or b (μ ≠ 0) or g;  x ← x − lr·d
    adagrad      s ← s + g²;  x ← x − lr/(1 + (t−1)·decay) · g/(√s + ε)
    rmsprop      s ← α·s + (1−α)·g²;  c ← lerp(c, g, 1−α);  a ← √(s − c²) (centered) or √s;  a ← a + ε
                 μ > 0: b ← μ·b + g/a, x ← x − lr·b;  else x ← x − lr·g/a
    adam(w)      m ← lerp(m, g, 1−β₁);  v ← β₂·v + (1−β₂)·g²;  v̂ ← max(v̂, v) (amsgrad)
                 x ← x − lr/(1−β₁ᵗ) · m / (√(v̂ or v)/√(1−β₂ᵗ) + ε)
    nadam        μₜ = β₁(1 − ½·0.96^(tψ));  Π ← Π·μₜ (float32, as torch keeps it);  m, v as Adam;  d = √(v/(1−β₂ᵗ)) + ε
                 x ← x − lr(1−μₜ)/(1−Π) · g/d − lr·μₜ₊₁/(1 − Π·μₜ₊₁) · m/d
    radam        m, v as Adam;  ρₜ = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ);  ρₜ > 5: x ← x − m/(1−β₁ᵗ)·lr·√(1−β₂ᵗ)/(√v + ε)·r
                 else x ← x − m/(1−β₁ᵗ)·lr
    adamax       m as Adam;  u ← max(β₂u, |g| + ε);  x ← x − lr/(1−β₁ᵗ) · m/u
    adadelta     v ← ρv + (1−ρ)g²;  Δ ← √(u + ε)/√(v + ε)·g;  u ← ρu + (1−ρ)Δ²;  x ← x − lr·Δ
    asgd         x ← x·(1 − λη) − η·g;  a ← x (μ = 1) or a + (x − a)·μ;  η ← lr/(1 + λ·lr·t)^α, μ ← 1/max(1, t − t₀)
                 (η and μ are float32, as torch keeps them)
    rprop        f = η₊, η₋ or 1 by the sign of g·p;  s ← clamp(s·f, s_min, s_max);  g' ← 0 where f = η₋;
                 x ← x − sign(g')·s;  p ← g'
    muon         b ← lerp(b, g, 1−μ);  u ← lerp(g, b, μ) (nesterov) or b;  x ← x·(1 − lr·wd) − lr·NS(u)
                 NS: torch's Newton–Schulz iteration in bfloat16 on the 1×2 matrix u (it normalises u)

State per row and coordinate, four slots (:data:`STATE`); :data:`STATE_KEYS` names what each slot holds for each
kind with torch.optim's state names (a per-row number such as NAdam's mu_product is kept in both coordinates).

:func:`torch_step` writes this with torch operations on whole batches (the maps' eager engine: any device, no
compiler); the C kernel (:mod:`optviz.core.kernel_source`) writes the same lines for arrays of rows. Both are
tested against torch.optim. :func:`numpy_step` runs the same rule functions with numpy's operations (the launch
preview, before torch has loaded: importing this module does not import torch): bit for bit torch_step's numbers
but for square roots, where torch's (MKL's vector sqrt) is one unit in the last place off the correctly rounded
root that numpy computes for about 1 % of inputs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np

from optviz.core.lazy import torch
from optviz.core.numpy_ops import NUMPY_OPS, UNFUSED_NUMPY_OPS
from optviz.core.optimizers import JOINED, REGISTRY, OptimizerChoice

# The update rule of each registry entry (the C kernel's `kind`).
KINDS = {"sgd": 0, "momentum": 0, "nesterov": 0, "adagrad": 1, "rmsprop": 2, "adam": 3, "adamw": 3, "nadam": 4,
         "radam": 5, "adamax": 6, "adadelta": 7, "asgd": 8, "rprop": 9, "muon": 10}
N_KINDS = 11
NUMPY_KINDS = tuple(range(N_KINDS))  # the kinds numpy_step steps (all: Muon's bfloat16 is emulated exactly)
# Columns of a hyperparameter row (the C kernel's H_* constants follow this order).
COLUMNS = ("kind", "lr", "weight_decay", "momentum", "dampening", "nesterov", "lr_decay", "eps", "alpha",
           "centered", "beta1", "beta2", "amsgrad", "initial_accumulator_value", "decoupled", "momentum_decay", "rho",
           "lambd", "t0", "etaminus", "etaplus", "step_size_min", "step_size_max", "ns_steps")
COL = {name: i for i, name in enumerate(COLUMNS)}
STATE = ("buf", "sum", "avg", "max")  # the four state slots per coordinate
# What each slot holds, by kind, in torch.optim's names (a slot not named is unused: 0).
STATE_KEYS: dict[int, dict[str, str]] = {
    0: {"buf": "momentum_buffer"},
    1: {"sum": "sum"},
    2: {"sum": "square_avg", "buf": "momentum_buffer", "avg": "grad_avg"},
    3: {"avg": "exp_avg", "sum": "exp_avg_sq", "max": "max_exp_avg_sq"},
    4: {"avg": "exp_avg", "sum": "exp_avg_sq", "max": "mu_product"},
    5: {"avg": "exp_avg", "sum": "exp_avg_sq"},
    6: {"avg": "exp_avg", "max": "exp_inf"},
    7: {"sum": "square_avg", "buf": "acc_delta"},
    8: {"avg": "ax", "sum": "eta", "max": "mu"},
    9: {"buf": "prev", "sum": "step_size"},
    10: {"buf": "momentum_buffer"},
}
_ROW_FIXED = {"adamw": {"decoupled": 1.0}, "muon": {"decoupled": 1.0}}
_TORCH_NAMES = {"decoupled_weight_decay": "decoupled"}
MUON_NS = (3.4445, -4.775, 2.0315)  # torch.optim.Muon's default Newton–Schulz coefficients (a, b, c)
MUON_KIND, PER_ROW_KINDS = 10, (10,)  # Muon's parameter is a matrix: each path needs its own 1×2 parameter


def hyper_row(choice: OptimizerChoice) -> np.ndarray:
    """One row of the table for a registry choice (its torch.optim keywords, flags as 0/1)."""
    return np.array(_row(choice.name, tuple(sorted(choice.values.items()))))


@functools.lru_cache(maxsize=1024)
def _row(name: str, values: tuple) -> tuple[float, ...]:
    row = [0.0] * len(COLUMNS)
    row[COL["kind"]] = KINDS[name]
    parts = {joined: pair for joined, pair in JOINED.items()}
    for key, value in REGISTRY[name].torch_kwargs(dict(values)).items():
        key = _TORCH_NAMES.get(key, key)
        if key in parts:
            for part, v in zip(parts[key], value):
                row[COL[part]] = float(v)
        elif key in COL:
            row[COL[key]] = float(value)
    for key, value in _ROW_FIXED.get(name, {}).items():
        row[COL[key]] = value
    return tuple(row)


def hyper_table(choices: Sequence[OptimizerChoice]) -> np.ndarray:
    """``(len(choices), len(COLUMNS))`` float64: one row per choice."""
    return np.stack([hyper_row(c) for c in choices]) if choices else np.zeros((0, len(COLUMNS)))


def f32(x: np.ndarray | float) -> np.ndarray:
    """Rounded to float32 and back (the numbers torch.optim keeps in float32 scalar state)."""
    return np.asarray(x, dtype=np.float64).astype(np.float32).astype(np.float64)


def initial_state(table: np.ndarray, groups: np.ndarray, lr: np.ndarray | None = None) -> np.ndarray:
    """``(len(STATE), rows, 2)`` state at step 0 for rows whose table rows are ``groups``: 0, but Adagrad's sum (its
    initial accumulator value), Rprop's step sizes (lr), ASGD's η (lr, float32) and μ (1) and NAdam's μ product
    (1). ``lr`` (per table row) is the learning rate at step 1 where a schedule changes it."""
    state = np.zeros((len(STATE), len(groups), 2))
    # per table row (few), then spread over the rows (many): this runs at every call of the fast engine
    kind = table[:, COL["kind"]]
    rate = table[:, COL["lr"]] if lr is None else np.asarray(lr, dtype=np.float64)
    first = np.where(kind == 1, table[:, COL["initial_accumulator_value"]], 0.0)
    if (kind >= 4).any():
        first = np.where(kind == 9, rate, np.where(kind == 8, f32(rate), first))
        state[3] = np.where((kind == 4) | (kind == 8), 1.0, 0.0)[groups, None]
    state[1] = first[groups, None]
    return state


def bias_corrections(table: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Adam's step size lr/(1−β₁ᵗ) and √(1−β₂ᵗ) for every table row, computed as torch.optim does (Python
    floats: libm's pow, which numpy also calls)."""
    s = step_scalars(table, t)
    return s[:, SCALARS.index("step_size")], s[:, SCALARS.index("bc2_sqrt")]


SCALARS = ("step_size", "bc2_sqrt", "bc1", "bc2", "mu", "mu_next", "rho_t", "rect", "eta_next", "mu_next_asgd")


def step_scalars(table: np.ndarray, t: int) -> np.ndarray:
    """``(rows, len(SCALARS))``: the numbers torch.optim computes as Python floats at step ``t`` for every table
    row (the learning rate is the row's ``lr``): Adam's lr/(1−β₁ᵗ) and (1−β₂ᵗ)^½ (also Adamax's and RAdam's),
    1−β₁ᵗ and 1−β₂ᵗ, NAdam's μₜ and μₜ₊₁, RAdam's ρₜ and rectification r, ASGD's next η and μ (float32)."""
    c = {name: table[:, i] for i, name in enumerate(COLUMNS)}
    lr, b1, b2, t = c["lr"], c["beta1"], c["beta2"], float(t)
    with np.errstate(all="ignore"):
        bc1, bc2 = 1.0 - np.power(b1, t), 1.0 - np.power(b2, t)
        mu = b1 * (1.0 - 0.5 * np.power(0.96, t * c["momentum_decay"]))
        mu_next = b1 * (1.0 - 0.5 * np.power(0.96, (t + 1.0) * c["momentum_decay"]))
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        rho_t = rho_inf - 2.0 * t * np.power(b2, t) / bc2
        rect = np.power((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t), 0.5)
        eta = f32(lr / np.power(1.0 + c["lambd"] * lr * t, c["alpha"]))
        mu_asgd = f32(1.0 / np.maximum(1.0, t - c["t0"]))
        return np.stack([lr / bc1, np.power(bc2, 0.5), bc1, bc2, mu, mu_next, rho_t, rect, eta, mu_asgd], axis=1)


def torch_optimizer(row: np.ndarray, params: list[torch.Tensor]) -> torch.optim.Optimizer | None:
    """torch.optim itself for one table row (the eager maps use it where all rows share one optimizer), or None
    for Muon, whose parameter is a matrix (its rows would not be independent paths)."""
    h = {name: float(row[i]) for i, name in enumerate(COLUMNS)}
    kind, lr, wd, eps = int(h["kind"]), h["lr"], h["weight_decay"], h["eps"]
    betas = (h["beta1"], h["beta2"])
    o = torch.optim
    if kind == 0:
        return o.SGD(params, lr=lr, momentum=h["momentum"], dampening=h["dampening"], weight_decay=wd,
                     nesterov=bool(h["nesterov"]))
    if kind == 1:
        return o.Adagrad(params, lr=lr, lr_decay=h["lr_decay"], weight_decay=wd,
                         initial_accumulator_value=h["initial_accumulator_value"], eps=eps)
    if kind == 2:
        return o.RMSprop(params, lr=lr, alpha=h["alpha"], eps=eps, weight_decay=wd, momentum=h["momentum"],
                         centered=bool(h["centered"]))
    if kind == 3:
        return o.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=wd, amsgrad=bool(h["amsgrad"]),
                      decoupled_weight_decay=bool(h["decoupled"]))
    if kind == 4:
        return o.NAdam(params, lr=lr, betas=betas, eps=eps, weight_decay=wd, momentum_decay=h["momentum_decay"],
                       decoupled_weight_decay=bool(h["decoupled"]))
    if kind == 5:
        return o.RAdam(params, lr=lr, betas=betas, eps=eps, weight_decay=wd,
                       decoupled_weight_decay=bool(h["decoupled"]))
    if kind == 6:
        return o.Adamax(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    if kind == 7:
        return o.Adadelta(params, lr=lr, rho=h["rho"], eps=eps, weight_decay=wd)
    if kind == 8:
        return o.ASGD(params, lr=lr, lambd=h["lambd"], alpha=h["alpha"], t0=h["t0"], weight_decay=wd)
    if kind == 9:
        return o.Rprop(params, lr=lr, etas=(h["etaminus"], h["etaplus"]),
                       step_sizes=(h["step_size_min"], h["step_size_max"]))
    return None


def torch_step(x: torch.Tensor, g: torch.Tensor, state: torch.Tensor, h: torch.Tensor, t: int, sc: torch.Tensor,
               kinds: Sequence[int] = tuple(range(N_KINDS))) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, state) after step ``t`` (1, 2, …) for rows ``x`` (R, 2) with gradients ``g``, state (4, R, 2),
    hyperparameter rows ``h`` (R, len(COLUMNS)) and the step's scalars ``sc`` (R, len(SCALARS)) from
    :func:`step_scalars`. The rules of ``kinds`` (those present) are computed and each row keeps its own; the
    operations are torch.optim's (addcmul and lerp where it uses them), so each row rounds as torch.optim does."""
    return _step(torch_ops(), x, g, state, h, t, sc, kinds)


def numpy_step(x: np.ndarray, g: np.ndarray, state: np.ndarray, h: np.ndarray, t: int, sc: np.ndarray,
               kinds: Sequence[int] = NUMPY_KINDS, *, fused: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """:func:`torch_step` on float64 numpy arrays, without torch: the same rules through :data:`NUMPY_OPS`, whose
    addcmul and lerp round once as torch's fused CPU kernels do (see :func:`optviz.core.numpy_ops.fma`);
    ``fused=False`` rounds them twice (:data:`UNFUSED_NUMPY_OPS`, faster). NaN and inf come out as torch's do,
    without warnings."""
    unknown = sorted({int(k) for k in kinds} - set(NUMPY_KINDS))
    if unknown:
        raise NotImplementedError(f"numpy_step has no rule of kind {unknown}; it knows {list(NUMPY_KINDS)}")
    f64 = np.float64
    with np.errstate(all="ignore"):
        ops = NUMPY_OPS if fused else UNFUSED_NUMPY_OPS
        return _step(ops, np.asarray(x, f64), np.asarray(g, f64), np.asarray(state, f64), np.asarray(h, f64),
                     t, np.asarray(sc, f64), kinds)


def _step(o, x, g, state, h, t, sc, kinds):
    c = {name: h[:, i:i + 1] for i, name in enumerate(COLUMNS)}
    c.update({name: sc[:, i:i + 1] for i, name in enumerate(SCALARS)})
    # Weight decay as torch applies it (only where it is not 0, so that x = inf gives no 0·inf): in the gradient,
    # or decoupled (x·(1 − lr·wd) before the update; Muon does it always, which with wd = 0 multiplies by 1).
    wd, decoupled = c["weight_decay"], c["decoupled"] != 0
    g = o.where((wd != 0) & ~decoupled, o.addcmul(g, wd, x), g)
    x_dec = o.where(((wd != 0) & decoupled) | (c["kind"] == MUON_KIND), x * (1 - c["lr"] * wd), x)
    results = {k: RULES[k](o, x_dec, g, o.unbind(state), c, t) for k in sorted(set(kinds))}
    if len(results) == 1:
        (x_new, parts), = results.values()
        return x_new, o.stack(parts)
    x_new, state_new = x, state
    for k, (x_k, parts) in results.items():
        mine = c["kind"] == k
        x_new = o.where(mine, x_k, x_new)
        state_new = o.where(mine, o.stack(parts), state_new)
    return x_new, state_new


# The rules, each written once against an ops namespace `o`: torch_ops() or NUMPY_OPS, bound once.
def _sgd(o, x, g, state, c, t):
    buf, s, avg, vmax = state
    mom = c["momentum"]
    b = g if t == 1 else o.addcmul(buf * mom, 1 - c["dampening"], g)
    d = o.where(c["nesterov"] != 0, o.addcmul(g, mom, b), o.where(mom != 0, b, g))
    return o.addcmul(x, -c["lr"], d), (o.where(mom != 0, b, buf), s, avg, vmax)


def _adagrad(o, x, g, state, c, t):
    buf, s, avg, vmax = state
    clr = c["lr"] / (1 + (t - 1) * c["lr_decay"])
    s = o.addcmul(s, g, g)
    return x + ((-clr) * g) / (o.sqrt(s) + c["eps"]), (buf, s, avg, vmax)


def _rmsprop(o, x, g, state, c, t):
    buf, s, avg, vmax = state
    alpha, centered, mom, lr = c["alpha"], c["centered"] != 0, c["momentum"], c["lr"]
    s = o.addcmul(s * alpha, (1 - alpha) * g, g)
    avg = o.where(centered, o.lerp(avg, g, o.expand(1 - alpha, g)), avg)
    root = o.sqrt(o.where(centered, o.addcmul(s, -avg, avg), s)) + c["eps"]
    buf = o.where(mom > 0, buf * mom + g / root, buf)
    return o.where(mom > 0, o.addcmul(x, -lr, buf), x + ((-lr) * g) / root), (buf, s, avg, vmax)


def _moments(o, avg, s, g, c):
    return o.lerp(avg, g, o.expand(1 - c["beta1"], g)), o.addcmul(s * c["beta2"], (1 - c["beta2"]) * g, g)


def _adam(o, x, g, state, c, t):
    buf, s, avg, vmax = state
    avg, s = _moments(o, avg, s, g, c)
    vmax = o.where(c["amsgrad"] != 0, o.maximum(vmax, s), vmax)
    denom = o.sqrt(o.where(c["amsgrad"] != 0, vmax, s)) / c["bc2_sqrt"] + c["eps"]
    return x + ((-c["step_size"]) * avg) / denom, (buf, s, avg, vmax)


def _nadam(o, x, g, state, c, t):
    buf, s, avg, prod = state
    prod = o.to64(o.to32(prod) * o.to32(c["mu"]))  # torch keeps mu_product in float32
    avg, s = _moments(o, avg, s, g, c)
    denom = o.sqrt(s / c["bc2"]) + c["eps"]
    lr, mu_next = c["lr"], c["mu_next"]
    x = x + ((-lr * (1.0 - c["mu"]) / (1.0 - prod)) * g) / denom
    x = x + (((-lr * mu_next) / (1.0 - prod * mu_next)) * avg) / denom
    return x, (buf, s, avg, prod)


def _radam(o, x, g, state, c, t):
    buf, s, avg, vmax = state
    avg, s = _moments(o, avg, s, g, c)
    corrected = avg / c["bc1"]
    adaptive = o.reciprocal(o.sqrt(s) + c["eps"]) * c["bc2_sqrt"]  # a float / tensor is reciprocal · float
    step = o.where(c["rho_t"] > 5.0, corrected * c["lr"] * adaptive * c["rect"], corrected * c["lr"])
    return x - step, (buf, s, avg, vmax)


def _adamax(o, x, g, state, c, t):
    buf, s, avg, u = state
    avg = o.lerp(avg, g, o.expand(1 - c["beta1"], g))
    u = o.maximum(u * c["beta2"], o.abs(g) + c["eps"])
    return x + ((-c["step_size"]) * avg) / u, (buf, s, avg, u)


def _adadelta(o, x, g, state, c, t):
    acc, s, avg, vmax = state
    rho, eps = c["rho"], c["eps"]
    s = o.addcmul(s * rho, (1 - rho) * g, g)
    delta = o.sqrt(acc + eps) / o.sqrt(s + eps) * g
    acc = o.addcmul(acc * rho, (1 - rho) * delta, delta)
    return o.addcmul(x, -c["lr"], delta), (acc, s, avg, vmax)


def _asgd(o, x, g, state, c, t):
    buf, eta, ax, mu = state
    x = o.addcmul(x * (1 - c["lambd"] * eta), -eta, g)
    ax = o.where(mu != 1, ax + (x - ax) * mu, x)
    return x, (buf, o.expand(c["eta_next"], x), ax, o.expand(c["mu_next_asgd"], x))


def _rprop(o, x, g, state, c, t):
    prev, size, avg, vmax = state
    sign = o.sign(g * prev)
    minus, plus = o.expand(c["etaminus"], g), o.expand(c["etaplus"], g)
    factor = o.where(sign > 0, plus, o.where(sign < 0, minus, o.where(sign == 0, 1.0, sign)))
    size = o.minimum(o.maximum(size * factor, o.expand(c["step_size_min"], g)), o.expand(c["step_size_max"], g))
    size = o.where(o.isnan(factor), factor, size)  # clamp keeps a NaN, as torch's clamp_ does
    g = o.where(factor == minus, 0.0, g)
    return o.addcmul(x, -o.sign(g), size), (g, size, avg, vmax)


def newton_schulz(u, steps, eps, o=None):
    """torch.optim.Muon's orthogonalisation of every row of ``u`` (R, 2) as a 1×2 matrix, float32 holding
    bfloat16 values as torch computes them: u/‖u‖ then ``steps`` quintic iterations X ← aX + (bA + cA²)X, A = XXᵀ.
    ``steps`` and ``eps`` (R, 1) per row; ``o`` the ops (torch's unless given)."""
    o = torch_ops() if o is None else o
    a, b, c = (o.const32(v) for v in MUON_NS)
    xf = o.bf16(o.to32(u))
    norm = o.bf16(o.sqrt(xf[:, :1] * xf[:, :1] + xf[:, 1:] * xf[:, 1:]))
    xf = o.bf16(xf / o.maximum(norm, o.bf16(o.to32(eps))))
    for k in range(int(steps.max()) if len(steps) else 0):
        gram = o.bf16(xf[:, :1] * xf[:, :1] + xf[:, 1:] * xf[:, 1:])
        update = o.bf16(b * gram + c * (gram * gram))
        xf = o.where(steps > k, o.bf16(a * xf + update * xf), xf)
    return xf


def _muon(o, x, g, state, c, t):
    buf, s, avg, vmax = state
    mom = o.expand(c["momentum"], g)
    buf = o.lerp(buf, g, 1 - mom)
    u = o.where(c["nesterov"] != 0, o.lerp(g, buf, mom), buf)
    update = o.like(newton_schulz(u, c["ns_steps"], c["eps"], o), x)
    return o.addcmul(x, -c["lr"], update), (buf, s, avg, vmax)


RULES = (_sgd, _adagrad, _rmsprop, _adam, _nadam, _radam, _adamax, _adadelta, _asgd, _rprop, _muon)


def bf16(t: torch.Tensor) -> torch.Tensor:
    """float32 rounded to bfloat16 (to nearest even) and back."""
    return t.to(torch.bfloat16).to(torch.float32)


@functools.cache
def torch_ops() -> SimpleNamespace:
    """The operations the rules use, torch's (bound on first use: importing this module does not import torch)."""
    return SimpleNamespace(
        where=torch.where, addcmul=torch.addcmul, lerp=torch.lerp, sqrt=torch.sqrt, maximum=torch.maximum,
        minimum=torch.minimum, sign=torch.sign, isnan=torch.isnan, reciprocal=torch.reciprocal, abs=torch.abs,
        stack=torch.stack, unbind=lambda a: a.unbind(0), expand=lambda a, like: a.expand_as(like),
        to32=lambda a: a.to(torch.float32), to64=lambda a: a.double(), like=lambda a, ref: a.to(ref.dtype), bf16=bf16,
        const32=lambda v: torch.tensor(v, dtype=torch.float32))
