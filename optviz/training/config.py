"""A training run's configuration: one dataclass, shared by the CLI, the training tab and session files.

``TrainConfig`` is permissive when constructed, so that the GUI can hold any combination while the user edits;
``problems(config)`` lists what is wrong, one line each (the GUI shows them as tooltips), and ``validate(config)``
raises :class:`ConfigError` with the first of them or returns the config with defaults filled in (the
fashion-mnist folder). ``to_dict``/``from_dict`` give the ``"training"`` object of session files; ``from_dict``
checks every key and value.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from optviz.core.optimizers import Hyper, HyperparameterError, OptimizerChoice, parse_optimizer

DATASETS = ("mnist5k", "shapes", "fashion-mnist", "mnist", "cifar10")
MODELS = ("mlp", "lenet", "resnet8", "resnet14", "resnet20", "plain8", "plain14", "plain20")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
SCHEDULES = ("none", "step", "exponential", "time", "cosine")
DEVICES = ("auto", "cpu", "cuda")
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"  # where the Debian/Ubuntu package dataset-fashion-mnist puts it
NEEDS_DATA_DIR = ("mnist", "cifar10")

# Schedule parameters, as registry entries (the GUI builds spin boxes from them). Every schedule counts time t in
# epochs, fractional within an epoch, and the learning rate is updated after every batch.
SCHEDULE_PARAMS: dict[str, tuple[Hyper, ...]] = {
    "none": (),
    "step": (Hyper("step_size", 1.0, 0.0, 1e4, low_open=True, label="step_size value", doc="epochs between drops"),
             Hyper("gamma", 0.5, 0.0, 1.0, low_open=True, label="gamma value", doc="factor at each drop")),
    "exponential": (Hyper("gamma", 0.7, 0.0, 1.0, low_open=True, label="gamma value", doc="factor per epoch"),),
    "time": (Hyper("k", 1.0, 0.0, 1e4, label="k value", doc="lr/(1 + k·t), t in epochs"),),
    "cosine": (Hyper("eta_min", 0.0, 0.0, 10.0, label="eta_min value", doc="learning rate at the end"),),
}


class ConfigError(ValueError):
    """A training setting, or a combination of settings, that cannot run: one line naming it and what is allowed."""


@dataclass(frozen=True)
class TrainConfig:
    # data
    dataset: str = "mnist5k"
    data_dir: str | None = None  # folder with the files, for fashion-mnist / mnist / cifar10
    subset: int | None = None  # use only this many samples of the whole dataset (quick runs)
    val_fraction: float = 0.1
    test_fraction: float = 0.2  # for datasets without a test split of their own
    batch_size: int = 32  # small batches: more steps per epoch on the small datasets (LeNet reaches 95% in 5 epochs)
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
    max_steps: int | None = None  # added: end the run (as finished) after this many steps, e.g. 100 for gradient flow
    seed: int = 0
    kfold: int = 0  # 0 = no cross-validation
    device: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values; optimizers as ``{"name", "values", "label"}``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["optimizers"] = [{"name": c.name, "values": dict(c.values), "label": c.label} for c in self.optimizers]
        out["schedule_params"] = dict(self.schedule_params)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        """The config described by ``d`` (missing keys take their defaults); ConfigError names a bad key or value."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"Invalid training settings: expected an object, got {type(d).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        values: dict[str, Any] = {}
        for key, value in d.items():
            if key not in names:
                raise ConfigError(f"Unknown training setting {key!r} (allowed: {', '.join(names)})")
            values[key] = _coerce(key, value)
        config = cls(**values)
        schedule_values(config)  # checks schedule_params against the schedule
        return config

    def label(self) -> str:
        """A short description for run lists: ``lenet · adam · mnist5k``."""
        return f"{self.model} · {', '.join(c.label for c in self.optimizers)} · {self.dataset}"


# ---- field checks: each returns the value in its proper type or raises ConfigError naming it -------------------

def _bad(key: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"Invalid {key}: {value!r} (allowed: {allowed})")


def _int(key: str, value: Any, low: int, high: int | None = None, *, none: bool = False) -> int | None:
    if value is None and none:
        return None
    allowed = (f"an integer ≥ {low}" if high is None else f"an integer in [{low}, {high}]") + (" or null" if none else "")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _bad(key, value, allowed)
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except ValueError:
        number = None
    if number is None or number < low or (high is not None and number > high):
        raise _bad(key, value, allowed)
    return number


def _float(key: str, value: Any, low: float, high: float, *, high_open: bool = False, low_open: bool = False,
           none: bool = False) -> float | None:
    if value is None and none:
        return None
    allowed = f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        raise _bad(key, value, allowed + (" or null" if none else "")) from None
    if not math.isfinite(number) or number < low or number > high or (high_open and number == high) \
            or (low_open and number == low):
        raise _bad(key, value, allowed + (" or null" if none else ""))
    return number


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _bad(key, value, "true or false")


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    if isinstance(value, str) and value.strip().lower() in choices:
        return value.strip().lower()
    raise _bad(key, value, ", ".join(choices))


def _optimizers(value: Any) -> tuple[OptimizerChoice, ...]:
    if isinstance(value, (str, Mapping, OptimizerChoice)):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise _bad("optimizers", value, "a non-empty list of optimizers")
    out = []
    for item in value:
        try:
            if isinstance(item, OptimizerChoice):
                out.append(item)
            elif isinstance(item, str):
                out.append(parse_optimizer(item))
            elif isinstance(item, Mapping) and set(item) <= {"name", "values", "label"} and "name" in item:
                out.append(OptimizerChoice(str(item["name"]), dict(item.get("values") or {}), str(item.get("label", ""))))
            else:
                raise _bad("optimizers", item, 'an object with "name", "values" and "label", or "NAME:k=v,…"')
        except HyperparameterError as exc:
            raise ConfigError(f"Invalid optimizers: {exc}") from None
    return tuple(out)


_FIELDS = {
    "dataset": lambda v: _choice("dataset", v, DATASETS),
    "data_dir": lambda v: v if v is None or (isinstance(v, str) and v) else _bad_raise("data_dir", v, "a folder or null"),
    "subset": lambda v: _int("subset", v, 1, none=True),
    "val_fraction": lambda v: _float("val_fraction", v, 0.0, 1.0, high_open=True),
    "test_fraction": lambda v: _float("test_fraction", v, 0.0, 1.0, high_open=True),
    "batch_size": lambda v: _int("batch_size", v, 1, 65536),
    "augment": lambda v: _bool("augment", v),
    "model": lambda v: _choice("model", v, MODELS),
    "width": lambda v: _int("width", v, 1, 512),
    "batchnorm": lambda v: _bool("batchnorm", v),
    "dropout": lambda v: _float("dropout", v, 0.0, 1.0, high_open=True),
    "activation": lambda v: _choice("activation", v, ACTIVATIONS),
    "optimizers": _optimizers,
    "weight_decay": lambda v: _float("weight_decay", v, 0.0, 10.0),
    "decoupled": lambda v: _bool("decoupled", v),
    "l1": lambda v: _float("l1", v, 0.0, 10.0),
    "schedule": lambda v: _choice("schedule", v, SCHEDULES),
    "schedule_params": lambda v: dict(v) if isinstance(v, Mapping) else _bad_raise("schedule_params", v, "an object"),
    "warmup_epochs": lambda v: _float("warmup_epochs", v, 0.0, 1e4),
    "clip_grad": lambda v: _float("clip_grad", v, 0.0, 1e6, low_open=True, none=True),
    "epochs": lambda v: _int("epochs", v, 1, 100000),
    "max_steps": lambda v: _int("max_steps", v, 1, none=True),
    "seed": lambda v: _int("seed", v, 0, 2**63 - 1),
    "kfold": lambda v: _kfold(v),
    "device": lambda v: _choice("device", v, DEVICES),
}


def _bad_raise(key: str, value: Any, allowed: str):
    raise _bad(key, value, allowed)


def _kfold(value: Any) -> int:
    k = _int("kfold", value, 0, 100)
    if k == 1:
        raise _bad("kfold", value, "0 (off) or an integer in [2, 100]")
    return k


def _coerce(key: str, value: Any) -> Any:
    return _FIELDS[key](value)


def schedule_values(config: TrainConfig) -> dict[str, float]:
    """The schedule's parameters: defaults overridden by ``schedule_params``, each checked (ConfigError)."""
    params = SCHEDULE_PARAMS.get(config.schedule)
    if params is None:
        raise _bad("schedule", config.schedule, ", ".join(SCHEDULES))
    known = {h.name: h for h in params}
    out = {h.name: h.default for h in params}
    for key, value in dict(config.schedule_params).items():
        if key not in known:
            allowed = ", ".join(known) or "none"
            raise ConfigError(f"Unknown parameter {key!r} for schedule {config.schedule} (allowed: {allowed})")
        try:
            out[key] = float(known[key].validate(value))
        except HyperparameterError as exc:
            raise ConfigError(f"{exc} for schedule {config.schedule}") from None
    return out


def resolved_data_dir(config: TrainConfig) -> str | None:
    """The folder the dataset is read from: ``data_dir``, or the Debian/Ubuntu folder for fashion-mnist."""
    if config.data_dir:
        return os.path.expanduser(config.data_dir)
    return FASHION_MNIST_DIR if config.dataset == "fashion-mnist" else None


def problems(config: TrainConfig) -> list[str]:
    """Everything that stops ``config`` from running, one line each; empty when it can run."""
    out: list[str] = []
    for f in dataclasses.fields(config):
        try:
            _coerce(f.name, getattr(config, f.name))
        except ConfigError as exc:
            out.append(str(exc))
    if out:
        return out
    try:
        schedule_values(config)
    except ConfigError as exc:
        out.append(str(exc))
    folder = resolved_data_dir(config)
    if config.dataset in NEEDS_DATA_DIR and not folder:
        out.append(f"Dataset {config.dataset} needs a data folder (--data-dir) with its files")
    elif config.dataset in NEEDS_DATA_DIR + ("fashion-mnist",) and not os.path.isdir(folder):
        hint = " (install the package dataset-fashion-mnist or name a folder)" if not config.data_dir else ""
        out.append(f"Data folder for {config.dataset} not found: {folder}{hint}")
    if config.val_fraction + config.test_fraction >= 1.0:
        out.append(f"val_fraction + test_fraction must be below 1 (got {config.val_fraction:g} + "
                   f"{config.test_fraction:g})")
    if config.kfold and len(config.optimizers) > 1:
        out.append("Cross-validation (kfold) runs one optimizer; a race takes kfold 0")
    if config.kfold and config.subset is not None and config.subset < 2 * config.kfold:
        out.append(f"subset {config.subset} is too small for {config.kfold}-fold cross-validation")
    if config.device == "cuda" and not _cuda_available():
        out.append("Device cuda is not available on this machine (allowed here: auto, cpu)")
    return out


def validate(config: TrainConfig) -> TrainConfig:
    """``config`` with the data folder filled in, or ConfigError with the first problem."""
    found = problems(config)
    if found:
        raise ConfigError(found[0])
    return dataclasses.replace(config, data_dir=resolved_data_dir(config))


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
