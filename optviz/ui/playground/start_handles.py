"""Draggable start points on the surface view: one TargetItem per start, kept in step with the model."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal

from optviz.ui.playground.model import PlaygroundModel

_PEN = pg.mkPen("#ffffff", width=2)
_SELECTED_PEN = pg.mkPen("#ffe14d", width=3)
_BRUSH = pg.mkBrush(0, 0, 0, 90)
_HOVER_PEN = pg.mkPen("#ffe14d", width=3)


class StartHandle(pg.TargetItem):
    """A TargetItem that reports left clicks (select) and right clicks (remove)."""

    sigClicked = Signal(object)
    sigRemoveRequested = Signal(object)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.RightButton and not self.moving:
            ev.accept()
            self.sigRemoveRequested.emit(self)
            return
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.sigClicked.emit(self)
            return
        super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev) -> None:  # noqa: N802
        if ev.isStart() and ev.button() == Qt.MouseButton.LeftButton:
            self.sigClicked.emit(self)  # dragging a point selects it
        super().mouseDragEvent(ev)


class StartHandles(QObject):
    """Creates, moves and removes the StartHandles of a plot as the model's start points change."""

    def __init__(self, model: PlaygroundModel, plot: pg.PlotItem, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._plot = plot
        self.handles: list[StartHandle] = []
        model.starts_changed.connect(self._on_model_starts_changed)
        model.selection_changed.connect(self._on_model_selection_changed)
        self._on_model_starts_changed()

    def is_dragging(self) -> bool:
        return any(h.moving for h in self.handles)

    def _on_model_starts_changed(self) -> None:
        starts = self._model.starts
        while len(self.handles) > len(starts):
            self._plot.removeItem(self.handles.pop())
        while len(self.handles) < len(starts):
            self.handles.append(self._new_handle(len(self.handles)))
        for handle, point in zip(self.handles, starts):
            handle.blockSignals(True)  # model → view: no echo back into the model
            handle.setPos(point)
            handle.blockSignals(False)
        self._on_model_selection_changed(self._model.selected)

    def _new_handle(self, index: int) -> StartHandle:
        handle = StartHandle(size=16, symbol="o", pen=_PEN, hoverPen=_HOVER_PEN, brush=_BRUSH, hoverBrush=_BRUSH,
                             label=str(index + 1), labelOpts={"color": "#ffffff", "offset": (10, -10)})
        handle.setZValue(30)
        handle.setToolTip("Start point: drag to move, right-click or Delete to remove, arrow keys to nudge")
        handle.sigPositionChanged.connect(self._on_handle_position_changed)
        handle.sigPositionChangeFinished.connect(self._on_handle_position_change_finished)
        handle.sigClicked.connect(self._on_handle_clicked)
        handle.sigRemoveRequested.connect(self._on_handle_remove_requested)
        self._plot.addItem(handle)
        return handle

    def _on_model_selection_changed(self, index: int) -> None:
        for i, handle in enumerate(self.handles):
            handle.setPen(_SELECTED_PEN if i == index else _PEN)

    def _on_handle_position_changed(self, handle: StartHandle) -> None:
        pos = handle.pos()
        self._model.move_start(self.handles.index(handle), pos.x(), pos.y(), dragging=handle.moving)

    def _on_handle_position_change_finished(self, handle: StartHandle) -> None:
        pos = handle.pos()
        self._model.move_start(self.handles.index(handle), pos.x(), pos.y(), dragging=False)

    def _on_handle_clicked(self, handle: StartHandle) -> None:
        self._model.select_start(self.handles.index(handle))

    def _on_handle_remove_requested(self, handle: StartHandle) -> None:
        self._model.remove_start(self.handles.index(handle))
