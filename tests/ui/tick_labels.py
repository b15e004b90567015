"""Reading back the tick labels a widget's plots draw: where they are, whether they are whole and apart."""

from __future__ import annotations

import pyqtgraph as pg
from playground_helpers import axis_texts
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget


def drawn_labels(root: QWidget) -> list[tuple[QRect, str, pg.GraphicsView]]:
    """Every tick label drawn by a visible plot under ``root``: its rectangle in its view's viewport, its text."""
    out = []
    for view in root.findChildren(pg.GraphicsView):
        if not view.isVisible():
            continue
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem) and item.isVisible() and item.style["showValues"]:
                out += [(view.mapFromScene(rect).boundingRect(), text, view) for rect, text in axis_texts(item)]
    return out


def label_problems(root: QWidget) -> list[str]:
    """Tick labels cut by the edge of what their view shows (a scroll area's too), or drawn over one another."""
    found = []
    labels = drawn_labels(root)
    for rect, text, view in labels:
        seen = view.viewport().visibleRegion().boundingRect()
        if not seen.contains(rect.adjusted(1, 1, -1, -1)):
            found.append(f"{text!r} cut: {rect.getRect()} outside {seen.getRect()}")
    for i, (a, text_a, view_a) in enumerate(labels):
        for b, text_b, view_b in labels[i + 1:]:
            if view_a is view_b and a.adjusted(1, 1, -1, -1).intersects(b.adjusted(1, 1, -1, -1)):
                found.append(f"{text_a!r} over {text_b!r}")
    return found
