"""One training job: the trainer (or k-fold cross-validation) running in a Python thread, its events in a queue.

The worker thread only puts the trainer's frozen events into a ``queue.SimpleQueue`` (an O(1), lock-free put that
costs the training nothing measurable); whoever shows them drains the queue at its own pace (the training tab: a
timer on the GUI thread), so drawing never lands on the training loop. The last item of every job is
:class:`JobEnded`, which carries what the runner returned (a frozen ``TrainResult`` for a plain training).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

from optviz.training.config import TrainConfig
from optviz.training.events import Event
from optviz.training.trainer import Control, Trainer, out_of_memory, use_training_threads


Runner = Callable[[Callable[[Event], None], Control], object]  # runner(on_event, control), blocks until done


@dataclass(frozen=True)
class JobEnded:
    """The worker thread is about to end; ``error`` is one line when the runner raised, else ``result`` is what
    it returned (a ``TrainResult``, a ``CrossValResult``, or whatever a test's runner gives back)."""

    error: str = ""
    result: object = None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def default_runner(config: TrainConfig) -> Runner:
    """The runner for ``config``: the trainer, or cross-validation when ``kfold``.

    Raises ConfigError (one line) when the config cannot run: call it before starting a thread.
    """
    trainer = Trainer(config)  # validates the config now
    if config.kfold:
        from optviz.training.crossval import cross_validate

        def run_folds(on_event: Callable[[Event], None], control: Control) -> object:
            return cross_validate(config, on_event, control)

        return run_folds
    return trainer.run


class TrainingJob:
    """A thread running ``runner`` with a :class:`Control`; ``drain()`` hands its events to another thread.

    Without ``runner``, :func:`default_runner` (ConfigError when the config cannot run, before any thread).
    """

    def __init__(self, job_id: int, config: TrainConfig, runner: Runner | None = None) -> None:
        self.id = job_id
        self.config = config
        self.control = Control()
        self.error = ""
        self.ended = False  # JobEnded has been drained
        self._runner: Runner | None = runner if runner is not None else default_runner(config)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=f"optviz-training-{job_id}", daemon=True)
        self._active = 0.0  # seconds spent running, pauses excluded
        self._since: float | None = None

    def start(self) -> None:
        self._since = time.perf_counter()
        self._thread.start()

    def _main(self) -> None:
        error, result = "", None
        try:
            use_training_threads(self.config)  # in this thread, before its first op
            result = self._runner(self._queue.put, self.control)
        except Exception as exc:  # noqa: BLE001 — a failure is reported to whoever drains the queue, never raised
            error = out_of_memory(exc, self.config) or _one_line(exc)
        finally:
            self._runner = None  # the trainer, its data and live models go as soon as the result is out
            self._queue.put(JobEnded(error, None if error else result))

    def drain(self, limit: int = 100_000) -> list[Event | JobEnded]:
        """The events queued since the last call (at most ``limit``), oldest first."""
        out = []
        try:
            while len(out) < limit:
                out.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        return out

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def paused(self) -> bool:
        return self.control.paused

    def pause(self) -> None:
        self.stop_clock()
        self.control.pause()

    def stop_clock(self) -> None:
        """Stop counting active time (paused, or ended)."""
        if self._since is not None:
            self._active += time.perf_counter() - self._since
            self._since = None

    def resume(self) -> None:
        if self._since is None:
            self._since = time.perf_counter()
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()  # also ends a pause: Control.wait returns as soon as it is stopped

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has ended."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def active_seconds(self) -> float:
        """Time spent running so far, pauses excluded (for the time-left estimate)."""
        return self._active + (time.perf_counter() - self._since if self._since is not None else 0.0)
