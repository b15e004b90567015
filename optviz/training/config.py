"""A training run's configuration: one dataclass, shared by the CLI, the training tab and session files.

Every scalar field of :class:`TrainConfig` is declared by a :class:`~optviz.core.params.Spec` (default, bounds,
words, doc); :func:`specs` returns them, with the choices of ``dataset``, ``model`` and ``schedule`` read from their
registries (``data.DATASETS``, ``models.MODELS``, ``schedules.SCHEDULES``) at the time of asking, so that a new
registry entry is usable everywhere. :func:`check` is the one validator of a field, used by ``from_dict``,
``problems`` and the CLI's options alike, so all three give the same message.

``TrainConfig`` is permissive when constructed, so that the GUI can hold any combination while the user edits;
``problems(config)`` lists what is wrong, one line each (the GUI shows them as tooltips), and ``validate(config)``
raises :class:`ConfigError` with the first of them or returns the config with defaults filled in (the dataset's
default folder). ``to_dict``/``from_dict`` give the ``"training"`` object of session files; ``from_dict`` checks
every key and value (typed values, as JSON has them: no numbers as text, no booleans as numbers).

Weight decay has one owner in a training: ``weight_decay`` (with ``decoupled``), for every optimizer of the run.
An optimizer entry that sets its own non-zero ``weight_decay`` hyperparameter is refused, naming the training's
setting (``--weight-decay`` on the command line); entries that carry ``weight_decay: 0`` (as every saved session
does) load as they are.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Mapping

from optviz.core.devices import DEVICE, unavailable
from optviz.core.optimizers import (OptimizerChoice, OptimizerSpec, choice_from_dict, choice_to_dict,
                                    parse_optimizer)
from optviz.core.params import ParamError, Spec, field, field_specs, fmt, quote
from optviz.training.data import DATASETS
from optviz.training.models import ACTIVATIONS, MODELS
from optviz.training.schedules import SCHEDULES

KFOLD_ALLOWED = "0 (off) or an integer in [2, 100]"  # what kfold's spec cannot say: 1 fold is no validation
TRAINING_OWNED = ("weight_decay",)  # optimizer hyperparameters that a training sets once, for every optimizer


class ConfigError(ParamError):
    """A training setting, or a combination of settings, that cannot run: one line naming it and what is allowed."""


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training; each scalar field's spec holds its default, bounds, words and doc."""

    # data
    dataset: str = field(Spec("dataset", "choice", "mnist5k", choices=tuple(DATASETS), title="Dataset",
                              doc="the images to train on"))
    data_dir: str | None = field(Spec("data_dir", "str", None, optional=True, off_text="none", title="Folder",
                                      doc="folder with the dataset's files (mnist, cifar10; fashion-mnist defaults "
                                          "to /usr/share/datasets/fashion-mnist)"))
    subset: int | None = field(Spec("subset", "int", None, 1, 10_000_000, optional=True, off_text="all",
                                    step=500, title="Subset", doc="use only this many samples (quick runs)"))
    val_fraction: float = field(Spec("val_fraction", "float", 0.1, 0.0, 1.0, high_open=True, step=0.05,
                                     title="Validation",
                                     doc="fraction held out to validate after each epoch: of all the samples, as "
                                         "the test fraction, for a dataset without a test split of its own; of "
                                         "its training samples for one with"))
    test_fraction: float = field(Spec("test_fraction", "float", 0.2, 0.0, 1.0, high_open=True, step=0.05,
                                      title="Test", doc="fraction held out for the test set (for datasets without "
                                                        "a test split of their own, or with a subset)"))
    # small batches: more steps per epoch on the small datasets (LeNet reaches 95% in 5 epochs)
    batch_size: int = field(Spec("batch_size", "int", 32, 1, 65536, title="Batch size", doc="samples per step"))
    augment: bool = field(Spec("augment", "bool", False, title="Augment", doc="random shifts of up to 2 pixels"))
    # model
    model: str = field(Spec("model", "choice", "lenet", choices=tuple(MODELS), title="Model",
                            doc="the network"))
    width: int = field(Spec("width", "int", 16, 1, 512, title="Width",
                            doc="ResNet/PlainNet base channels; MLP hidden units = 8 × width"))
    batchnorm: bool = field(Spec("batchnorm", "bool", False, title="BatchNorm",
                                 doc="BatchNorm after every conv/linear layer"))
    dropout: float = field(Spec("dropout", "float", 0.0, 0.0, 1.0, high_open=True, step=0.1, title="Dropout",
                                doc="dropout probability after the hidden layers"))
    activation: str = field(Spec("activation", "choice", "relu", choices=ACTIVATIONS, title="Activation",
                                 doc="the nonlinearity of every hidden layer"))
    # optimisation: one optimizer, or several for a race from identical weights and batch order
    optimizers: tuple[OptimizerChoice, ...] = dataclasses.field(default_factory=lambda: (OptimizerChoice("adam"),))
    weight_decay: float = field(Spec("weight_decay", "float", 0.0, 0.0, 10.0, step=1e-4, title="Weight decay",
                                     doc="λ, for every optimizer: L2 added to the gradient (g + λw), or decoupled"))
    decoupled: bool = field(Spec("decoupled", "bool", False, title="Decoupled (AdamW-style)",
                                 doc="decoupled weight decay, w ← w − lr·λ·w before the step, instead of L2"))
    l1: float = field(Spec("l1", "float", 0.0, 0.0, 10.0, step=1e-5, title="L1", doc="α: α·Σ|w| added to the loss"))
    schedule: str = field(Spec("schedule", "choice", "none", choices=tuple(SCHEDULES), title="Schedule",
                               doc="learning rate over time, counted in epochs and updated after every batch"))
    schedule_params: dict = dataclasses.field(default_factory=dict)  # the schedule's parameters (its registry entry)
    warmup_epochs: float = field(Spec("warmup_epochs", "float", 0.0, 0.0, 1e4, step=0.5, title="Warm-up (epochs)",
                                      doc="epochs of linear warm-up from ~0 to the optimizer's lr before the "
                                          "schedule"))
    clip_grad: float | None = field(Spec("clip_grad", "float", None, 0.0, 1e6, low_open=True, optional=True,
                                         step=0.5, title="Clip grad norm", doc="clip the total gradient norm"))
    epochs: int = field(Spec("epochs", "int", 3, 1, 100_000, title="Epochs", doc="passes over the training set"))
    max_steps: int | None = field(Spec("max_steps", "int", None, 1, 10_000_000, optional=True, title="Max steps",
                                       doc="end the run (as finished) after this many steps, e.g. 100 for "
                                           "gradient flow"))
    seed: int = field(Spec("seed", "int", 0, 0, 2**31 - 1, title="Seed",
                           doc="seeds the split, the weights, the batch order and augmentation"))
    kfold: int = field(Spec("kfold", "int", 0, 0, 100, title="k-fold CV",
                            doc="k-fold cross-validation: each of k folds is the validation set once"))
    device: str = field(DEVICE)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values; optimizers as ``{"name", "label", "values"}`` (the values that differ from the
        registry's defaults)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["optimizers"] = [choice_to_dict(c) for c in self.optimizers]
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
                raise ConfigError(f"Unknown training setting {quote(key)} (allowed: {', '.join(names)})")
            values[key] = check(key, value)
        config = cls(**values)
        schedule_values(config)  # checks schedule_params against the schedule
        return config

    def label(self) -> str:
        """A short description for run lists: ``lenet · adam · mnist5k``."""
        return f"{self.model} · {', '.join(c.label for c in self.optimizers)} · {self.dataset}"


_REGISTRIES: dict[str, Mapping[str, Any]] = {"dataset": DATASETS, "model": MODELS, "schedule": SCHEDULES}


def specs() -> dict[str, Spec]:
    """The specs of TrainConfig's scalar fields, by name; registry-backed choices as the registries are now."""
    out = field_specs(TrainConfig)
    for name, registry in _REGISTRIES.items():
        if out[name].choices != tuple(registry):
            out[name] = dataclasses.replace(out[name], choices=tuple(registry))
    return out


def allowed(name: str) -> str:
    """What the field ``name`` allows, in words (its spec's, but for kfold's rule)."""
    return KFOLD_ALLOWED if name == "kfold" else specs()[name].allowed()


def check(name: str, value: Any, *, text: bool = False) -> Any:
    """The value of field ``name`` in its type (parsed, with ``text``), or ConfigError with the spec's message."""
    if name == "optimizers":
        return _optimizers(value)
    if name == "schedule_params":
        if not isinstance(value, Mapping):
            raise ConfigError(f"Invalid schedule_params: {quote(value)} (allowed: an object)")
        return dict(value)
    spec = specs()[name]
    try:
        out = spec.parse(value) if text else spec.validate(value)
        if name == "kfold" and out == 1:
            raise spec.error(out)
    except ParamError as exc:
        message = str(exc)
        if name == "kfold":
            message = f"{message.rpartition(' (allowed: ')[0]} (allowed: {KFOLD_ALLOWED})"
        raise ConfigError(message) from None
    return out


def training_hypers(spec: OptimizerSpec) -> tuple[Spec, ...]:
    """The hyperparameters a training's optimizer entry sets: the registry's, less those the training owns."""
    return tuple(h for h in spec.hypers if h.name not in TRAINING_OWNED)


def training_choice(choice: OptimizerChoice) -> OptimizerChoice:
    """``choice``, or ConfigError when it sets a hyperparameter the training owns (weight decay) to non-zero (its
    registry default, such as AdamW's 0.01, is not a setting: the training's replaces it), when it carries
    playground-only run settings (gradient noise, a schedule of its own), or for Muon, which trains matrices only."""
    if choice.name == "muon":
        raise ConfigError(f"Invalid optimizer {choice.label}: Muon trains 2D weight matrices only, and every model "
                          "here has biases and convolution kernels (allowed: any other optimizer; Muon runs in the "
                          "playground)")
    changed = choice.changed()
    for name in TRAINING_OWNED:
        value = changed.get(name, 0.0)
        if value:
            raise ConfigError(f"Invalid {name} value of optimizer {choice.label}: {fmt(value)} (allowed: 0; a "
                              f"training has one weight decay for every optimizer: the Weight decay setting, "
                              "--weight-decay on the command line)")
    if not choice.plain:
        raise ConfigError(f"Invalid optimizer {choice.label}: gradient noise and per-optimizer schedules are "
                          "playground settings (allowed: noise 0 and no schedule; a training's schedule is its "
                          "Schedule setting, --schedule on the command line)")
    return choice


def _optimizer(item: Any) -> OptimizerChoice:
    if isinstance(item, OptimizerChoice):
        return item
    return parse_optimizer(item) if isinstance(item, str) else choice_from_dict(item)


def _optimizers(value: Any) -> tuple[OptimizerChoice, ...]:
    if isinstance(value, (str, Mapping, OptimizerChoice)):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"Invalid optimizers: {quote(value)} (allowed: a non-empty list of optimizers)")
    out = []
    for i, item in enumerate(value):
        try:
            out.append(training_choice(_optimizer(item)))
        except ParamError as exc:
            raise ConfigError(f"optimizers[{i}]: {exc}") from None
    return tuple(out)


