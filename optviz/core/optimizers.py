"""The optimizer registry: one entry per optimizer, read by the CLI, the GUI panels, the trainer and the tests.

Every entry is backed by ``torch.optim``. Hyperparameters carry torch.optim's names and defaults, except that
the ``momentum``/``nesterov`` entries default to ``momentum=0.9`` (torch's default of 0 would make them plain SGD)
and ``betas`` is exposed as ``beta1``/``beta2`` so that each is one number in a panel or on the command line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import torch

from optviz.core.params import ParamError, Spec, defaults, find, parse_named, quote, resolve, unique_labels

HyperparameterError = ParamError  # an optimizer name or hyperparameter that the registry does not allow


@dataclass(frozen=True)
class OptimizerSpec:
    """A registry entry: a name, the torch.optim class, its hyperparameters and the fixed keywords it implies."""

    name: str
    title: str
    torch_class: type[torch.optim.Optimizer]
    hypers: tuple[Spec, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)  # keywords implied by the entry (nesterov=True)
    color: str = "#ffffff"  # the optimizer's colour in every plot of both tabs
    doc: str = ""

    @property
    def hyper_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hypers)

    def hyper(self, name: str) -> Spec:
        return find(self.hypers, name, f"optimizer {self.name}")

    def defaults(self) -> dict[str, float | bool]:
        return defaults(self.hypers)

    def resolve(self, values: Mapping[str, Any] | None = None, *, text: bool = False) -> dict[str, float | bool]:
        """Defaults overridden by ``values``, each validated (parsed, for text); unknown names are rejected."""
        out = resolve(self.hypers, values, f"optimizer {self.name}", text=text)
        if self.name == "nesterov" and out.get("momentum", 0) <= 0:
            raise HyperparameterError("Invalid momentum: nesterov needs momentum > 0 (allowed: (0, 1))")
        return out

    def torch_kwargs(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments for ``torch_class``: validated values, beta1/beta2 joined as betas, fixed keys added."""
        hv = self.resolve(values)
        kwargs: dict[str, Any] = dict(self.fixed)
        for key, value in hv.items():
            if key not in ("beta1", "beta2"):
                kwargs[key] = value
        if "beta1" in hv:
            kwargs["betas"] = (hv["beta1"], hv["beta2"])
        return kwargs

    def build(self, params: Iterable[torch.Tensor] | Iterable[dict], values: Mapping[str, Any] | None = None,
              **extra: Any) -> torch.optim.Optimizer:
        """A torch.optim optimizer over ``params`` with these hyperparameters (``extra`` passes through)."""
        return self.torch_class(params, **self.torch_kwargs(values), **extra)


def _num(name: str, default: float, low: float, high: float, label: str = "", **kw: Any) -> Spec:
    return Spec(name, "float", default, low, high, label=label or f"{name} value", **kw)


def _lr(default: float) -> Spec:
    return _num("lr", default, 0.0, 10.0, "learning rate", log=True, doc="step size")


def _eps(default: float) -> Spec:
    # 0 is refused (torch allows it): at an exact minimum the adaptive rules would compute 0/0.
    return _num("eps", default, 0.0, 1.0, "epsilon value", log=True, low_open=True,
                doc="added to the denominator; above 0, or an exact minimum gives 0/0")


def _flag(name: str) -> Spec:
    return Spec(name, "bool", False)


_WD = _num("weight_decay", 0.0, 0.0, 10.0, doc="L2 penalty added to the gradient")
_MOMENTUM = _num("momentum", 0.9, 0.0, 1.0, high_open=True, doc="velocity decay")

