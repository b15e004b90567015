"""TrainConfig: fields declared by specs, session-file round trip, one-line errors naming the bad key/value,
weight decay's one owner, combination checks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from optviz.core.devices import DEVICE
from optviz.core.optimizers import REGISTRY, OptimizerChoice
from optviz.core.params import ParamError, field_specs
from optviz.training.config import (ConfigError, TrainConfig, check, problems, resolved_data_dir, schedule_values,
                                    specs, training_hypers, validate)
from optviz.training.data import DATASETS

ROOT = Path(__file__).resolve().parents[2]
SCALARS = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in ("optimizers", "schedule_params")]


def test_every_scalar_field_is_declared_by_its_spec() -> None:
    declared = field_specs(TrainConfig)
    assert list(declared) == SCALARS and list(specs()) == SCALARS
    defaults = TrainConfig()
    for name, spec in declared.items():
        assert spec.name == name and getattr(defaults, name) == spec.default and spec.doc and spec.heading
    assert declared["device"] is DEVICE


@pytest.mark.parametrize("name, low, high, allowed", [
    ("seed", 0, 2**31 - 1, "an integer in [0, 2147483647]"),
    ("subset", 1, 10_000_000, "an integer in [1, 10000000], or all"),
    ("max_steps", 1, 10_000_000, "an integer in [1, 10000000], or off"),
    ("dropout", 0, 1, "a number in [0, 1)"),
    ("val_fraction", 0, 1, "a number in [0, 1)"),
    ("test_fraction", 0, 1, "a number in [0, 1)"),
    ("clip_grad", 0, 1e6, "a number in (0, 1e+06], or off"),
    ("epochs", 1, 100_000, "an integer in [1, 100000]"),
    ("width", 1, 512, "an integer in [1, 512]"),
    ("batch_size", 1, 65536, "an integer in [1, 65536]"),
])
def test_bounds_are_finite_and_the_only_ones(name: str, low: float, high: float, allowed: str) -> None:
    spec = specs()[name]
    assert (spec.low, spec.high, spec.allowed()) == (low, high, allowed)


def test_round_trip_through_json() -> None:
    config = TrainConfig(model="resnet8", optimizers=(OptimizerChoice("adam", {"lr": 0.01}, "fast"),
                                                      OptimizerChoice("sgd")),
                         schedule="step", schedule_params={"gamma": 0.3}, clip_grad=1.5, subset=100)
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert again.optimizers[0].values["lr"] == 0.01 and again.optimizers[0].label == "fast"


def test_defaults_and_keys_of_session_files_are_unchanged() -> None:
    d = TrainConfig().to_dict()
    assert list(d) == ["dataset", "data_dir", "subset", "val_fraction", "test_fraction", "batch_size", "augment",
                       "model", "width", "batchnorm", "dropout", "activation", "optimizers", "weight_decay",
                       "decoupled", "l1", "schedule", "schedule_params", "warmup_epochs", "clip_grad", "epochs",
                       "max_steps", "seed", "kfold", "device"]
    assert {k: v for k, v in d.items() if k != "optimizers"} == {
        "dataset": "mnist5k", "data_dir": None, "subset": None, "val_fraction": 0.1, "test_fraction": 0.2,
        "batch_size": 32, "augment": False, "model": "lenet", "width": 16, "batchnorm": False, "dropout": 0.0,
        "activation": "relu", "weight_decay": 0.0, "decoupled": False, "l1": 0.0, "schedule": "none",
        "schedule_params": {}, "warmup_epochs": 0.0, "clip_grad": None, "epochs": 3, "max_steps": None, "seed": 0,
        "kfold": 0, "device": "auto"}
    assert d["optimizers"] == [{"name": "adam", "label": "adam", "values": {}}]  # the values that differ
    full = {"name": "adam", "values": REGISTRY["adam"].defaults(), "label": "adam"}  # as files had them before
    assert TrainConfig.from_dict({**d, "optimizers": [full]}) == TrainConfig()


def test_the_documented_session_file_loads() -> None:
    training = json.loads((ROOT / "docs" / "training-session.json").read_text())["training"]
    config = TrainConfig.from_dict(training)
    assert [c.label for c in config.optimizers] == ["SGD", "Momentum", "Adam"] and config.device == "cpu"


def test_from_dict_fills_defaults_and_accepts_optimizer_text() -> None:
    config = TrainConfig.from_dict({"optimizers": ["sgd:lr=0.1", "adam"], "epochs": 4})
    assert config.epochs == 4 and config.optimizers[0].values["lr"] == 0.1 and config.model == "lenet"


@pytest.mark.parametrize("d, words", [
    ({"colour": 1}, "Unknown training setting 'colour'"),
    ({"batch_size": 0}, "Invalid batch size: 0 (allowed: an integer in [1, 65536])"),
    ({"epochs": 2.5}, "Invalid epochs: 2.5"),
    ({"epochs": "4"}, "Invalid epochs: '4' (allowed: an integer in [1, 100000])"),
    ({"epochs": True}, "Invalid epochs: True"),
    ({"batchnorm": 1}, "Invalid batchnorm: 1 (allowed: true or false)"),
    ({"batchnorm": "yes"}, "Invalid batchnorm: 'yes' (allowed: true or false)"),
    ({"dropout": 1.0}, "Invalid dropout: 1 (allowed: a number in [0, 1))"),
    ({"seed": 2**31}, "Invalid seed: 2147483648 (allowed: an integer in [0, 2147483647])"),
    ({"model": "vgg"}, "Invalid model: 'vgg' (allowed: mlp, lenet, resnet8"),
    ({"data_dir": ""}, "Invalid data dir: ''"),
    ({"optimizers": ["adam:lr=-1"]}, "Invalid learning rate: -1"),
    ({"optimizers": []}, "Invalid optimizers: []"),
    ({"optimizers": [{"name": "adam", "values": {"lr": 0.1}, "colour": 1}]}, "optimizers[0]: unknown key 'colour'"),
    ({"optimizers": [{"name": "adam", "values": {"weight_decay": 0.01}}]},
     "optimizers[0]: Invalid weight_decay value of optimizer adam: 0.01 (allowed: 0; a training has one weight decay"),
    ({"kfold": 1}, "Invalid kfold: 1 (allowed: 0 (off) or an integer in [2, 100])"),
    ({"kfold": 101}, "Invalid kfold: 101 (allowed: 0 (off) or an integer in [2, 100])"),
    ({"schedule": "cosine", "schedule_params": {"gamma": 0.5}}, "Unknown parameter 'gamma' for schedule cosine"),
    ({"schedule": "step", "schedule_params": {"gamma": 0}}, "Invalid gamma value: 0"),
    ({"schedule": "time", "schedule_params": {"k": "2"}}, "Invalid k value: '2'"),
    ("adam", "expected an object"),
])
def test_from_dict_errors_are_one_line(d, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict(d)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ParamError) and isinstance(info.value, ValueError)


def test_check_parses_text_with_the_same_messages() -> None:
    assert check("subset", "all", text=True) is None and check("clip_grad", "2", text=True) == 2.0
    for name, text, value in (("batch_size", "0", 0), ("kfold", "1", 1), ("dropout", "1", 1.0)):
        with pytest.raises(ConfigError) as typed:
            check(name, value)
        with pytest.raises(ConfigError) as parsed:
            check(name, text, text=True)
        assert str(typed.value) == str(parsed.value)


def test_weight_decay_has_one_owner() -> None:
    """Old session files carry weight_decay 0 in every optimizer's values: they load; a non-zero one is refused."""
    old = {"name": "sgd", "values": {"lr": 0.1, "weight_decay": 0.0}, "label": "sgd"}
    assert TrainConfig.from_dict({"optimizers": [old], "weight_decay": 0.01}).weight_decay == 0.01
    own = TrainConfig(optimizers=(OptimizerChoice("sgd", {"weight_decay": 0.1}),))
    assert "--weight-decay" in problems(own)[0]
    assert all("weight_decay" not in [h.name for h in training_hypers(s)] for s in REGISTRY.values())


