"""Copy as PyTorch: the text builds the same optimizer and scheduler (exec'd here, in the test only)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from optviz.core.optimizers import REGISTRY, OptimizerChoice
from optviz.core.pytorch_text import pytorch_source, training_source
from optviz.core.schedules import ScheduleChoice, lr_table
from optviz.training.config import TrainConfig
from optviz.training.optimization import build_optimizer, build_scheduler


def _run(text: str) -> dict:
    p = torch.zeros((1, 2), dtype=torch.float64, requires_grad=True)
    scope = {"torch": torch, "params": [p]}
    exec(text, scope)  # noqa: S102 — the test checks that the text a user pastes builds the same thing
    return scope


def _groups(opt: torch.optim.Optimizer) -> list[dict]:
    return [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]


@pytest.mark.parametrize("name", list(REGISTRY))
def test_constructor_text_builds_the_registrys_optimizer(name):
    spec = REGISTRY[name]
    # every hyperparameter away from its default where the range allows it
    values = {h.name: (not h.default if h.kind == "bool" else h.default // 2 if h.kind == "int" else
                       h.default * 0.5 if h.default else 0.25) for h in spec.hypers}
    if name == "nesterov":
        values["momentum"] = 0.5
    if name == "rprop":
        values.update(etaplus=1.5)
    choice = OptimizerChoice(name, values)
    text = pytorch_source(choice)
    assert text.startswith(f"optimizer = torch.optim.{spec.torch_class.__name__}(params, lr=")
    built = _run(text)["optimizer"]
    assert type(built) is spec.torch_class
    expected = choice.build([torch.zeros((1, 2), dtype=torch.float64, requires_grad=True)])
    assert _groups(built) == _groups(expected)


def test_adam_reads_as_torch_writes_it():
    text = pytorch_source(OptimizerChoice("adam", {"lr": 0.01, "beta1": 0.8}))
    assert text == ("optimizer = torch.optim.Adam(params, lr=0.01, betas=(0.8, 0.999), eps=1e-08, "
                    "weight_decay=0.0, amsgrad=False)")


@pytest.mark.parametrize("schedule", [
    ScheduleChoice("step", {"step_size": 7.0, "gamma": 0.5}),
    ScheduleChoice("exponential", {"gamma": 0.97}),
    ScheduleChoice("time", {"k": 0.3}),
    ScheduleChoice("cosine", {"eta_min": 0.001}, warmup=10),
    ScheduleChoice("none", warmup=5),
])
def test_scheduler_text_gives_the_same_learning_rates(schedule):
    choice = OptimizerChoice("momentum", {"lr": 0.05}, schedule=schedule)
    scope = _run(pytorch_source(choice, steps=60))
    opt, sched = scope["optimizer"], scope["scheduler"]
    lrs = []
    for _ in range(60):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    dummy = torch.zeros((1, 2), dtype=torch.float64, requires_grad=True)
    np.testing.assert_array_equal(lrs, lr_table(choice.build([dummy]), schedule, 60))
    with pytest.raises(ValueError, match="needs the number of steps"):
        pytorch_source(choice)


def test_noise_is_a_comment_and_the_training_text_uses_the_trainings_settings():
    text = pytorch_source(OptimizerChoice("sgd", {"lr": 0.1}, noise=0.5, seed=4))
    assert "# gradient noise: before every optimizer.step(), p.grad += 0.5 * torch.randn_like(p.grad)" in text
    config = TrainConfig(weight_decay=0.01, schedule="cosine", warmup_epochs=1.0, epochs=3)
    choice = OptimizerChoice("adam", {"lr": 0.003})
    scope = _run(training_source(choice, config, n_batches=20))
    p = torch.zeros((1, 2), dtype=torch.float64, requires_grad=True)
    ours = build_optimizer(choice, [p], config)
    sched, theirs = scope["scheduler"], build_scheduler(ours, config, 20)
    assert _groups(scope["optimizer"]) == _groups(ours)
    for _ in range(60):
        assert scope["optimizer"].param_groups[0]["lr"] == ours.param_groups[0]["lr"]
        scope["optimizer"].step()
        ours.step()
        sched.step()
        theirs.step()
    decoupled = training_source(choice, TrainConfig(weight_decay=0.01, decoupled=True), n_batches=20)
    assert "weight_decay=0.0" in decoupled and "p.mul_(1 - lr * 0.01)" in decoupled
