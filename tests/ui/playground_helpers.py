"""Helpers of the playground tests (the ``playground`` fixture is in conftest.py)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QMouseEvent, QPainter
from PySide6.QtWidgets import QApplication

from optviz.core.presets import default_session
from optviz.ui.playground.tab import PlaygroundTab

TIMEOUT_MS = 20_000
MAPS_STEPS = 150  # the maps tests' run length


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


def maps_tab(qtbot, monkeypatch) -> PlaygroundTab:
    """The maps tests' tab: the default session (Himmelblau) with SGD and Nesterov enabled, MAPS_STEPS steps, eager
    engine (no compiler), the middle column wide. The caller shuts it down."""
    monkeypatch.setenv("OPTVIZ_ENGINE", "eager")
    base = default_session()
    session = base.with_(steps=MAPS_STEPS, optimizers=tuple(
        type(e)(e.choice, e.choice.name in ("sgd", "nesterov")) for e in base.optimizers))
    widget = make_tab(qtbot, session, size=(1500, 850))
    widget.main_splitter.setSizes([600, 600, 300])
    return widget


def show_basins(qtbot, tab: PlaygroundTab, resolution: int = 32):
    """The basins view shown, with the maps of a ``resolution``² grid computed."""
    view = tab.basins_view
    view.set_resolution(resolution)
    tab.show_middle(view)
    qtbot.waitUntil(lambda: view.is_current() and not view.is_busy(), timeout=TIMEOUT_MS)
    return view


def show_stability(qtbot, tab: PlaygroundTab, entry: int, y_name: str, resolution: int = 16):
    """The stability view shown, mapping optimizer ``entry`` over lr × ``y_name`` ("" a strip), computed."""
    view = tab.stability_view
    view.set_resolution(resolution)
    view.set_entry(entry)
    view.set_y_name(y_name)
    tab.show_middle(view)
    qtbot.waitUntil(lambda: view.is_current() and not view.is_busy(), timeout=TIMEOUT_MS)
    return view


def make_window(qtbot, tmp_path, size: tuple[int, int] = (1400, 900)):
    """A main window of its own settings file (nothing remembered), at ``size``, shown, its paths computed."""
    from PySide6.QtCore import QSettings

    from optviz.ui.main_window import MainWindow

    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), remember=False,
                   autoplay=False)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    wait_computed(qtbot, w.playground)
    return w
