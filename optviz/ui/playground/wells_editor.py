"""Editing the wells surface on the plot: a handle per Gaussian well (or hill) that the mouse moves and reshapes.

While the editor is active (the side panel's "Edit wells on the plot", on the wells surface): a click on empty
surface adds a well (Shift+click: a hill), dragging a handle moves its well, the wheel over a handle deepens it
(up) or flattens it (down, on through 0 into a hill; Shift+wheel: wider or narrower), right-click removes it.
The wheel changes a well only over its handle; everywhere else it zooms as before. Every edit is a new value of
the model's wells (``PlaygroundModel.set_wells``), so the paths, picture and critical points follow live (a
preview while a handle is dragged) and a saved session keeps the wells.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from optviz.core.custom import MAX_WELLS, WELL_DEPTH, WELL_WIDTH, wells_of
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.start_handles import StartHandle

DEPTH_STEP = 0.1  # per wheel notch
WIDTH_FACTOR = 1.1  # per Shift+wheel notch
NEW_WELL, NEW_HILL = (1.0, 0.6), (-0.8, 0.6)  # depth, width of a click's well / Shift+click's hill
_WELL_PEN, _HILL_PEN = pg.mkPen("#4dd2ff", width=2), pg.mkPen("#ff8a4d", width=2)
_HOVER_PEN = pg.mkPen("#ffe14d", width=3)
_BRUSH = pg.mkBrush(0, 0, 0, 60)
_LABEL = {"color": "#ffffff", "offset": (10, 10), "fill": pg.mkBrush(0, 0, 0, 150)}  # readable on yellow too
HELP = ("Click: add a well · Shift+click: a hill · drag a square: move it · wheel over it: deeper or flatter "
        "(Shift: wider or narrower) · right-click: remove")
TIP = ("Well: drag to move · wheel: deeper (up) or flatter (down; below 0 it becomes a hill) · Shift+wheel: wider "
       "or narrower · right-click: remove")


class WellHandle(StartHandle):
    """A start handle's clicks (right: remove; left: taken, so no new well appears under it), plus the wheel
    (reshape)."""

    sigWheel = Signal(object, int, bool)  # handle, notches (up > 0), shift held

    def wheelEvent(self, ev) -> None:  # noqa: N802 — only over a handle; the view zooms everywhere else
        notches = ev.delta() / 120
        if notches:
            ev.accept()
            self.sigWheel.emit(self, int(round(notches)) or (1 if notches > 0 else -1),
                               bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        else:
            ev.ignore()


class WellsEditor(QObject):
    """Keeps one WellHandle per well of the model's wells surface while active, and turns mouse edits into
    ``model.set_wells`` calls."""

    active_changed = Signal(bool)

    def __init__(self, model: PlaygroundModel, plot: pg.PlotItem, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model, self._plot = model, plot
        self.handles: list[WellHandle] = []
        self._wells: list[tuple[float, float, float, float]] = []
        self._active = False
        plot.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        model.surface_changed.connect(self._on_model_surface_changed)

    # -- state ------------------------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Editing is on and the surface is the wells surface."""
        return self._active and self._model.session.surface == "wells" and not self._model.session.formula

    def set_active(self, on: bool) -> None:
        if bool(on) != self._active:
            self._active = bool(on)
            self._on_model_surface_changed()
            self.active_changed.emit(self._active)

    def wells(self) -> list[tuple[float, float, float, float]]:
        return list(self._wells)

    def is_dragging(self) -> bool:
        return any(h.moving for h in self.handles)

    # -- model → handles ---------------------------------------------------------------------------------------
    def _on_model_surface_changed(self) -> None:
        self._wells = list(wells_of(self._model.surface)) if self.active else []
        while len(self.handles) > len(self._wells):
            self._plot.removeItem(self.handles.pop())
        while len(self.handles) < len(self._wells):
            self.handles.append(self._new_handle())
        for handle, (x, y, depth, width) in zip(self.handles, self._wells):
            if not handle.moving:  # the dragged handle is where the mouse is
                handle.blockSignals(True)
                handle.setPos((x, y))
                handle.blockSignals(False)
            handle.setPen(_WELL_PEN if depth >= 0 else _HILL_PEN)
            handle.setLabel(f"{'well' if depth >= 0 else 'hill'} {abs(depth):.2g} · w {width:.2g}", dict(_LABEL))

    def _new_handle(self) -> WellHandle:
        handle = WellHandle(size=14, symbol="s", pen=_WELL_PEN, hoverPen=_HOVER_PEN, brush=_BRUSH, hoverBrush=_BRUSH,
                            label="", labelOpts=_LABEL)
        handle.setZValue(29)  # under the start points' handles
        handle.setToolTip(TIP)
        handle.sigPositionChanged.connect(self._on_handle_position_changed)
        handle.sigPositionChangeFinished.connect(self._on_handle_position_change_finished)
        handle.sigWheel.connect(self._on_handle_wheel)
        handle.sigRemoveRequested.connect(self._on_handle_remove_requested)
        self._plot.addItem(handle)
        return handle

    # -- handles and clicks → model ----------------------------------------------------------------------------
    def _set(self, wells: list, dragging: bool = False) -> None:
        self._model.set_wells(wells, dragging=dragging)

    def _moved(self, handle: WellHandle, dragging: bool) -> None:
        i = self.handles.index(handle)
        pos = handle.pos()
        x = min(max(pos.x(), -8.0), 8.0)
        y = min(max(pos.y(), -8.0), 8.0)
        wells = self.wells()
        wells[i] = (x, y, *wells[i][2:])
        self._set(wells, dragging)

    def _on_handle_position_changed(self, handle: WellHandle) -> None:
        self._moved(handle, handle.moving)

    def _on_handle_position_change_finished(self, handle: WellHandle) -> None:
        self._moved(handle, False)

    def _on_handle_wheel(self, handle: WellHandle, notches: int, shift: bool) -> None:
        i = self.handles.index(handle)
        wells = self.wells()
        x, y, depth, width = wells[i]
        if shift:
            width = min(max(width * WIDTH_FACTOR**notches, WELL_WIDTH.low), WELL_WIDTH.high)
        else:
            depth = round(min(max(depth + DEPTH_STEP * notches, WELL_DEPTH.low), WELL_DEPTH.high), 10)
        wells[i] = (x, y, depth, width)
        self._set(wells)

    def _on_handle_remove_requested(self, handle: WellHandle) -> None:
        wells = self.wells()
        del wells[self.handles.index(handle)]
        self._set(wells)

    def add_well(self, x: float, y: float, *, hill: bool = False) -> bool:
        """A new well (or hill) at (x, y); False when MAX_WELLS are already there."""
        wells = list(wells_of(self._model.surface))
        if len(wells) >= MAX_WELLS:
            return False
        depth, width = NEW_HILL if hill else NEW_WELL
        self._set(wells + [(float(x), float(y), depth, width)])
        return True

    def _on_scene_mouse_clicked(self, ev) -> None:
        if not self.active or ev.button() != Qt.MouseButton.LeftButton or ev.isAccepted() or ev.double():
            return
        vb = self._plot.getViewBox()
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        if any(isinstance(item, pg.TargetItem) for item in self._plot.scene().items(ev.scenePos())):
            return  # a start point or a well: theirs
        point = vb.mapSceneToView(ev.scenePos())
        ev.accept()
        self.add_well(point.x(), point.y(), hill=bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier))


