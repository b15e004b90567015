"""The runs list: every run with its colour, name, status and test accuracy; select several to overlay them."""

from __future__ import annotations

import math

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QGridLayout, QHeaderView, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from optviz.training.records import RunRecord
from optviz.ui.training.model import TrainingModel

# (on a light list, on a dark one): readable on either; "finished" is the list's own text colour, never greyed
STATUS_COLORS = {"diverged": ("#c62828", "#ff6b6b"), "failed": ("#c62828", "#ff6b6b"),
                 "stopped": ("#9a5b00", "#ffb000"), "running": ("#2e7d32", "#8fd18f")}
_ID = Qt.ItemDataRole.UserRole


def _swatch(color: str) -> QIcon:
    """The run's colour, framed so that it shows on the selection's highlight too."""
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor("#202020"))
    painter = QPainter(pixmap)
    painter.fillRect(1, 1, 10, 10, QColor(color))
    painter.end()
    return QIcon(pixmap)


class RunsView(QWidget):
    """A list over the model's runs; selecting in it selects in the model; the buttons act on the selected runs."""

    same_but_requested = Signal(int)  # run id: the tab copies its config into the panel
    export_csv_requested = Signal(int)  # run id: the tab asks where to write
    export_checkpoint_requested = Signal(int)
    landscape_requested = Signal(list)  # run ids (one, or two side by side): the tab opens the landscape window

    def __init__(self, model: TrainingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._from_tree = False
        self._items: dict[int, QTreeWidgetItem] = {}
        self._drawn: dict[int, tuple] = {}
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Run", "Status", "Test acc."])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked |
                                  QAbstractItemView.EditTrigger.EditKeyPressed)
        self.tree.setToolTip("Select several runs (Ctrl/Shift-click) to overlay their curves; double-click a name "
                             "to rename it")
        header = self.tree.header()  # the status and accuracy whole ("diverged at step 312"), the name takes the rest
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._on_tree_selection_changed)
        self.tree.itemChanged.connect(self._on_tree_item_changed)
        self.same_but = QPushButton("Same, but…")
        self.same_but.setToolTip("Copy the selected run's settings into the panel, to change one thing and run again")
        self.rename_button = QPushButton("Rename")
        self.rename_button.setToolTip("Rename the selected run")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Remove the selected runs from the list")
        self.export_csv = QPushButton("Export CSV…")
        self.export_csv.setToolTip("The selected run's metrics: one row per step, epoch columns at epoch ends")
        self.export_checkpoint = QPushButton("Export checkpoint…")
        self.export_checkpoint.setToolTip("The selected run's model and optimizer state (torch.save), with its config")
        self.landscape_button = QPushButton("Loss landscape…")
        self.landscape_button.setToolTip("The loss around the selected run's final weights, with its optimizer's "
                                         "path; select two finished runs (e.g. ResNet and PlainNet) to compare "
                                         "them side by side")
        self.landscape_button.clicked.connect(self._on_landscape_clicked)
        self.same_but.clicked.connect(lambda: self._emit_current(self.same_but_requested))
        self.rename_button.clicked.connect(self._on_rename_clicked)
        self.delete_button.clicked.connect(self._on_delete_clicked)
        self.export_csv.clicked.connect(lambda: self._emit_current(self.export_csv_requested))
        self.export_checkpoint.clicked.connect(lambda: self._emit_current(self.export_checkpoint_requested))
        self._tips = {b: b.toolTip() for b in (self.same_but, self.rename_button, self.delete_button,
                                               self.export_csv, self.export_checkpoint, self.landscape_button)}
        buttons = QGridLayout()
        for i, b in enumerate((self.same_but, self.rename_button, self.delete_button, self.export_csv,
                               self.export_checkpoint, self.landscape_button)):
            buttons.addWidget(b, i // 3, i % 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        model.run_added.connect(self._on_model_runs_changed)
        model.runs_updated.connect(self._on_model_runs_changed)
        model.run_renamed.connect(self._on_model_runs_changed)
        model.run_removed.connect(self._on_model_runs_changed)
        model.job_ended.connect(self._on_model_runs_changed)
        model.selection_changed.connect(self._on_model_selection_changed)
        self._update_buttons()

    # ---- model → view -----------------------------------------------------------------------------------------

    def _on_model_runs_changed(self, *_args) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Add, update and remove rows to match the model (cheap when nothing changed)."""
        self.tree.blockSignals(True)
        for run_id in [i for i in self._items if i not in self._model.runs]:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(self._items.pop(run_id)))
            self._drawn.pop(run_id, None)
        for record in self._model.runs:
            if record.id not in self._items:
                self._items[record.id] = self._new_item(record)
            drawn = (record.version, record.name)
            if self._drawn.get(record.id) != drawn:
                self._fill(self._items[record.id], record)
                self._drawn[record.id] = drawn
        self.tree.blockSignals(False)
        self._update_buttons()

    def _new_item(self, record: RunRecord) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.tree)
        item.setData(0, _ID, record.id)
        item.setIcon(0, _swatch(record.color))
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        return item

    def status_color(self, status: str) -> QColor:
        """The status column's text colour on this list's background."""
        palette = self.tree.palette()
        text = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text)
        if status not in STATUS_COLORS:
            return text
        dark = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Base).lightness() < 128
        return QColor(STATUS_COLORS[status][int(dark)])

    def _fill(self, item: QTreeWidgetItem, r: RunRecord) -> None:
        item.setText(0, r.name)
        item.setText(1, r.status_text())
        item.setForeground(1, self.status_color(r.status))
        fin = r.finished
        acc = fin.test_accuracy if fin else math.nan
        item.setText(2, f"{100 * acc:.1f}%" if math.isfinite(acc) else "")
        c = r.config
        steps = f" (max {c.max_steps} steps)" if c.max_steps else ""
        tip = (f"{r.name}\n{r.started.label} on {c.dataset}, {c.model}, {c.epochs} epoch(s){steps}, "
               f"batch {c.batch_size}, seed {c.seed}, device {r.started.device}")
        message = r.error or (fin.message if fin else "")
        item.setToolTip(0, tip)
        step = fin.step if fin and fin.status != "diverged" else r.metrics.step  # a diverged run's last good step
        item.setToolTip(1, message or f"{r.status_text()}: {r.when(step)}, {r.planned_steps} planned")

    # ---- selection --------------------------------------------------------------------------------------------

    def selected_ids(self) -> list[int]:
        """Selected runs in list order."""
        return [int(self.tree.topLevelItem(i).data(0, _ID)) for i in range(self.tree.topLevelItemCount())
                if self.tree.topLevelItem(i).isSelected()]

    def select(self, run_ids: list[int], current: int | None = None) -> None:
        """Select exactly ``run_ids`` in the model, ``current`` (default: the first) as the run pictured."""
        self._model.select(run_ids, current)

    def _on_model_selection_changed(self) -> None:
        if self._from_tree:  # the tree shows it already; re-selecting would move Qt's shift-click anchor
            return
        self.tree.blockSignals(True)  # silences itemSelectionChanged: the model already knows
        self.tree.selectionModel().clearSelection()  # (QTreeWidget.clearSelection() kept the items selected)
        for run_id in self._model.selected:
            if run_id in self._items:
                self._items[run_id].setSelected(True)
        current = self._model.current
        if current in self._items:
            self.tree.setCurrentItem(self._items[current], 0, QItemSelectionModel.SelectionFlag.NoUpdate)
        self.tree.blockSignals(False)
        self._update_buttons()

    def _on_tree_selection_changed(self) -> None:
        item = self.tree.currentItem()
        current = int(item.data(0, _ID)) if item is not None and item.isSelected() else None
        self._from_tree = True
        try:
            self._model.select(self.selected_ids(), current)
        finally:
            self._from_tree = False
        self._update_buttons()

    def _on_delete_clicked(self) -> None:
        self._model.remove(self.selected_ids())

    def _update_buttons(self) -> None:
        runs = self._model.runs
        ids = [i for i in self.selected_ids() if i in runs]
        running = any(runs.get(i).running for i in ids)
        no_checkpoint = self._model.checkpoint_problem(ids[0]) if len(ids) == 1 else "select one run"
        states = {self.same_but: (len(ids) == 1, "select one run"),
                  self.rename_button: (len(ids) == 1, "select one run"),
                  self.export_csv: (len(ids) == 1, "select one run"),
                  self.export_checkpoint: (not no_checkpoint, no_checkpoint),
                  self.delete_button: (bool(ids) and not running,
                                       "stop the running run first" if running else "select runs"),
                  self.landscape_button: self._landscape_state(ids)}
        for button, (enabled, why) in states.items():
            button.setEnabled(enabled)
            button.setToolTip(self._tips[button] + ("" if enabled else f"\n({why})"))

    def _landscape_state(self, ids: list[int]) -> tuple[bool, str]:
        if not 1 <= len(ids) <= 2:
            return False, "select one run, or two to compare"
        if any(self._model.runs.get(i).result is None for i in ids):
            return False, "select runs that have ended with weights (not running, failed or a fold)"
        return True, ""

    def _on_landscape_clicked(self) -> None:
        ids = [i for i in self.selected_ids() if i in self._model.runs]
        if self._landscape_state(ids)[0]:
            self.landscape_requested.emit(ids)

    def _emit_current(self, signal) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            signal.emit(ids[0])

    # ---- rename -----------------------------------------------------------------------------------------------

    def _on_rename_clicked(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            self.tree.editItem(self._items[ids[0]], 0)

    def _on_tree_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column != 0:
            return
        run_id = int(item.data(0, _ID))
        self._model.rename(run_id, item.text(0))
        if item.text(0) != self._model.runs.get(run_id).name:  # an empty name is refused: show the old one
            self.tree.blockSignals(True)
            item.setText(0, self._model.runs.get(run_id).name)
            self.tree.blockSignals(False)

    def rename(self, run_id: int, name: str) -> None:
        """Rename a run as if the user had edited its name."""
        self._items[run_id].setText(0, name)
