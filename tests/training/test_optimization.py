"""Schedules (every registry entry) against their closed forms, weight decay against torch, the L1 penalty."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from optviz.core.optimizers import REGISTRY, OptimizerChoice
from optviz.training.config import ConfigError, TrainConfig
from optviz.training.optimization import build_optimizer, build_scheduler, decoupled_decay, l1_penalty
from optviz.training.schedules import SCHEDULES

N = 5  # batches per epoch
EPOCHS = 4
BASE = 0.1


def lrs(config: TrainConfig) -> list[float]:
    """The learning rate each of the run's steps uses, as the trainer steps optimizer and schedule."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = build_optimizer(OptimizerChoice("sgd", {"lr": BASE}), [param], config)
    sched = build_scheduler(opt, config, N)
    out = []
    for _ in range(EPOCHS * N):
        out.append(opt.param_groups[0]["lr"])
        param.grad = torch.zeros(1)
        opt.step()
        if sched is not None:  # none: a constant rate needs no scheduler
            sched.step()
    return out


CLOSED_FORMS = {
    ("none", ()): lambda s: BASE,
    ("step", (("step_size", 2), ("gamma", 0.5))): lambda s: BASE * 0.5 ** (s // (2 * N)),
    ("step", (("step_size", 0.4), ("gamma", 0.1))): lambda s: BASE * 0.1 ** (s // 2),
    ("exponential", (("gamma", 0.8),)): lambda s: BASE * 0.8 ** (s / N),
    ("time", (("k", 3.0),)): lambda s: BASE / (1 + 3.0 * s / N),
    ("cosine", ()): lambda s: BASE * (1 + math.cos(math.pi * s / (EPOCHS * N))) / 2,
    ("cosine", (("eta_min", 0.01),)): lambda s: 0.01 + (BASE - 0.01) * (1 + math.cos(math.pi * s / (EPOCHS * N))) / 2,
}


def test_every_schedule_has_a_closed_form_here() -> None:
    assert {name for name, _ in CLOSED_FORMS} == set(SCHEDULES)
    for name, spec in SCHEDULES.items():
        assert spec.name == name and spec.title and spec.doc
    assert [s.title for s in SCHEDULES.values()] == ["constant", "step", "exponential", "1/t (time-based)", "cosine"]


@pytest.mark.parametrize("schedule, params", list(CLOSED_FORMS))
def test_schedule_matches_closed_form(schedule: str, params: tuple) -> None:
    got = lrs(TrainConfig(schedule=schedule, schedule_params=dict(params), epochs=EPOCHS))
    expected = [CLOSED_FORMS[schedule, params](s) for s in range(EPOCHS * N)]
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("schedule", ["none", "exponential", "cosine", "time"])
def test_warmup_ramps_then_starts_the_schedule(schedule: str) -> None:
    warm = 3  # 0.6 epochs of 5 batches
    got = lrs(TrainConfig(schedule=schedule, warmup_epochs=0.6, epochs=EPOCHS))
    assert got[:warm] == pytest.approx([BASE * (s + 1) / (warm + 1) for s in range(warm)])
    total = EPOCHS * N - warm
    after = {
        "none": lambda s: BASE,
        "exponential": lambda s: BASE * 0.7 ** (s / N),  # default gamma
        "cosine": lambda s: BASE * (1 + math.cos(math.pi * s / total)) / 2,
        "time": lambda s: BASE / (1 + s / N),  # default k = 1
    }[schedule]
    assert got[warm:] == pytest.approx([after(s) for s in range(total)], rel=1e-9)


def _two_models(seed: int = 0) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    return model, copy.deepcopy(model)


def _train(model: torch.nn.Module, opt: torch.optim.Optimizer, before_step=None, steps: int = 20) -> None:
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x, y = torch.randn(8, 5, generator=g), torch.randint(0, 3, (8,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        if before_step:
            before_step()
        opt.step()


def test_decoupled_weight_decay_is_adamw_for_adam() -> None:
    ours, reference = _two_models()
    config = TrainConfig(weight_decay=0.1, decoupled=True)
    opt = build_optimizer(OptimizerChoice("adam", {"lr": 0.01}), list(ours.parameters()), config)
    assert opt.param_groups[0]["weight_decay"] == 0.0  # not also applied as L2
    _train(ours, opt, lambda: decoupled_decay(opt, config.weight_decay))
    _train(reference, torch.optim.AdamW(reference.parameters(), lr=0.01, weight_decay=0.1))
    for a, b in zip(ours.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", [n for n, s in REGISTRY.items() if "weight_decay" in s.hyper_names and n != "muon"])
def test_l2_weight_decay_is_torch_weight_decay(name: str) -> None:
    ours, reference = _two_models()
    choice = OptimizerChoice(name, {"lr": 0.01})
    _train(ours, build_optimizer(choice, list(ours.parameters()), TrainConfig(weight_decay=0.05)))
    _train(reference, choice.spec.torch_class(reference.parameters(), **{**choice.spec.torch_kwargs(choice.values),
                                                                         "weight_decay": 0.05}))
    for a, b in zip(ours.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)


def test_an_optimizer_with_its_own_weight_decay_is_refused() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(ConfigError, match="--weight-decay"):
        build_optimizer(OptimizerChoice("sgd", {"weight_decay": 0.1}), [param], TrainConfig())


def test_l1_penalty_is_sum_of_absolute_weights() -> None:
    params = [torch.tensor([1.0, -2.0]), torch.tensor([[0.5, -0.25]])]
    assert float(l1_penalty(params)) == pytest.approx(3.75)


def test_weight_decay_without_a_hyperparameter_only_decoupled_and_muon_refused() -> None:
    param = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(ConfigError, match="Rprop has no weight_decay of its own"):
        build_optimizer(OptimizerChoice("rprop"), [param], TrainConfig(weight_decay=0.1))
    assert isinstance(build_optimizer(OptimizerChoice("rprop"), [param], TrainConfig(weight_decay=0.1, decoupled=True)),
                      torch.optim.Rprop)
    with pytest.raises(ConfigError, match="Muon trains 2D weight matrices only"):
        build_optimizer(OptimizerChoice("muon"), [param], TrainConfig())
    # AdamW's registry default (0.01) is not a setting of its own: the training's weight decay replaces it
    assert build_optimizer(OptimizerChoice("adamw"), [param], TrainConfig(weight_decay=0.2)).param_groups[0][
        "weight_decay"] == 0.2
    with pytest.raises(ConfigError, match="playground settings"):
        build_optimizer(OptimizerChoice("sgd", noise=0.5), [param], TrainConfig())


@pytest.mark.parametrize("name", [n for n in REGISTRY if n != "muon"])
def test_every_registry_optimizer_trains_a_network(name: str) -> None:
    # the same fixed batch 60 times: every optimizer (with its torch defaults, lr aside) brings the loss down
    model, _ = _two_models()
    lr = {"adadelta": 1.0, "rprop": 0.01, "asgd": 0.1, "sgd": 0.1, "momentum": 0.1, "nesterov": 0.1}.get(name, 0.01)
    opt = build_optimizer(OptimizerChoice(name, {"lr": lr}), list(model.parameters()), TrainConfig())
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(32, 5, generator=g), torch.randint(0, 3, (32,), generator=g)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.9 * losses[0], (name, losses[0], losses[-1])
