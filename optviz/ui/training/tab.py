"""The training tab (placeholder: the real one is being built against this interface)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class TrainingTab(QWidget):
    """Interface the main window relies on."""

    runs_finished = Signal()  # every run started by start() has ended (finished, stopped, diverged or failed)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Training lab: coming soon"))
        self._config: dict = {}

    def set_config(self, data: dict) -> None:
        """Load a session's "training" object into the panel; raises ValueError (one line) if it is invalid."""
        self._config = dict(data)

    def config_dict(self) -> dict:
        """The panel's configuration as a session's "training" object."""
        return dict(self._config)

    def start(self) -> None:
        """Start training with the panel's configuration (off the GUI thread)."""
        self.runs_finished.emit()

    def is_running(self) -> bool:
        return False

    def shutdown(self) -> None:
        """Stop every run and wait for its thread to end (called when the window closes)."""
