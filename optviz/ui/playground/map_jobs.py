"""Map computations off the GUI thread: debounced requests, progress, cancel, stale results dropped.

A map (a basin map over thousands of starts, a stability sweep) runs as a :class:`LatestRunner` job. The job gets
a :class:`Ticket`; its ``progress(done, total)`` reports to the GUI and raises :class:`Cancelled` once the ticket
is cancelled — by the Cancel button, or by a newer request that makes the running map stale — so a stale map
stops at its next progress report instead of running to the end for nothing. A request during a drag
(``interim``) leaves the running job alone: while the pointer moves, a slightly old map beats none.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QProgressBar, QPushButton, QSizePolicy

from optviz.ui.workers import LatestRunner


class Cancelled(Exception):
    """Raised in a job by its ticket's ``progress`` once the ticket was cancelled."""

    def __init__(self) -> None:
        super().__init__("cancelled")


class _Relay(QObject):
    """Lives in the GUI thread; a job's progress emitted from its thread is queued into the GUI thread."""

    progressed = Signal(object, int, int)  # ticket, done, total


class Ticket:
    """One request's cancel flag and progress line, handed to the job function."""

    def __init__(self, relay: _Relay) -> None:
        self._cancelled = threading.Event()
        self._relay = relay

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def progress(self, done: int, total: int) -> None:
        """Report ``done`` of ``total``; raises Cancelled if the ticket was cancelled (called in the job thread)."""
        if self._cancelled.is_set():
            raise Cancelled
        self._relay.progressed.emit(self, int(done), int(total))


_CANCELLED = object()  # a job's result when its ticket stopped it


class MapRunner(QObject):
    """Runs ``fn(ticket, *args)`` for the latest request, after ``debounce_ms`` of quiet."""

    progressed = Signal(int, int)  # the latest request's job: done, total
    finished = Signal(object)  # its result
    failed = Signal(str)  # it raised: one line
    cancelled = Signal()  # it was cancelled and no newer request came
    idle = Signal()  # nothing running or waiting

    def __init__(self, fn: Callable[..., Any], debounce_ms: int = 250, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self._relay = _Relay(self)
        self._relay.progressed.connect(self._on_relay_progressed)
        self._ticket: Ticket | None = None
        self._waiting: tuple | None = None  # (ticket, args, interim) until the debounce timer fires
        self._runner = LatestRunner(self._job, delay_ms=15, parent=self)
        self._runner.finished.connect(self._on_runner_finished)
        self._runner.failed.connect(self.failed)
        self._runner.idle.connect(self._on_runner_idle)
        self._debounce = QTimer(self, singleShot=True, interval=debounce_ms)
        self._debounce.timeout.connect(self._on_debounce_timeout)

    def is_busy(self) -> bool:
        return self._debounce.isActive() or self._runner.is_busy()

    def request(self, *args: Any, debounce: bool = True, interim: bool = False) -> None:
        """Ask for a map; a non-interim request cancels the running job (its map is stale now)."""
        if self._ticket is not None and not interim:
            self._ticket.cancel()
        self._ticket = Ticket(self._relay)
        if debounce:
            self._waiting = (self._ticket, args, interim)
            self._debounce.start()  # restarted by every request: one job after the burst
        else:
            self._debounce.stop()
            self._waiting = None
            self._runner.request(self._ticket, *args, interim=interim)

    def cancel(self) -> None:
        """Stop the running job and drop the waiting request; ``cancelled`` follows."""
        was_waiting = self._waiting is not None
        self._debounce.stop()
        self._waiting = None
        if self._ticket is not None:
            self._ticket.cancel()
        if not self._runner.is_busy() and was_waiting:
            self.cancelled.emit()

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Refuse new work, cancel the running job and join it."""
        self._debounce.stop()
        self._waiting = None
        if self._ticket is not None:
            self._ticket.cancel()
        return self._runner.shutdown(timeout_s)

    def _on_debounce_timeout(self) -> None:
        if self._waiting is not None:
            ticket, args, interim = self._waiting
            self._waiting = None
            self._runner.request(ticket, *args, immediate=True, interim=interim)

    def _job(self, ticket: Ticket, *args: Any) -> Any:  # in the job thread
        if ticket.cancelled:
            return _CANCELLED
        try:
            return self._fn(ticket, *args)
        except Cancelled:
            return _CANCELLED

    def _on_runner_finished(self, result: Any) -> None:
        if result is _CANCELLED:
            self.cancelled.emit()
        else:
            self.finished.emit(result)

    def _on_relay_progressed(self, ticket: Ticket, done: int, total: int) -> None:
        if ticket is self._ticket:
            self.progressed.emit(done, total)

    def _on_runner_idle(self) -> None:
        if not self.is_busy():
            self.idle.emit()


class MapControls:
    """The Compute/Cancel button, progress bar and state line that a map view (basins, stability) shares.

    The view sets ``runner`` (a :class:`MapRunner`), ``state_label`` and ``message``, defines ``refresh``,
    ``_show``, ``is_current`` and ``_state_text(busy)``, calls :meth:`_build_controls` (``progress``,
    ``action_button``) and :meth:`_connect_runner`."""

    CANCELLED_TEXT = "Cancelled: press Compute for the map of the current settings."

    def _build_controls(self) -> None:
        """The progress bar and the Compute/Cancel button (the view lays them out)."""
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(14)
        self.progress.setMinimumWidth(40)
        self.action_button = QPushButton("Cancel")
        self.action_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.action_button.clicked.connect(self._on_action_button_clicked)

    def _connect_runner(self) -> None:
        self.runner.progressed.connect(self._on_runner_progressed)
        self.runner.finished.connect(self._on_runner_finished)
        self.runner.failed.connect(self._on_runner_failed)
        self.runner.cancelled.connect(self._on_runner_cancelled)
        self.runner.idle.connect(self._update_state)

    def _can_compute(self) -> bool:
        return not self.is_current()

    def _on_action_button_clicked(self) -> None:
        if self.runner.is_busy():
            self.runner.cancel()
        else:
            self.refresh(debounce=False)

    def _on_runner_progressed(self, done: int, total: int) -> None:
        self.progress.setValue(int(1000 * done / max(1, total)))

    def _on_runner_finished(self, result: Any) -> None:
        self.message = ""
        self._show(result)

    def _on_runner_failed(self, message: str) -> None:
        self.message = message
        self._update_state()

    def _on_runner_cancelled(self) -> None:
        self.message = self.CANCELLED_TEXT
        self._update_state()

    def _update_state(self) -> None:
        busy = self.runner.is_busy()
        self.progress.setVisible(busy)
        if not busy:
            self.progress.setValue(0)
        self.action_button.setText("Cancel" if busy else "Compute")
        self.action_button.setEnabled(busy or self._can_compute())
        text = self._state_text(busy)
        self.state_label.setText(text)
        self.state_label.setVisible(bool(text))
