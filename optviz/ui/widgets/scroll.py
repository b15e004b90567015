"""A widget in a scroll area, so that its minimum size does not set the window's."""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QWidget


def scrollable(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless, resizable scroll area: scroll bars appear where the window is smaller than the
    widget's minimum, instead of the window refusing to shrink (or a screenshot coming out wider than asked)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area
