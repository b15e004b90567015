"""One collapsible side-panel section per optimizer entry: enable checkbox in its colour, hyperparameter form."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from optviz.core.session import OptimizerEntry
from optviz.ui.playground.colors import entry_title
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.widgets.hyper_panel import HyperPanel


def color_icon(color: QColor, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(color)
    return QIcon(pixmap)


def summary(entry: OptimizerEntry) -> str:
    """The header's short summary: lr and whatever else differs from the registry defaults."""
    changed = entry.choice.changed()
    parts = [f"lr {entry.choice.values['lr']:g}"]
    parts += [f"{k} {v:g}" if not isinstance(v, bool) else k for k, v in changed.items() if k != "lr"]
    return ", ".join(parts)


class OptimizerSection(QWidget):
    """Header (arrow, enable checkbox, summary) over a HyperPanel that the arrow shows or hides."""

    def __init__(self, model: PlaygroundModel, index: int, color: QColor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._index = index
        entry = model.entries[index]
        self.arrow = QToolButton()
        self.arrow.setArrowType(Qt.ArrowType.RightArrow)
        self.arrow.setCheckable(True)
        self.arrow.setAutoRaise(True)
        self.arrow.setToolTip("Show or hide the hyperparameters")
        self.enabled_box = QCheckBox(entry_title(entry))
        self.enabled_box.setIcon(color_icon(color))
        self.enabled_box.setToolTip(entry.choice.spec.doc)
        self.summary = QLabel()
        self.summary.setStyleSheet("color: palette(mid);")
        self.panel = HyperPanel(entry.choice.spec, entry.choice.values)
        self.panel.setVisible(False)
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.arrow)
        header.addWidget(self.enabled_box)
        header.addStretch(1)
        header.addWidget(self.summary)
        body = QVBoxLayout()
        body.setContentsMargins(24, 0, 0, 6)
        body.addWidget(self.panel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addLayout(body)
        self.arrow.toggled.connect(self._on_arrow_toggled)
        self.enabled_box.toggled.connect(self._on_enabled_box_toggled)
        self.panel.changed.connect(self._on_panel_changed)
        model.optimizer_changed.connect(self._on_model_optimizer_changed)
        self._on_model_optimizer_changed(index)

    def set_expanded(self, expanded: bool) -> None:
        self.arrow.setChecked(expanded)

    def _on_arrow_toggled(self, expanded: bool) -> None:
        self.arrow.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.panel.setVisible(expanded)

    def _on_enabled_box_toggled(self, enabled: bool) -> None:
        self._model.set_enabled(self._index, enabled)

    def _on_panel_changed(self, values: dict) -> None:
        self._model.set_hyper(self._index, values)

    def _on_model_optimizer_changed(self, index: int) -> None:
        if index != self._index:
            return
        entry = self._model.entries[index]
        self.enabled_box.blockSignals(True)
        self.enabled_box.setChecked(entry.enabled)
        self.enabled_box.blockSignals(False)
        self.panel.set_values(entry.choice.values)  # silent: HyperPanel.set_values emits nothing
        self.summary.setText(summary(entry))
