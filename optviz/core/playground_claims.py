"""The playground lessons' sessions and claims: what each lesson sets up, and what is measured on it.

The claims run the same ``simulate`` the playground draws with (the eager engine: torch.optim itself), in float64
on the CPU, so they are deterministic; where noise is involved they hold for every seed they name. The texts that
quote these numbers are in :mod:`optviz.core.playground_lessons`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from optviz.core.lessons import Claim, Measured
from optviz.core.optimizers import DEFAULT_OPTIMIZERS, REGISTRY, OptimizerChoice
from optviz.core.regularize import Penalty, regularize
from optviz.core.schedules import ScheduleChoice
from optviz.core.session import OptimizerEntry, Session
from optviz.core.surfaces import Surface, get_surface

if TYPE_CHECKING:
    from optviz.core.simulate import Paths

def lesson_session(surface: str, starts, steps: int, values: dict[str, dict], *, params: dict | None = None,
                   only: tuple[str, ...] | None = None) -> Session:
    """A session listing the six default optimizers in order (the playground adds the rest of the registry, off);
    ``values`` by name (a float is the lr)."""
    entries = []
    for name in DEFAULT_OPTIMIZERS:
        v = values.get(name, {})
        v = {"lr": v} if isinstance(v, float) else dict(v)
        entries.append(OptimizerEntry(OptimizerChoice(name, v), enabled=only is None or name in only))
    return Session(surface, dict(params or {}), tuple(entries), tuple(starts), steps)


def run(session: Session) -> tuple[dict[str, int], Paths, Surface]:
    """The session's paths (eager engine: the reference) with the index of each enabled optimizer by name."""
    from optviz.core.simulate import simulate  # torch: not needed to read the lessons' sessions

    surface = session.make_surface()
    choices = session.enabled_choices()
    paths = simulate(surface, choices, session.starts, session.steps, device="cpu", engine="eager")
    return {c.name: i for i, c in enumerate(choices)}, paths, surface


def nearest_minimum(surface: Surface, point):
    return min(surface.minima, key=lambda m: np.hypot(m.x - point[0], m.y - point[1]))


def steps_to(losses: np.ndarray, tol: float) -> int:
    """The first step from which ``losses`` stays below ``tol`` to the end, or -1."""
    ok = np.nan_to_num(losses, nan=np.inf) < tol
    stays = np.flip(np.logical_and.accumulate(np.flip(ok)))
    return int(np.argmax(stays)) if stays.any() else -1


def _at(p: Paths, i: int) -> str:
    x, y = p.positions[i, 0, -1]
    return f"({x:.3f}, {y:.3f})"


# ---- 1. Himmelblau ----------------------------------------------------------------------------------------------

HIMMELBLAU = lesson_session("himmelblau", [(1.5, -4.0)], 300,
                            {"sgd": 0.01, "momentum": 0.005, "nesterov": 0.005, "adagrad": 1.0, "rmsprop": 0.1,
                             "adam": 0.3})


