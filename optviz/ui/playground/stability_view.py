"""Stability map: one optimizer from the selected start, its final loss over lr (log axis) and a second
hyperparameter (momentum, beta1, beta2, alpha) or as an lr strip.

Colour: log10 of the final f − f* (true values on the colour bar); red cells diverged. The ring marks the
optimizer's current values (the caption says so when they lie outside the map). Clicking a cell sets those values
in the side panel, and the surface view shows the path. While a start point is dragged the map follows it
(throttled: one job at a time, the newest position next).

The settings (second axis, cells, the lr range "from … to") live in the model (``model.maps``, saved with the
session): a widget's change goes to the model, and the model's ``maps_changed`` sets the widgets back.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from optviz.core.params import ParamError, quote
from optviz.core.session import MAX_LR, STABILITY_CELLS, check_lr_range, lr_allowed
from optviz.ui.playground.colors import entry_title
from optviz.ui.playground.map_data import StabilityResult, compute_stability, stability_key, y_choices
from optviz.ui.playground.map_jobs import MapControls, MapRunner
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.stability_plot import DIVERGED_RGBA, StabilityPlot, caption_head  # noqa: F401 — its red
from optviz.ui.widgets.spin_boxes import LogSpinBox
from optviz.ui.widgets.wheel import ComboBox

RESOLUTIONS = STABILITY_CELLS
AROUND = 100.0  # "Around current": the lr range from the current lr ÷ AROUND to × AROUND


def cell_value(value: float, log: bool) -> float:
    """A cell's value as the click sets it: 4 significant digits on the log axis, 4 decimals on a linear one."""
    return float(f"{value:.4g}") if log else round(float(value), 4)


