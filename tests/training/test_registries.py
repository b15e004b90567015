"""A model, a dataset and a schedule added to their registries (one entry each, nothing else) can be chosen in a
session file and on the command line, and train."""

from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler

from optviz.cli import main
from optviz.core.params import Spec
from optviz.training.config import ConfigError, TrainConfig, problems, schedule_values
from optviz.training.data import DATASETS, Dataset, DatasetSpec
from optviz.training.models import MODELS, ModelSpec
from optviz.training.schedules import SCHEDULES, ScheduleSpec


def _stripes(config: TrainConfig, folder: str | None) -> Dataset:
    """Two classes of 8×8 images: horizontal or vertical stripes, with noise."""
    rng = np.random.default_rng(config.seed)
    labels = np.arange(80) % 2
    stripes = np.zeros((2, 8, 8), np.uint8)
    stripes[0, ::2, :] = stripes[1, :, ::2] = 200
    images = stripes[labels] + rng.integers(0, 40, (80, 8, 8)).astype(np.uint8)
    return Dataset("stripes", images[:, None], labels.astype(np.int64), ("horizontal", "vertical"))


def _linear(config: TrainConfig, in_channels: int, n_classes: int, image_size: int) -> nn.Module:
    return nn.Sequential(OrderedDict([("flatten", nn.Flatten()),
                                      ("classifier", nn.Linear(in_channels * image_size ** 2, n_classes))]))


def _halving(optimizer: torch.optim.Optimizer, values, n_batches: int, total: int) -> lr_scheduler.LRScheduler:
    return lr_scheduler.LambdaLR(optimizer, lambda s: values["factor"] ** (s // n_batches))


@pytest.fixture
def toys(monkeypatch) -> None:
    monkeypatch.setitem(DATASETS, "stripes", DatasetSpec("stripes", "Stripes", False, None, False, _stripes,
                                                         doc="stripes"))
    monkeypatch.setitem(MODELS, "linear", ModelSpec("linear", "Linear", "linear", None, False, _linear,
                                                    doc="one linear layer"))
    factor = Spec("factor", "float", 0.5, 0.0, 1.0, low_open=True, label="factor value", doc="per epoch")
    monkeypatch.setitem(SCHEDULES, "halving", ScheduleSpec("halving", "halving", (factor,), _halving,
                                                           doc="lr₀ · factor^⌊t⌋"))


def test_registered_entries_pass_the_config_checks(toys) -> None:
    config = TrainConfig.from_dict({"dataset": "stripes", "model": "linear", "schedule": "halving",
                                    "schedule_params": {"factor": 0.25}})
    assert problems(config) == [] and schedule_values(config) == {"factor": 0.25}
    with pytest.raises(ConfigError, match=r"Invalid factor value: 2 \(allowed: a number in \(0, 1\]\)"):
        TrainConfig.from_dict({"schedule": "halving", "schedule_params": {"factor": 2.0}})
    with pytest.raises(ConfigError, match=r"Invalid model: 'gone' \(allowed: .*plain20, linear\)"):
        TrainConfig.from_dict({"model": "gone"})


def test_registered_entries_train_from_the_command_line(toys, capsys) -> None:
    args = ["train", "--dataset", "stripes", "--model", "linear", "--schedule", "halving:factor=0.25",
            "--epochs", "2", "--batch-size", "16", "--device", "cpu", "--json"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["status"] == "finished" and report["config"]["dataset"] == "stripes"
    assert (report["config"]["model"], report["config"]["schedule"]) == ("linear", "halving")
    assert report["config"]["schedule_params"] == {"factor": 0.25}
    assert main([*args[:-1], "--schedule", "halving:factor=0"]) == 2
    assert "argument --schedule: Invalid factor value: 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "stripes" in capsys.readouterr().out


def test_without_registration_they_are_unknown(capsys) -> None:
    assert main(["train", "--model", "linear"]) == 2
    assert "argument --model: Invalid model: 'linear'" in capsys.readouterr().err
