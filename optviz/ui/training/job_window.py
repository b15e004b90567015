"""What a window that runs one :class:`optviz.training.jobs.TrainingJob` at a time shares (landscape, lr sweep)."""

from __future__ import annotations

import itertools

from optviz.training.jobs import TrainingJob

_JOB_IDS = itertools.count(1)


class JobWindow:
    """Mixin for a QWidget holding ``job`` (a TrainingJob or None), a ``_timer`` that polls it, a ``progress`` bar,
    ``_update_buttons()`` and ``_drain()``, which reads the job's events: start, busy, cancel, and a shutdown that
    waits for the thread (also on close)."""

    def _start_job(self, config, runner, text: str) -> None:
        """Run ``runner(on_event, control)`` as this window's job, its progress bar at 0 saying ``text``."""
        self.job = TrainingJob(next(_JOB_IDS), config, runner=runner)
        self.progress.setValue(0)
        self.progress.setFormat(text)
        self.job.start()
        self._timer.start()
        self._update_buttons()

    def busy(self) -> bool:
        return self.job is not None and not self.job.ended

    def cancel(self) -> None:
        if self.job is not None:
            self.job.stop()

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Cancel and wait for the thread (the window is closing)."""
        if self.job is not None:
            self.job.stop()
            self.job.join(timeout_s)
            self._drain()
        self._timer.stop()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def _on_timer_timeout(self) -> None:
        self._drain()
