"""Inside the step: recorded gradients, updates and optimizer state against torch.optim's own state; gradient
noise and learning-rate schedules on both engines against a plain torch.optim + lr_scheduler loop."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from reference import simulate_on

from optviz.core import noise as noise_mod
from optviz.core.optimizers import REGISTRY, OptimizerChoice
from optviz.core.schedules import ScheduleChoice, parse_schedule
from optviz.core.simulate import SimulationError, simulate
from optviz.core.surfaces import get_surface

STEPS = 40
STARTS = [(0.5, -0.5), (-1.0, 1.5), (2.0, 2.0)]
# One choice per registry entry, with settings that give every optimizer state worth comparing.
CHOICES = [OptimizerChoice(n, {"lr": 0.02}) for n in ("sgd", "adagrad", "adamw", "nadam", "radam", "adamax")] + [
    OptimizerChoice("momentum", {"lr": 0.01, "momentum": 0.8}),
    OptimizerChoice("nesterov", {"lr": 0.01}),
    OptimizerChoice("rmsprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    OptimizerChoice("adam", {"lr": 0.05, "amsgrad": True}),
    OptimizerChoice("adadelta", {"lr": 1.0}),
    OptimizerChoice("asgd", {"lr": 0.01, "t0": 10.0, "lambd": 0.01}),
    OptimizerChoice("rprop", {"lr": 0.01}),
    OptimizerChoice("muon", {"lr": 0.05}),
]


@pytest.fixture(scope="module", autouse=True)
def _engine_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPTVIZ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "optviz-cache"))
        mp.delenv("OPTVIZ_ENGINE", raising=False)
        yield


def reference(surface, choice: OptimizerChoice, start, steps: int, j: int = 0):
    """A plain one-point loop: torch.optim, the choice's torch scheduler and its noise for start ``j``.
    Returns positions (steps + 1, 2), the gradients used (steps, 2), torch's state after each step and the lrs."""
    x = torch.tensor(start, dtype=torch.float64).reshape(1, 2).requires_grad_(True)  # 1×2: Muon takes matrices
    opt = choice.build([x])
    sched = choice.schedule.build(opt, steps)
    shocks = noise_mod.draw(choice, j + 1, steps)
    positions, grads, states, lrs = [x.detach().clone()], [], [], []
    for k in range(steps):
        opt.zero_grad()
        surface(x).sum().backward()
        if shocks is not None:
            with torch.no_grad():
                x.grad += torch.as_tensor(shocks[j, k]).reshape(1, 2)
        grads.append(x.grad.detach().clone().reshape(2))
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
        states.append({key: v.detach().clone().to(torch.float64).expand(1, 2).reshape(2)
                       for key, v in opt.state[x].items() if key != "step" and v is not None})
        positions.append(x.detach().clone())
    return torch.cat(positions).numpy(), torch.stack(grads).numpy(), states, np.array(lrs)


@pytest.mark.parametrize("engine", ["eager", "fast", "batched"])
def test_recorded_state_is_torch_optims_state_at_every_step(engine):
    surface = get_surface("himmelblau")
    paths = simulate_on(engine, surface, CHOICES, STARTS, STEPS, internals=[0, 2])
    inside = paths.internals
    assert inside.starts == (0, 2) and inside.grad.shape == (len(CHOICES), 2, STEPS, 2)
    for i, choice in enumerate(CHOICES):
        for s, j in enumerate(inside.starts):
            pos, grads, states, lrs = reference(surface, choice, STARTS[j], STEPS)
            np.testing.assert_allclose(paths.positions[i, j], pos, rtol=0, atol=1e-12, err_msg=choice.name)
            np.testing.assert_allclose(inside.grad[i, s], grads, rtol=1e-12, atol=1e-12, err_msg=choice.name)
            np.testing.assert_allclose(inside.update[i, s], np.diff(pos, axis=0), rtol=0, atol=1e-12)
            recorded = inside.state(i)
            names = {k for st in states for k in st}
            assert names <= set(recorded) and (names or choice.name == "sgd"), (choice.name, names)
            for name in names:
                torch_values = np.stack([st[name].numpy() for st in states])
                np.testing.assert_allclose(recorded[name][s], torch_values, rtol=1e-12, atol=1e-300,
                                           err_msg=f"{choice.name} {name}")
            np.testing.assert_array_equal(inside.lr[i], lrs)


