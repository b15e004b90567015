"""Basin-of-attraction maps of every enabled optimizer as small multiples, and the fair race beside them.

Each small plot shows one optimizer over the surface's view box: the pixel of a start is coloured by the minimum
its path ends in (marked on the plot in that colour: a star for a global minimum, a dot for a local one), darker
where it took more steps; grey: not converged within the steps, black: diverged. Clicking a pixel adds that start
to the playground. The maps are recomputed (debounced, off the GUI thread, with progress and Cancel) whenever
what they depend on changes while the view is shown; one of them can be laid over the surface view.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QHBoxLayout, QHeaderView, QLabel, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from optviz.core.basins import RADIUS, TOL, RaceStats
from optviz.core.session import BASINS_RESOLUTIONS
from optviz.ui.playground.colors import entry_colors, entry_title
from optviz.ui.playground.map_data import BasinsResult, basin_colour, basin_rgba, basins_key, compute_basins
from optviz.ui.playground.map_jobs import MapControls, MapRunner
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.optimizer_section import color_icon
from optviz.ui.widgets.axes import TrueAxis
from optviz.ui.widgets.wheel import ComboBox

RESOLUTIONS = BASINS_RESOLUTIONS  # what the grid menu offers (session files take the same)
AXIS_PX = 30  # the axes' room, kept on inner panels (without labels) so that every panel has one size
TITLE_PX = 30  # the row pyqtgraph gives a plot's title
CHROME_PX = (AXIS_PX + 2, TITLE_PX + AXIS_PX - 6 + 2)  # a panel's room around its map (and its 1 px margins)
GAP_PX = (4, 0)  # between panels, across and down (their empty axis gutters part them already)
EDGE_PX = 2  # kept free around the grid
MIN_MAP_PX = 24  # a map is never drawn smaller (in a smaller view the panels run past its edge)
LABEL_GAP_PX = {"bottom": 24, "left": 16}  # the least distance between labelled ticks of a map's axis
OVERLAY_OPACITY = 0.55
MAX_MARKERS = 12  # minima marked on a small plot; with more, only the global ones
MAX_LEGEND = 10  # minima named in the legend (colours repeat after ten)
STAT_COLUMNS = ("Optimizer", "Global min", "Any min", "Diverged", "Median steps", "p90 steps")


def criterion_text(resolution: int, steps: int) -> str:
    return (f"Every start of the {resolution}×{resolution} grid over the view box runs the same {steps} steps. "
            f"A start ends in a minimum when its gradient norm stays below {TOL.default:g} to the last step and "
            f"its last point lies within {RADIUS.default:.0%} of the view box's diagonal of that minimum.")


def xy_text(x: float, y: float) -> str:
    return f"({x:.3g}, {y:.3g})".replace("-", "−")


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


def stat_texts(stats: RaceStats) -> list[str]:
    def steps(v: float) -> str:
        return "—" if math.isnan(v) else f"{v:.0f}"

    return [f"{stats.global_share:.1%}", f"{stats.any_share:.1%}", f"{stats.diverged_share:.1%}",
            steps(stats.median_steps), steps(stats.p90_steps)]


class BasinsView(MapControls, QWidget):
    """Small multiples of the enabled optimizers' basin maps, a legend and the race statistics."""

    def __init__(self, model: PlaygroundModel, surface_plot: pg.PlotItem | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.result: BasinsResult | None = None
        self.message = ""  # why no map is shown / the last failure
        self.plots: list[pg.PlotItem] = []
        self.images: list[pg.ImageItem] = []
        self._columns = 0
        self._geometry: tuple = ()  # the panels' fitted size and margins (see _fit_plots)
        self.runner = MapRunner(compute_basins, debounce_ms=300, parent=self)
        self._connect_runner()
        self._build(surface_plot)
        for signal in (model.optimizer_changed, model.optimizers_reset, model.surface_changed, model.steps_changed,
                       model.device_changed):
            signal.connect(self._on_model_inputs_changed)
        model.maps_changed.connect(self._on_model_maps_changed)

    # -- building ---------------------------------------------------------------------------------------------
    def _build(self, surface_plot: pg.PlotItem | None) -> None:
        self.resolution_combo = ComboBox()
        for n in RESOLUTIONS:
            self.resolution_combo.addItem(f"{n} × {n}", n)
        self.resolution_combo.setCurrentIndex(self.resolution_combo.findData(self._model.maps.basins_resolution))
        self.resolution_combo.setToolTip("Start points per side of the grid over the view box")
        self.resolution_combo.currentIndexChanged.connect(self._on_resolution_combo_changed)
        self.overlay_combo = ComboBox()
        self.overlay_combo.setToolTip("Lay one optimizer's basin map over the surface view")
        self.overlay_combo.currentIndexChanged.connect(self._update_overlay)
        self._build_controls()
        for combo in (self.resolution_combo, self.overlay_combo):
            combo.setSizeAdjustPolicy(ComboBox.SizeAdjustPolicy.AdjustToContents)
        controls = QHBoxLayout()  # two rows, so that the column can be narrow
        controls.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel("Grid"), self.resolution_combo, QLabel("Overlay"), self.overlay_combo):
            controls.addWidget(widget)
        controls.addStretch(1)
        progress_row = QHBoxLayout()
        progress_row.setContentsMargins(0, 0, 0, 0)
        progress_row.addWidget(self.progress, 1)
        progress_row.addStretch(0)  # keeps the button at the right while the bar is hidden
        progress_row.addWidget(self.action_button)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.graphics.setMinimumHeight(160)
        self.graphics.ci.layout.setHorizontalSpacing(GAP_PX[0])
        self.graphics.ci.layout.setVerticalSpacing(GAP_PX[1])
        self.graphics.installEventFilter(self)  # its resizes (the view's, or the splitter below it moved)
        self.graphics.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        self.graphics.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.hover_label = QLabel(" ")
        self.hover_label.setStyleSheet("color: #555555;")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #555555;")
        self.table = QTableWidget(0, len(STAT_COLUMNS))
        self.table.setHorizontalHeaderLabels(STAT_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Shares of all starts of the grid, each run for the same number of steps; the steps "
                              "to converge are over the starts that end in a minimum")
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(controls)
        top_layout.addLayout(progress_row)
        top_layout.addWidget(self.state_label)
        top_layout.addWidget(self.graphics, 1)
        top_layout.addWidget(self.hover_label)
        top_layout.addWidget(self.legend)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.caption)
        bottom_layout.addWidget(self.table, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setSizes([520, 260])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.splitter)
        self.overlay = pg.ImageItem(axisOrder="row-major")
        self.overlay.setZValue(-7)  # over the surface picture (-10), under its contours (-5) and the paths
        self.overlay.setOpacity(OVERLAY_OPACITY)
        self.overlay.setVisible(False)
        if surface_plot is not None:
            surface_plot.addItem(self.overlay, ignoreBounds=True)
        self._update_state()

    @property
    def resolution(self) -> int:
        return int(self.resolution_combo.currentData())

    def set_resolution(self, n: int) -> None:
        self.resolution_combo.setCurrentIndex(self.resolution_combo.findData(n))

    # -- requests ---------------------------------------------------------------------------------------------
    def is_current(self) -> bool:
        """The shown maps are those of the model's current inputs."""
        return self.result is not None and self.result.key == basins_key(self._model.session, self.resolution)

    def is_busy(self) -> bool:
        return self.runner.is_busy()

    def shutdown(self) -> bool:
        return self.runner.shutdown()

    def refresh(self, *, debounce: bool = True) -> None:
        """Ask for the maps of the current inputs unless they are shown (only while the view or the overlay on the
        surface is visible)."""
        if self.result is not None and self.result.key[0] != basins_key(self._model.session, 1)[0]:
            self._show(None)  # another surface: the old maps would mislead
        if self.is_current() or not (self.isVisible() or self.overlay.isVisible()):
            self._update_state()
            return
        self.message = ""
        self.runner.request(self._model.session, self.resolution, debounce=debounce)
        self._update_state()

    def _on_resolution_combo_changed(self, _index: int) -> None:
        self._model.set_maps(basins_resolution=self.resolution)

    def _on_model_maps_changed(self) -> None:
        self.resolution_combo.blockSignals(True)
        self.set_resolution(self._model.maps.basins_resolution)
        self.resolution_combo.blockSignals(False)
        self._on_model_inputs_changed()  # nothing to do when the shown maps are of this grid

    def _on_model_inputs_changed(self, *_args) -> None:
        self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh(debounce=False)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.graphics and event.type() == QEvent.Type.Resize and self.result is not None:
            self._fit_plots()  # before the graphics view gives its central item the new size
        return super().eventFilter(watched, event)

    CANCELLED_TEXT = "Cancelled: press Compute for the maps of the current settings."

    def _state_text(self, busy: bool) -> str:
        if busy:
            return "Computing the basin maps…"
        if self.message:
            return self.message
        return "The maps are computed while this view is shown." if self.result is None else ""

    # -- drawing ----------------------------------------------------------------------------------------------
    def aspect(self) -> float:
        """The map's width / height in data units (a formula's view box need not be square)."""
        rect = self.grid_rect()
        return rect.width() / rect.height()

    def fitted_geometry(self, width: float, height: float, cols: int) -> tuple[int, int]:
        """(height, width) in pixels of each map in ``cols`` columns of a ``width`` × ``height`` graphics view."""
        w, h, _ = map_size(width, height, len(self.result.panels), cols, self.aspect())
        return h, w

    def _show(self, result: BasinsResult | None) -> None:
        self.result = result
        if result is None:
            self._layout_plots(0)
        else:
            self._fit_plots(rebuild=True)
        self._fill_table()
        self._fill_overlay_combo()
        self._update_state()

    def _fit_plots(self, rebuild: bool = False) -> None:
        """Size the panels so that each map fills its view box exactly, x and y at one scale, as large as the graphics
        view allows, the grid centred in it: rebuilt when the number of columns changes, resized when the size
        does, left alone otherwise (no layout storm while a splitter moves)."""
        width, height = self.graphics.width(), self.graphics.height()  # what the central item is given
        n, aspect = len(self.result.panels), self.aspect()
        cols = best_columns(width, height, n, aspect)
        if rebuild or cols != self._columns:
            self._layout_plots(cols)
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

    def _layout_plots(self, cols: int) -> None:
        """One small plot per panel in ``cols`` columns (sized by _fit_plots); outer plots carry the axes."""
        self.graphics.clear()
        self.plots, self.images = [], []
        self._columns, self._geometry = cols, ()
        result = self.result
        if result is None:
            self.legend.setText("")
            self.caption.setText("")
            return
        b = result.basins
        n = len(result.panels)
        colors = entry_colors(self._model.entries)
        rect = self.grid_rect()
        spots = [{"pos": tuple(p), "symbol": "star" if kind == "global" else "o", "size": 13 if kind == "global" else 8,
                  "pen": pg.mkPen("#000000", width=1), "brush": pg.mkBrush(*basin_colour(k))}
                 for k, (p, kind) in enumerate(zip(b.minima, b.minimum_kinds))]
        for i, panel in enumerate(result.panels):
            row, col = divmod(i, cols)
            axes = {"left": MapAxis("left"), "bottom": MapAxis("bottom")}
            plot = self.graphics.addPlot(row=row, col=col, axisItems=axes)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(False, False)
            plot.setAspectLocked(False)  # the panel's size keeps x and y at one scale: the range stays the map's
            for name in ("left", "bottom"):
                plot.getAxis(name).setStyle(tickLength=-4)
            plot.getAxis("left").setStyle(showValues=col == 0)
            plot.getAxis("bottom").setStyle(showValues=i + cols >= n,  # nothing below it
                                            hideOverlappingLabels=AXIS_PX // 2)  # an end label may reach the gutter
            plot.getAxis("left").setWidth(AXIS_PX)  # the same gutters everywhere: panels of one size
            plot.getAxis("bottom").setHeight(AXIS_PX - 6)
            color = colors[panel.entry] if panel.entry < len(colors) else None
            title = entry_title(self._model.entries[panel.entry]) if panel.entry < len(self._model.entries) else "?"
            if panel.map is None:
                title += " — not available"
            plot.setTitle(title, color=color.name() if color is not None else "#000000", size="9pt")
            let_title_overhang(plot.titleLabel)
            image = pg.ImageItem(axisOrder="row-major")
            if panel.map is not None:
                image.setImage(basin_rgba(panel.map.labels, panel.map.steps, b.budget), autoLevels=False)
                image.setRect(rect)
                image.setToolTip(panel.error)
            else:
                plot.getViewBox().setToolTip(panel.error)
            plot.addItem(image)
            markers = pg.ScatterPlotItem()
            shown = [s for s in spots if rect.contains(*s["pos"])]
            if len(shown) > MAX_MARKERS:  # Rastrigin's 121 would cover the map: its global minima only
                shown = [s for s in shown if s["symbol"] == "star"]
            markers.setData(shown)
            plot.addItem(markers)
            plot.setRange(rect, padding=0)
            self.graphics.ci.layout.setAlignment(plot, Qt.AlignmentFlag.AlignCenter)
            self.plots.append(plot)
            self.images.append(image)
        self._fill_legend()
        self.caption.setText(criterion_text(len(b.xs), b.budget)
                             + f" Computed in {b.seconds:.2f} s ({b.engine} engine, {b.device}).")

    def grid_rect(self) -> QRectF:
        """Where the map's pixels lie: each grid start at the centre of its pixel."""
        b = self.result.basins
        hx, hy = (b.xs[-1] - b.xs[0]) / (len(b.xs) - 1) / 2, (b.ys[-1] - b.ys[0]) / (len(b.ys) - 1) / 2
        return QRectF(b.xs[0] - hx, b.ys[0] - hy, b.xs[-1] - b.xs[0] + 2 * hx, b.ys[-1] - b.ys[0] + 2 * hy)

    def _fill_legend(self) -> None:
        b = self.result.basins
        parts = []
        for k, ((x, y), kind) in enumerate(zip(b.minima[:MAX_LEGEND], b.minimum_kinds)):
            r, g, bl = basin_colour(k)
            mark = "★" if kind == "global" else "●"
            parts.append(f"<span style='color: rgb({r},{g},{bl})'>■{mark}</span>&nbsp;{xy_text(x, y)}")
        if len(b.minima) > MAX_LEGEND:
            parts.append(f"… {len(b.minima)} minima, colours repeat every {MAX_LEGEND}")
        parts.append("<span style='color: #808080'>■</span>&nbsp;not&nbsp;converged")
        parts.append("<span style='color: #000000'>■</span>&nbsp;diverged")
        self.legend.setText("&nbsp;&nbsp; ".join(parts) + "<br><span style='color: #555555'>Darker: more steps to "
                            "converge (★ global, ● local minimum). Click a pixel to add that start point.</span>")

    def _fill_table(self) -> None:
        self.table.setRowCount(0)
        if self.result is None:
            return
        colors = entry_colors(self._model.entries)
        with_maps = [p for p in self.result.panels if p.map is not None]
        self.table.setRowCount(len(with_maps))
        for row, (panel, stats) in enumerate(zip(with_maps, self.result.stats)):
            name = QTableWidgetItem(color_icon(colors[panel.entry]), entry_title(self._model.entries[panel.entry]))
            self.table.setItem(row, 0, name)
            for col, text in enumerate(stat_texts(stats), start=1):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)

    def row_texts(self) -> list[list[str]]:
        """The race table as shown, row by row."""
        return [[self.table.item(r, c).text() for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]

    # -- overlay on the surface -------------------------------------------------------------------------------
    def _fill_overlay_combo(self) -> None:
        wanted = self.overlay_combo.currentData()
        self.overlay_combo.blockSignals(True)
        self.overlay_combo.clear()
        self.overlay_combo.addItem("none", -1)
        for panel in self.result.panels if self.result is not None else ():
            if panel.map is not None:
                self.overlay_combo.addItem(entry_title(self._model.entries[panel.entry]), panel.entry)
        self.overlay_combo.setCurrentIndex(max(0, self.overlay_combo.findData(wanted)))
        self.overlay_combo.blockSignals(False)
        self._update_overlay()

    def set_overlay(self, entry: int) -> None:
        """Lay entry ``entry``'s map over the surface view (-1: none)."""
        self.overlay_combo.setCurrentIndex(max(0, self.overlay_combo.findData(entry)))

    def _update_overlay(self) -> None:
        entry = self.overlay_combo.currentData()
        panel = self._panel_of(entry)
        if panel is None:
            self.overlay.setVisible(False)
            return
        self.overlay.setImage(basin_rgba(panel.map.labels, panel.map.steps, self.result.basins.budget),
                              autoLevels=False)
        self.overlay.setRect(self.grid_rect())
        self.overlay.setVisible(True)

    def _panel_of(self, entry):
        if self.result is None or entry is None or entry < 0:
            return None
        return next((p for p in self.result.panels if p.entry == entry and p.map is not None), None)

    # -- pointer ----------------------------------------------------------------------------------------------
    def cell_at(self, scene_pos) -> tuple[int, int, int] | None:
        """(panel index, row i, column j) of the grid start under a scene position, or None."""
        if self.result is None:
            return None
        b = self.result.basins
        for k, plot in enumerate(self.plots):
            vb = plot.getViewBox()
            if not vb.sceneBoundingRect().contains(scene_pos):
                continue
            p = vb.mapSceneToView(scene_pos)
            j = round((p.x() - b.xs[0]) / (b.xs[-1] - b.xs[0]) * (len(b.xs) - 1))
            i = round((p.y() - b.ys[0]) / (b.ys[-1] - b.ys[0]) * (len(b.ys) - 1))
            if 0 <= i < len(b.ys) and 0 <= j < len(b.xs):
                return k, i, j
        return None

    def _on_scene_mouse_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(ev.scenePos())
        if cell is None:
            return
        _, i, j = cell
        ev.accept()
        b = self.result.basins
        self._model.add_start(float(b.xs[j]), float(b.ys[i]))

    def _on_scene_mouse_moved(self, scene_pos) -> None:
        cell = self.cell_at(scene_pos)
        self.hover_label.setText(self.hover_text(*cell) if cell is not None else " ")

    def hover_text(self, k: int, i: int, j: int) -> str:
        """What the pixel (i, j) of panel k says."""
        b, panel = self.result.basins, self.result.panels[k]
        where = f"start {xy_text(b.xs[j], b.ys[i])}: "
        if panel.map is None:
            return where + "not available"
        label, steps = int(panel.map.labels[i, j]), int(panel.map.steps[i, j])
        if label == -2:
            return where + "diverged"
        if label == -1:
            return where + f"not converged in {b.budget} steps"
        kind = "global" if b.minimum_kinds[label] == "global" else "local"
        return where + f"{kind} minimum {xy_text(*b.minima[label])} after {steps} steps"
