"""Named playground sessions that each show one lesson; the app opens on the first.

Every claim in a description is checked by tests/core/test_presets.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from optviz.core.optimizers import REGISTRY, OptimizerChoice
from optviz.core.session import OptimizerEntry, Session


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    lesson: str
    session: Session


def _session(surface: str, starts, steps: int, lrs: dict[str, float], *, params: dict | None = None,
             extra: dict[str, dict] | None = None, only: tuple[str, ...] | None = None) -> Session:
    entries = []
    for name in REGISTRY:
        values = {"lr": lrs[name], **(extra or {}).get(name, {})} if name in lrs else {}
        entries.append(OptimizerEntry(OptimizerChoice(name, values), enabled=only is None or name in only))
    return Session(surface, dict(params or {}), tuple(entries), tuple(starts), steps)


def default_session() -> Session:
    """The session the app opens on: the first preset, where the six optimizers visibly differ."""
    return PRESETS[DEFAULT_PRESET].session


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("himmelblau", "Six optimizers, three minima",
           "From one start on Himmelblau, SGD, Adagrad and Adam settle in the nearest minimum, Nesterov in another, "
           "and Momentum rolls across the surface to a third; RMSProp's step never shrinks enough to settle.",
           _session("himmelblau", [(1.5, -4.0)], 300,
                    {"sgd": 0.01, "momentum": 0.005, "nesterov": 0.005, "adagrad": 1.0, "rmsprop": 0.1,
                     "adam": 0.3})),
    Preset("wells", "Wells: momentum escapes a local minimum",
           "Plain SGD settles in the shallow well on its way; Momentum with the same learning rate carries "
           "through it to the deep, global well.",
           _session("wells", [(-3.2, 2.6)], 300,
                    {"sgd": 0.1, "momentum": 0.1, "nesterov": 0.1, "adagrad": 0.5, "rmsprop": 0.02, "adam": 0.05})),
    Preset("rosenbrock", "Rosenbrock's curved valley",
           "All six find the valley quickly and then crawl along it at very different speeds; SGD is still far "
           "from (1, 1) after 1,000 steps.",
           _session("rosenbrock", [(-1.5, 2.0)], 1000,
                    {"sgd": 0.001, "momentum": 0.001, "nesterov": 0.001, "adagrad": 0.5, "rmsprop": 0.01,
                     "adam": 0.05})),
    Preset("quadratic", "Ill-conditioned bowl (κ = 50): momentum vs Nesterov",
           "With lr·κ = 1.2, SGD zig-zags across the narrow direction and crawls along the long one (not converged "
           "after 400 steps); Momentum settles in about 350 steps, and Nesterov's look-ahead in about 220. "
           "Raise lr to 0.03 and Nesterov diverges while Momentum survives.",
           _session("quadratic", [(-2.5, 2.0)], 400, {"sgd": 0.024, "momentum": 0.024, "nesterov": 0.024},
                    params={"kappa": 50.0}, only=("sgd", "momentum", "nesterov"))),
    Preset("saddle", "Escaping a saddle",
           "Starting almost on the ridge of x² − y², SGD needs about 70 steps to get away (its step is "
           "proportional to the tiny gradient); Momentum and Nesterov build up speed and leave in about 25; "
           "Adagrad, RMSProp and Adam rescale the tiny gradient and leave in under 20.",
           _session("saddle", [(-1.5, 0.001)], 150,
                    {"sgd": 0.05, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.1, "rmsprop": 0.01,
                     "adam": 0.05})),
    Preset("divergence", "Too large a learning rate",
           "On Rosenbrock, SGD with lr = 0.01 leaves the surface within a few steps (diverged); Adam with the "
           "same lr stays stable because its step is bounded by lr.",
           _session("rosenbrock", [(-1.2, 1.0)], 300, {"sgd": 0.01, "adam": 0.01}, only=("sgd", "adam"))),
)}

DEFAULT_PRESET = "himmelblau"