def test_derived_quantities_from_torchs_state():
    surface = get_surface("rosenbrock")
    choices = [OptimizerChoice("sgd", {"lr": 1e-3}), OptimizerChoice("momentum", {"lr": 1e-3, "momentum": 0.9}),
               OptimizerChoice("adam", {"lr": 0.05, "beta1": 0.8, "beta2": 0.99}),
               OptimizerChoice("adagrad", {"lr": 0.3, "lr_decay": 0.01}), OptimizerChoice("rmsprop", {"lr": 0.01}),
               OptimizerChoice("rprop", {"lr": 0.01})]
    inside = simulate(surface, choices, [(-1.2, 1.0)], 30, engine="eager", internals=True).internals
    t = np.arange(1, 31)
    # SGD: the step size is lr and the update is exactly −lr·g, straight downhill
    np.testing.assert_array_equal(inside.effective_lr[0, 0], np.full((30, 2), 1e-3))
    np.testing.assert_allclose(inside.angle[0, 0], 0.0, atol=1e-5)
    assert np.isnan(inside.momentum[0]).all() and np.isnan(inside.bias1[0]).all()
    # Momentum: the velocity is torch's momentum_buffer, and the update is −lr·v
    _, _, states, _ = reference(surface, choices[1], (-1.2, 1.0), 30)
    np.testing.assert_allclose(inside.momentum[1, 0], [st["momentum_buffer"].numpy() for st in states], rtol=1e-13)
    np.testing.assert_allclose(inside.update[1, 0], -1e-3 * inside.momentum[1, 0], rtol=1e-12)
    assert inside.angle[1, 0, 5:].max() > 10  # the velocity does not point downhill along the valley
    # Adam: lr/(√(v/(1−β₂ᵗ)) + ε) from torch's exp_avg_sq, times m̂ = m/(1−β₁ᵗ), is the update
    _, _, states, _ = reference(surface, choices[2], (-1.2, 1.0), 30)
    v = np.stack([st["exp_avg_sq"].numpy() for st in states])
    m = np.stack([st["exp_avg"].numpy() for st in states])
    bc1, bc2 = 1 - 0.8 ** t, 1 - 0.99 ** t
    np.testing.assert_allclose(inside.bias1[2], bc1, rtol=1e-15)
    np.testing.assert_allclose(inside.bias2[2], bc2, rtol=1e-15)
    eff = 0.05 / (np.sqrt(v / bc2[:, None]) + 1e-8)
    np.testing.assert_allclose(inside.effective_lr[2, 0], eff, rtol=1e-13)
    np.testing.assert_allclose(inside.update[2, 0], -eff * m / bc1[:, None], rtol=1e-9)
    # Adagrad: the step size shrinks as squares accumulate; lr_decay as torch applies it
    s = np.stack([st["sum"].numpy() for st in reference(surface, choices[3], (-1.2, 1.0), 30)[2]])
    np.testing.assert_allclose(inside.effective_lr[3, 0], 0.3 / (1 + (t[:, None] - 1) * 0.01) / (np.sqrt(s) + 1e-10),
                               rtol=1e-13)
    assert (np.diff(inside.effective_lr[3, 0], axis=0) < 0).all()
    # RMSProp forgets: its step size is lr/(√v + ε) of the moving average; Rprop's is its own step size
    sq = np.stack([st["square_avg"].numpy() for st in reference(surface, choices[4], (-1.2, 1.0), 30)[2]])
    np.testing.assert_allclose(inside.effective_lr[4, 0], 0.01 / (np.sqrt(sq) + 1e-8), rtol=1e-13)
    moved = inside.update[5, 0] != 0  # Rprop does not move a coordinate whose gradient flipped sign
    assert moved.mean() > 0.5 and (~moved).any()
    np.testing.assert_allclose(np.abs(inside.update[5, 0])[moved], inside.effective_lr[5, 0][moved], rtol=1e-12)


