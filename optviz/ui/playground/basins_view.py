"""Basin-of-attraction maps of every enabled optimizer as small multiples, and the fair race beside them.

Each small plot shows one optimizer over the surface's view box: the pixel of a start is coloured by the minimum
its path ends in (marked on the plot in that colour: a star for a global minimum, a dot for a local one), darker
where it took more steps; grey: not converged within the steps, black: diverged. Clicking a pixel adds that start
to the playground. The maps are recomputed (debounced, off the GUI thread, with progress and Cancel) whenever
what they depend on changes while the view is shown; one of them can be laid over the surface view.
"""

from __future__ import annotations


import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from optviz.core.session import BASINS_RESOLUTIONS
from optviz.ui.playground.basins_tiles import BasinTiles, Tile, criterion_text, grid_rect, legend_html
from optviz.ui.playground.colors import entry_colors, entry_title
from optviz.ui.playground.map_data import BasinsResult, basin_rgba, basins_key, compute_basins
from optviz.ui.playground.map_jobs import MapControls, MapRunner
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.optimizer_section import color_icon
from optviz.ui.widgets.axes import xy_text
from optviz.ui.widgets.wheel import ComboBox

RESOLUTIONS = BASINS_RESOLUTIONS  # what the grid menu offers (session files take the same)
OVERLAY_OPACITY = 0.55
# Two-line headers and the % sign in them: the table fits the middle column of a 1400-pixel-wide window.
STAT_COLUMNS = ("Optimizer", "Global\nmin %", "Any\nmin %", "Diverged\n%", "Median\nsteps", "p90\nsteps")


class BasinsView(MapControls, QWidget):
    """Small multiples of the enabled optimizers' basin maps, a legend and the race statistics."""

    def __init__(self, model: PlaygroundModel, surface_plot: pg.PlotItem | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.result: BasinsResult | None = None
        self.message = ""  # why no map is shown / the last failure
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
        self.graphics.setMinimumHeight(160)
        self.tiles = BasinTiles(self.graphics)
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
            self.tiles.fit()  # before the graphics view gives its central item the new size
        return super().eventFilter(watched, event)

    CANCELLED_TEXT = "Cancelled: press Compute for the maps of the current settings."

    def _state_text(self, busy: bool) -> str:
        if busy:
            return "Computing the basin maps…"
        if self.message:
            return self.message
        return "The maps are computed while this view is shown." if self.result is None else ""

    # -- drawing ----------------------------------------------------------------------------------------------
    @property
    def plots(self) -> list[pg.PlotItem]:
        return self.tiles.plots

    @property
    def images(self) -> list[pg.ImageItem]:
        return self.tiles.images

    @property
    def _columns(self) -> int:
        return self.tiles.columns

    def aspect(self) -> float:
        """The map's width / height in data units (a formula's view box need not be square)."""
        return self.tiles.aspect()

    def fitted_geometry(self, width: float, height: float, cols: int) -> tuple[int, int]:
        """(height, width) in pixels of each map in ``cols`` columns of a ``width`` × ``height`` graphics view."""
        return self.tiles.fitted_geometry(width, height, cols)

    def grid_rect(self) -> QRectF:
        """Where the map's pixels lie: each grid start at the centre of its pixel."""
        return grid_rect(self.result.basins)

    def _show(self, result: BasinsResult | None) -> None:
        self.result = result
        self.tiles.show(None if result is None else result.basins, self._tiles())
        b = None if result is None else result.basins
        self.legend.setText("" if b is None else legend_html(b, "Click a pixel to add that start point."))
        self.caption.setText("" if b is None else criterion_text(len(b.xs), b.budget, b.tol, b.radius)
                             + f" Computed in {b.seconds:.2f} s ({b.engine} engine, {b.device}).")
        self._fill_table()
        self._fill_overlay_combo()
        self._update_state()

    def _tiles(self) -> list[Tile]:
        """One tile per panel of the result: its entry's title (as in the side panel)."""
        if self.result is None:
            return []
        entries = self._model.entries
        return [Tile(entry_title(entries[p.entry]) if p.entry < len(entries) else "?", p.map, p.error)
                for p in self.result.panels]

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
            for col, text in enumerate(stats.texts(), start=1):
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
