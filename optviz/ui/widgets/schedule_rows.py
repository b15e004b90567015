"""The rows of the chosen learning-rate schedule's parameters, kept in a SpecForm right after its "schedule" row
(the training lab's schedule box and the playground's run settings both use it)."""

from __future__ import annotations

from typing import Any, Mapping

from optviz.core.schedules import SCHEDULES
from optviz.ui.widgets.spec_form import SpecForm


class ScheduleRows:
    def __init__(self, form: SpecForm) -> None:
        self.form = form
        self.names: tuple[str, ...] = ()  # the parameters of the schedule shown
        self.shown = ""  # the schedule whose parameters are shown

    def show(self, name: str, values: Mapping[str, Any]) -> None:
        """Rows for ``name``'s parameters (at ``values``, else their defaults) in place of the old ones."""
        self.form.remove_specs(self.names)
        params = SCHEDULES[name].params
        self.form.insert_specs(params, values, after="schedule")
        self.names = tuple(p.name for p in params)
        self.shown = name

    def follow(self, form_values: Mapping[str, Any], defaults=None) -> None:
        """After a form change: another schedule gets its own parameters, at ``defaults(name)`` (a function giving
        a schedule's starting values; None: the registry's)."""
        name = form_values["schedule"]
        if name != self.shown:
            self.show(name, defaults(name) if defaults is not None else {})

    def values(self, form_values: Mapping[str, Any]) -> dict[str, Any]:
        return {name: form_values[name] for name in self.names}