def claim_himmelblau() -> Claim:
    m = Measured()
    idx, p, surface = run(HIMMELBLAU)
    ends = {n: p.positions[i, 0, -1] for n, i in idx.items()}
    at = {n: nearest_minimum(surface, e) for n, e in ends.items()}
    for n in ("sgd", "momentum", "nesterov", "adagrad", "adam"):
        m.number(f"{REGISTRY[n].title} ends at", _at(p, idx[n]))
    m.number("RMSProp's loss at step 300", float(p.losses[idx["rmsprop"], 0, -1]))
    low = np.flatnonzero(p.losses[idx["rmsprop"], 0] < 1e-10)  # f* = 0: at the minimum, to rounding
    first = m.number("RMSProp: first step with f − f* < 1e-10", int(low[0]) if len(low) else -1)
    last = m.number("RMSProp: last step with f − f* < 1e-10", int(low[-1]) if len(low) else -1)
    m.check("SGD, Momentum, Nesterov, Adagrad and Adam end within 1e-3 of a minimum",
            all(np.hypot(at[n].x - ends[n][0], at[n].y - ends[n][1]) < 1e-3
                for n in ("sgd", "adagrad", "adam", "momentum", "nesterov")))
    m.check("SGD, Adagrad and Adam share one minimum", at["sgd"] == at["adagrad"] == at["adam"])
    m.check("SGD, Nesterov and Momentum end in three different minima",
            len({at["sgd"], at["nesterov"], at["momentum"]}) == 3)
    m.check("RMSProp is still moving with a loss above 0.1",
            p.status(idx["rmsprop"], 0) == "running" and p.losses[idx["rmsprop"], 0, -1] > 0.1)
    m.check("RMSProp reaches the minimum before step 100 and leaves it before step 250", 0 <= first < 100 and
            first < last < 250 and nearest_minimum(surface, p.positions[idx["rmsprop"], 0, first]) == at["sgd"])
    return m.claim()


# ---- 3. Rosenbrock: momentum vs Nesterov across the valley floor ------------------------------------------------

ROSENBROCK = lesson_session("rosenbrock", [(0.0, 2.0)], 1000,
                            {"sgd": 0.001, "momentum": 0.001, "nesterov": 0.001, "adagrad": 0.5, "rmsprop": 0.01,
                             "adam": 0.05})


def floor_crossings(xy: np.ndarray) -> int:
    """How often a path crosses Rosenbrock's valley floor y = x² (sign changes of y − x²)."""
    side = np.sign(xy[:, 1] - xy[:, 0] ** 2)
    side = side[np.isfinite(side) & (side != 0)]
    return int(np.sum(side[1:] != side[:-1]))


def overshoot(xy: np.ndarray) -> float:
    """The farthest a path gets from Rosenbrock's valley floor (|y − x²|) after it first crosses it."""
    d = xy[:, 1] - xy[:, 0] ** 2
    crossed = np.flatnonzero(np.sign(d) != np.sign(d[0]))
    return float(np.nanmax(np.abs(d[crossed[0]:]))) if len(crossed) else 0.0


def claim_rosenbrock() -> Claim:
    m = Measured()
    idx, p, _ = run(ROSENBROCK)
    mom = m.number("Momentum: crossings of the valley floor y = x²", floor_crossings(p.positions[idx["momentum"], 0]))
    nes = m.number("Nesterov: crossings of the valley floor", floor_crossings(p.positions[idx["nesterov"], 0]))
    o_mom = m.number("Momentum: largest |y − x²| after its first crossing", overshoot(p.positions[idx["momentum"], 0]))
    o_nes = m.number("Nesterov: largest |y − x²| after its first crossing", overshoot(p.positions[idx["nesterov"], 0]))
    sgd = m.number("SGD: distance to (1, 1) after 1000 steps", float(np.hypot(*(p.positions[idx["sgd"], 0, -1] - 1))))
    adam = m.number("Adam: distance to (1, 1) after 1000 steps",
                    float(np.hypot(*(p.positions[idx["adam"], 0, -1] - 1))))
    m.check("Momentum crosses the valley floor at least 3 times as often as Nesterov", mom >= 3 * nes > 0)
    m.check("Momentum's overshoot beyond the floor is larger than Nesterov's", o_mom > o_nes)
    m.check("SGD is still more than 0.5 away from (1, 1) after 1000 steps", sgd > 0.5)
    m.check("Adam is within 0.1 of (1, 1) after 1000 steps", adam < 0.1)
    return m.claim()


# ---- 4. Ill-conditioned quadratic: steps to a tolerance ---------------------------------------------------------

QUADRATIC = lesson_session("quadratic", [(-2.5, 2.0)], 1000,
                           {"sgd": 0.019, "momentum": {"lr": 0.03, "momentum": 0.67}, "nesterov": 0.005,
                            "adagrad": 1.0, "rmsprop": 0.01, "adam": 0.1},
                           params={"kappa": 100.0}, only=("sgd", "momentum", "adagrad", "rmsprop", "adam"))
