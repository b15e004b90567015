"""The optimizer registry: one entry per optimizer, read by the CLI, the GUI panels, the trainer and the tests.

Every entry is backed by ``torch.optim``. Hyperparameters carry torch.optim's names and defaults, except that
the ``momentum``/``nesterov`` entries default to ``momentum=0.9`` (torch's default of 0 would make them plain SGD)
and tuples are split so that each is one number in a panel or on the command line (:data:`JOINED`: ``betas`` is
``beta1``/``beta2``, Rprop's ``etas`` and ``step_sizes`` likewise).

The six of the playground's lessons (SGD, Momentum, Nesterov, Adagrad, RMSProp, Adam) are on by default
(``default_enabled``, :data:`DEFAULT_OPTIMIZERS`); the rest of torch.optim (AdamW, NAdam, RAdam, Adamax, Adadelta,
ASGD, Rprop, Muon) is there to enable. LBFGS is left out: it re-evaluates the loss inside ``step(closure)`` (a
line search), so it has no single update per gradient to draw, and its steps would not be comparable.

An :class:`OptimizerChoice` also carries a run's settings that are not torch.optim's: Gaussian gradient noise
(``noise`` σ, ``seed``) and a learning-rate ``schedule`` (the registry of :mod:`optviz.core.schedules`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from optviz.core.lazy import torch

from optviz.core.params import ParamError, Spec, defaults, find, parse_named, quote, resolve, unique_labels
from optviz.core.schedules import CONSTANT, ScheduleChoice, schedule_from_dict

HyperparameterError = ParamError  # an optimizer name or hyperparameter that the registry does not allow


@dataclass(frozen=True)
class OptimizerSpec:
    """A registry entry: a name, the torch.optim class, its hyperparameters and the fixed keywords it implies."""

    name: str
    title: str
    torch_name: str  # the torch.optim class's name (see torch_class)
    hypers: tuple[Spec, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)  # keywords implied by the entry (nesterov=True)
    color: str = "#ffffff"  # the optimizer's colour in every plot of both tabs
    doc: str = ""
    default_enabled: bool = True  # on in a new session (the six); the rest of torch.optim is off until enabled
    state_keys: tuple[str, ...] = ()  # torch.optim's per-parameter state (besides "step") that internals record

    @property
    def torch_class(self) -> type[torch.optim.Optimizer]:
        """The torch.optim class (looked up when asked: the registry itself can be read before torch loads)."""
        return getattr(torch.optim, self.torch_name)

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
        parts = {p: joined for joined, pair in JOINED.items() for p in pair}
        for key, value in hv.items():
            if key not in parts:
                kwargs[key] = value
        for joined, (a, b) in JOINED.items():
            if a in hv:
                kwargs[joined] = (hv[a], hv[b])
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


def _flag(name: str, default: bool = False, doc: str = "") -> Spec:
    return Spec(name, "bool", default, doc=doc)


# torch.optim keywords that take a tuple, and the registry's one-number hyperparameters that make it up
JOINED = {"betas": ("beta1", "beta2"), "etas": ("etaminus", "etaplus"),
          "step_sizes": ("step_size_min", "step_size_max")}


def _betas(beta2: float = 0.999) -> tuple[Spec, Spec]:
    return (_num("beta1", 0.9, 0.0, 1.0, "beta parameter at index 0", high_open=True, doc="first-moment decay"),
            _num("beta2", beta2, 0.0, 1.0, "beta parameter at index 1", high_open=True, doc="second-moment decay"))


_WD = _num("weight_decay", 0.0, 0.0, 10.0, doc="L2 penalty added to the gradient")
_MOMENTUM = _num("momentum", 0.9, 0.0, 1.0, high_open=True, doc="velocity decay")

SGD = OptimizerSpec(
    "sgd", "SGD", "SGD", (_lr(1e-3), _WD), color="#e41a1c",
    doc="x ← x − lr·g", state_keys=("momentum_buffer",),
)
MOMENTUM = OptimizerSpec(
    "momentum", "Momentum", "SGD",
    (_lr(1e-3), _MOMENTUM, _num("dampening", 0.0, 0.0, 1.0, high_open=True), _WD),
    color="#377eb8",
    doc="v ← μ·v + (1−τ)·g;  x ← x − lr·v", state_keys=("momentum_buffer",),
)
NESTEROV = OptimizerSpec(
    "nesterov", "Nesterov", "SGD",
    (_lr(1e-3), _num("momentum", 0.9, 0.0, 1.0, low_open=True, high_open=True, doc="velocity decay"), _WD),
    fixed={"nesterov": True, "dampening": 0.0}, color="#4daf4a",
    doc="v ← μ·v + g;  x ← x − lr·(g + μ·v)", state_keys=("momentum_buffer",),
)
ADAGRAD = OptimizerSpec(
    "adagrad", "Adagrad", "Adagrad",
    (_lr(1e-2), _num("lr_decay", 0.0, 0.0, 10.0), _WD, _num("initial_accumulator_value", 0.0, 0.0, 10.0),
     _eps(1e-10)),
    color="#984ea3",
    doc="s ← s + g²;  x ← x − lr/(1+(t−1)·lr_decay) · g/(√s + ε)", state_keys=("sum",),
)
RMSPROP = OptimizerSpec(
    "rmsprop", "RMSProp", "RMSprop",
    (_lr(1e-2), _num("alpha", 0.99, 0.0, 1.0), _eps(1e-8), _WD,
     _num("momentum", 0.0, 0.0, 1.0, high_open=True), _flag("centered")),
    color="#ff7f00",
    doc="s ← α·s + (1−α)·g²;  x ← x − lr · g/(√s + ε)", state_keys=("square_avg", "momentum_buffer", "grad_avg"),
)
_ADAM_STATE = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
ADAM = OptimizerSpec(
    "adam", "Adam", "Adam", (_lr(1e-3), *_betas(), _eps(1e-8), _WD, _flag("amsgrad")),
    color="#a65628",
    doc="m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  x ← x − lr · m̂/(√v̂ + ε)", state_keys=_ADAM_STATE,
)

# ---- the rest of torch.optim: off until enabled ----------------------------------------------------------------

_DECOUPLED = _flag("decoupled_weight_decay", doc="x ← x − lr·λ·x (as AdamW) instead of λ·x in the gradient")
ADAMW = OptimizerSpec(
    "adamw", "AdamW", "AdamW",
    (_lr(1e-3), *_betas(), _eps(1e-8),
     _num("weight_decay", 1e-2, 0.0, 10.0, doc="decoupled: x ← x − lr·λ·x before Adam's step"), _flag("amsgrad")),
    color="#f781bf", default_enabled=False, state_keys=_ADAM_STATE,
    doc="x ← x − lr·λ·x;  then Adam's step (weight decay outside the moments)",
)
NADAM = OptimizerSpec(
    "nadam", "NAdam", "NAdam",
    (_lr(2e-3), *_betas(), _eps(1e-8), _WD, _num("momentum_decay", 4e-3, 0.0, 1.0, doc="ψ in μₜ = β₁(1 − ½·0.96^(tψ))"),
     _DECOUPLED),
    color="#17becf", default_enabled=False, state_keys=("exp_avg", "exp_avg_sq", "mu_product"),
    doc="Adam with Nesterov momentum: x ← x − lr·[(1−μₜ)/(1−Πμ)·g + μₜ₊₁/(1−Πμ·μₜ₊₁)·m] / (√v̂ + ε)",
)
RADAM = OptimizerSpec(
    "radam", "RAdam", "RAdam", (_lr(1e-3), *_betas(), _eps(1e-8), _WD, _DECOUPLED),
    color="#bcbd22", default_enabled=False, state_keys=("exp_avg", "exp_avg_sq"),
    doc="Adam whose adaptive step is switched on (rectified by r) once ρₜ > 5: x ← x − lr·m̂·r·√(1−β₂ᵗ)/(√v + ε); "
        "before that x ← x − lr·m̂",
)
ADAMAX = OptimizerSpec(
    "adamax", "Adamax", "Adamax", (_lr(2e-3), *_betas(), _eps(1e-8), _WD),
    color="#7f7f7f", default_enabled=False, state_keys=("exp_avg", "exp_inf"),
    doc="m ← β₁m + (1−β₁)g;  u ← max(β₂u, |g| + ε);  x ← x − lr/(1−β₁ᵗ) · m/u",
)
ADADELTA = OptimizerSpec(
    "adadelta", "Adadelta", "Adadelta",
    (_num("lr", 1.0, 0.0, 10.0, "learning rate", log=True, doc="scales the update (1 in the paper)"),
     _num("rho", 0.9, 0.0, 1.0, doc="decay of both averages"), _eps(1e-6), _WD),
    color="#e6ab02", default_enabled=False, state_keys=("square_avg", "acc_delta"),
    doc="v ← ρv + (1−ρ)g²;  Δ ← √(u + ε)/√(v + ε)·g;  u ← ρu + (1−ρ)Δ²;  x ← x − lr·Δ",
)
ASGD = OptimizerSpec(
    "asgd", "ASGD", "ASGD",
    (_lr(1e-2), _num("lambd", 1e-4, 0.0, 1.0, doc="decay term"),
     _num("alpha", 0.75, 0.0, 10.0, doc="power of η's decay"),
     _num("t0", 1e6, 0.0, 1e9, doc="step from which the average starts"), _WD),
    color="#1b9e77", default_enabled=False, state_keys=("ax", "eta", "mu"),
    doc="x ← x·(1 − λη) − η·g;  η ← lr/(1 + λ·lr·t)^α;  ax averages x from step t0 (the path is x; ax is not drawn)",
)
RPROP = OptimizerSpec(
    "rprop", "Rprop", "Rprop",
    (_lr(1e-2), _num("etaminus", 0.5, 0.0, 1.0, "etaminus value", low_open=True, high_open=True,
                     doc="step factor when the gradient's sign flips"),
     _num("etaplus", 1.2, 1.0, 10.0, "etaplus value", low_open=True, doc="step factor when the sign stays"),
     _num("step_size_min", 1e-6, 0.0, 10.0, "minimal step size", log=True),
     _num("step_size_max", 50.0, 0.0, 1000.0, "maximal step size")),
    color="#aec7e8", default_enabled=False, state_keys=("prev", "step_size"),
    doc="per coordinate: s ← s·η₊ (same sign) or s·η₋ (sign flip, and no move); x ← x − s·sign(g). "
        "lr is only the initial s (a schedule has no effect)",
)
MUON = OptimizerSpec(
    "muon", "Muon", "Muon",
    (_lr(1e-3), _num("weight_decay", 0.1, 0.0, 10.0, doc="decoupled: x ← x − lr·λ·x"),
     _num("momentum", 0.95, 0.0, 1.0, high_open=True, doc="velocity decay"), _flag("nesterov", True),
     _num("eps", 1e-7, 0.0, 1.0, "epsilon value", log=True, low_open=True, doc="floor of the norm"),
     Spec("ns_steps", "int", 5, 0, 99, label="ns_steps value", doc="Newton–Schulz iterations")),
    color="#ff9896", default_enabled=False, state_keys=("momentum_buffer",),
    doc="b ← lerp(b, g, 1−μ);  u ← lerp(g, b, μ) (nesterov);  x ← x(1 − lr·λ) − lr·NS(u). On a 2D point the "
        "parameter is a 1×2 matrix and NS (Newton–Schulz orthogonalisation, in bfloat16 as torch computes it) "
        "only normalises u: every step goes along u with a length that ignores the gradient's size (0.68–0.72·lr "
        "with the default 5 iterations; 1.06–1.14·lr with an even number) — normalised momentum SGD, not the "
        "matrix method Muon is for",
)

REGISTRY: dict[str, OptimizerSpec] = {s.name: s for s in (SGD, MOMENTUM, NESTEROV, ADAGRAD, RMSPROP, ADAM, ADAMW,
                                                          NADAM, RADAM, ADAMAX, ADADELTA, ASGD, RPROP, MUON)}
DEFAULT_OPTIMIZERS: tuple[str, ...] = tuple(n for n, s in REGISTRY.items() if s.default_enabled)
# Run settings of a choice that are not torch.optim's (the same specs for the CLI, sessions and panels).
NOISE = Spec("noise", "float", 0.0, 0.0, 100.0, label="gradient noise", title="Noise σ",
             doc="σ of Gaussian noise added to the gradient at every step (0: off)")
SEED = Spec("seed", "int", 0, 0, 2**31 - 1, label="noise seed", title="Seed", doc="seeds the gradient noise")
RUN_SETTINGS = (NOISE, SEED)


def get_optimizer(name: str) -> OptimizerSpec:
    """The registry entry called ``name`` (case-insensitive), or HyperparameterError listing the names."""
    try:
        return REGISTRY[name.strip().lower()]
    except KeyError:
        raise HyperparameterError(f"Unknown optimizer {quote(name)} (allowed: {', '.join(REGISTRY)})") from None


@dataclass(frozen=True)
class OptimizerChoice:
    """An optimizer with its hyperparameters as the user set them (validated), plus a display label."""

    name: str
    values: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    noise: float = 0.0  # σ of the Gaussian noise added to every gradient (NOISE)
    seed: int = 0  # the noise's seed (SEED)
    schedule: ScheduleChoice = CONSTANT  # the learning rate over the steps

    def __post_init__(self) -> None:
        spec = get_optimizer(self.name)
        object.__setattr__(self, "name", spec.name)
        object.__setattr__(self, "values", spec.resolve(self.values))
        if not self.label:
            object.__setattr__(self, "label", spec.name)
        object.__setattr__(self, "noise", NOISE.validate(self.noise))
        object.__setattr__(self, "seed", SEED.validate(self.seed))
        if not isinstance(self.schedule, ScheduleChoice):
            object.__setattr__(self, "schedule", schedule_from_dict(self.schedule))

    @property
    def plain(self) -> bool:
        """No noise and a constant learning rate: torch.optim alone."""
        return self.noise == 0 and self.schedule.is_constant

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
    run = {s.name: s.parse(values.pop(s.name)) for s in RUN_SETTINGS if s.name in values}
    return OptimizerChoice(spec.name, spec.resolve(values, text=True), label, **run)


def unique_choices(choices: Iterable[OptimizerChoice]) -> list[OptimizerChoice]:
    """The choices relabelled so that no two share a label (``adam``, ``adam#2``); the one labelling scheme."""
    items = list(choices)
    labels = unique_labels([c.label for c in items])
    return [c if c.label == lab else dataclasses.replace(c, label=lab) for c, lab in zip(items, labels)]


MAX_LABEL = 60  # characters of a display label


def choice_to_dict(choice: OptimizerChoice) -> dict[str, Any]:
    """The one way an optimizer choice is written (session files, both tabs): changed values only; noise, seed and
    schedule only where they are set."""
    out: dict[str, Any] = {"name": choice.name, "label": choice.label, "values": choice.changed()}
    if choice.noise:
        out["noise"] = choice.noise
    if choice.seed:
        out["seed"] = choice.seed
    if choice.schedule != CONSTANT:
        out["schedule"] = choice.schedule.to_dict()
    return out


def choice_from_dict(item: Any) -> OptimizerChoice:
    """An optimizer choice from ``{"name", "label", "values"}`` (``values``: any subset); ParamError if bad."""
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise ParamError('expected an object like {"name": "adam", "label": "Adam", "values": {"lr": 0.01}}')
    keys = ("name", "label", "values", "noise", "seed", "schedule")
    unknown = [k for k in item if k not in keys]
    if unknown:
        raise ParamError(f"unknown key {quote(unknown[0])} (allowed: {', '.join(keys)})")
    values, label = item.get("values", {}), item.get("label", "")
    if not isinstance(values, Mapping):
        raise ParamError(f"values must be an object of hyperparameters, got {quote(values)}")
    if not isinstance(label, str) or len(label) > MAX_LABEL:
        raise ParamError(f"Invalid label: {quote(label)} (allowed: a text of at most {MAX_LABEL} characters)")
    return OptimizerChoice(item["name"], values, label.strip(), item.get("noise", 0.0), item.get("seed", 0),
                           item.get("schedule", CONSTANT))
