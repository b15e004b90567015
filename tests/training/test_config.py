"""TrainConfig: session-file round trip, one-line errors naming the bad key/value, combination checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optviz.core.optimizers import OptimizerChoice
from optviz.training.config import (FASHION_MNIST_DIR, ConfigError, TrainConfig, problems, schedule_values,
                                    validate)


def test_round_trip_through_json() -> None:
    config = TrainConfig(model="resnet8", optimizers=(OptimizerChoice("adam", {"lr": 0.01}, "fast"),
                                                      OptimizerChoice("sgd")),
                         schedule="step", schedule_params={"gamma": 0.3}, clip_grad=1.5, subset=100)
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert again.optimizers[0].values["lr"] == 0.01 and again.optimizers[0].label == "fast"


def test_from_dict_fills_defaults_and_accepts_optimizer_text() -> None:
    config = TrainConfig.from_dict({"optimizers": ["sgd:lr=0.1", "adam"], "epochs": "4"})
    assert config.epochs == 4 and config.optimizers[0].values["lr"] == 0.1 and config.model == "lenet"


@pytest.mark.parametrize("d, words", [
    ({"colour": 1}, "Unknown training setting 'colour'"),
    ({"batch_size": 0}, "Invalid batch_size: 0 (allowed: an integer in [1, 65536])"),
    ({"epochs": 2.5}, "Invalid epochs: 2.5"),
    ({"dropout": 1.0}, "Invalid dropout: 1.0 (allowed: a number in [0, 1))"),
    ({"model": "vgg"}, "Invalid model: 'vgg' (allowed: mlp, lenet, resnet8"),
    ({"batchnorm": "yes"}, "Invalid batchnorm: 'yes' (allowed: true or false)"),
    ({"optimizers": ["adam:lr=-1"]}, "Invalid learning rate: -1"),
    ({"optimizers": []}, "Invalid optimizers: []"),
    ({"kfold": 1}, "Invalid kfold: 1"),
    ({"schedule": "cosine", "schedule_params": {"gamma": 0.5}}, "Unknown parameter 'gamma' for schedule cosine"),
    ({"schedule": "step", "schedule_params": {"gamma": 0}}, "Invalid gamma value: 0"),
    ("adam", "expected an object"),
])
def test_from_dict_errors_are_one_line(d, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict(d)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_schedule_values_default_and_override() -> None:
    assert schedule_values(TrainConfig(schedule="step")) == {"step_size": 1.0, "gamma": 0.5}
    assert schedule_values(TrainConfig(schedule="time", schedule_params={"k": "2"})) == {"k": 2.0}


def test_validate_combinations(tmp_path: Path) -> None:
    assert problems(TrainConfig()) == []
    with pytest.raises(ConfigError, match="Dataset mnist needs a data folder"):
        validate(TrainConfig(dataset="mnist"))
    assert "needs a data folder" in problems(TrainConfig(dataset="cifar10"))[0]
    assert "not found: /nowhere" in problems(TrainConfig(dataset="mnist", data_dir="/nowhere"))[0]
    assert validate(TrainConfig(dataset="mnist", data_dir=str(tmp_path))).data_dir == str(tmp_path)
    fashion = problems(TrainConfig(dataset="fashion-mnist"))
    assert fashion == [] or FASHION_MNIST_DIR in fashion[0]  # found where the Debian package puts it, or named
    race = TrainConfig(optimizers=(OptimizerChoice("adam"), OptimizerChoice("sgd")), kfold=3)
    assert "Cross-validation (kfold) runs one optimizer" in problems(race)[0]
    assert "must be below 1" in problems(TrainConfig(val_fraction=0.5, test_fraction=0.5))[0]
    assert "Invalid width: 0" in problems(TrainConfig(width=0))[0]


def test_fashion_mnist_defaults_to_the_debian_folder() -> None:
    config = TrainConfig(dataset="fashion-mnist")
    from optviz.training.config import resolved_data_dir

    assert resolved_data_dir(config) == FASHION_MNIST_DIR == "/usr/share/datasets/fashion-mnist"
