"""A widget in a scroll area, so that its minimum size does not set the window's; a panel that scrolls up and down
only and is never cut at its right edge."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import QFormLayout, QScrollArea, QWidget


def scrollable(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless, resizable scroll area: scroll bars appear where the window is smaller than the
    widget's minimum, instead of the window refusing to shrink (or a screenshot coming out wider than asked)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area


def wrap_long_rows(widget: QWidget) -> None:
    """Every form under ``widget`` puts a field under its label where the two do not fit side by side (a narrow
    panel), instead of squeezing the field below its minimum width."""
    for form in widget.findChildren(QFormLayout):
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)


class VerticalScrollArea(QScrollArea):
    """A resizable scroll area that scrolls up and down only. Its minimum width is its widget's (beside the vertical
    scroll bar), so a narrow window takes the width from its neighbours rather than cutting labels and spin boxes
    at the right edge; ``min_width`` is a floor under that."""

    def __init__(self, min_width: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._min_width = min_width
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def setWidget(self, widget: QWidget) -> None:  # noqa: N802 (Qt override)
        super().setWidget(widget)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # its minimum width may have changed (a section opened, a surface's parameters)
        return super().eventFilter(watched, event)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        hint = super().minimumSizeHint()
        widget = self.widget()
        if widget is None:
            return hint
        width = (widget.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
                 + 2 * self.frameWidth())
        return QSize(max(hint.width(), width, self._min_width), hint.height())
