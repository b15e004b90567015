"""Keeps the model's paths and surface picture up to date, computing off the GUI thread.

While a start point is dragged, paths are computed for a prefix of the steps that takes about PREVIEW_SECONDS,
so the paths follow the pointer; the full run follows on release. Stale results are dropped by the runners.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from optviz.core.session import Session
from optviz.core.simulate import simulate
from optviz.ui.playground.field import Field, sample
from optviz.ui.playground.model import PlaygroundModel, Result
from optviz.ui.workers import LatestRunner

PREVIEW_SECONDS = 0.1  # a drag preview should take about this long: ~10 updates a second
MIN_PREVIEW_STEPS = 30


def compute_result(session: Session, steps: int, preview: bool) -> Result:
    """Run the session's enabled optimizers (in the job thread)."""
    entries = tuple(i for i, e in enumerate(session.optimizers) if e.enabled)
    paths = simulate(session.make_surface(), [session.optimizers[i].choice for i in entries], session.starts,
                     steps, device=session.device)
    return Result(paths, session, entries, preview)


def compute_field(session: Session) -> Field:
    return sample(session.make_surface())


class PlaygroundComputer(QObject):
    """Listens to the model, runs simulate/sample in worker threads and hands the results back to the model."""

    idle = Signal()  # nothing running or waiting in either runner

    def __init__(self, model: PlaygroundModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._seconds_per_step = 1e-3  # refined from every finished run
        self._paths = LatestRunner(compute_result, delay_ms=15, parent=self)
        self._field = LatestRunner(compute_field, delay_ms=30, parent=self)
        self._paths.finished.connect(self._on_paths_finished)
        self._paths.failed.connect(self._on_paths_failed)
        self._field.finished.connect(self._on_field_finished)
        self._field.failed.connect(self._on_paths_failed)
        self._paths.idle.connect(self._on_runner_idle)
        self._field.idle.connect(self._on_runner_idle)
        model.inputs_changed.connect(self._on_model_inputs_changed)
        model.surface_changed.connect(self._on_model_surface_changed)
        self._on_model_surface_changed()
        self._on_model_inputs_changed(False)

    def is_busy(self) -> bool:
        return self._paths.is_busy() or self._field.is_busy()

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Stop accepting work and join the running jobs."""
        ok_paths = self._paths.shutdown(timeout_s)
        return self._field.shutdown(timeout_s) and ok_paths

    def _on_model_inputs_changed(self, dragging: bool) -> None:
        session = self._model.session
        steps = session.steps
        if dragging:
            steps = min(steps, max(MIN_PREVIEW_STEPS, int(PREVIEW_SECONDS / self._seconds_per_step)))
        self._paths.request(session, steps, steps < session.steps, interim=dragging)

    def _on_model_surface_changed(self) -> None:
        self._field.request(self._model.session)

    def _on_paths_finished(self, result: Result) -> None:
        paths = result.paths
        if paths.seconds > 0 and paths.steps > 0 and len(result.entries):
            self._seconds_per_step = paths.seconds / (paths.steps + 1)
        self._model.set_result(result)

    def _on_paths_failed(self, message: str) -> None:
        self._model.compute_failed.emit(message)

    def _on_field_finished(self, field: Field) -> None:
        self._model.set_field(field)

    def _on_runner_idle(self) -> None:
        if not self.is_busy():
            self.idle.emit()