TOLERANCE = 1e-6


def claim_quadratic() -> Claim:
    m = Measured()
    idx, p, _ = run(QUADRATIC)
    n = {name: m.number(f"{REGISTRY[name].title}: steps to f − f* < 1e-6", steps_to(p.losses[i, 0], TOLERANCE))
         for name, i in idx.items()}
    table = {name: m.number(f"{REGISTRY[name].title}: the status table's converged step (‖∇f‖ < 1e-6)",
                            int(p.converged_step[i, 0])) for name, i in idx.items()}
    m.check("The status table's converged steps are each later than the steps to f − f* < 1e-6",
            all(table[k] > n[k] >= 0 for k in idx))
    m.check("SGD (lr 0.019, just under 2/κ) needs at least 300 steps", n["sgd"] >= 300)
    m.check("Momentum, Adagrad and Adam each need less than half of SGD's steps",
            all(0 <= n[k] < n["sgd"] / 2 for k in ("momentum", "adagrad", "adam")))
    m.check("Adagrad, whose per-coordinate scaling undoes the axis-aligned conditioning, needs under 50",
            0 <= n["adagrad"] < 50)
    m.check("RMSProp at lr 0.01 is no faster than SGD here", n["rmsprop"] < 0 or n["rmsprop"] >= n["sgd"])
    raised = QUADRATIC.with_(optimizers=tuple(
        OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.021}), True) if e.choice.name == "sgd" else e
        for e in QUADRATIC.optimizers))
    idx2, p2, _ = run(raised)
    m.check("SGD with lr 0.021 (above 2/κ = 0.02) diverges", p2.status(idx2["sgd"], 0) == "diverged")
    return m.claim()


# ---- 5. Adagrad stalls, RMSProp does not ------------------------------------------------------------------------

ADAGRAD = lesson_session("rosenbrock", [(-1.5, 2.0)], 2000, {"adagrad": 0.1, "rmsprop": 0.01},
                         only=("adagrad", "rmsprop"))


def effective_steps(surface: Surface, choice: OptimizerChoice, xy: np.ndarray) -> np.ndarray:
    """lr / (√s + ε) per step and coordinate, s from the gradients at the path's points, as torch computes s."""
    import torch

    t = torch.tensor(xy[:-1], dtype=torch.float64, requires_grad=True)
    surface(t).sum().backward()
    g2 = t.grad.numpy() ** 2
    v = choice.values
    if choice.name == "adagrad":
        s = np.cumsum(g2, axis=0)
    else:
        s = np.empty_like(g2)
        acc = np.zeros(2)
        for k, row in enumerate(g2):
            acc = v["alpha"] * acc + (1 - v["alpha"]) * row
            s[k] = acc
    return v["lr"] / (np.sqrt(s) + v["eps"])


