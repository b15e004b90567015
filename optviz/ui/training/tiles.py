"""A grid of small images with captions, painted directly: predictions, filters and feature maps all use it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (QColor, QFont, QFontMetrics, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen,
                           QResizeEvent)
from PySide6.QtWidgets import QSizePolicy, QWidget

ACCENT = "#ffd400"  # the picked tile's frame
GAP = 6  # pixels between tiles
SPILL = 2  # a caption may reach this far into the gap on either side of its tile


@dataclass(frozen=True)
class Tile:
    image: np.ndarray  # (H, W) or (H, W, 3), floats in [0, 1]
    caption: str = ""  # one or two lines
    color: str = ""  # caption and frame colour; "" = plain
    tooltip: str = ""


def normalised(x: np.ndarray) -> np.ndarray:
    """Min-max scaled to [0, 1] (a constant map becomes mid-grey)."""
    x = np.asarray(x, dtype=np.float32)
    lo, hi = float(np.min(x)), float(np.max(x))
    return np.full_like(x, 0.5) if hi <= lo else (x - lo) / (hi - lo)


def diverging(x: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Signed values as RGB (H, W, 3): blue < 0 < red, white at 0, full colour at ±``scale`` (default max |x|)."""
    x = np.asarray(x, dtype=np.float32)
    s = float(np.max(np.abs(x))) if scale is None else scale
    t = np.clip(x / s, -1.0, 1.0) if s > 0 else np.zeros_like(x)
    pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
    return np.stack([1.0 - neg * 0.75, 1.0 - np.maximum(pos, neg) * 0.75, 1.0 - pos * 0.75], axis=-1)


