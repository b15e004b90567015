"""What a window that runs one :class:`optviz.training.jobs.TrainingJob` at a time shares (landscape, lr sweep)."""

from __future__ import annotations


class JobWindow:
    """Mixin for a QWidget holding ``job`` (a TrainingJob or None), a ``_timer`` that polls it and ``_drain()``,
    which reads the job's events: busy, cancel, and a shutdown that waits for the thread (also on close)."""

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
