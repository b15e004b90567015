"""Helpers of the playground tests (the ``playground`` fixture is in conftest.py)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QMouseEvent, QPainter
from PySide6.QtWidgets import QApplication

from optviz.ui.playground.tab import PlaygroundTab

TIMEOUT_MS = 20_000


def wait_computed(qtbot, tab: PlaygroundTab) -> None:
    """Until the result on screen is the full result of the model's current session."""
    qtbot.waitUntil(lambda: tab.model.is_up_to_date() and not tab.computer.is_busy(), timeout=TIMEOUT_MS)


def viewport_pos(tab: PlaygroundTab, x: float, y: float) -> QPoint:
    """Viewport pixel of surface point (x, y)."""
    view = tab.surface_view
    scene = view.getPlotItem().getViewBox().mapViewToScene(QPointF(x, y))
    return view.mapFromScene(scene)


def send_mouse(widget, kind: QEvent.Type, pos: QPoint, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
    """A real QMouseEvent (QTest.mouseMove cannot hold a button down)."""
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def plotted_starts(tab: PlaygroundTab) -> list[np.ndarray]:
    """The first point of every plotted trail, per row and start."""
    out = []
    for row in range(len(tab.surface_view.path_items.rows)):
        out.extend(path[0] for path in tab.surface_view.plotted_paths(row))
    return out


def double_click(widget, pos: QPoint) -> None:
    """What a widget receives for a double click: press, release, double-click, release."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, buttons in ((QEvent.Type.MouseButtonPress, left), (QEvent.Type.MouseButtonRelease, none),
                          (QEvent.Type.MouseButtonDblClick, left), (QEvent.Type.MouseButtonRelease, none)):
        send_mouse(widget, kind, pos, left, buttons)


def make_tab(qtbot, session=None, size=(1300, 800), autoplay=False) -> PlaygroundTab:
    """A shown playground tab on ``session`` with everything computed; the caller shuts it down."""
    tab = PlaygroundTab(session, autoplay=autoplay)
    qtbot.addWidget(tab)
    tab.resize(*size)
    tab.show()
    qtbot.waitExposed(tab)
    wait_computed(qtbot, tab)
    return tab


def widget_rect_of(view, item) -> QRectF:
    """Where a graphics item is drawn, in the coordinates of the view widget that shows it."""
    return QRectF(view.mapFromScene(item.sceneBoundingRect()).boundingRect())


def axis_texts(axis) -> list[tuple[QRectF, str]]:
    """The tick labels an AxisItem draws (its own draw specs), with their rectangles in scene coordinates."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    painter.setFont(axis.style["tickFont"] or QApplication.font())
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [(axis.mapRectToScene(rect), text) for rect, _, text in texts if text]


_SUPERSCRIPTS = "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"


def parse_value(text: str) -> float:
    """The number a tick or table label shows: '2.5×10⁻⁵', '10³', '−1.7', '1000'."""
    at = next((i for i, c in enumerate(text) if c in _SUPERSCRIPTS), None)
    if at is None:
        return float(text.replace("−", "-"))
    base, exponent = text[:at], int(text[at:].translate(str.maketrans(_SUPERSCRIPTS, "-0123456789")))
    assert base.endswith("10"), text
    mantissa = base[:-2].rstrip("×").replace("−", "-")
    return float(mantissa or 1.0) * 10.0**exponent
