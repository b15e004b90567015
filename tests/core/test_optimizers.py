"""The registry: torch.optim names and defaults, validation with torch-style messages, the CLI syntax."""

from __future__ import annotations

import inspect

import pytest
import torch

from optviz.core.optimizers import (DEFAULT_OPTIMIZERS, JOINED, REGISTRY, HyperparameterError, OptimizerChoice,
                                    get_optimizer, parse_optimizer)


def test_six_optimizers_backed_by_torch_optim():
    assert list(REGISTRY)[:6] == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
    assert DEFAULT_OPTIMIZERS == ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
    assert REGISTRY["momentum"].torch_class is torch.optim.SGD
    assert REGISTRY["nesterov"].torch_kwargs()["nesterov"] is True


def test_the_rest_of_torch_optim_is_there_and_off_until_enabled():
    rest = ["adamw", "nadam", "radam", "adamax", "adadelta", "asgd", "rprop"]
    rest += ["muon"] if hasattr(torch.optim, "Muon") else []
    assert list(REGISTRY)[6:] == rest
    for name in rest:
        spec = REGISTRY[name]
        assert spec.torch_class is getattr(torch.optim, spec.title) and not spec.default_enabled
    colors = [s.color.lower() for s in REGISTRY.values()]
    assert len(set(colors)) == len(colors)  # every optimizer its own colour


def _torch_default(sig, name):
    for joined, parts in JOINED.items():
        if name in parts:
            return sig[joined].default[parts.index(name)]
    return sig[name].default


@pytest.mark.parametrize("spec", REGISTRY.values(), ids=list(REGISTRY))
def test_hyper_names_and_defaults_are_torch_optims(spec):
    sig = inspect.signature(spec.torch_class.__init__).parameters
    for h in spec.hypers:
        default = _torch_default(sig, h.name)
        if spec.name in ("momentum", "nesterov") and h.name == "momentum":
            assert h.default == 0.9  # documented choice: torch's 0 would make these plain SGD
        else:
            assert h.default == default, (spec.name, h.name)
        assert h.kind == "bool" or h.contains(h.default)


@pytest.mark.parametrize("spec", REGISTRY.values(), ids=list(REGISTRY))
def test_torch_accepts_every_default_and_range_end(spec):
    p = torch.zeros((1, 2), requires_grad=True)  # a matrix: Muon takes nothing else
    spec.build([p])
    for h in spec.hypers:
        for end, is_open in ((h.low, h.low_open), (h.high, h.high_open)):
            if h.kind == "bool" or is_open:
                continue
            if spec.name == "nesterov" and h.name == "momentum":
                continue
            spec.build([p], {h.name: end})


@pytest.mark.parametrize("name,values,message", [
    ("sgd", {"lr": -1.0}, "Invalid learning rate: -1 (allowed: a number in [0, 10])"),
    ("adam", {"beta1": 1.0}, "Invalid beta parameter at index 0: 1 (allowed: a number in [0, 1))"),
    ("adam", {"eps": "x"}, "Invalid epsilon value: 'x'"),
    ("rmsprop", {"centered": "maybe"}, "Invalid centered: 'maybe' (allowed: true or false)"),
    ("momentum", {"nesterov": 1}, "Unknown parameter 'nesterov' for optimizer momentum (allowed: lr, momentum, dampening"),
    ("nesterov", {"momentum": 0.0}, "Invalid momentum value: 0 (allowed: a number in (0, 1))"),
    ("sgd", {"lr": float("nan")}, "Invalid learning rate: nan"),
    ("adagrad", {"lr": 11}, "Invalid learning rate: 11"),
])
def test_bad_values_rejected_with_torch_style_messages(name, values, message):
    with pytest.raises(HyperparameterError) as err:
        OptimizerChoice(name, values)
    assert str(err.value).startswith(message)


def test_unknown_optimizer_lists_the_names():
    with pytest.raises(HyperparameterError, match="Unknown optimizer 'lbfgs' \\(allowed: sgd, momentum"):
        get_optimizer("lbfgs")


def test_parse_cli_syntax():
    c = parse_optimizer("adam:lr=0.01, beta1=0.8,amsgrad=true")
    assert c.name == "adam" and c.values["lr"] == 0.01 and c.values["beta1"] == 0.8 and c.values["amsgrad"] is True
    assert c.spec.torch_kwargs(c.values)["betas"] == (0.8, 0.999)
    assert c.changed() == {"lr": 0.01, "beta1": 0.8, "amsgrad": True}
    with pytest.raises(HyperparameterError, match="Malformed optimizer option 'lr' in 'sgd:lr'"):
        parse_optimizer("sgd:lr")
