"""Per optimizer, for the selected start point at the animation step: converged / diverged / still moving and,
on a second line, where the path is (at which minimum, or its coordinates, or that it left the view); and f."""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QSizePolicy, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from optviz.core.simulate import Paths
from optviz.core.surfaces import Point
from optviz.ui.playground.colors import entry_colors, entry_title
from optviz.ui.playground.compute import shown_field, shown_result, surface_key
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.widgets.axes import xy_text

NEAR = 0.01  # a path within this fraction of the view box's larger side of a critical point is "near" it
AT = 1e-4  # … and within this fraction "at" it (Rastrigin's RMSProp jittering 0.07 from (0, 0), f = 0.98, is near)
_KIND_WORDS = {"global": "global minimum", "local": "local minimum", "saddle": "saddle point"}


def status_text(paths: Paths, row: int, start: int, step: int) -> str:
    """'converged at step k', 'diverged at step k' or 'still moving', as of ``step``."""
    state = paths.status(row, start, step)
    if state == "diverged":
        return f"diverged at step {int(paths.diverged_step[row, start])}"
    if state == "converged":
        return f"converged at step {int(paths.converged_step[row, start])}"
    return "still moving"


def place_text(paths: Paths, row: int, start: int, step: int, points: tuple[Point, ...],
               view: tuple[tuple[float, float], tuple[float, float]]) -> str:
    """Where the path is at ``step``: 'at local minimum (−2.81, 3.13)' when a listed critical point is within AT,
    'near local minimum (…)' within NEAR, else 'at (x, y)'; 'left the view' once it diverged."""
    (x0, x1), (y0, y1) = view
    d = int(paths.diverged_step[row, start])
    if 0 <= d <= step:
        return "left the view"
    x, y = (float(v) for v in paths.positions[row, start, step])
    if not (math.isfinite(x) and math.isfinite(y)):
        return "left the view"
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return f"outside the view at {xy_text(x, y)}"
    span = max(x1 - x0, y1 - y0)
    near = min(points, key=lambda p: math.hypot(p.x - x, p.y - y), default=None)
    distance = math.hypot(near.x - x, near.y - y) if near is not None else math.inf
    if distance <= NEAR * span:
        return f"{'at' if distance <= AT * span else 'near'} {_KIND_WORDS[near.kind]} {xy_text(near.x, near.y)}"
    return f"at {xy_text(x, y)}"


def loss_text(paths: Paths, row: int, start: int, step: int) -> str:
    value = paths.losses[row, start, step]
    if value != value:  # NaN: the path diverged before this step
        return "—"
    return f"{value:.6g}"


class ElidedLabel(QLabel):
    """One line that never sets its column's width and never wraps: text that does not fit ends in '…' and the
    whole text is in the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(1)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(1, self.width())))


class StatusTable(QWidget):
    """A small table, one row per enabled optimizer, following the animation.

    Every row is two lines tall whatever the column's width (a line that does not fit ends in '…', the whole text
    in the cell's tooltip), so the height that shows every row is known from the number of rows alone
    (:meth:`height_for_rows`) and stays put while the animation changes the texts."""

    rows_changed = Signal(int)  # the number of rows, when it changes

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.caption = ElidedLabel()
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Optimizer", "Status", "f"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        for column, mode in enumerate((QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Stretch,
                                       QHeaderView.ResizeMode.ResizeToContents)):
            header.setSectionResizeMode(column, mode)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setMinimumSectionSize(1)
        rows.setDefaultSectionSize(2 * self.table.fontMetrics().lineSpacing() + 4)  # the status's two lines
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table)
        model.result_changed.connect(self._on_model_changed)
        model.step_changed.connect(self._on_model_changed)
        model.selection_changed.connect(self._on_model_changed)
        model.surface_changed.connect(self._on_model_changed)
        model.field_changed.connect(self._on_model_changed)
        self._on_model_changed()

    def height_for_rows(self, rows: int) -> int:
        """This widget's height that shows the caption, the column titles and ``rows`` whole rows."""
        table = self.table
        bar = table.horizontalScrollBar()
        bar_height = bar.sizeHint().height() if bar.isVisible() else 0
        layout = self.layout()
        return (self.caption.sizeHint().height() + layout.spacing() + 2 * table.frameWidth()
                + table.horizontalHeader().sizeHint().height() + rows * table.verticalHeader().defaultSectionSize()
                + bar_height)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        rows = max(self.table.rowCount(), sum(e.enabled for e in self._model.entries))
        return QSize(super().sizeHint().width(), self.height_for_rows(rows))

    def row_texts(self) -> list[tuple[str, ...]]:
        """What the table shows, row by row (for tests and the screenshot check)."""
        return [tuple(self.table.item(r, c).text() for c in range(self.table.columnCount()))
                for r in range(self.table.rowCount())]

    def _on_model_changed(self, *_: object) -> None:
        model, result = self._model, shown_result(self._model)
        if result is None or not result.session.starts:
            waiting = model.result is not None or bool(model.session.starts)
            self.caption.set_full_text("computing…" if waiting and result is None
                                       else "No start points: double-click the surface")
            self._set_row_count(0)
            return
        start = min(max(model.selected, 0), len(result.session.starts) - 1)
        step = min(model.step, result.paths.steps)
        x, y = result.session.starts[start]
        preview = f" (preview: first {result.paths.steps} of {result.session.steps} steps)" if result.preview else ""
        self.caption.set_full_text(f"Start {start + 1} at {xy_text(x, y)}, step {step} of {result.paths.steps}{preview}")
        field = shown_field(model)
        points = ()
        if field is not None and field.key == surface_key(result.session):
            points = (field.minima or ()) + (field.saddles or ())
        view = model.surface.view
        colors = entry_colors(result.session.optimizers)
        self._set_row_count(len(result.entries))
        for row, index in enumerate(result.entries):
            title = QTableWidgetItem(entry_title(result.session.optimizers[index]))
            title.setForeground(colors[index])
            status = (f"{status_text(result.paths, row, start, step)}\n"
                      f"{place_text(result.paths, row, start, step, points, view)}")
            cells = (title, QTableWidgetItem(status), QTableWidgetItem(loss_text(result.paths, row, start, step)))
            for column, item in enumerate(cells):
                item.setToolTip(item.text())  # the whole text where the column is too narrow for it
                self.table.setItem(row, column, item)

    def _set_row_count(self, rows: int) -> None:
        if rows != self.table.rowCount():
            self.table.setRowCount(rows)
            self.updateGeometry()
            self.rows_changed.emit(rows)
