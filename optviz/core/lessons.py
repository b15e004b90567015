"""Lessons: named sessions of either tab, each with its explanation, what to look for, things to try next, and a
claim that is measured headlessly.

A :class:`Lesson` is plain data plus a ``claim`` function. The claim runs the lesson's computation without Qt
(``simulate`` for the playground, the trainer for the training lab) and returns a :class:`Claim`: the measured
numbers and each checked statement with whether it held. ``optviz lessons --check`` prints them and the test suite
asserts them, so every sentence of a lesson's text that states a number or an outcome is backed by a check.

The registry (:func:`lessons`) holds the playground lessons of :mod:`optviz.core.playground_lessons` and the
training lessons of :mod:`optviz.training.lessons` (imported when first asked for, so that listing the playground
lessons need not load the trainer). "Try next" items are :class:`Edit`\\ s: data that changes a session, applied by
one click in the lesson panel.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from optviz.core.optimizers import REGISTRY, OptimizerChoice
from optviz.core.params import ParamError, Spec
from optviz.core.session import OptimizerEntry, Session

TABS = ("playground", "training")
RUN_SETTINGS = ("noise", "seed", "schedule")  # an Edit's optimizer keys that are not hyperparameters


@dataclass(frozen=True)
class Claim:
    """What a lesson's claim measured: ``numbers`` as (label, text) and ``checks`` as (statement, held)."""

    numbers: tuple[tuple[str, str], ...]
    checks: tuple[tuple[str, bool], ...]
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(ok for _, ok in self.checks)

    def failed(self) -> list[str]:
        return [statement for statement, ok in self.checks if not ok]


class Measured:
    """Collects a claim's numbers and checks: ``m.number("SGD steps", 390)``, ``m.check("SGD crawls", ok)``."""

    def __init__(self) -> None:
        self._numbers: list[tuple[str, str]] = []
        self._checks: list[tuple[str, bool]] = []
        self._t0 = time.perf_counter()

    def number(self, label: str, value: Any, fmt: str = "{:.3g}") -> Any:
        text = fmt.format(value) if isinstance(value, float) else str(value)
        self._numbers.append((label, text))
        return value

    def check(self, statement: str, ok: Any) -> bool:
        self._checks.append((statement, bool(ok)))
        return bool(ok)

    def claim(self) -> Claim:
        return Claim(tuple(self._numbers), tuple(self._checks), time.perf_counter() - self._t0)


@dataclass(frozen=True)
class Edit:
    """A change to a session, the data behind a "try next" button.

    ``optimizers``: hyperparameters (and ``noise``, ``seed``, ``schedule``) to set, by label or registry name (the
    entry is enabled); ``enable``/``disable``: names
    to switch on or off; ``surface``/``surface_params``/``steps``/``starts``/``penalty``: the playground's;
    ``training``: fields
    of the training configuration (``TrainConfig`` names, validated when applied).
    """

    label: str  # the button's text: what to do
    expect: str  # what the user should then see
    optimizers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    surface: str | None = None
    surface_params: Mapping[str, float] = field(default_factory=dict)
    steps: int | None = None
    starts: tuple[tuple[float, float], ...] | None = None
    training: Mapping[str, Any] = field(default_factory=dict)
    penalty: tuple[str, float] | None = None  # (kind, strength) of the playground's L1/L2 penalty

    def apply(self, session: Session) -> Session:
        """``session`` with this edit made; ParamError if a value is not allowed."""
        entries = list(_complete(session.optimizers))
        for i, e in enumerate(entries):
            name, label = e.choice.name, e.choice.label
            values = self.optimizers.get(label, self.optimizers.get(name))
            if values is not None:
                run = {k: v for k, v in values.items() if k in RUN_SETTINGS}
                hypers = {k: v for k, v in values.items() if k not in RUN_SETTINGS}
                e = OptimizerEntry(dataclasses.replace(e.choice, values={**e.choice.values, **hypers}, **run), True)
            if name in self.enable or label in self.enable:
                e = dataclasses.replace(e, enabled=True)
            if name in self.disable or label in self.disable:
                e = dataclasses.replace(e, enabled=False)
            entries[i] = e
        changes: dict[str, Any] = {"optimizers": tuple(entries)}
        if self.surface is not None:
            changes["surface"] = self.surface
            changes["surface_params"] = dict(self.surface_params)
        elif self.surface_params:
            changes["surface_params"] = {**session.surface_params, **self.surface_params}
        if self.steps is not None:
            changes["steps"] = self.steps
        if self.penalty is not None:
            from optviz.core.regularize import Penalty

            changes["penalty"] = Penalty(*self.penalty)
        if self.starts is not None:
            changes["starts"] = self.starts
        if self.training:
            from optviz.training.config import TrainConfig

            base = session.training.to_dict() if session.training is not None else {}
            changes["training"] = TrainConfig.from_dict({**base, **self.training})
        out = session.with_(**changes)
        out.make_surface()  # refuses bad surface parameters now, not when the paths are computed
        return out