def test_internals_equal_on_both_engines_and_stop_at_divergence():
    surface = get_surface("rosenbrock")
    choices = [*CHOICES, OptimizerChoice("sgd", {"lr": 1.0})]  # the last one diverges at step 2
    eager = simulate(surface, choices, [(0.0, 0.0), (-1.0, 1.5)], 25, engine="eager", internals=True)
    for engine in ("fast", "batched"):
        other = simulate_on(engine, surface, choices, [(0.0, 0.0), (-1.0, 1.5)], 25, internals=True)
        for name in ("grad", "update", "slots", "lr", "effective_lr", "angle", "momentum", "second"):
            np.testing.assert_array_equal(getattr(other.internals, name), getattr(eager.internals, name),
                                          err_msg=f"{engine} {name}")
    d = int(eager.diverged_step[-1, 0])
    grad = eager.internals.grad[-1, 0]
    assert d == 2 and np.isnan(grad[d:]).all() and np.isfinite(grad[:d]).all()


def test_internals_arguments():
    surface = get_surface("booth")
    assert simulate(surface, CHOICES[:2], STARTS, 5).internals is None
    with pytest.raises(SimulationError, match=r"Invalid internals: start indices must be in \[0, 2\]"):
        simulate(surface, CHOICES[:2], STARTS, 5, internals=[3])


# ---- noise ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "muon"])
def test_noise_is_seeded_and_equal_on_both_engines(name):
    surface = get_surface("himmelblau")
    noisy = OptimizerChoice(name, {"lr": 0.01}, noise=2.0, seed=7)
    mixed = [noisy, dataclasses.replace(noisy, noise=0.0, label="plain")]  # rows without noise in the same batch
    for engine in ("fast", "batched"):
        np.testing.assert_array_equal(simulate_on(engine, surface, mixed, STARTS, 60).positions,
                                      simulate(surface, mixed, STARTS, 60, engine="eager").positions)
    eager = simulate(surface, [noisy], STARTS, 60, engine="eager")
    fast = simulate(surface, [noisy], STARTS, 60, engine="fast")
    np.testing.assert_array_equal(fast.positions, eager.positions)
    np.testing.assert_array_equal(simulate_on("batched", surface, [noisy], STARTS, 60).positions, eager.positions)
    for j, start in enumerate(STARTS):  # against a plain loop that adds the same noise
        np.testing.assert_allclose(eager.positions[0, j], reference(surface, noisy, start, 60, j)[0], rtol=0,
                                   atol=1e-12)
    again = simulate(surface, [noisy], STARTS, 60, engine="fast")
    np.testing.assert_array_equal(again.positions, fast.positions)
    other = simulate(surface, [dataclasses.replace(noisy, seed=8)], STARTS, 60, engine="fast")
    assert np.abs(other.positions - fast.positions).max() > 1e-3
    plain = simulate(surface, [dataclasses.replace(noisy, noise=0.0)], STARTS, 60, engine="fast")
    assert np.abs(plain.positions - fast.positions).max() > 1e-3
    # the losses and gradient norms are the surface's: noise changes where the path goes, not what is measured
    pts = torch.tensor(fast.positions[0], requires_grad=True)
    surface(pts).sum().backward()
    np.testing.assert_allclose(fast.grad_norms[0], pts.grad.norm(dim=-1).numpy(), rtol=1e-12)


def test_noise_is_what_the_gradient_used_differs_by_and_stays_when_steps_or_starts_are_added():
    surface = get_surface("booth")
    noisy = OptimizerChoice("sgd", {"lr": 0.01}, noise=0.5, seed=3)
    short = simulate(surface, [noisy], STARTS[:2], 30, engine="fast", internals=True)
    longer = simulate(surface, [noisy], STARTS, 1100, engine="fast")
    np.testing.assert_array_equal(longer.positions[:, :2, :31], short.positions)
    pts = torch.tensor(short.positions[0, :, :-1], requires_grad=True)
    surface(pts).sum().backward()
    drawn = noise_mod.draw(noisy, 2, 30)
    np.testing.assert_allclose(short.internals.grad[0] - pts.grad.numpy(), drawn, rtol=0, atol=1e-12)
    assert abs(drawn.std() - 0.5) < 0.1 and abs(drawn.mean()) < 0.1