SGD = OptimizerSpec(
    "sgd", "SGD", torch.optim.SGD, (_lr(1e-3), _WD), color="#e41a1c",
    doc="x ← x − lr·g",
)
MOMENTUM = OptimizerSpec(
    "momentum", "Momentum", torch.optim.SGD,
    (_lr(1e-3), _MOMENTUM, _num("dampening", 0.0, 0.0, 1.0, high_open=True), _WD),
    color="#377eb8",
    doc="v ← μ·v + (1−τ)·g;  x ← x − lr·v",
)
NESTEROV = OptimizerSpec(
    "nesterov", "Nesterov", torch.optim.SGD,
    (_lr(1e-3), _num("momentum", 0.9, 0.0, 1.0, low_open=True, high_open=True, doc="velocity decay"), _WD),
    fixed={"nesterov": True, "dampening": 0.0}, color="#4daf4a",
    doc="v ← μ·v + g;  x ← x − lr·(g + μ·v)",
)
ADAGRAD = OptimizerSpec(
    "adagrad", "Adagrad", torch.optim.Adagrad,
    (_lr(1e-2), _num("lr_decay", 0.0, 0.0, 10.0), _WD, _num("initial_accumulator_value", 0.0, 0.0, 10.0),
     _eps(1e-10)),
    color="#984ea3",
    doc="s ← s + g²;  x ← x − lr/(1+(t−1)·lr_decay) · g/(√s + ε)",
)
RMSPROP = OptimizerSpec(
    "rmsprop", "RMSProp", torch.optim.RMSprop,
    (_lr(1e-2), _num("alpha", 0.99, 0.0, 1.0), _eps(1e-8), _WD,
     _num("momentum", 0.0, 0.0, 1.0, high_open=True), _flag("centered")),
    color="#ff7f00",
    doc="s ← α·s + (1−α)·g²;  x ← x − lr · g/(√s + ε)",
)
ADAM = OptimizerSpec(
    "adam", "Adam", torch.optim.Adam,
    (_lr(1e-3), _num("beta1", 0.9, 0.0, 1.0, "beta parameter at index 0", high_open=True),
     _num("beta2", 0.999, 0.0, 1.0, "beta parameter at index 1", high_open=True), _eps(1e-8), _WD,
     _flag("amsgrad")),
    color="#a65628",
    doc="m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  x ← x − lr · m̂/(√v̂ + ε)",
)

REGISTRY: dict[str, OptimizerSpec] = {s.name: s for s in (SGD, MOMENTUM, NESTEROV, ADAGRAD, RMSPROP, ADAM)}


def get_optimizer(name: str) -> OptimizerSpec:
    """The registry entry called ``name`` (case-insensitive), or HyperparameterError listing the names."""
    try:
        return REGISTRY[name.strip().lower()]
    except KeyError:
        raise HyperparameterError(f"Unknown optimizer {name!r} (allowed: {', '.join(REGISTRY)})") from None


@dataclass(frozen=True)
class OptimizerChoice:
    """An optimizer with its hyperparameters as the user set them (validated), plus a display label."""

    name: str
    values: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""

    def __post_init__(self) -> None:
        spec = get_optimizer(self.name)
        object.__setattr__(self, "name", spec.name)
        object.__setattr__(self, "values", spec.resolve(self.values))
        if not self.label:
            object.__setattr__(self, "label", spec.name)

    @property
    def spec(self) -> OptimizerSpec:
        return REGISTRY[self.name]

    def build(self, params: Iterable[torch.Tensor] | Iterable[dict], **extra: Any) -> torch.optim.Optimizer:
        return self.spec.build(params, self.values, **extra)

    def changed(self) -> dict[str, Any]:
        """Only the values that differ from the registry defaults (for compact specs and session files)."""
        defaults = self.spec.defaults()
        return {k: v for k, v in self.values.items() if v != defaults[k]}


def parse_optimizer(text: str, label: str = "") -> OptimizerChoice:
    """Parse ``NAME[:key=value,...]`` (the CLI syntax), e.g. ``adam:lr=0.01,beta1=0.8``."""
    name, values = parse_named(text, "optimizer")
    spec = get_optimizer(name)
    return OptimizerChoice(spec.name, spec.resolve(values, text=True), label)


def unique_choices(choices: Iterable[OptimizerChoice]) -> list[OptimizerChoice]:
    """The choices relabelled so that no two share a label (``adam``, ``adam#2``); the one labelling scheme."""
    items = list(choices)
    labels = unique_labels([c.label for c in items])
    return [c if c.label == lab else dataclasses.replace(c, label=lab) for c, lab in zip(items, labels)]


MAX_LABEL = 60  # characters of a display label


def choice_to_dict(choice: OptimizerChoice) -> dict[str, Any]:
    """The one way an optimizer choice is written (session files, both tabs): changed values only."""
    return {"name": choice.name, "label": choice.label, "values": choice.changed()}


def choice_from_dict(item: Any) -> OptimizerChoice:
    """An optimizer choice from ``{"name", "label", "values"}`` (``values``: any subset); ParamError if bad."""
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise ParamError('expected an object like {"name": "adam", "label": "Adam", "values": {"lr": 0.01}}')
    unknown = [k for k in item if k not in ("name", "label", "values")]
    if unknown:
        raise ParamError(f"unknown key {quote(unknown[0])} (allowed: name, label, values)")
    values, label = item.get("values", {}), item.get("label", "")
    if not isinstance(values, Mapping):
        raise ParamError(f"values must be an object of hyperparameters, got {quote(values)}")
    if not isinstance(label, str) or len(label) > MAX_LABEL:
        raise ParamError(f"Invalid label: {quote(label)} (allowed: a text of at most {MAX_LABEL} characters)")
    return OptimizerChoice(item["name"], values, label.strip())