def schedule_values(config: TrainConfig) -> dict[str, Any]:
    """The schedule's parameters: defaults overridden by ``schedule_params``, each checked (ConfigError)."""
    spec = SCHEDULES[check("schedule", config.schedule)]
    try:
        return spec.resolve(config.schedule_params)
    except ParamError as exc:
        raise ConfigError(str(exc)) from None


def resolved_data_dir(config: TrainConfig) -> str | None:
    """The folder the dataset is read from: ``data_dir``, or the dataset's default folder (fashion-mnist)."""
    spec = DATASETS.get(config.dataset)
    return spec.folder(config.data_dir) if spec else config.data_dir


def _data_problems(config: TrainConfig) -> list[str]:
    spec = DATASETS[check("dataset", config.dataset)]
    folder = spec.folder(config.data_dir)
    if not spec.needs_folder:
        return []
    if not folder:
        return [f"Dataset {config.dataset} needs a data folder (--data-dir) with its files"]
    if not os.path.isdir(folder):
        hint = f" (install the package {spec.package} or name a folder)" if spec.package and not config.data_dir \
            else ""
        return [f"Data folder for {config.dataset} not found: {folder}{hint}"]
    return []


def problems(config: TrainConfig) -> list[str]:
    """Everything that stops ``config`` from running, one line each; empty when it can run."""
    out: list[str] = []
    for f in dataclasses.fields(config):
        try:
            check(f.name, getattr(config, f.name))
        except ConfigError as exc:
            out.append(str(exc))
    if out:
        return out
    try:
        schedule_values(config)
    except ConfigError as exc:
        out.append(str(exc))
    out += _data_problems(config)
    if config.val_fraction + config.test_fraction >= 1.0:
        out.append(f"val_fraction + test_fraction must be below 1 (got {config.val_fraction:g} + "
                   f"{config.test_fraction:g})")
    if config.kfold and len(config.optimizers) > 1:
        out.append("Cross-validation (kfold) runs one optimizer; a race takes kfold 0")
    if config.kfold and config.subset is not None and config.subset < 2 * config.kfold:
        out.append(f"subset {config.subset} is too small for {config.kfold}-fold cross-validation")
    why = unavailable(config.device)
    if why:
        out.append(why)
    return out


def validate(config: TrainConfig) -> TrainConfig:
    """``config`` with the data folder filled in, or ConfigError with the first problem."""
    found = problems(config)
    if found:
        raise ConfigError(found[0])
    return dataclasses.replace(config, data_dir=resolved_data_dir(config))
