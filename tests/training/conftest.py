"""Fixtures of the training tests: small dataset files and a config that trains in well under a second."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from optviz.training.config import TrainConfig
from optviz.training.trainer import training_threads
from training_files import write_cifar_folder, write_idx_folder


@pytest.fixture
def idx_dir(tmp_path: Path) -> Path:
    write_idx_folder(tmp_path)
    return tmp_path


@pytest.fixture
def cifar_dir(tmp_path: Path) -> Path:
    write_cifar_folder(tmp_path)
    return tmp_path


@pytest.fixture
def tiny() -> TrainConfig:
    """A config that trains in well under a second: 400 MNIST digits, one epoch, a narrow MLP."""
    return TrainConfig(dataset="mnist5k", subset=400, epochs=1, model="mlp", width=4, batch_size=32, device="cpu")


@pytest.fixture
def training_thread_policy():
    """The trainer's thread policy, as the CLI and the GUI run (2 busy cores and 2 threads: 10× slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(training_threads())
    yield
    torch.set_num_threads(before)