class StabilityView(MapControls, QWidget):
    """The stability map of one optimizer entry from the selected start point."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.result: StabilityResult | None = None
        self.message = ""
        self.range_message = ""  # what is wrong with the lr range typed in the boxes ("": nothing)
        self._caption = ("", "")  # the caption around what it says of the current values
        self.runner = MapRunner(compute_stability, debounce_ms=200, parent=self)
        self._connect_runner()
        self._build()
        model.optimizers_reset.connect(self._fill_optimizer_combo)
        model.optimizer_changed.connect(self._on_model_optimizer_changed)
        model.inspected_changed.connect(self._fill_optimizer_combo)  # the playground's selected optimizer
        model.inputs_changed.connect(self._on_model_inputs_changed)
        model.selection_changed.connect(self._on_setting_changed)
        model.maps_changed.connect(self._on_model_maps_changed)
        self._show_settings()
        self._fill_optimizer_combo()

    def _build(self) -> None:
        self.optimizer_combo = ComboBox()
        self.optimizer_combo.setToolTip("The optimizer whose hyperparameters are mapped (the inspected optimizer, "
                                        "as in the internals panel)")
        self.optimizer_combo.currentIndexChanged.connect(self._on_optimizer_combo_changed)
        self.optimizer_combo.activated.connect(self._on_optimizer_combo_activated)
        self.axis_combo = ComboBox()
        self.axis_combo.setToolTip("The hyperparameter on the vertical axis (lr only: a strip)")
        self.axis_combo.currentIndexChanged.connect(self._on_axis_combo_changed)
        self.axis_combo.activated.connect(self._on_axis_combo_changed)  # the shown axis chosen: it is wanted
        self.resolution_combo = ComboBox()
        for n in RESOLUTIONS:
            self.resolution_combo.addItem(f"{n}", n)
        self.resolution_combo.setToolTip("Values per axis")
        self.resolution_combo.currentIndexChanged.connect(self._on_resolution_combo_changed)
        self._build_controls()
        for combo in (self.optimizer_combo, self.axis_combo, self.resolution_combo):
            combo.setSizeAdjustPolicy(ComboBox.SizeAdjustPolicy.AdjustToContents)
        controls = QHBoxLayout()  # three short rows, so that the column can be narrow
        controls.setContentsMargins(0, 0, 0, 0)
        for widget in (self.optimizer_combo, QLabel("lr ×"), self.axis_combo, QLabel("Cells"), self.resolution_combo):
            controls.addWidget(widget)
        controls.addStretch(1)
        range_row = self._build_range_row()
        progress_row = QHBoxLayout()
        progress_row.setContentsMargins(0, 0, 0, 0)
        progress_row.addWidget(self.progress, 1)
        progress_row.addStretch(0)  # keeps the button at the right while the bar is hidden
        progress_row.addWidget(self.action_button)
        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        self.map = StabilityPlot()
        self.plot_widget, self.plot, self.current = self.map.widget, self.map.plot, self.map.current
        self.image, self.diverged_image, self.colorbar = self.map.image, self.map.diverged_image, self.map.colorbar
        self.plot_widget.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        self.plot_widget.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.hover_label = QLabel(" ")
        self.hover_label.setStyleSheet("color: #555555;")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #555555;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(controls)
        layout.addLayout(range_row)
        layout.addWidget(self.range_label)
        layout.addLayout(progress_row)
        layout.addWidget(self.state_label)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.hover_label)
        layout.addWidget(self.caption)
        layout.addStretch(0)
        self._update_state()

    def _build_range_row(self) -> QHBoxLayout:
        """"lr from [ ] to [ ]" and "Around current"; the range's problem goes to ``range_label`` below."""
        tip = ("The lr axis of the map: from {} (log axis; allowed: {}, from below to). Typed values like 1e-5 "
               "count at Enter; the arrows step 1-2-5, PageUp/PageDown by a decade.")
        self.lr_low_box = LogSpinBox(0.0, MAX_LR)
        self.lr_high_box = LogSpinBox(0.0, MAX_LR)
        for box, word in ((self.lr_low_box, "from"), (self.lr_high_box, "to")):
            box.setToolTip(tip.format("the smallest lr" if word == "from" else "… to the largest lr",
                                      lr_allowed()))
            box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            box.setMinimumWidth(70)
            box.valueChanged.connect(self._on_lr_box_changed)
            box.text_accepted.connect(self._on_lr_box_changed)  # a good text again after a refused one
            box.refused.connect(lambda text, word=word: self._on_lr_box_refused(word, text))
        self.around_button = QPushButton("Around current")
        self.around_button.setToolTip(f"The lr range from the current lr ÷ {AROUND:g} to × {AROUND:g} (within the "
                                      "lr the optimizer allows)")
        self.around_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.around_button.clicked.connect(self._on_around_button_clicked)
        self.range_label = QLabel()
        self.range_label.setWordWrap(True)
        self.range_label.setStyleSheet("color: #b00020;")
        self.range_label.setVisible(False)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel("lr from"), self.lr_low_box, QLabel("to"), self.lr_high_box):
            row.addWidget(widget, 1 if isinstance(widget, LogSpinBox) else 0)
        row.addWidget(self.around_button)
        return row

    # -- what is asked for ------------------------------------------------------------------------------------
    @property
    def entry(self) -> int:
        """The mapped optimizer entry (-1 when none)."""
        data = self.optimizer_combo.currentData()
        return -1 if data is None else int(data)

    @property
    def y_name(self) -> str:
        return self.axis_combo.currentData() or ""

    @property
    def resolution(self) -> int:
        return self._model.maps.stability_cells

    @property
    def lr_range(self) -> tuple[float, float]:
        """The lr axis's ends (the model's: the boxes may hold a pair that was refused)."""
        return self._model.maps.stability_lr

    def set_entry(self, entry: int) -> None:
        """Map entry ``entry`` (it becomes the playground's inspected optimizer)."""
        self._model.set_inspected(entry)

    def set_y_name(self, name: str) -> None:
        """Choose the second axis as the user does ("": the strip)."""
        self.axis_combo.setCurrentIndex(self.axis_combo.findData(name))

    def set_resolution(self, n: int) -> None:
        self.resolution_combo.setCurrentIndex(self.resolution_combo.findData(n))

    def _key(self) -> tuple | None:
        model = self._model
        if self.entry < 0 or model.selected < 0:
            return None
        return stability_key(model.session, self.entry, model.starts[model.selected], self.y_name, self.resolution,
                             self.lr_range)

    def is_current(self) -> bool:
        key = self._key()
        return key is not None and self.result is not None and self.result.key == key

    def is_busy(self) -> bool:
        return self.runner.is_busy()

    def shutdown(self) -> bool:
        return self.runner.shutdown()

    def refresh(self, *, debounce: bool = True, interim: bool = False) -> None:
        """Ask for the map of the current inputs unless it is shown (only while the view is visible)."""
        key = self._key()
        if key is None:
            self._show(None)
            self.message = "Select a start point (click one on the surface)." if self.entry >= 0 else \
                "Add an optimizer in the side panel."
        elif self.result is not None and self.result.key[0] != key[0]:
            self._show(None)  # another surface
        if key is None or self.is_current() or not self.isVisible():
            self._update_state()
            return
        self.message = ""
        model = self._model
        self.runner.request(model.session, self.entry, model.starts[model.selected], self.y_name, self.resolution,
                            self.lr_range, debounce=debounce and not interim, interim=interim)
        self._update_state()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh(debounce=False)

    def _on_model_inputs_changed(self, dragging: bool) -> None:
        self.refresh(interim=bool(dragging))

    def _on_setting_changed(self, *_args) -> None:
        self.refresh()

    # -- settings: widget → model, model → widgets ------------------------------------------------------------
    def _on_axis_combo_changed(self, _index: int) -> None:
        self._model.set_maps(stability_y=self.y_name or "strip")

    def _on_resolution_combo_changed(self, _index: int) -> None:
        self._model.set_maps(stability_cells=int(self.resolution_combo.currentData()))

    def _on_lr_box_changed(self, *_args) -> None:
        self.set_lr_range(self.lr_low_box.value(), self.lr_high_box.value())

    def _on_lr_box_refused(self, word: str, text: str) -> None:
        self._set_range_message(f"lr range: {word} must be {lr_allowed(*self._lr_bounds())}, got {quote(text)}")

    def _on_around_button_clicked(self) -> None:
        if self.entry >= 0:
            self.set_lr_range(*self.range_around(self._model.entries[self.entry].choice.values["lr"]))

    def set_lr_range(self, low: float, high: float) -> bool:
        """Map lr from ``low`` to ``high`` if the mapped optimizer allows both and low < high; otherwise the view
        says why (the map and the model stay as they were). Returns whether the range was taken."""
        try:
            pair = check_lr_range(low, high, *self._lr_bounds())
        except ParamError as exc:
            self._set_range_message(f"lr range: {exc}")
            return False
        self._set_range_message("")
        self._model.set_maps(stability_lr=pair)
        return True

    def range_around(self, lr: float) -> tuple[float, float]:
        """lr ÷ AROUND … lr × AROUND (4 significant digits), inside the mapped optimizer's lr bounds."""
        lowest, highest = self._lr_bounds()
        low = max(lr / AROUND, lowest)
        return float(f"{low:.4g}"), float(f"{min(lr * AROUND, highest):.4g}")

    def _lr_bounds(self) -> tuple[float, float]:
        """The lr the mapped optimizer allows (the registry's bounds)."""
        if self.entry < 0:
            return 0.0, MAX_LR
        spec = self._model.entries[self.entry].choice.spec.hyper("lr")
        return spec.low or 0.0, spec.high if spec.high is not None else MAX_LR

    def _set_range_message(self, text: str) -> None:
        self.range_message = text
        self.range_label.setText(text)
        self.range_label.setVisible(bool(text))

    def _on_model_maps_changed(self) -> None:
        self._show_settings()
        self.refresh()

    def _show_settings(self) -> None:
        """The model's map settings in the widgets (their own signals blocked: nothing goes back)."""
        maps = self._model.maps
        low, high = maps.stability_lr
        for widget, set_value in ((self.lr_low_box, lambda: _set_box(self.lr_low_box, low)),
                                  (self.lr_high_box, lambda: _set_box(self.lr_high_box, high)),
                                  (self.resolution_combo, lambda: self.set_resolution(maps.stability_cells)),
                                  (self.axis_combo, self._select_axis)):
            widget.blockSignals(True)
            set_value()
            widget.blockSignals(False)
        self._set_range_message("")

    def _select_axis(self) -> None:
        """The model's second axis where the optimizer has it ("strip": lr only), else the optimizer's first."""
        wanted = self._model.maps.stability_y
        at = self.axis_combo.findData("" if wanted == "strip" else wanted) if wanted != "auto" else -1
        self.axis_combo.setCurrentIndex(at if at >= 0 else 0)

    def _on_model_optimizer_changed(self, index: int) -> None:
        self._update_current_marker()
        self._fill_optimizer_combo()

    def _fill_optimizer_combo(self, *_args) -> None:
        """Every entry, enabled ones first in the list's order; the model's inspected entry is the current one."""
        wanted = self._model.inspected
        old = self.entry
        entries = self._model.entries
        order = [i for i, e in enumerate(entries) if e.enabled] + [i for i, e in enumerate(entries) if not e.enabled]
        self.optimizer_combo.blockSignals(True)
        self.optimizer_combo.clear()
        for i in order:
            off = "" if entries[i].enabled else " (off)"
            self.optimizer_combo.addItem(entry_title(entries[i]) + off, i)
        at = self.optimizer_combo.findData(wanted)
        self.optimizer_combo.setCurrentIndex(at if at >= 0 else 0)
        self.optimizer_combo.blockSignals(False)
        if self.entry != old or self.axis_combo.count() == 0:
            self._on_optimizer_combo_changed()

    def _on_optimizer_combo_activated(self, _index: int) -> None:
        self._model.set_inspected(self.entry)  # the inspected optimizer, here and in the internals panel

    def _on_optimizer_combo_changed(self, *_args) -> None:
        self.axis_combo.blockSignals(True)
        self.axis_combo.clear()
        if self.entry >= 0:
            for name in y_choices(self._model.entries[self.entry].choice):
                self.axis_combo.addItem(name or "(strip)", name)
        self._select_axis()
        self.axis_combo.blockSignals(False)
        self.refresh()

    # -- progress ---------------------------------------------------------------------------------------------
    def _can_compute(self) -> bool:
        return not self.is_current() and self._key() is not None

    def _state_text(self, busy: bool) -> str:
        return self.message if not busy else ""

    # -- drawing ----------------------------------------------------------------------------------------------
    def cell_rect(self) -> QRectF:
        """Where the cells lie in plot coordinates (log10 lr across; the y values, or 0..1 for a strip)."""
        return self.map.cell_rect()

    def _show(self, result: StabilityResult | None) -> None:
        self.result = result
        self.map.show(None if result is None else result.sweep, None if result is None else result.colour)
        if result is None:
            self._caption = ("", "")
            self.caption.setText("")
            self._update_state()
            return
        s = result.sweep
        head = caption_head(s, entry_title(self._model.entries[result.entry]), result.f_star_known)
        tail = f". Click a cell to use its values. {s.seconds * 1e3:.0f} ms, {s.engine} engine, {s.device}."
        self._caption = (head, tail)  # the current values' words go between (_update_current_marker)
        self._update_current_marker()
        self._update_state()

    def _update_current_marker(self) -> None:
        """The ring at the current values, or the caption saying which of them lies outside the map."""
        r = self.result
        if r is None or r.entry >= len(self._model.entries):
            return
        s, values = r.sweep, self._model.entries[r.entry].choice.values
        outside = [f"current {name} {values[name]:g} is outside the map" for name, axis in
                   ((s.x_name, s.x_values), (s.y_name, s.y_values)) if name and not _within(values[name], axis)]
        x = math.log10(values["lr"]) if values["lr"] > 0 else float("nan")
        y = values[s.y_name] if s.y_name else 0.5
        self.current.setData([] if outside else [x], [] if outside else [y])
        ring = "; ".join(outside) + ", so no ○" if outside else "○ the current values"
        self.caption.setText(self._caption[0] + ring + self._caption[1])

    # -- pointer ----------------------------------------------------------------------------------------------
    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        """(row i, column j) of the cell under a scene position, or None."""
        return None if self.result is None else self.map.cell_at(scene_pos)

    def cell_values(self, i: int, j: int) -> dict[str, float]:
        """The hyperparameter values a click on cell (i, j) sets."""
        s = self.result.sweep
        values = {s.x_name: cell_value(s.x_values[j], True)}
        if s.y_name:
            values[s.y_name] = cell_value(s.y_values[i], False)
        return values

    def _on_scene_mouse_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(ev.scenePos())
        if cell is None:
            return
        ev.accept()
        entry = self.result.entry
        values = {**self._model.entries[entry].choice.values, **self.cell_values(*cell)}
        try:
            self._model.set_hyper(entry, values)
        except ParamError as exc:
            self.message = str(exc)
            self._update_state()
            return
        self._model.set_enabled(entry, True)

    def _on_scene_mouse_moved(self, scene_pos) -> None:
        cell = self.cell_at(scene_pos)
        self.hover_label.setText(self.hover_text(*cell) if cell is not None else " ")

    def hover_text(self, i: int, j: int) -> str:
        s = self.result.sweep
        where = ", ".join(f"{k} = {v:g}" for k, v in self.cell_values(i, j).items())
        if s.diverged[i, j]:
            return f"{where}: diverged"
        return f"{where}: final f − f* = {s.final_loss[i, j] - self.result.f_star:.3g}"


def _set_box(box: LogSpinBox, value: float) -> None:
    """``value`` in ``box``, its text too (a refused text that the model's value replaces)."""
    box.setValue(value)
    box.lineEdit().setText(box.textFromValue(box.value()))


def _within(value: float, axis: np.ndarray) -> bool:
    """Whether ``value`` lies between an axis's first and last values (a float's last digit aside)."""
    lo, hi = float(axis[0]), float(axis[-1])
    slack = 1e-9 * max(abs(lo), abs(hi))
    return lo - slack <= value <= hi + slack

