"""View → Show FPS: frames per second of the surface view and the last recompute's time and engine, bottom right.

A frame is a paint of the surface view's viewport; the rate is over the last second, so it reads 0 when nothing
moves. The label is opaque, so updating it never repaints the view below it (it would count itself).
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QEvent, QObject, QPoint, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QWidget

from optviz.ui.playground.model import PlaygroundModel

WINDOW_S = 1.0  # frames per second over this long
REFRESH_MS = 250
MARGIN_PX = 6


def recompute_text(model: PlaygroundModel) -> str:
    """'paths 0.41 ms · fast engine · cpu' for the model's latest result (', drag preview' for one)."""
    result = model.result
    if result is None:
        return "paths: none yet"
    p = result.paths
    took = f"{p.seconds * 1e3:.2f} ms" if p.seconds < 1 else f"{p.seconds:.2f} s"
    preview = " (drag preview)" if result.preview else ""
    return f"paths {took}{preview} · {p.engine} engine · {p.device}"


class FpsOverlay(QLabel):
    """An opaque label over the bottom-right corner of ``view``'s plot (a QGraphicsView), hidden until shown."""

    def __init__(self, view: QWidget, model: PlaygroundModel) -> None:
        super().__init__(view)
        self._view = view
        self._model = model
        self._frames: deque[float] = deque()
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(20, 20, 20))
        palette.setColor(QPalette.ColorRole.WindowText, QColor(255, 255, 255))
        self.setPalette(palette)
        self.setMargin(3)
        self.setToolTip("Frames per second of the surface view (paints in the last second), and how long the "
                        "latest paths took to compute, with which engine and device")
        view.viewport().installEventFilter(self)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.hide()

    def fps(self) -> float:
        """Paints of the view in the last WINDOW_S seconds, per second."""
        now = time.monotonic()
        while self._frames and self._frames[0] < now - WINDOW_S:
            self._frames.popleft()
        return len(self._frames) / WINDOW_S

    def refresh(self) -> None:
        self.setText(f"{self.fps():.0f} fps · {recompute_text(self._model)}")
        self.adjustSize()
        corner = QPoint(self._view.width(), self._view.height())
        if hasattr(self._view, "getPlotItem"):  # the plot's bottom-right corner: clear of its title and legends
            corner = self._view.mapFromScene(self._view.getPlotItem().getViewBox().sceneBoundingRect().bottomRight())
        self.move(corner - QPoint(MARGIN_PX + self.width(), MARGIN_PX + self.height()))

    def setVisible(self, visible: bool) -> None:  # noqa: N802 — the timer runs only while it is shown
        super().setVisible(visible)
        if visible:
            self.refresh()
            self.raise_()
            self._timer.start()
        else:
            self._timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint and self.isVisible():
            self._frames.append(time.monotonic())
        return False
