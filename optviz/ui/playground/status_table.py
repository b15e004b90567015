"""Per optimizer, for the selected start point at the animation step: converged / diverged / still moving, and f."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from optviz.core.simulate import Paths
from optviz.ui.playground.colors import entry_colors, entry_title
from optviz.ui.playground.model import PlaygroundModel


def status_text(paths: Paths, row: int, start: int, step: int) -> str:
    """'converged at step k', 'diverged at step k' or 'still moving', as of ``step``."""
    state = paths.status(row, start, step)
    if state == "diverged":
        return f"diverged at step {int(paths.diverged_step[row, start])}"
    if state == "converged":
        return f"converged at step {int(paths.converged_step[row, start])}"
    return "still moving"


def loss_text(paths: Paths, row: int, start: int, step: int) -> str:
    value = paths.losses[row, start, step]
    if value != value:  # NaN: the path diverged before this step
        return "—"
    return f"{value:.6g}"


class StatusTable(QWidget):
    """A small table, one row per enabled optimizer, following the animation."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.caption = QLabel()
        self.caption.setWordWrap(True)  # its text must not set the column's minimum width
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Optimizer", "Status", "f"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table)
        model.result_changed.connect(self._on_model_changed)
        model.step_changed.connect(self._on_model_changed)
        model.selection_changed.connect(self._on_model_changed)
        self._on_model_changed()

    def row_texts(self) -> list[tuple[str, str, str]]:
        """What the table shows, row by row (for tests and the screenshot check)."""
        return [tuple(self.table.item(r, c).text() for c in range(3)) for r in range(self.table.rowCount())]

    def _on_model_changed(self, *_: object) -> None:
        model, result = self._model, self._model.result
        if result is None or not result.session.starts:
            self.caption.setText("No paths yet" if result is None else "No start points: double-click the surface")
            self.table.setRowCount(0)
            return
        start = min(max(model.selected, 0), len(result.session.starts) - 1)
        step = min(model.step, result.paths.steps)
        x, y = result.session.starts[start]
        preview = "  (preview while dragging)" if result.preview else ""
        self.caption.setText(f"Start {start + 1} at ({x:.3g}, {y:.3g}), step {step} of {result.paths.steps}{preview}")
        colors = entry_colors(result.session.optimizers)
        self.table.setRowCount(len(result.entries))
        for row, index in enumerate(result.entries):
            title = QTableWidgetItem(entry_title(result.session.optimizers[index]))
            title.setForeground(colors[index])
            cells = (title, QTableWidgetItem(status_text(result.paths, row, start, step)),
                     QTableWidgetItem(loss_text(result.paths, row, start, step)))
            for column, item in enumerate(cells):
                self.table.setItem(row, column, item)