class WellsBox(QWidget):
    """The side panel's wells controls: editing on the plot on or off, a blank bowl, the built-in wells back."""

    edit_toggled = Signal(bool)

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit_box = QCheckBox("Edit the wells on the plot")
        self.edit_box.setToolTip(HELP)
        self.edit_box.toggled.connect(self.edit_toggled)
        layout.addWidget(self.edit_box)
        buttons = QHBoxLayout()
        self.blank_button = QPushButton("Blank bowl")
        self.blank_button.setToolTip("Remove every well (then click on the plot to add your own)")
        self.blank_button.clicked.connect(self._on_blank_button_clicked)
        self.reset_button = QPushButton("Built-in wells")
        self.reset_button.setToolTip("The wells surface as it comes")
        self.reset_button.clicked.connect(self._on_reset_button_clicked)
        buttons.addWidget(self.blank_button)
        buttons.addWidget(self.reset_button)
        layout.addLayout(buttons)
        self.hint = QLabel(HELP)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #555555;")
        self.hint.setVisible(False)
        layout.addWidget(self.hint)
        self.edit_box.toggled.connect(self.hint.setVisible)

    def _on_blank_button_clicked(self) -> None:
        self._model.set_wells(())
        self.edit_box.setChecked(True)

    def _on_reset_button_clicked(self) -> None:
        self._model.set_surface("wells")
