"""The basin maps' small multiples: one titled panel per optimizer over the view box, minima marked, and the words
of their legend and criterion. The Basins view (playground) and the CLI's figure (:mod:`optviz.ui.figures`) draw
them with this one code.

Each panel shows one optimizer's map: the pixel of a start is coloured by the minimum its path ends in (marked on
the panel in that colour: a star for a global minimum, a dot for a local one), darker where it took more steps;
grey: not converged within the steps, black: diverged. The panels are sized so that each map fills its axes
exactly, x and y at one scale; only the outer panels carry tick values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QApplication

from optviz.core.basins import RADIUS, TOL, BasinMap, Basins
from optviz.ui.playground.map_data import basin_colour, basin_rgba
from optviz.ui.widgets.axes import TrueAxis, xy_text

AXIS_PX = 30  # the axes' room, kept on inner panels (without labels) so that every panel has one size
TITLE_PX = 30  # the row pyqtgraph gives a plot's title
CHROME_PX = (AXIS_PX + 2, TITLE_PX + AXIS_PX - 6 + 2)  # a panel's room around its map (and its 1 px margins)
GAP_PX = (4, 0)  # between panels, across and down (their empty axis gutters part them already)
EDGE_PX = 2  # kept free around the grid
MIN_MAP_PX = 24  # a map is never drawn smaller (in a smaller view the panels run past its edge)
LABEL_GAP_PX = {"bottom": 24, "left": 16}  # the least distance between labelled ticks of a map's axis
MAX_MARKERS = 12  # minima marked on a small plot; with more, only the global ones
MAX_LEGEND = 10  # minima named in the legend (colours repeat after ten)


def criterion_text(resolution: int, steps: int, tol: float = TOL.default, radius: float = RADIUS.default) -> str:
    return (f"Every start of the {resolution}×{resolution} grid over the view box runs the same {steps} steps. "
            f"A start ends in a minimum when its gradient norm stays below {tol:g} to the last step and "
            f"its last point lies within {100 * radius:g}% of the view box's diagonal of that minimum.")


def map_size(width: float, height: float, n: int, cols: int, aspect: float) -> tuple[int, int, float]:
    """(width, height) in whole pixels of each of ``n`` maps of data aspect ``aspect`` (width / height) in ``cols``
    columns of panels filling a ``width`` × ``height`` area, x and y at one scale; and the unrounded height, which
    compares column counts."""
    rows = max(1, -(-n // cols))
    room_w = (width - 2 * EDGE_PX - (cols - 1) * GAP_PX[0]) / cols - CHROME_PX[0]
    room_h = (height - 2 * EDGE_PX - (rows - 1) * GAP_PX[1]) / rows - CHROME_PX[1]
    exact = min(room_h, room_w / aspect)
    h = max(MIN_MAP_PX, math.floor(exact))
    w = max(MIN_MAP_PX, round(h * aspect))
    if w > room_w >= MIN_MAP_PX:  # rounded past the room: one pixel less
        w = math.floor(room_w)
    return w, h, exact


def best_columns(width: float, height: float, n: int, aspect: float) -> int:
    """The number of columns (1 … n) that gives ``n`` maps the largest size in a ``width`` × ``height`` area (the
    fewest columns among equals)."""
    return max(range(1, max(1, n) + 1), key=lambda cols: (map_size(width, height, n, cols, aspect)[2], -cols))


def grid_height(map_h: float, rows: int) -> int:
    """The height of an area whose ``rows`` rows of panels hold maps ``map_h`` pixels high (map_size's inverse)."""
    return math.ceil(rows * (map_h + CHROME_PX[1]) + (rows - 1) * GAP_PX[1] + 2 * EDGE_PX)


class MapAxis(TrueAxis):
    """A small map's axis: its labelled ticks at least LABEL_GAP_PX apart (a 2-step crowds a 50 px map's labels
    into one another), and on the left every label within the gutter (pyqtgraph drops one that is wider: "−0.5"
    would vanish beside "0.5"): the step grows to 5, 10, … until they are."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 — pyqtgraph's names
        levels = super().tickSpacing(minVal, maxVal, size)
        if not levels or size <= 0:
            return levels
        lo, hi = sorted((minVal, maxVal))
        major, per_px = levels[0][0], (hi - lo) / size
        while major < hi - lo and (major / per_px < LABEL_GAP_PX[self.orientation]
                                   or not self._labels_fit(major, lo, hi)):
            unit = 10.0 ** math.floor(math.log10(major) + 1e-9)
            major = unit * {1: 2, 2: 5}.get(round(major / unit), 10)
        return [(major, 0.0)] + [level for level in levels[1:] if level[0] < major]

    def _labels_fit(self, step: float, lo: float, hi: float) -> bool:
        if self.orientation != "left":
            return True
        metrics = QFontMetricsF(self.style["tickFont"] or QApplication.font())
        room = self.width() - max(0, self.style["tickLength"]) - self.style["tickTextOffset"][0]
        values = [k * step for k in range(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1)]
        return all(metrics.horizontalAdvance(text) <= room for text in self.tickStrings(values, 1.0, step))


def let_title_overhang(label: pg.LabelItem) -> None:
    """A title wider than its small map overhangs it, still centred over it, instead of widening the map's column
    (pyqtgraph makes the label's text width its minimum width again after every change)."""
    update_min = label.updateMin

    def without_min_width() -> None:
        update_min()
        label.setMinimumWidth(0)

    label.updateMin = without_min_width
    without_min_width()


def grid_rect(b: Basins) -> QRectF:
    """Where a map's pixels lie: each grid start at the centre of its pixel."""
    hx, hy = (b.xs[-1] - b.xs[0]) / (len(b.xs) - 1) / 2, (b.ys[-1] - b.ys[0]) / (len(b.ys) - 1) / 2
    return QRectF(b.xs[0] - hx, b.ys[0] - hy, b.xs[-1] - b.xs[0] + 2 * hx, b.ys[-1] - b.ys[0] + 2 * hy)


def legend_html(b: Basins, hint: str = "") -> str:
    """Each minimum's colour and place, not converged and diverged; then what darker means, and ``hint``."""
    parts = []
    for k, ((x, y), kind) in enumerate(zip(b.minima[:MAX_LEGEND], b.minimum_kinds)):
        r, g, bl = basin_colour(k)
        mark = "★" if kind == "global" else "●"
        parts.append(f"<span style='color: rgb({r},{g},{bl})'>■{mark}</span>&nbsp;{xy_text(x, y)}")
    if len(b.minima) > MAX_LEGEND:
        parts.append(f"… {len(b.minima)} minima, colours repeat every {MAX_LEGEND}")
    parts.append("<span style='color: #808080'>■</span>&nbsp;not&nbsp;converged")
    parts.append("<span style='color: #000000'>■</span>&nbsp;diverged")
    return ("&nbsp;&nbsp; ".join(parts) + "<br><span style='color: #555555'>Darker: more steps to converge "
            f"(★ global, ● local minimum).{' ' + hint if hint else ''}</span>")


@dataclass(frozen=True)
class Tile:
    """What one panel shows: its title, and the map (None: "not available", why). The title is not in the
    optimizer's colour: the map's pixels are in the minima's colours, and red over a map of reds read as "SGD"."""

    title: str
    map: BasinMap | None
    error: str = ""


class BasinTiles:
    """The panels of a set of basin maps in ``graphics``, sized by :meth:`fit` to its area (or the one given)."""

    def __init__(self, graphics: pg.GraphicsLayoutWidget, title_size: str = "9pt") -> None:
        self.graphics = graphics
        self.title_size = title_size
        self.basins: Basins | None = None
        self.tiles: tuple[Tile, ...] = ()
        self.plots: list[pg.PlotItem] = []
        self.images: list[pg.ImageItem] = []
        self.columns = 0
        self._geometry: tuple = ()  # the panels' fitted size and margins (see fit)
        graphics.setBackground("w")
        graphics.ci.layout.setHorizontalSpacing(GAP_PX[0])
        graphics.ci.layout.setVerticalSpacing(GAP_PX[1])

    def aspect(self) -> float:
        """The map's width / height in data units (a formula's view box need not be square)."""
        rect = grid_rect(self.basins)
        return rect.width() / rect.height()

    def fitted_geometry(self, width: float, height: float, cols: int) -> tuple[int, int]:
        """(height, width) in pixels of each map in ``cols`` columns of a ``width`` × ``height`` graphics view."""
        w, h, _ = map_size(width, height, len(self.tiles), cols, self.aspect())
        return h, w

    def show(self, basins: Basins | None, tiles: Sequence[Tile] = ()) -> None:
        """Draw ``tiles`` (maps of ``basins``), or nothing."""
        self.basins, self.tiles = basins, tuple(tiles)
        if basins is None:
            self._layout(0)
        else:
            self.fit(rebuild=True)

    def fit(self, rebuild: bool = False, size: tuple[float, float] | None = None, columns: int | None = None) -> None:
        """Size the panels so that each map fills its view box exactly, x and y at one scale, as large as the area
        (``size``, else the graphics view's) allows in the best number of columns (or ``columns``), the grid
        centred in it: rebuilt when the number of columns changes, resized when the size does, left alone
        otherwise (no layout storm while a splitter moves)."""
        width, height = size or (self.graphics.width(), self.graphics.height())  # what the central item is given
        n, aspect = len(self.tiles), self.aspect()
        cols = columns or best_columns(width, height, n, aspect)
        if rebuild or cols != self.columns:
            self._layout(cols)
        map_w, map_h, _ = map_size(width, height, n, cols, aspect)
        tile_w, tile_h = map_w + CHROME_PX[0], map_h + CHROME_PX[1]
        rows = -(-n // cols)
        free_w = max(0, width - cols * tile_w - (cols - 1) * GAP_PX[0])
        free_h = max(0, height - rows * tile_h - (rows - 1) * GAP_PX[1])
        geometry = (tile_w, tile_h, free_w // 2, free_h // 2, free_w - free_w // 2, free_h - free_h // 2)
        if geometry == self._geometry:
            return
        self._geometry = geometry
        for plot in self.plots:
            plot.setMinimumSize(tile_w, tile_h)
            plot.setMaximumSize(tile_w, tile_h)
        self.graphics.ci.setContentsMargins(*geometry[2:])

    def _layout(self, cols: int) -> None:
        """One small plot per tile in ``cols`` columns (sized by fit); outer plots carry the axes."""
        self.graphics.clear()
        self.plots, self.images = [], []
        self.columns, self._geometry = cols, ()
        b = self.basins
        if b is None:
            return
        n = len(self.tiles)
        rect = grid_rect(b)
        spots = [{"pos": tuple(p), "symbol": "star" if kind == "global" else "o", "size": 13 if kind == "global" else 8,
                  "pen": pg.mkPen("#000000", width=1), "brush": pg.mkBrush(*basin_colour(k))}
                 for k, (p, kind) in enumerate(zip(b.minima, b.minimum_kinds))]
        shown = [s for s in spots if rect.contains(*s["pos"])]
        if len(shown) > MAX_MARKERS:  # Rastrigin's 121 would cover the map: its global minima only
            shown = [s for s in shown if s["symbol"] == "star"]
        for i, tile in enumerate(self.tiles):
            row, col = divmod(i, cols)
            plot = self._add_plot(row, col, left_values=col == 0, bottom_values=i + cols >= n)
            title = tile.title if tile.map is not None else tile.title + " — not available"
            plot.setTitle(title, color="#222222", size=self.title_size)
            let_title_overhang(plot.titleLabel)
            image = pg.ImageItem(axisOrder="row-major")
            if tile.map is not None:
                image.setImage(basin_rgba(tile.map.labels, tile.map.steps, b.budget), autoLevels=False)
                image.setRect(rect)
                image.setToolTip(tile.error)
            else:
                plot.getViewBox().setToolTip(tile.error)
            plot.addItem(image)
            markers = pg.ScatterPlotItem()
            markers.setData(shown)
            plot.addItem(markers)
            plot.setRange(rect, padding=0)
            self.graphics.ci.layout.setAlignment(plot, Qt.AlignmentFlag.AlignCenter)
            self.plots.append(plot)
            self.images.append(image)

    def _add_plot(self, row: int, col: int, left_values: bool, bottom_values: bool) -> pg.PlotItem:
        axes = {"left": MapAxis("left"), "bottom": MapAxis("bottom")}
        plot = self.graphics.addPlot(row=row, col=col, axisItems=axes)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(False, False)
        plot.setAspectLocked(False)  # the panel's size keeps x and y at one scale: the range stays the map's
        for name in ("left", "bottom"):
            plot.getAxis(name).setStyle(tickLength=-4)
        plot.getAxis("left").setStyle(showValues=left_values)
        plot.getAxis("bottom").setStyle(showValues=bottom_values,  # nothing below it
                                        hideOverlappingLabels=AXIS_PX // 2)  # an end label may reach the gutter
        plot.getAxis("left").setWidth(AXIS_PX)  # the same gutters everywhere: panels of one size
        plot.getAxis("bottom").setHeight(AXIS_PX - 6)
        return plot