def claim_adagrad() -> Claim:
    m = Measured()
    idx, p, surface = run(ADAGRAD)
    choices = {c.name: c for c in ADAGRAD.enabled_choices()}
    eff = {n: effective_steps(surface, choices[n], p.positions[i, 0]).max(axis=1) for n, i in idx.items()}
    dist = {n: float(np.hypot(*(p.positions[i, 0, -1] - 1))) for n, i in idx.items()}
    a = m.number("Adagrad (lr 0.1): largest effective step lr/(√s+ε) from step 100 on",
                 float(eff["adagrad"][100:].max()))
    m.number("Adagrad: effective step at step 2000", float(eff["adagrad"][-1]))
    r = m.number("RMSProp (lr 0.01): largest effective step from step 100 on", float(eff["rmsprop"][100:].max()))
    m.number("RMSProp: effective step at step 2000", float(eff["rmsprop"][-1]))
    m.number("Adagrad: distance to (1, 1) after 2000 steps", dist["adagrad"])
    m.number("RMSProp: distance to (1, 1) after 2000 steps", dist["rmsprop"])
    move = float(np.hypot(*(p.positions[idx["rmsprop"], 0, -1] - p.positions[idx["rmsprop"], 0, -2])))
    m.number("RMSProp: length of its last step", move)
    m.check("Adagrad's effective step never grows", np.all(np.diff(eff["adagrad"]) <= 0))
    m.check("Adagrad's effective step stays below 2 % of its lr from step 100 on", a < 0.02 * 0.1)
    m.check("RMSProp's effective step, with a 10× smaller lr, rises to over 5× Adagrad's", r > 5 * a)
    m.check("Adagrad ends more than 0.8 from (1, 1)", dist["adagrad"] > 0.8)
    m.check("RMSProp ends within 0.2 of (1, 1) and is still moving (last step over 1e-3)",
            dist["rmsprop"] < 0.2 and p.status(idx["rmsprop"], 0) == "running" and move > 1e-3)
    return m.claim()


# ---- 6. Adam's first steps ---------------------------------------------------------------------------------------

ADAM = lesson_session("quadratic", [(-2.5, 2.0)], 200, {"sgd": 0.005, "adam": 0.1}, params={"kappa": 100.0},
                      only=("sgd", "adam"))


def claim_adam() -> Claim:
    m = Measured()
    lr = 0.1
    ok = True
    for kappa in (1.0, 10.0, 100.0):
        s = ADAM.with_(surface_params={"kappa": kappa})
        idx, p, surface = run(s)
        first = np.abs(p.positions[idx["adam"], 0, 1] - p.positions[idx["adam"], 0, 0])
        m.number(f"κ = {kappa:g}: Adam's first step |Δx|, |Δy|", f"{first[0]:.6g}, {first[1]:.6g}")
        ok &= bool(np.allclose(first, lr, rtol=1e-6))
    idx, p, _ = run(ADAM)
    sgd_first = np.abs(p.positions[idx["sgd"], 0, 1] - p.positions[idx["sgd"], 0, 0])
    m.number("κ = 100: SGD's first step |Δx|, |Δy| (lr 0.005)", f"{sgd_first[0]:.4g}, {sgd_first[1]:.4g}")
    steps = np.abs(np.diff(p.positions[idx["adam"], 0, :11], axis=0))
    m.number("κ = 100: Adam's largest coordinate step in its first 10", float(steps.max()))
    m.check("Adam's first step is lr = 0.1 in each coordinate (to 1e-6) for κ = 1, 10 and 100", ok)
    m.check("SGD's first step is 80× longer in y than in x, as the gradient (−2.5, 200) is",
            np.isclose(sgd_first[1] / sgd_first[0], 80.0))
    m.check("Adam's first 10 steps stay within lr per coordinate", steps.max() <= lr * (1 + 1e-9))
    return m.claim()


# ---- 7. A saddle; too large a learning rate ---------------------------------------------------------------------

SADDLE = lesson_session("saddle", [(-1.5, 0.001)], 150,
                        {"sgd": 0.05, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.1, "rmsprop": 0.01,
                         "adam": 0.05})


def claim_saddle() -> Claim:
    m = Measured()
    idx, p, _ = run(SADDLE)
    leave = {n: int(np.argmax(np.abs(p.positions[i, 0, :, 1]) > 1.0)) for n, i in idx.items()}
    for n, k in leave.items():
        m.number(f"{REGISTRY[n].title}: steps until |y| > 1", k)
    m.check("SGD needs 60 to 80 steps", 60 <= leave["sgd"] <= 80)
    m.check("Momentum and Nesterov need 20 to 30", all(20 <= leave[n] <= 30 for n in ("momentum", "nesterov")))
    m.check("Adagrad, RMSProp and Adam need 20 or fewer",
            all(0 < leave[n] <= 20 for n in ("adagrad", "rmsprop", "adam")))
    return m.claim()


