"""The wheel over a scrolled panel scrolls the panel: an editor changes by wheel only once it has focus.

Qt's spin boxes and combo boxes take the wheel whenever the pointer passes over them, so scrolling a side panel
silently changed whatever field slid under the pointer (Adam's lr from 0.001 to 1e-08). Editors here take focus by
click or Tab only (``Qt.StrongFocus``) and ignore an unfocused wheel, which Qt then passes to the scroll area.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QComboBox, QWidget

from optviz.ui.widgets.problem_mark import ProblemMark


def wheel_needs_focus(widget: QWidget) -> None:
    """Focus by click or Tab only: a passing wheel must not give ``widget`` focus."""
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


def pass_unfocused_wheel(widget: QWidget, event: QWheelEvent) -> bool:
    """Ignore ``event`` (it goes on to the parent, the scroll area) unless ``widget`` has focus; True if ignored."""
    if widget.hasFocus():
        return False
    event.ignore()
    return True


class ComboBox(ProblemMark, QComboBox):
    """A combo box that changes by wheel only when it has focus."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        wheel_needs_focus(self)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        if not pass_unfocused_wheel(self, event):
            super().wheelEvent(event)