def to_qimage(image: np.ndarray) -> QImage:
    """A [0, 1] float (H, W) or (H, W, 3) array as a QImage that owns a copy of its pixels."""
    data = np.ascontiguousarray(np.clip(np.nan_to_num(image) * 255.0 + 0.5, 0, 255).astype(np.uint8))
    h, w = data.shape[:2]
    if data.ndim == 2:
        return QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class TileGrid(QWidget):
    """Rows of tiles, each row with an optional title; tiles wrap at ``columns`` and scale to the width."""

    tile_clicked = Signal(int)  # flat index over all rows

    def __init__(self, columns: int = 8, min_px: int = 28, max_px: int = 96, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns, self.min_px, self.max_px = columns, min_px, max_px
        self._rows: list[tuple[str, list[Tile], list[QImage]]] = []
        self._rects: list[QRect] = []
        self._titles: list[QRect] = []  # each row's title, wrapped
        self.picked: int | None = None
        self.message = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)

    def set_rows(self, rows: list[tuple[str, list[Tile]]], message: str = "") -> None:
        """Show ``rows`` of (title, tiles); with no tiles, ``message`` is shown instead."""
        self._rows = [(title, tiles, [to_qimage(t.image) for t in tiles]) for title, tiles in rows]
        self.message = message
        self._layout()
        self.update()

    def titles(self) -> list[str]:
        return [title for title, _, _ in self._rows]

    def tiles(self) -> list[Tile]:
        return [t for _, tiles, _ in self._rows for t in tiles]

    def set_picked(self, index: int | None) -> None:
        self.picked = index
        self.update()

    def _tile_px(self, width: int) -> tuple[int, int]:
        """(tile side, columns): as many columns as fit, fewer while a caption would be wider than its tile and
        the gap (it was cut to "true: s…"), never under ``min_px`` nor over ``max_px``."""
        longest = max((len(t) for _, t, _ in self._rows), default=1)
        metrics = self._caption_font_metrics()
        widest = max((metrics.horizontalAdvance(line) for t in self.tiles() for line in t.caption.splitlines()),
                     default=0)
        cols = max(1, min(self.columns, longest))
        px = (width - 8) // cols - GAP
        while cols > 1 and (px < self.min_px or (px + 2 * SPILL < widest and px < self.max_px)):
            cols -= 1
            px = (width - 8) // cols - GAP
        return int(np.clip(px, self.min_px, self.max_px)), cols

    def _caption_font(self) -> QFont:
        small = QFont(self.font())
        small.setPointSizeF(max(self.font().pointSizeF() - 1.5, 6.0))
        return small

    def _caption_font_metrics(self) -> QFontMetrics:
        return QFontMetrics(self._caption_font())

    def _title_rect(self, title: str, top: int) -> QRect:
        """Where a row's title is drawn: wrapped to the width (it was elided: "… 16/16 wr…")."""
        bound = QFontMetrics(self.font()).boundingRect(QRect(4, top, max(self.width() - 8, 40), 10_000),
                                                       int(Qt.TextFlag.TextWordWrap), title)
        return QRect(4, top, max(self.width() - 8, 40), bound.height())

    def _layout(self) -> None:
        """Place every tile; the widget's minimum height follows, for scroll areas."""
        px, cols = self._tile_px(self.width())
        lines = max((t.caption.count("\n") + 1 for _, tiles, _ in self._rows for t in tiles if t.caption), default=0)
        caption = 13 * lines + 2 if lines else 0
        y, self._rects, self._titles = 4, [], []
        for title, tiles, _ in self._rows:
            if title:
                self._titles.append(self._title_rect(title, y))
                y = self._titles[-1].bottom() + 4
            else:
                self._titles.append(QRect())
            for i, _ in enumerate(tiles):
                if i and i % cols == 0:
                    y += px + caption + GAP
                self._rects.append(QRect(4 + (i % cols) * (px + GAP), y, px, px))
            if tiles:
                y += px + caption + 10
        self.setMinimumHeight(max(y, 40))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 — Qt override
        self._layout()
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(8 * (self.max_px // 2 + 6), self.minimumHeight())

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        if not self._rects:
            p.setPen(text)
            p.drawText(self.rect().adjusted(8, 8, -8, -8), Qt.TextFlag.TextWordWrap, self.message)
            return
        k = 0
        for (title, tiles, images), title_rect in zip(self._rows, self._titles):
            if title:
                p.setPen(text)
                p.drawText(title_rect, int(Qt.TextFlag.TextWordWrap), title)
            font = p.font()
            p.setFont(self._caption_font())
            for tile, image in zip(tiles, images):
                self._paint_tile(p, k, tile, image, text)
                k += 1
            p.setFont(font)

    def _paint_tile(self, p: QPainter, k: int, tile: Tile, image: QImage, text: QColor) -> None:
        r = self._rects[k]
        p.drawImage(r, image)
        if tile.color or k == self.picked:
            pen = QPen(QColor(ACCENT if k == self.picked else tile.color), 3 if k == self.picked else 2)
            p.setPen(pen)
            p.drawRect(r.adjusted(-1, -1, 0, 0))
        for line, caption in enumerate(tile.caption.splitlines()):
            p.setPen(QColor(tile.color) if tile.color and line == 0 else text)
            elided = p.fontMetrics().elidedText(caption, Qt.TextElideMode.ElideRight, r.width() + 2 * SPILL)
            p.drawText(QRect(r.left() - SPILL, r.bottom() + 2 + 13 * line, r.width() + 2 * SPILL, 13),
                       Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, elided)

    def index_at(self, pos: QPoint) -> int | None:
        return next((i for i, r in enumerate(self._rects) if r.contains(pos)), None)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        index = self.index_at(event.position().toPoint())
        if index is not None:
            self.tile_clicked.emit(index)

    def event(self, e) -> bool:  # tooltips per tile
        if e.type() == e.Type.ToolTip:
            index = self.index_at(e.pos())
            tips = [t.tooltip for t in self.tiles()]
            self.setToolTip(tips[index] if index is not None and index < len(tips) else "")
        return super().event(e)
