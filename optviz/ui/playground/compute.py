"""Keeps the model's paths and surface picture up to date, computing off the GUI thread.

While a start point is dragged, paths are computed for a prefix of the steps that takes about PREVIEW_SECONDS,
so the paths follow the pointer; the full run follows on release. Stale results are dropped by the runners.
Paths come clipped to the view box, ready to draw (clipping 64 paths of 5,000 steps takes a while too).
The surface picture comes first and its critical points (up to a few seconds for a new parameter value) follow
in a runner of their own, so the heatmap never waits for them; nothing asks for them on the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from optviz.core import memory
from optviz.core.clip import ClippedPath, clip_paths
from optviz.core.field import Field, sample, with_points
from optviz.core.session import Session
from optviz.core.simulate import simulate
from optviz.core.surfaces import Point
from optviz.ui.playground.model import PlaygroundModel, Result
from optviz.ui.workers import LatestRunner

PREVIEW_SECONDS = 0.1  # a drag preview should take about this long: ~10 updates a second
MIN_PREVIEW_STEPS = 30
TRIM_DELAY_MS = 500  # after a surface change has settled (no job running or waiting this long): malloc_trim

Points = tuple[tuple, tuple[Point, ...], tuple[Point, ...]]  # (field key, minima, saddles)


@dataclass(frozen=True)
class DrawnResult(Result):
    """A Result with its paths already clipped to the view box (per row, per start), as the surface view draws them."""

    clipped: tuple[tuple[ClippedPath, ...], ...] = ()


def compute_result(session: Session, steps: int, preview: bool, inspected_start: int = -1) -> Result:
    """Run the session's enabled optimizers and clip the paths to the view box (in the job thread); every
    optimizer's internals are recorded for start ``inspected_start`` (the selected one; -1: none)."""
    entries = tuple(i for i, e in enumerate(session.optimizers) if e.enabled)
    surface = session.make_surface()
    record = {"internals": (inspected_start,)} if 0 <= inspected_start < len(session.starts) else {}
    paths = simulate(surface, [session.optimizers[i].choice for i in entries], session.starts, steps,
                     device=session.device, **record)
    clipped = tuple(tuple(clip_paths(row, surface.view)) for row in paths.positions)
    return DrawnResult(paths, session, entries, preview, clipped)


def compute_field(session: Session) -> Field:
    return sample(session.make_surface())


def compute_points(session: Session) -> Points:
    surface = session.make_surface()
    return surface.field_key, tuple(surface.minima), tuple(surface.saddles)


def surface_key(session: Session) -> tuple:
    return session.make_surface().field_key  # field_key(name, params), unique for formulas and edited wells


def shown_result(model: PlaygroundModel) -> Result | None:
    """The model's result if it was computed on the current surface and parameters, else None: for a moment after
    a surface or preset change the old result is still there, and its paths must not be drawn on the new surface."""
    result = model.result
    if result is None or surface_key(result.session) != surface_key(model.session):
        return None
    return result


def shown_field(model: PlaygroundModel) -> Field | None:
    """The model's surface picture if it is the current surface's (any parameters), else None."""
    field = model.field
    return field if field is not None and field.key[0] == model.surface.identity else None


class PlaygroundComputer(QObject):
    """Listens to the model, runs simulate/sample in worker threads and hands the results back to the model."""

    idle = Signal()  # nothing running or waiting in any runner
    trimmed = Signal()  # the heap's free pages were handed back after a surface change (core.memory.trim)

    def __init__(self, model: PlaygroundModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._seconds_per_step = 1e-3  # refined from every finished run
        self._points: Points | None = None  # the latest critical points, until their field arrives
        self._paths = LatestRunner(compute_result, delay_ms=15, parent=self)
        self._field = LatestRunner(compute_field, delay_ms=30, parent=self)
        self._critical = LatestRunner(compute_points, delay_ms=30, parent=self)
        # A new surface leaves ~20 MB of freed-but-kept heap behind (see core.memory): handed back once the
        # surface has not changed for TRIM_DELAY_MS, at the first moment no job runs. "": nothing to do, "due":
        # waiting for the delay, "ready": the delay is over, trim at the next idle.
        self._trim_state = ""
        self._trim_timer = QTimer(self, singleShot=True, interval=TRIM_DELAY_MS)
        self._trim_timer.timeout.connect(self._on_trim_timer_timeout)
        self._paths.finished.connect(self._on_paths_finished)
        self._field.finished.connect(self._on_field_finished)
        self._critical.finished.connect(self._on_critical_finished)
        for runner, what in zip(self._runners(), ("compute the paths", "draw the surface", "find the minima")):
            runner.failed.connect(lambda message, what=what: self._model.compute_failed.emit(
                f"Could not {what}: {message}"))
            runner.idle.connect(self._on_runner_idle)
        model.inputs_changed.connect(self._on_model_inputs_changed)
        model.surface_changed.connect(self._on_model_surface_changed)
        model.selection_changed.connect(self._on_model_selection_changed)
        self._on_model_surface_changed()
        self._on_model_inputs_changed(False)

    def _runners(self) -> tuple[LatestRunner, ...]:
        return self._paths, self._field, self._critical

    def is_busy(self) -> bool:
        return any(runner.is_busy() for runner in self._runners())

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Stop accepting work and join the running jobs."""
        self._trim_timer.stop()
        return all([runner.shutdown(timeout_s) for runner in self._runners()])

    def _on_model_inputs_changed(self, dragging: bool) -> None:
        session = self._model.session
        steps = session.steps
        if dragging:
            steps = min(steps, max(MIN_PREVIEW_STEPS, int(PREVIEW_SECONDS / self._seconds_per_step)))
        self._paths.request(session, steps, steps < session.steps, self._model.selected, interim=dragging)

    def _on_model_selection_changed(self, index: int) -> None:
        """The internals are recorded for the selected start: another start needs them recorded (the paths
        come out the same)."""
        internals = getattr(self._model.result.paths, "internals", None) if self._model.result else None
        if index >= 0 and (internals is None or index not in internals.starts):
            self._on_model_inputs_changed(False)

    def _on_model_surface_changed(self) -> None:
        self._trim_state = "due"
        self._trim_timer.stop()  # a burst of changes (a slider, a dragged well) trims once, after the last
        self._field.request(self._model.session)
        self._critical.request(self._model.session)

    def _on_paths_finished(self, result: Result) -> None:
        paths = result.paths
        if paths.seconds > 0 and paths.steps > 0 and len(result.entries):
            self._seconds_per_step = paths.seconds / (paths.steps + 1)
        self._model.set_result(result)


    def _on_field_finished(self, field: Field) -> None:
        if self._points is not None and self._points[0] == field.key:
            field = with_points(field, *self._points[1:])
        self._model.set_field(field)

    def _on_critical_finished(self, points: Points) -> None:
        self._points = points
        field = self._model.field
        if field is not None and field.key == points[0] and field.minima is None:
            self._model.set_field(with_points(field, *points[1:]))

    def _on_runner_idle(self) -> None:
        if not self.is_busy():
            if self._trim_state == "ready":
                self._trim()
            elif self._trim_state == "due" and not self._trim_timer.isActive():
                self._trim_timer.start()
            self.idle.emit()

    def _on_trim_timer_timeout(self) -> None:
        if self._trim_state == "due":
            if self.is_busy():  # paths for a dragged start, say: trim between two of them
                self._trim_state = "ready"
            else:
                self._trim()

    def _trim(self) -> None:
        self._trim_state = ""
        memory.trim()
        self.trimmed.emit()
