"""A training run's configuration: one dataclass, shared by the CLI, the training tab and session files."""

from __future__ import annotations

from dataclasses import dataclass, field

from optviz.core.optimizers import OptimizerChoice

DATASETS = ("mnist5k", "shapes", "fashion-mnist", "mnist", "cifar10")
MODELS = ("mlp", "lenet", "resnet8", "resnet14", "resnet20", "plain8", "plain14", "plain20")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
SCHEDULES = ("none", "step", "exponential", "time", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    # data
    dataset: str = "mnist5k"
    data_dir: str | None = None  # folder with the files, for fashion-mnist / mnist / cifar10
    subset: int | None = None  # use only this many samples of the whole dataset (quick runs)
    val_fraction: float = 0.1
    test_fraction: float = 0.2  # for datasets without a test split of their own
    batch_size: int = 64
    augment: bool = False  # light augmentation: random shifts of up to 2 pixels
    # model
    model: str = "lenet"
    width: int = 16  # ResNet/PlainNet base channels; MLP hidden units = 8 × width
    batchnorm: bool = False
    dropout: float = 0.0
    activation: str = "relu"
    # optimisation: one optimizer, or several for a race from identical weights and batch order
    optimizers: tuple[OptimizerChoice, ...] = field(default_factory=lambda: (OptimizerChoice("adam"),))
    weight_decay: float = 0.0
    decoupled: bool = False  # AdamW-style decay instead of L2 added to the gradient
    l1: float = 0.0
    schedule: str = "none"
    schedule_params: dict = field(default_factory=dict)  # step: step_size, gamma; exponential: gamma; time: k; …
    warmup_epochs: float = 0.0
    clip_grad: float | None = None  # max total gradient norm
    epochs: int = 3
    seed: int = 0
    kfold: int = 0  # 0 = no cross-validation
    device: str = "auto"