def test_a_fan_of_seeds_and_its_mean_path():
    surface = get_surface("quadratic", kappa=5.0)
    sgd = OptimizerChoice("sgd", {"lr": 0.05}, noise=1.0, seed=11)
    fan = noise_mod.fan(surface, sgd, [(2.5, 2.0)], 200, 16)
    assert fan.seeds == tuple(range(11, 27)) and fan.paths.positions.shape == (16, 1, 201, 2)
    np.testing.assert_allclose(fan.mean, fan.paths.positions.mean(axis=0), rtol=1e-12)
    again = noise_mod.fan(surface, sgd, [(2.5, 2.0)], 200, 16)
    np.testing.assert_array_equal(again.paths.positions, fan.paths.positions)
    # the runs scatter around the minimum; their mean lies closer to it than a typical run (the noise averages out)
    spread = np.linalg.norm(fan.paths.positions[:, 0, -50:], axis=-1).mean()
    assert np.linalg.norm(fan.mean[0, -50:], axis=-1).mean() < 0.5 * spread
    with pytest.raises(Exception, match="Invalid fan size: 0"):
        noise_mod.fan(surface, sgd, [(2.5, 2.0)], 10, 0)


# ---- schedules -----------------------------------------------------------------------------------------------

SCHEDULED = [
    OptimizerChoice("sgd", {"lr": 0.02}, schedule=ScheduleChoice("step", {"step_size": 10.0, "gamma": 0.5})),
    OptimizerChoice("adam", {"lr": 0.1}, schedule=ScheduleChoice("cosine", {"eta_min": 0.001}, warmup=5)),
    OptimizerChoice("momentum", {"lr": 0.01}, schedule=ScheduleChoice("time", {"k": 0.1})),
    OptimizerChoice("rmsprop", {"lr": 0.01}, schedule=ScheduleChoice("exponential", {"gamma": 0.95})),
    OptimizerChoice("asgd", {"lr": 0.02}, schedule=ScheduleChoice("exponential", {"gamma": 0.9})),
    OptimizerChoice("rprop", {"lr": 0.02}, schedule=ScheduleChoice("none", warmup=4)),
    OptimizerChoice("nadam", {"lr": 0.02}, schedule=ScheduleChoice("cosine")),
]


@pytest.mark.parametrize("engine", ["eager", "fast", "batched"])
def test_schedules_are_torchs_lr_scheduler(engine):
    surface = get_surface("himmelblau")
    paths = simulate_on(engine, surface, SCHEDULED, STARTS[:2], STEPS, internals=[0])
    for i, choice in enumerate(SCHEDULED):
        pos, _, _, lrs = reference(surface, choice, STARTS[0], STEPS)
        np.testing.assert_allclose(paths.positions[i, 0], pos, rtol=0, atol=1e-12, err_msg=choice.name)
        np.testing.assert_array_equal(paths.internals.lr[i], lrs)
    lr = paths.internals.lr
    assert lr[0, 9] == 0.02 and lr[0, 10] == 0.01 and lr[0, 20] == 0.005  # step: halved every 10 steps
    np.testing.assert_allclose(lr[1, :5], 0.1 * np.arange(1, 6) / 6)  # warm-up: lr·(s+1)/(W+1)
    cosine = 0.001 + (0.1 - 0.001) * (1 + np.cos(np.pi * np.arange(STEPS - 5) / (STEPS - 5))) / 2
    np.testing.assert_allclose(lr[1, 5:], cosine, rtol=1e-12)
    np.testing.assert_allclose(lr[2], 0.01 / (1 + 0.1 * np.arange(STEPS)), rtol=1e-12)  # time-based lr/(1 + k·t)
    np.testing.assert_allclose(lr[3], 0.01 * 0.95 ** np.arange(STEPS), rtol=1e-12)


def test_schedule_text_and_limits():
    assert parse_schedule("step:step_size=50,gamma=0.5", "10") == ScheduleChoice("step", {"step_size": 50.0,
                                                                                          "gamma": 0.5}, 10)
    for text, message in [("cos", "Unknown schedule 'cos' (allowed: none, step, exponential, time, cosine)"),
                          ("step:gamma=2", "Invalid gamma value: 2 (allowed: a number in (0, 1])"),
                          ("cosine:k=1", "Unknown parameter 'k' for schedule cosine (allowed: eta_min)")]:
        with pytest.raises(Exception) as err:
            parse_schedule(text)
        assert str(err.value).startswith(message), str(err.value)
    with pytest.raises(Exception, match=r"Invalid warm-up steps: -1 \(allowed: an integer in \[0, 100000\]\)"):
        ScheduleChoice("none", warmup=-1)
    assert math.isclose(REGISTRY["sgd"].defaults()["lr"], 1e-3)
