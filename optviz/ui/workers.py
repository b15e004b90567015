"""Run a function off the GUI thread, keeping only the latest request's result.

Requests are coalesced: a burst of requests within ``delay_ms`` starts one job, and a request made while a job
runs waits (replacing any older waiting request) until that job ends. Every request gets a generation number;
a job's result is delivered only if no newer request was made meanwhile, otherwise it is dropped — except that
the result of an *interim* request (a drag in progress) is delivered as long as only interim requests followed
it: while the pointer keeps moving every result is a little out of date, and showing none would freeze the
paths until the drag ends. The first non-interim request makes every earlier result stale.

Jobs run in a plain Python thread each (one at a time) rather than superqt's thread_worker: superqt swaps the
global ``warnings.showwarning`` from inside the worker thread, which races with the GUI thread's own warning
filters (pytest's, here); a thread that ``shutdown`` joins is also simpler to reason about.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal


class _Relay(QObject):
    """Lives in the GUI thread; emitting from the job thread queues the call into the GUI thread."""

    returned = Signal(object)
    errored = Signal(str)


class LatestRunner(QObject):
    """Runs ``fn(*args)`` in the thread pool for the latest of coalesced requests."""

    finished = Signal(object)  # the latest request's result
    failed = Signal(str)  # the latest request raised: one line
    idle = Signal()  # no job running and none waiting

    def __init__(self, fn: Callable[..., Any], delay_ms: int = 30, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self._generation = 0  # of the newest request
        self._running_generation = -1  # of the running job, -1 when none
        self._running_interim = False
        self._pending_interim = False
        self._final_generation = 0  # of the newest non-interim request
        self._pending: tuple | None = None
        self._thread: threading.Thread | None = None
        self._relay = _Relay(self)
        self._relay.returned.connect(self._on_job_returned)
        self._relay.errored.connect(self._on_job_errored)
        self._closed = False
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(self._on_timer_timeout)

    @property
    def generation(self) -> int:
        return self._generation

    def is_busy(self) -> bool:
        """A job is running or a request is waiting."""
        return self._running_generation >= 0 or self._pending is not None

    def request(self, *args: Any, immediate: bool = False, interim: bool = False) -> int:
        """Ask for ``fn(*args)``; returns the request's generation. ``immediate`` skips the coalescing delay;
        ``interim`` marks a request whose result is worth showing until a non-interim request is made."""
        if self._closed:
            return self._generation
        self._generation += 1
        if not interim:
            self._final_generation = self._generation
        self._pending = args
        self._pending_interim = interim
        if immediate:
            self._timer.stop()
            self._start_pending()
        elif not self._timer.isActive():
            self._timer.start()  # throttle, not debounce: a steady stream of requests still starts jobs
        return self._generation

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Refuse new requests, drop the waiting one and wait for the running job; False if it did not end."""
        self._closed = True
        self._timer.stop()
        self._pending = None
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True

    def _on_timer_timeout(self) -> None:
        self._start_pending()

    def _start_pending(self) -> None:
        if self._running_generation >= 0 or self._pending is None or self._closed:
            return
        args, self._pending = self._pending, None
        self._running_generation = self._generation
        self._running_interim = self._pending_interim
        self._thread = threading.Thread(target=self._job, args=(args,), name="optviz-job", daemon=True)
        self._thread.start()

    def _job(self, args: tuple) -> None:  # in the job thread
        try:
            result = self._fn(*args)
        except Exception as exc:  # noqa: BLE001 — every failure becomes a one-line message
            text = str(exc).strip()
            self._relay.errored.emit(text.splitlines()[0] if text else type(exc).__name__)
        else:
            self._relay.returned.emit(result)

    def _on_job_returned(self, result: Any) -> None:
        self._end_job(lambda: self.finished.emit(result))

    def _on_job_errored(self, message: str) -> None:
        self._end_job(lambda: self.failed.emit(message))

    def _end_job(self, deliver: Callable[[], None]) -> None:
        generation, self._running_generation = self._running_generation, -1
        current = generation == self._generation or (self._running_interim and generation > self._final_generation)
        if self._closed:
            return
        if current:
            deliver()
        if self._pending is not None:
            self._start_pending()
        else:
            self.idle.emit()
