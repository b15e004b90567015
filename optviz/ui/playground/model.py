"""The playground's state: a Session plus the latest computed paths and the animation step, with change signals.

Views read from the model and call its setters; nothing else holds playground state. Setters validate through
the core (OptimizerChoice, Surface.with_params, MapSettings), so a value the core would reject never gets stored.
The map views' settings (``session.maps``) travel with the session but are no input of the paths.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from PySide6.QtCore import QObject, Signal

from optviz.core.field import Field
from optviz.core.optimizers import REGISTRY, OptimizerChoice
from optviz.core.presets import default_session
from optviz.core.regularize import Penalty
from optviz.core.session import MAX_STARTS, STEPS, MapSettings, OptimizerEntry, Session
from optviz.core.simulate import Paths
from optviz.core.surfaces import Surface, get_surface


@dataclass(frozen=True)
class Result:
    """Paths computed for ``session``; row i of the arrays is optimizer entry ``entries[i]``."""

    paths: Paths
    session: Session
    entries: tuple[int, ...]
    preview: bool = False  # computed for fewer steps while a start point is dragged


def complete_entries(entries: tuple[OptimizerEntry, ...]) -> tuple[OptimizerEntry, ...]:
    """The session's entries plus, disabled, every registry optimizer it does not mention (so all can be ticked).

    A session that names no optimizer at all (a training-only file, say) gets the default session's six.
    """
    if not entries:
        return default_session().optimizers
    named = {e.choice.name for e in entries}
    extra = tuple(OptimizerEntry(OptimizerChoice(n), enabled=False) for n in REGISTRY if n not in named)
    return tuple(entries) + extra


class PlaygroundModel(QObject):
    """Holds the playground Session and the latest Result; emits what changed."""

    surface_changed = Signal()  # surface name or parameters
    optimizers_reset = Signal()  # the list of entries was replaced (a session was opened)
    optimizer_changed = Signal(int)  # entry i: enabled flag or hyperparameters
    starts_changed = Signal()  # start points added, removed or moved
    selection_changed = Signal(int)  # selected start index, -1 for none
    steps_changed = Signal(int)
    device_changed = Signal(str)
    inputs_changed = Signal(bool)  # anything the paths depend on changed; True while a start is dragged
    result_changed = Signal()  # a new Result arrived (or it was cleared)
    field_changed = Signal()  # a new surface picture arrived
    step_changed = Signal(int)  # the animation's current step
    inspected_changed = Signal(int)  # the optimizer entry whose steps are looked inside (overlays, internals)
    fan_changed = Signal(int)  # how many seeds of each noisy optimizer are drawn as a fan (0: none)
    maps_changed = Signal()  # the map views' settings (``maps``): basins grid, stability axis, cells, lr range
    compute_failed = Signal(str)  # "Could not compute the paths: …" (or draw the surface, find the minima)

    def __init__(self, session: Session | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = default_session()
        self._surface: Surface | None = None
        self._selected = 0
        self._inspected = 0
        self._fan = 0
        self._step = 0  # the step shown: _wanted clamped to the result, or its last step when _at_end
        self._wanted = 0  # the step last asked for (a short drag preview must not forget it)
        self._at_end = False  # follow the last step when results change length
        self.result: Result | None = None
        self.field: Field | None = None
        self.set_session(session or default_session())

    # -- reading -------------------------------------------------------------------------------------------
    @property
    def session(self) -> Session:
        return self._session

    @property
    def surface(self) -> Surface:
        """The session's surface, kept until the surface or its parameters change."""
        s = self._session
        if self._surface is None or self._surface_source != _surface_source(s):
            self._surface, self._surface_source = s.make_surface(), _surface_source(s)
        return self._surface

    @property
    def starts(self) -> tuple[tuple[float, float], ...]:
        return self._session.starts

    @property
    def entries(self) -> tuple[OptimizerEntry, ...]:
        return self._session.optimizers

    @property
    def selected(self) -> int:
        return self._selected

    @property
    def maps(self) -> MapSettings:
        """The map views' settings (saved with the session; the paths do not depend on them)."""
        return self._session.maps

    @property
    def inspected(self) -> int:
        """The entry index of the optimizer whose steps the overlays, internals plot and rule show."""
        return self._inspected

    @property
    def step(self) -> int:
        return self._step

    @property
    def last_step(self) -> int:
        """The last step of the current result (0 without one)."""
        return self.result.paths.steps if self.result else 0

    # -- writing -------------------------------------------------------------------------------------------
    def set_session(self, session: Session) -> None:
        """Replace everything (a session was opened)."""
        self._session = session.with_(optimizers=complete_entries(session.optimizers))
        self._selected = 0 if session.starts else -1
        self.surface_changed.emit()
        self.optimizers_reset.emit()
        self.starts_changed.emit()
        self.selection_changed.emit(self._selected)
        self._inspected = next((i for i, e in enumerate(self.entries) if e.enabled), 0)
        self.inspected_changed.emit(self._inspected)
        self.steps_changed.emit(self._session.steps)
        self.device_changed.emit(self._session.device)
        self.maps_changed.emit()
        self.inputs_changed.emit(False)
        self._start_over()

    def set_surface(self, name: str) -> None:
        """Switch surface (its parameters back to their defaults); start points outside its view are re-placed."""
        surface = get_surface(name)
        s = self._session
        if surface.name == s.surface and not s.surface_params and not s.formula and s.wells is None:
            return
        self._switch_surface(surface, surface=surface.name, surface_params={}, formula="", view=None, wells=None)

    def set_formula(self, text: str, view: tuple[float, float, float, float] | None = None) -> None:
        """Switch to the surface f(x, y) = ``text`` over ``view`` (FormulaError or ParamError, and no change, if
        either is refused)."""
        from optviz.core.custom import formula_surface

        surface = formula_surface(text, view)
        (x0, x1), (y0, y1) = surface.view
        s = self._session
        if (s.surface, s.formula, s.view) == (surface.name, surface.formula, (x0, x1, y0, y1)):
            return
        self._switch_surface(surface, surface=surface.name, surface_params={}, formula=surface.formula,
                             view=(x0, x1, y0, y1), wells=None)

    def set_wells(self, wells, *, dragging: bool = False) -> None:
        """The wells surface with these (x, y, depth, width) wells (ParamError if one is refused); the paths
        follow at once (a preview while ``dragging``), the animation goes on where it is."""
        from optviz.core.custom import check_wells

        wells = check_wells(list(wells))
        if self._session.wells == wells and self._session.surface == "wells" and not self._session.formula:
            if not dragging:  # the end of a drag: the full paths, not the preview
                self.inputs_changed.emit(False)
            return
        self._session = self._session.with_(surface="wells", surface_params={}, formula="", view=None, wells=wells)
        self.surface_changed.emit()
        self.inputs_changed.emit(dragging)

    def _switch_surface(self, surface: Surface, /, **changes: Any) -> None:
        """Another surface: start points outside its view are re-placed, and it plays from step 0."""
        starts = tuple(p for p in self._session.starts if _inside(surface, p)) or (_default_start(surface),)
        self._session = self._session.with_(starts=starts, **changes)
        self._selected = min(self._selected, len(starts) - 1)
        self.surface_changed.emit()
        self.starts_changed.emit()
        self.selection_changed.emit(self._selected)
        self.inputs_changed.emit(False)
        self._start_over()

    def _start_over(self) -> None:
        """A new surface or session is shown from step 0 (after every other signal: views have hidden the old)."""
        self._wanted, self._at_end = 0, False
        if self._step != 0:
            self._step = 0
            self.step_changed.emit(0)

    def set_surface_param(self, name: str, value: float) -> None:
        params = {**self._session.surface_params, name: float(value)}
        get_surface(self._session.surface, **params)  # SurfaceError if not allowed
        self._session = self._session.with_(surface_params=params)
        self.surface_changed.emit()
        self.inputs_changed.emit(False)

    def set_penalty(self, penalty: Penalty) -> None:
        """Regularise the surface with ``penalty`` (kind "none" or α = 0: the surface itself); the paths and the
        picture follow, the animation stays at its step."""
        if penalty == self._session.penalty:
            return
        self._session = self._session.with_(penalty=penalty)
        self.surface_changed.emit()
        self.inputs_changed.emit(False)

    def set_enabled(self, index: int, enabled: bool) -> None:
        self._replace_entry(index, OptimizerEntry(self.entries[index].choice, bool(enabled)))

    def set_hyper(self, index: int, values: Mapping[str, Any]) -> None:
        """New hyperparameters for entry ``index`` (HyperparameterError if the registry refuses them)."""
        entry = self.entries[index]
        choice = dataclasses.replace(entry.choice, values=dict(values))  # noise, seed and schedule stay
        self._replace_entry(index, OptimizerEntry(choice, entry.enabled))

    def set_run_settings(self, index: int, **changes: Any) -> None:
        """New noise, seed or schedule for entry ``index`` (ParamError, and no change, if one is refused)."""
        entry = self.entries[index]
        self._replace_entry(index, OptimizerEntry(dataclasses.replace(entry.choice, **changes), entry.enabled))

    def _replace_entry(self, index: int, entry: OptimizerEntry) -> None:
        if entry == self.entries[index]:
            return
        entries = list(self.entries)
        entries[index] = entry
        self._session = self._session.with_(optimizers=tuple(entries))
        self.optimizer_changed.emit(index)
        self.inputs_changed.emit(False)

    def add_start(self, x: float, y: float) -> int:
        """Add a start point and select it; returns its index (-1 when MAX_STARTS are already there)."""
        if len(self.starts) >= MAX_STARTS:
            return -1
        self._session = self._session.with_(starts=self.starts + ((float(x), float(y)),))
        self.starts_changed.emit()
        self.select_start(len(self.starts) - 1)
        self.inputs_changed.emit(False)
        return len(self.starts) - 1

    def remove_start(self, index: int) -> None:
        if not 0 <= index < len(self.starts):
            return
        starts = self.starts[:index] + self.starts[index + 1:]
        self._session = self._session.with_(starts=starts)
        self.starts_changed.emit()
        self.select_start(min(index, len(starts) - 1))
        self.inputs_changed.emit(False)

    def move_start(self, index: int, x: float, y: float, *, dragging: bool = False) -> None:
        starts = list(self.starts)
        if starts[index] == (float(x), float(y)) and dragging:
            return
        starts[index] = (float(x), float(y))
        self._session = self._session.with_(starts=tuple(starts))
        self.starts_changed.emit()
        self.inputs_changed.emit(dragging)

    def select_start(self, index: int) -> None:
        index = index if 0 <= index < len(self.starts) else -1
        if index != self._selected:
            self._selected = index
            self.selection_changed.emit(index)

    @property
    def fan(self) -> int:
        """Seeds drawn per noisy optimizer as a faint fan with their mean path (0: no fan); a view setting."""
        return self._fan

    def set_fan(self, seeds: int) -> None:
        if int(seeds) != self._fan:
            self._fan = int(seeds)
            self.fan_changed.emit(self._fan)

    def set_maps(self, **changes: Any) -> None:
        """New map view settings, e.g. ``set_maps(stability_lr=(1e-3, 1))`` (SessionError naming the field, and no
        change, if one is refused)."""
        maps = dataclasses.replace(self._session.maps, **changes)
        if maps != self._session.maps:
            self._session = self._session.with_(maps=maps)
            self.maps_changed.emit()

    def set_inspected(self, index: int) -> None:
        if 0 <= index < len(self.entries) and index != self._inspected:
            self._inspected = index
            self.inspected_changed.emit(index)

    def set_steps(self, steps: int) -> None:
        steps = STEPS.validate(steps)
        if steps != self._session.steps:
            self._session = self._session.with_(steps=steps)
            self.steps_changed.emit(steps)
            self.inputs_changed.emit(False)

    def set_device(self, device: str) -> None:
        if device != self._session.device:
            self._session = self._session.with_(device=device)
            self.device_changed.emit(device)
            self.inputs_changed.emit(False)

    def set_result(self, result: Result | None) -> None:
        """A computed result; the step stays where it was asked to be, or at the end if it was at the end."""
        self.result = result
        old, self._step = self._step, self.last_step if self._at_end else min(self._wanted, self.last_step)
        self.result_changed.emit()  # views read the new result and the step together
        if self._step != old:
            self.step_changed.emit(self._step)

    def set_field(self, field: Field) -> None:
        self.field = field
        self.field_changed.emit()

    def is_up_to_date(self) -> bool:
        """The result and the surface picture are those of the current session (not a drag preview)."""
        s = self._session
        return (self.result is not None and self.result.session.with_(maps=s.maps) == s and not self.result.preview
                and self.field is not None and self.field.key == self.surface.field_key)

    def set_step(self, step: int) -> None:
        self._wanted = max(0, int(step))
        self._at_end = self.result is not None and self._wanted >= self.last_step
        step = min(self._wanted, self.last_step)
        if step != self._step:
            self._step = step
            self.step_changed.emit(step)


def _surface_source(s: Session) -> tuple:
    """What the session's surface is made from (a new value: a new surface)."""
    return s.surface, tuple(sorted(s.surface_params.items())), s.formula, s.view, s.wells, s.penalty


def _inside(surface: Surface, point: tuple[float, float]) -> bool:
    (x0, x1), (y0, y1) = surface.view
    return x0 <= point[0] <= x1 and y0 <= point[1] <= y1


def _default_start(surface: Surface) -> tuple[float, float]:
    """A start point that shows something: towards the upper-left corner of the view, off every minimum."""
    (x0, x1), (y0, y1) = surface.view
    return (round(x0 + 0.2 * (x1 - x0), 3), round(y0 + 0.8 * (y1 - y0), 3))
