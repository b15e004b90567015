"""The optimizer registry: one entry per optimizer, read by the CLI, the GUI panels, the trainer and the tests.

Every entry is backed by ``torch.optim``. Hyperparameters carry torch.optim's names and defaults, except that
the ``momentum``/``nesterov`` entries default to ``momentum=0.9`` (torch's default of 0 would make them plain SGD)
and ``betas`` is exposed as ``beta1``/``beta2`` so that each is one number in a panel or on the command line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import torch


class HyperparameterError(ValueError):
    """A hyperparameter name or value that the registry does not allow."""


@dataclass(frozen=True)
class Hyper:
    """One hyperparameter of an optimizer, with the range the registry accepts."""

    name: str  # the torch.optim keyword (beta1/beta2 are joined into betas)
    default: float
    low: float
    high: float
    kind: str = "float"  # "float" | "bool"
    log: bool = False  # log-scale entry in the panel (lr, eps)
    low_open: bool = False  # low itself not allowed
    high_open: bool = False  # high itself not allowed
    label: str = ""  # words used in messages, torch-style: "Invalid learning rate: -1.0"
    doc: str = ""

    @property
    def words(self) -> str:
        return self.label or self.name.replace("_", " ")

    def allowed(self) -> str:
        """The allowed values, in words, for messages."""
        if self.kind == "bool":
            return "true or false"
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        return f"a number in {lo}{_fmt(self.low)}, {_fmt(self.high)}{hi}"

    def validate(self, value: Any) -> float | bool:
        """Return ``value`` as this hyperparameter's type, or raise HyperparameterError naming it."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
                return value.strip().lower() in ("true", "1", "yes", "on")
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            raise HyperparameterError(f"Invalid {self.words}: {value!r} (allowed: {self.allowed()})")
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            raise HyperparameterError(f"Invalid {self.words}: {value!r} (allowed: {self.allowed()})") from None
        too_low = number < self.low or (self.low_open and number == self.low)
        too_high = number > self.high or (self.high_open and number == self.high)
        if not math.isfinite(number) or too_low or too_high:
            raise HyperparameterError(f"Invalid {self.words}: {_fmt(number)} (allowed: {self.allowed()})")
        return number


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class OptimizerSpec:
    """A registry entry: a name, the torch.optim class, its hyperparameters and the fixed keywords it implies."""

    name: str
    title: str
    torch_class: type[torch.optim.Optimizer]
    hypers: tuple[Hyper, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)  # keywords implied by the entry (nesterov=True)
    color: str = "#ffffff"  # the optimizer's colour in plots
    doc: str = ""

    @property
    def hyper_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hypers)

    def hyper(self, name: str) -> Hyper:
        for h in self.hypers:
            if h.name == name:
                return h
        raise HyperparameterError(
            f"Unknown hyperparameter {name!r} for {self.name} (allowed: {', '.join(self.hyper_names)})"
        )

    def defaults(self) -> dict[str, float | bool]:
        return {h.name: (bool(h.default) if h.kind == "bool" else h.default) for h in self.hypers}

    def resolve(self, values: Mapping[str, Any] | None = None) -> dict[str, float | bool]:
        """Defaults overridden by ``values``, each validated; unknown names are rejected."""
        out = self.defaults()
        for key, value in (values or {}).items():
            out[key] = self.hyper(key).validate(value)
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


def _lr(default: float) -> Hyper:
    return Hyper("lr", default, 0.0, 10.0, log=True, label="learning rate", doc="step size")


_WD = Hyper("weight_decay", 0.0, 0.0, 10.0, label="weight_decay value", doc="L2 penalty added to the gradient")
_MOMENTUM = Hyper("momentum", 0.9, 0.0, 1.0, high_open=True, label="momentum value", doc="velocity decay")

SGD = OptimizerSpec(
    "sgd", "SGD", torch.optim.SGD, (_lr(1e-3), _WD), color="#e41a1c",
    doc="x ← x − lr·g",
)
MOMENTUM = OptimizerSpec(
    "momentum", "Momentum", torch.optim.SGD,
    (_lr(1e-3), _MOMENTUM, Hyper("dampening", 0.0, 0.0, 1.0, high_open=True, label="dampening value"), _WD),
    color="#377eb8",
    doc="v ← μ·v + (1−τ)·g;  x ← x − lr·v",
)
NESTEROV = OptimizerSpec(
    "nesterov", "Nesterov", torch.optim.SGD,
    (_lr(1e-3), Hyper("momentum", 0.9, 0.0, 1.0, low_open=True, high_open=True, label="momentum value"), _WD),
    fixed={"nesterov": True, "dampening": 0.0}, color="#4daf4a",
    doc="v ← μ·v + g;  x ← x − lr·(g + μ·v)",
)
ADAGRAD = OptimizerSpec(
    "adagrad", "Adagrad", torch.optim.Adagrad,
    (_lr(1e-2), Hyper("lr_decay", 0.0, 0.0, 10.0, label="lr_decay value"), _WD,
     Hyper("initial_accumulator_value", 0.0, 0.0, 10.0, label="initial_accumulator_value value"),
     Hyper("eps", 1e-10, 0.0, 1.0, log=True, label="epsilon value")),
    color="#984ea3",
    doc="s ← s + g²;  x ← x − lr/(1+(t−1)·lr_decay) · g/(√s + ε)",
)
RMSPROP = OptimizerSpec(
    "rmsprop", "RMSProp", torch.optim.RMSprop,
    (_lr(1e-2), Hyper("alpha", 0.99, 0.0, 1.0, label="alpha value"),
     Hyper("eps", 1e-8, 0.0, 1.0, log=True, label="epsilon value"), _WD,
     Hyper("momentum", 0.0, 0.0, 1.0, high_open=True, label="momentum value"),
     Hyper("centered", 0.0, 0.0, 1.0, kind="bool")),
    color="#ff7f00",
    doc="s ← α·s + (1−α)·g²;  x ← x − lr · g/(√s + ε)",
)
ADAM = OptimizerSpec(
    "adam", "Adam", torch.optim.Adam,
    (_lr(1e-3), Hyper("beta1", 0.9, 0.0, 1.0, high_open=True, label="beta parameter at index 0"),
     Hyper("beta2", 0.999, 0.0, 1.0, high_open=True, label="beta parameter at index 1"),
     Hyper("eps", 1e-8, 0.0, 1.0, log=True, label="epsilon value"), _WD,
     Hyper("amsgrad", 0.0, 0.0, 1.0, kind="bool")),
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


def parse_optimizer(text: str) -> OptimizerChoice:
    """Parse ``NAME[:key=value,...]`` (the CLI syntax), e.g. ``adam:lr=0.01,beta1=0.8``."""
    name, _, rest = text.partition(":")
    spec = get_optimizer(name)
    values: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise HyperparameterError(
                f"Malformed optimizer option {item!r} in {text!r} (expected key=value; keys for {spec.name}: "
                f"{', '.join(spec.hyper_names)})"
            )
        values[key.strip()] = value.strip()
    return OptimizerChoice(spec.name, values)