DIVERGENCE = lesson_session("rosenbrock", [(-1.2, 1.0)], 300, {"sgd": 0.01, "adam": 0.01}, only=("sgd", "adam"))


def claim_divergence() -> Claim:
    m = Measured()
    idx, p, _ = run(DIVERGENCE)
    d = m.number("SGD diverges at step", int(p.diverged_step[idx["sgd"], 0]))
    m.number("Adam's status after 300 steps", p.status(idx["adam"], 0))
    m.check("SGD with lr 0.01 diverges within 10 steps", p.status(idx["sgd"], 0) == "diverged" and 0 < d < 10)
    m.check("Adam with the same lr stays finite", p.status(idx["adam"], 0) != "diverged"
            and np.isfinite(p.losses[idx["adam"], 0]).all())
    return m.claim()


# ---- 2. Noisy gradients on the wells ----------------------------------------------------------------------------

WELLS_NOISE, WELLS_SEEDS = 0.1, (0, 1, 2, 3, 4)
WELLS = Session("wells", {}, (
    OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.1}, noise=WELLS_NOISE)),
    OptimizerEntry(OptimizerChoice("momentum", {"lr": 0.1}, noise=WELLS_NOISE)),
    *(OptimizerEntry(OptimizerChoice(n), False) for n in DEFAULT_OPTIMIZERS if n not in ("sgd", "momentum"))),
    ((-3.2, 2.6),), 300)


def _settled_minimum(surface: Surface, xy: np.ndarray):
    """The minimum nearest to the mean of a path's last 50 points (a noisy path jitters around where it settled)."""
    return nearest_minimum(surface, np.nanmean(xy[-50:], axis=0))


def claim_wells() -> Claim:
    m = Measured()
    sgd_local, momentum_global = [], []
    for seed in WELLS_SEEDS:
        s = WELLS.with_(optimizers=tuple(dataclasses.replace(e, choice=dataclasses.replace(e.choice, seed=seed))
                                         for e in WELLS.optimizers))
        idx, p, surface = run(s)
        at = {n: _settled_minimum(surface, p.positions[i, 0]) for n, i in idx.items()}
        m.number(f"seed {seed}: SGD settles at · Momentum settles at",
                 f"({at['sgd'].x:.2f}, {at['sgd'].y:.2f}) {at['sgd'].kind} · "
                 f"({at['momentum'].x:.2f}, {at['momentum'].y:.2f}) {at['momentum'].kind}")
        gap = p.losses[:, 0, -50:] - min(point.value for point in surface.minima)  # what the loss plot shows
        m.number(f"seed {seed}: SGD's · Momentum's f − f* over the last 50 steps",
                 f"{gap[idx['sgd']].min():.3g} … {gap[idx['sgd']].max():.3g} · "
                 f"{gap[idx['momentum']].min():.3g} … {gap[idx['momentum']].max():.3g}")
        sgd_local.append(at["sgd"].kind == "local" and at["sgd"].value > -0.7
                         and bool(np.all(np.abs(gap[idx["sgd"]] - 1.05) < 0.1)))
        momentum_global.append(at["momentum"].kind == "global" and bool(np.all(gap[idx["momentum"]] < 0.1)))
    m.check(f"With noise σ = {WELLS_NOISE:g}, SGD settles in the shallow well (f = −0.685, f − f* within 0.1 of "
            "1.05 for its last 50 steps), seeds 0–4", all(sgd_local))
    m.check("Momentum with the same lr and noise reaches the global well (f = −1.732, f − f* below 0.1 for its last "
            "50 steps), seeds 0–4", all(momentum_global))
    return m.claim()


# ---- 8. L1 vs L2 ------------------------------------------------------------------------------------------------

