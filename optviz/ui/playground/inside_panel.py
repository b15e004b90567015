""""Inside the step": which optimizer to look inside, the internals plot and the update rule with its numbers."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from optviz.ui.playground.colors import entry_colors, entry_title
from optviz.ui.playground.internals_plot import QUANTITIES, InternalsPlot
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.optimizer_section import color_icon
from optviz.ui.playground.rule_panel import RulePanel
from optviz.ui.widgets.wheel import ComboBox


class InsidePanel(QWidget):
    """Optimizer and quantity choosers over the internals plot, the rule below it (the two in a splitter)."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.optimizer_combo = ComboBox()
        self.optimizer_combo.setToolTip("The optimizer whose steps the arrows on the surface, this plot and the "
                                        "rule show (for the selected start point)")
        self.quantity_combo = ComboBox()
        for combo in (self.optimizer_combo, self.quantity_combo):  # long titles must not widen the window
            combo.setSizeAdjustPolicy(ComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        for name, q in QUANTITIES.items():
            self.quantity_combo.addItem(q.title, name)
            self.quantity_combo.setItemData(self.quantity_combo.count() - 1, q.tip, Qt.ItemDataRole.ToolTipRole)
        self.plot = InternalsPlot(model)
        self.rule = RulePanel(model)
        rule_area = QScrollArea()
        rule_area.setWidgetResizable(True)
        rule_area.setFrameShape(QScrollArea.Shape.NoFrame)
        rule_area.setWidget(self.rule)
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(QLabel("Inside the step of"))
        header.addWidget(self.optimizer_combo, 1)
        header.addWidget(self.quantity_combo, 2)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("playground_inside")
        self.splitter.addWidget(self.plot)
        self.splitter.addWidget(rule_area)
        self.splitter.setSizes([170, 150])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.splitter, 1)
        self.optimizer_combo.activated.connect(self._on_optimizer_combo_activated)
        self.quantity_combo.activated.connect(self._on_quantity_combo_activated)
        model.optimizers_reset.connect(self._fill_optimizers)
        model.optimizer_changed.connect(self._fill_optimizers)
        model.inspected_changed.connect(self._fill_optimizers)
        model.result_changed.connect(self._update_quantities)
        model.inspected_changed.connect(self._on_model_inspected_changed)
        self._fill_optimizers()
        self._update_quantities()

    def _fill_optimizers(self, *_) -> None:
        """Every entry, the enabled ones first; the inspected one current."""
        model, combo = self._model, self.optimizer_combo
        colors = entry_colors(model.entries)
        order = sorted(range(len(model.entries)), key=lambda i: not model.entries[i].enabled)
        combo.blockSignals(True)
        combo.clear()
        for i in order:
            entry = model.entries[i]
            combo.addItem(color_icon(colors[i]), entry_title(entry) + ("" if entry.enabled else " (off)"), i)
        combo.setCurrentIndex(combo.findData(model.inspected))
        combo.blockSignals(False)

    def _update_quantities(self, *_) -> None:
        """Offer the quantities the inspected optimizer records; keep the user's choice where it has one."""
        available = self.plot.available()
        items = self.quantity_combo.model()
        for row in range(self.quantity_combo.count()):
            items.item(row).setEnabled(self.quantity_combo.itemData(row) in available)
        if self.plot.quantity not in available and available:
            self.plot.set_quantity(available[0])
        self.quantity_combo.blockSignals(True)
        self.quantity_combo.setCurrentIndex(self.quantity_combo.findData(self.plot.quantity))
        self.quantity_combo.blockSignals(False)

    def _on_model_inspected_changed(self, _index: int) -> None:
        """Another optimizer: show what tells most about it (its velocity, or its step sizes)."""
        inside = self.plot.inside
        if inside is not None:
            self.plot.set_quantity("momentum" if inside.has_velocity() else "step")
        self._update_quantities()

    def _on_optimizer_combo_activated(self, index: int) -> None:
        self._model.set_inspected(self.optimizer_combo.itemData(index))

    def _on_quantity_combo_activated(self, index: int) -> None:
        self.plot.set_quantity(self.quantity_combo.itemData(index))
