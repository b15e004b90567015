""""Inside the step": which optimizer to look inside, the internals plot and the update rule with its numbers."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import (
    QLabel,
    QLayout,
    QLayoutItem,
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


class WrapRow(QLayout):
    """Widgets left to right at their size hints, wrapping to a new line where the next one does not fit whole;
    the last widget of a line takes what is left of it. Each line is as tall as its tallest widget, the others
    centred in it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._lines: list[list[QLayoutItem]] = []  # as last laid out

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 (Qt override)
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        if not 0 <= index < len(self._items):
            return None
        self._lines = []  # laid out again before it is read
        return self._items.pop(index)

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        """Everything on one line."""
        hints = [item.sizeHint() for item in self._shown()]
        width = sum(h.width() for h in hints) + self.spacing() * max(0, len(hints) - 1)
        return self._with_margins(QSize(width, max((h.height() for h in hints), default=0)))

    def minimumSize(self) -> QSize:  # noqa: N802
        """One widget a line, each at its minimum width."""
        m = self.contentsMargins()
        width = max((item.minimumSize().width() for item in self._shown()), default=0) + m.left() + m.right()
        return QSize(width, self.heightForWidth(width))

    def lines(self) -> list[list[QWidget]]:
        """The widgets of each line as laid out now (for tests)."""
        return [[item.widget() for item in line] for line in self._lines]

    def _shown(self) -> list[QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _with_margins(self, size: QSize) -> QSize:
        m = self.contentsMargins()
        return QSize(size.width() + m.left() + m.right(), size.height() + m.top() + m.bottom())

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        """Lay the widgets out in ``rect`` (or only measure); returns the height they take."""
        area = rect.marginsRemoved(self.contentsMargins())
        gap = self.spacing()
        lines: list[list[QLayoutItem]] = [[]]
        used = 0
        for item in self._shown():
            width = item.sizeHint().width()
            if lines[-1] and used + gap + width > area.width():
                lines.append([])
                used = 0
            used += (gap if lines[-1] else 0) + width
            lines[-1].append(item)
        lines = [line for line in lines if line]
        if move:
            self._lines = lines
        y = area.top()
        for line in lines:
            height = max(item.sizeHint().height() for item in line)
            x = area.left()
            for item in line:
                width = area.right() + 1 - x if item is line[-1] else item.sizeHint().width()
                width = max(item.minimumSize().width(), min(width, item.maximumSize().width()))
                item_height = min(height, item.maximumSize().height())
                if move:
                    item.setGeometry(QRect(x, y + (height - item_height) // 2, width, item_height))
                x += width + gap
            y += height + gap
        return max(0, y - gap - area.top()) + self.contentsMargins().top() + self.contentsMargins().bottom()


class InsidePanel(QWidget):
    """Optimizer and quantity choosers over the internals plot, the rule below it (the two in a splitter)."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.optimizer_combo = ComboBox()
        self.optimizer_combo.setToolTip("The optimizer whose steps the arrows on the surface, this plot and the "
                                        "rule show (for the selected start point)")
        self.quantity_combo = ComboBox()
        for combo in (self.optimizer_combo, self.quantity_combo):
            # Each asks for its longest item (the row wraps to make room); the explicit minimum keeps a long title
            # from widening the window when the column is narrower than that.
            combo.setSizeAdjustPolicy(ComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setMinimumWidth(combo.fontMetrics().horizontalAdvance("Momentum") + 40)
        for name, q in QUANTITIES.items():
            self.quantity_combo.addItem(q.title, name)
            self.quantity_combo.setItemData(self.quantity_combo.count() - 1, q.tip, Qt.ItemDataRole.ToolTipRole)
        self.plot = InternalsPlot(model)
        self.rule = RulePanel(model)
        rule_area = QScrollArea()
        rule_area.setWidgetResizable(True)
        rule_area.setFrameShape(QScrollArea.Shape.NoFrame)
        rule_area.setWidget(self.rule)
        self.header = WrapRow()  # one line where the column is wide enough, else the quantity under the optimizer
        self.header.setContentsMargins(0, 0, 0, 0)
        self.header.setSpacing(6)
        for widget in (QLabel("Inside the step of"), self.optimizer_combo, self.quantity_combo):
            self.header.addWidget(widget)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("playground_inside")
        self.splitter.addWidget(self.plot)
        self.splitter.addWidget(rule_area)
        self.splitter.setSizes([170, 150])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 0)
        layout.addLayout(self.header)
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