L1_ALPHA = 20.0
L1_L2 = Session("booth", {}, (
    OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.01})),
    OptimizerEntry(OptimizerChoice("adam", {"lr": 0.1})),
    *(OptimizerEntry(OptimizerChoice(n), False) for n in DEFAULT_OPTIMIZERS if n not in ("sgd", "adam"))),
    ((-6.0, -6.0),), 1000, penalty=Penalty("l1", L1_ALPHA))


def claim_l1_l2() -> Claim:
    m = Measured()
    booth_grad = lambda x, y: (2 * (x + 2 * y - 7) + 4 * (2 * x + y - 5), 4 * (x + 2 * y - 7) + 2 * (2 * x + y - 5))  # noqa: E731
    idx, p, surface = run(L1_L2)
    best = min(surface.minima, key=lambda q: q.value)
    m.number(f"L1 (α = {L1_ALPHA:g}): the minimum found", f"({best.x!r}, {best.y:.6g})")
    # by hand: on the y axis, ∂f/∂y + α = 10y − 38 + α = 0, and 0 lies in ∂_x: |∂f/∂x| ≤ α there
    y_star = (38.0 - L1_ALPHA) / 10.0
    gx = booth_grad(0.0, y_star)[0]
    m.number("by hand: y where ∂f/∂y + α = 0 on the y axis; |∂f/∂x| there", f"{y_star:g}; {abs(gx):g}")
    l2 = regularize(get_surface("booth"), Penalty("l2", L1_ALPHA))
    b2 = min(l2.minima, key=lambda q: q.value)
    exact = np.linalg.solve(np.array([[10.0, 8.0], [8.0, 10.0]]) + L1_ALPHA * np.eye(2), np.array([34.0, 38.0]))
    m.number(f"L2 (α = {L1_ALPHA:g}): the minimum found · closed form (H + αI)⁻¹b",
             f"({b2.x:.4f}, {b2.y:.4f}) · ({exact[0]:.4f}, {exact[1]:.4f})")
    ends = {n: p.positions[i, 0, -1] for n, i in idx.items()}
    m.number("L1: Adam ends at · SGD ends at", f"({ends['adam'][0]:.3f}, {ends['adam'][1]:.3f}) · "
                                                f"({ends['sgd'][0]:.3f}, {ends['sgd'][1]:.3f})")
    m.check("The L1 minimum lies exactly on the y axis (x = 0.0) at y = 1.8", best.x == 0.0
            and abs(best.y - y_star) < 1e-9 and abs(gx) <= L1_ALPHA)
    m.check("The L2 minimum is the closed form, off both axes, shrunk from (1, 3)",
            np.allclose((b2.x, b2.y), exact, atol=1e-9) and min(abs(exact)) > 0.5 and exact[1] < 3)
    m.check("Adam ends within 0.05 of the L1 minimum", np.hypot(*(ends["adam"] - (0.0, y_star))) < 0.05)
    m.check("SGD with a fixed lr does not settle on the kink: it ends more than 0.1 off the axis",
            abs(ends["sgd"][0]) > 0.1)
    return m.claim()


# ---- 9. Weight decay: L2 in the gradient vs decoupled -----------------------------------------------------------

WD = 0.5
WEIGHT_DECAY = Session("booth", {}, (
    OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.02, "weight_decay": WD})),
    OptimizerEntry(OptimizerChoice("adam", {"lr": 0.05, "weight_decay": WD})),
    OptimizerEntry(OptimizerChoice("adamw", {"lr": 0.05, "weight_decay": WD})),
    *(OptimizerEntry(OptimizerChoice(n), False) for n in DEFAULT_OPTIMIZERS if n not in ("sgd", "adam"))),
    ((-8.0, -8.0),), 1000)


