"""The learning-rate schedule: its kind, its parameters (from ``schedules.SCHEDULES``) and a warm-up, in one form."""

from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from optviz.training.config import specs
from optviz.training.schedules import SCHEDULES
from optviz.ui.widgets.schedule_rows import ScheduleRows
from optviz.ui.widgets.spec_form import SpecForm


class ScheduleBox(QWidget):
    """Schedule combo, one editor per parameter of the chosen schedule, and the warm-up in epochs."""

    changed = Signal()  # the user changed the schedule, a parameter or the warm-up

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        fields = specs()
        titles = {"schedule": {name: s.title for name, s in SCHEDULES.items()}}
        self.form = SpecForm((fields["schedule"], fields["warmup_epochs"]), titles=titles, owner="the schedule")
        self.kind = self.form.editor("schedule")
        self.warmup_box = self.form.editor("warmup_epochs")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form)
        self._rows = ScheduleRows(self.form)
        self._rows.show(self.schedule(), {})
        self.form.changed.connect(self._on_form_changed)

    def schedule(self) -> str:
        return self.form.values()["schedule"]

    def params(self) -> dict[str, Any]:
        return self._rows.values(self.form.values())

    def warmup(self) -> float:
        return self.form.values()["warmup_epochs"]

    def set_schedule(self, name: str, params: Mapping[str, Any], warmup: float) -> None:
        """Show a schedule without emitting ``changed``; ParamError if the schedule or a value is not allowed."""
        values = SCHEDULES[name].resolve(params) if name in SCHEDULES else {}
        self.form.set_values({"schedule": name, "warmup_epochs": warmup})
        self._rows.show(name, values)

    def spin(self, name: str) -> QWidget:
        """The editor of the current schedule's parameter ``name``."""
        return self.form.editor(name)

    def _on_form_changed(self, values: dict) -> None:
        self._rows.follow(values)
        self.changed.emit()
