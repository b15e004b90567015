"""The launch preview's picture (:class:`optviz.ui.starting.StartingWindow` shows it while torch loads).

The picture comes from :mod:`optviz.core.preview` (numpy, before torch), painted with QPainter so that neither
torch nor pyqtgraph (half a second to import) is needed: the surface's colours and contours as the playground
draws them (viridis, the same colour indices), every enabled optimizer's path clipped to the view box, start
points and end points, and a legend.
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QDataStream, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from optviz.core.preview import Preview
from optviz.ui.playground.colors import entry_colors, entry_title

MARGIN = 28  # px around the picture (room for the legend's first line and the axis labels)
LEGEND_WIDTH = 170
BACKGROUND, TEXT = QColor(0, 0, 0), QColor(200, 200, 200)  # pyqtgraph's default plot colours


def viridis() -> np.ndarray:
    """(256, 3) uint8: the playground's colour map, read from pyqtgraph's data file without importing pyqtgraph."""
    spec = importlib.util.find_spec("pyqtgraph")
    path = Path(next(iter(spec.submodule_search_locations))) / "colors" / "maps" / "viridis.csv"
    rows = [line.split(",") for line in path.read_text().splitlines() if line and not line.startswith(";")]
    return np.clip(np.rint(np.array(rows, dtype=np.float64) * 255), 0, 255).astype(np.uint8)


def painter_path(points: np.ndarray, joined: np.ndarray) -> QPainterPath:
    """A QPainterPath through ``points`` (n, 2) with a line to each point where ``joined`` (n,) is True (else a
    move), non-finite points left out (the line breaks there). Built in one step from its QDataStream form, as
    pyqtgraph's arrayToQPath does: 17,000 contour segments in milliseconds rather than a tenth of a second."""
    finite = np.isfinite(points).all(axis=-1)
    joined = joined & finite & np.concatenate(([False], finite[:-1]))
    points, joined = points[finite], joined[finite]
    n = len(points)
    raw = bytearray(4 + 20 * n + 8)  # count, n × (type, x, y), cStart and fill rule (0, 0)
    struct.pack_into(">i", raw, 0, n)
    elements = np.frombuffer(raw, dtype=[("c", ">i4"), ("x", ">f8"), ("y", ">f8")], count=n, offset=4)
    elements["x"], elements["y"], elements["c"] = points[:, 0], points[:, 1], joined  # 0: move to, 1: line to
    path = QPainterPath()
    QDataStream(QByteArray(bytes(raw))) >> path
    return path


class PreviewPicture(QWidget):
    """Paints a :class:`Preview`: surface, contours, paths, start and end points, legend."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preview: Preview | None = None
        self.on_painted = None  # called once, after the first paint that showed the preview
        self._image: QImage | None = None
        self._colors: list[QColor] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)

    def show_preview(self, preview: Preview) -> None:
        self.preview = preview
        colour = np.nan_to_num(preview.field.colour, nan=1.0)
        rgb = viridis()[np.clip((colour * 255).round(), 0, 255).astype(np.intp)[::-1]]  # row 0 at the top
        rgb = np.ascontiguousarray(rgb)
        self._image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888).copy()
        self._colors = entry_colors(preview.session.optimizers)
        self.update()

    def plot_rect(self) -> QRectF:
        """Where the view box is drawn: as large as fits, x and y on one scale (the playground's locked aspect)."""
        (x0, x1), (y0, y1) = self.preview.field.xs[[0, -1]], self.preview.field.ys[[0, -1]]
        room = QRectF(self.rect()).adjusted(MARGIN, MARGIN, -MARGIN - LEGEND_WIDTH, -MARGIN)
        scale = min(room.width() / (x1 - x0), room.height() / (y1 - y0))
        w, h = (x1 - x0) * scale, (y1 - y0) * scale
        return QRectF(room.left() + (room.width() - w) / 2, room.top() + (room.height() - h) / 2, w, h)

    def to_screen(self, xy: np.ndarray) -> np.ndarray:
        """Surface coordinates (..., 2) → widget pixels (..., 2)."""
        r = self.plot_rect()
        (x0, x1), (y0, y1) = self.preview.field.xs[[0, -1]], self.preview.field.ys[[0, -1]]
        sx = r.left() + (xy[..., 0] - x0) / (x1 - x0) * r.width()
        sy = r.bottom() - (xy[..., 1] - y0) / (y1 - y0) * r.height()
        return np.stack((sx, sy), axis=-1)

    def paintEvent(self, event) -> None:  # noqa: N802
        if self.preview is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), BACKGROUND)  # the playground's plots are drawn on black
        rect = self.plot_rect()
        p.drawImage(rect, self._image)
        p.setClipRect(rect)
        self._contours(p)
        for row, (entry, clipped) in enumerate(zip(self.preview.entries, self.preview.clipped)):
            self._paths(p, self._colors[entry], clipped)
        self._starts(p)
        p.setClipping(False)
        p.setPen(QPen(QColor(120, 120, 120)))
        p.drawRect(rect)
        self._legend(p, rect)
        p.end()
        if self.on_painted is not None:
            done, self.on_painted = self.on_painted, None
            done()

    def _contours(self, p: QPainter) -> None:
        xs, ys = self.preview.field.contours
        if len(xs):
            joined = np.arange(len(xs)) % 2 == 1  # segments: from each even point to the next
            p.setPen(QPen(QColor(255, 255, 255, 70), 1))
            p.drawPath(painter_path(self.to_screen(np.stack((xs, ys), axis=-1)), joined))

    def _paths(self, p: QPainter, color: QColor, clipped) -> None:
        p.setPen(QPen(color, 2))
        for c in clipped:
            p.drawPath(painter_path(self.to_screen(c.points), np.ones(len(c.points), dtype=bool)))
            end = c.points[c.upto[-1] - 1] if c.inside[-1] and c.upto[-1] else None
            if end is not None:  # the head: a ring where the path ended
                sx, sy = self.to_screen(end)
                p.drawEllipse(QPointF(sx, sy), 5, 5)

    def _starts(self, p: QPainter) -> None:
        p.setPen(QPen(QColor(20, 20, 20), 1.5))
        p.setBrush(QColor(255, 255, 255))
        for sx, sy in self.to_screen(np.array(self.preview.session.starts, dtype=np.float64).reshape(-1, 2)):
            p.drawEllipse(QPointF(sx, sy), 5, 5)
        p.setBrush(Qt.BrushStyle.NoBrush)

    def _legend(self, p: QPainter, rect: QRectF) -> None:
        x, y = rect.right() + 16, rect.top() + 4
        font = QFont(self.font())
        p.setFont(font)
        p.setPen(TEXT)
        p.drawText(QPointF(x, y + 10), self.preview.title)
        y += 30
        for i in self.preview.entries:
            entry = self.preview.session.optimizers[i]
            p.setPen(QPen(self._colors[i], 3))
            p.drawLine(QPointF(x, y), QPointF(x + 22, y))
            p.setPen(TEXT)
            p.drawText(QPointF(x + 30, y + 5), entry_title(entry))
            y += 20
        if self.preview.note:
            p.drawText(QRectF(x, y, LEGEND_WIDTH - 20, 200), Qt.TextFlag.TextWordWrap, self.preview.note)
