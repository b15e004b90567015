"""One playground optimizer's run settings that are not torch.optim's: gradient noise (σ and seed) and a
learning-rate schedule (the training lab's schedule registry, one "epoch" per step, warm-up in steps)."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from optviz.core.optimizers import NOISE, SEED, OptimizerChoice
from optviz.core.params import Spec
from optviz.core.schedules import SCHEDULES, WARMUP, ScheduleChoice, run_defaults
from optviz.ui.widgets.schedule_rows import ScheduleRows
from optviz.ui.widgets.spec_form import SpecForm

SCHEDULE = Spec("schedule", "choice", "none", choices=tuple(SCHEDULES), title="Schedule", label="schedule",
                doc="the learning rate over the steps (torch.optim.lr_scheduler; one step = one epoch)")
TITLES = {"schedule": {name: spec.title for name, spec in SCHEDULES.items()}}


class RunSettingsForm(QWidget):
    """Noise σ, seed, schedule with its parameters, warm-up; ``changed`` carries OptimizerChoice keywords."""

    changed = Signal(dict)  # {"noise": float, "seed": int, "schedule": ScheduleChoice}

    def __init__(self, choice: OptimizerChoice, steps: Callable[[], int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._steps = steps  # the run's length: a newly chosen schedule's values spread its decay over it
        self.form = SpecForm((NOISE, SEED, SCHEDULE, WARMUP), titles=TITLES, owner="the run")
        self._rows = ScheduleRows(self.form)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form)
        self.set_choice(choice)
        self.form.changed.connect(self._on_form_changed)

    def editor(self, name: str) -> QWidget:
        return self.form.editor(name)

    def set_choice(self, choice: OptimizerChoice) -> None:
        """Show ``choice``'s noise, seed and schedule without emitting ``changed``."""
        schedule = choice.schedule
        if schedule.name != self._rows.shown:
            self._rows.show(schedule.name, schedule.values)
        self.form.set_values({"noise": choice.noise, "seed": choice.seed, "schedule": schedule.name,
                              "warmup": schedule.warmup, **schedule.values})

    def settings(self) -> dict[str, Any]:
        values = self.form.values()
        schedule = ScheduleChoice(values["schedule"], self._rows.values(values), values["warmup"])
        return {"noise": values["noise"], "seed": values["seed"], "schedule": schedule}

    def _on_form_changed(self, values: dict) -> None:
        self._rows.follow(values, lambda name: run_defaults(name, self._steps()))
        self.changed.emit(self.settings())