@dataclass(frozen=True)
class Lesson:
    """A named session with its explanation and a claim that is measured (see the module docstring)."""

    name: str
    number: int  # the lesson's place in the list
    title: str
    tab: str  # "playground" or "training": the tab the lesson shows
    session: Session  # for a training lesson, ``session.training`` is what it loads
    explanation: str
    look_for: tuple[str, ...]
    try_next: tuple[Edit, ...]
    claim: Callable[[], Claim]
    seeds: tuple[int, ...] = ()  # the seeds the claim holds for, where randomness is involved

    def __post_init__(self) -> None:
        if self.tab not in TABS:
            raise ValueError(f"Lesson {self.name}: unknown tab {self.tab!r}")
        if self.tab == "training" and self.session.training is None:
            raise ValueError(f"Lesson {self.name}: a training lesson needs session.training")


def _complete(entries: tuple[OptimizerEntry, ...]) -> tuple[OptimizerEntry, ...]:
    named = {e.choice.name for e in entries}
    return tuple(entries) + tuple(OptimizerEntry(OptimizerChoice(n), False) for n in REGISTRY if n not in named)



def playground_settings(session: Session) -> tuple:
    """What the playground shows, comparable between sessions: surface, parameters, enabled optimizers, starts,
    steps (disabled optimizers and the device do not change the lesson)."""
    surface = session.make_surface()
    enabled = tuple((c.name, tuple(sorted(c.values.items())), c.noise, c.seed, c.schedule)
                    for c in session.enabled_choices())
    starts = tuple((round(x, 9), round(y, 9)) for x, y in session.starts)
    return surface.name, tuple(sorted(surface.values.items())), enabled, starts, session.steps, session.penalty


def training_settings(session: Session) -> tuple:
    """The training configuration as comparable data (the device excluded: it does not change the lesson)."""
    if session.training is None:
        return ()
    d = session.training.to_dict()
    d.pop("device", None)
    return tuple(sorted((k, repr(v)) for k, v in d.items()))


def matches(lesson_session: Session, current: Session, tab: str) -> bool:
    """Whether ``current`` still shows what ``lesson_session`` sets up on ``tab``."""
    if tab == "training":
        return training_settings(lesson_session) == training_settings(current)
    return playground_settings(lesson_session) == playground_settings(current)


@functools.cache
def lessons() -> dict[str, Lesson]:
    """Every lesson by name, in their order: the playground's, then the training lab's."""
    from optviz.core.playground_lessons import PLAYGROUND_LESSONS
    from optviz.training.lessons import TRAINING_LESSONS

    found = {**PLAYGROUND_LESSONS, **TRAINING_LESSONS}
    return dict(sorted(found.items(), key=lambda item: item[1].number))


def lesson_spec() -> Spec:
    """The spec of a lesson name (``optviz --lesson NAME``, ``optviz lessons --check NAME``)."""
    return Spec("lesson", "choice", next(iter(lessons())), choices=tuple(lessons()), label="lesson")


def get_lesson(name: str) -> Lesson:
    """The lesson called ``name``, or ParamError listing the names."""
    try:
        return lessons()[lesson_spec().validate(name)]
    except ParamError:
        raise lesson_spec().error(name) from None