def test_schedule_values_default_and_override() -> None:
    assert schedule_values(TrainConfig(schedule="step")) == {"step_size": 1.0, "gamma": 0.5}
    assert schedule_values(TrainConfig(schedule="time", schedule_params={"k": 2.0})) == {"k": 2.0}


def test_validate_combinations(tmp_path: Path) -> None:
    assert problems(TrainConfig()) == []
    with pytest.raises(ConfigError, match="Dataset mnist needs a data folder"):
        validate(TrainConfig(dataset="mnist"))
    assert "needs a data folder" in problems(TrainConfig(dataset="cifar10"))[0]
    assert "not found: /nowhere" in problems(TrainConfig(dataset="mnist", data_dir="/nowhere"))[0]
    assert validate(TrainConfig(dataset="mnist", data_dir=str(tmp_path))).data_dir == str(tmp_path)
    fashion = problems(TrainConfig(dataset="fashion-mnist"))
    default = DATASETS["fashion-mnist"].default_dir
    assert fashion == [] or f"{default} (install the package dataset-fashion-mnist" in fashion[0]
    race = TrainConfig(optimizers=(OptimizerChoice("adam"), OptimizerChoice("sgd")), kfold=3)
    assert "Cross-validation (kfold) runs one optimizer" in problems(race)[0]
    assert "must be below 1" in problems(TrainConfig(val_fraction=0.5, test_fraction=0.5))[0]
    assert "Invalid width: 0" in problems(TrainConfig(width=0))[0]


def test_cuda_is_refused_where_there_is_none(monkeypatch) -> None:
    monkeypatch.setattr("optviz.core.devices.cuda_available", lambda: False)
    assert problems(TrainConfig(device="cuda")) == ["Invalid device: cuda (no CUDA device is available here; "
                                                    "allowed: auto, cpu)"]


def test_fashion_mnist_defaults_to_the_debian_folder() -> None:
    config = TrainConfig(dataset="fashion-mnist")
    assert resolved_data_dir(config) == DATASETS["fashion-mnist"].default_dir == "/usr/share/datasets/fashion-mnist"
    assert resolved_data_dir(TrainConfig()) is None