def decoupled_sgd(surface: Surface, start, lr: float, wd: float, steps: int) -> np.ndarray:
    """Plain SGD with decoupled weight decay, x ← x − lr·λ·x − lr·∇f(x), written out (torch has no SGDW)."""
    import torch

    x = torch.tensor(start, dtype=torch.float64)
    out = [x.numpy().copy()]
    for _ in range(steps):
        p = x.clone().requires_grad_(True)
        surface(p[None]).sum().backward()
        x = x - lr * wd * x - lr * p.grad
        out.append(x.numpy().copy())
    return np.array(out)


def claim_weight_decay() -> Claim:
    m = Measured()
    idx, p, surface = run(WEIGHT_DECAY)
    labels = [e.choice.label for e in WEIGHT_DECAY.optimizers if e.enabled]
    end = {lab: p.positions[i, 0, -1] for i, lab in enumerate(labels)}
    # the minimum of f + (λ/2)|x|² on Booth, f = (x + 2y − 7)² + (2x + y − 5)²: (H + λI) x = b
    star = np.linalg.solve(np.array([[10.0, 8.0], [8.0, 10.0]]) + WD * np.eye(2), np.array([34.0, 38.0]))
    for lab in labels:
        m.number(f"{lab} ends at", f"({end[lab][0]:.3f}, {end[lab][1]:.3f})")
    m.number("minimum of f + (λ/2)|x|², closed form", f"({star[0]:.3f}, {star[1]:.3f})")
    manual = decoupled_sgd(surface, WEIGHT_DECAY.starts[0], 0.02, WD, WEIGHT_DECAY.steps)
    diff = m.number("SGD with weight_decay vs SGD with decoupled decay: largest difference on the path",
                    float(np.abs(manual - p.positions[labels.index("sgd"), 0]).max()))
    gap = m.number("Adam (L2 in the gradient) vs AdamW: distance between the end points",
                   float(np.hypot(*(end["adam"] - end["adamw"]))))
    m.check("For SGD the two forms give the same path (to 1e-12)", diff < 1e-12)
    m.check("SGD with weight_decay ends at the minimum of f + (λ/2)|x|² (to 1e-6)",
            np.hypot(*(end["sgd"] - star)) < 1e-6)
    m.check("Adam with L2 in the gradient and AdamW end more than 1 apart", gap > 1.0)
    m.check("AdamW ends closer to the origin than Adam with L2", np.hypot(*end["adamw"]) < np.hypot(*end["adam"]))
    return m.claim()


# ---- 10. Learning-rate decay ------------------------------------------------------------------------------------

DECAY_NOISE, DECAY_SEEDS = 1.0, (0, 1, 2)
DECAY_SCHEDULES = (("constant", ScheduleChoice()), ("step", ScheduleChoice("step", {"step_size": 100.0, "gamma": 0.5})),
                   ("exponential", ScheduleChoice("exponential", {"gamma": 0.99})),
                   ("time", ScheduleChoice("time", {"k": 0.05})))
DECAY = Session("quadratic", {"kappa": 10.0}, tuple(
    OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.1}, label=name,
                                   noise=DECAY_NOISE, schedule=schedule))
    for name, schedule in DECAY_SCHEDULES), ((-2.5, 2.0),), 500)


def claim_decay() -> Claim:
    m = Measured()
    ok = []
    for seed in DECAY_SEEDS:
        s = DECAY.with_(optimizers=tuple(dataclasses.replace(e, choice=dataclasses.replace(e.choice, seed=seed))
                                         for e in DECAY.optimizers))
        _, p, _ = run(s)
        late = np.nanmean(p.losses[:, 0, -50:], axis=1)
        m.number(f"seed {seed}: mean loss of the last 50 steps, " + " · ".join(n for n, _ in DECAY_SCHEDULES),
                 " · ".join(f"{v:.2g}" for v in late))
        ok.append(bool(np.all(late[1:] < late[0] / 10)))
    m.check(f"With noise σ = {DECAY_NOISE:g}, each decaying lr ends with under a tenth of the constant lr's loss "
            "(seeds 0–2)", all(ok))
    return m.claim()
