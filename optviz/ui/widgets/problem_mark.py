"""A red frame an editor draws over itself while its text is refused, leaving its own look (arrows, frame) alone.

A style sheet border would switch Qt to style-sheet drawing for the whole spin box and flatten its arrows; an
overlay widget would need an event filter that Qt may still call while the editor is being destroyed.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QLineEdit

PROBLEM_COLOR = "#d64545"


class ProblemMark:
    """Mixin for a QWidget editor (listed before the Qt class): ``set_problem(True)`` frames it in red."""

    _problem = False

    def set_problem(self, on: bool) -> None:
        if on != self._problem:
            self._problem = on
            self.update()

    def has_problem(self) -> bool:
        return self._problem

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        super().paintEvent(event)
        if self._problem:
            painter = QPainter(self)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(PROBLEM_COLOR), 1.5))
            painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.75, 0.75, -0.75, -0.75), 2.5, 2.5)
            painter.end()


class LineEdit(ProblemMark, QLineEdit):
    """A line edit that can show a refused text in red."""
