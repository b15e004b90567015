"""One collapsible side-panel section per optimizer entry: enable checkbox in its colour, hyperparameter form."""

from __future__ import annotations

import importlib.util

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QCheckBox, QHBoxLayout, QPushButton, QToolButton, QVBoxLayout, QWidget

from optviz.core.session import OptimizerEntry
from optviz.ui.playground.colors import entry_title
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.run_settings import RunSettingsForm
from optviz.ui.playground.status_table import ElidedLabel
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
    if entry.choice.noise:
        parts.append(f"σ {entry.choice.noise:g}")
    if not entry.choice.schedule.is_constant:
        parts.append(entry.choice.schedule.name if entry.choice.schedule.name != "none" else "warm-up")
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
        self.summary = ElidedLabel()  # a long summary ends in '…' rather than widening the panel
        self.summary.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.summary.setStyleSheet("color: palette(mid);")
        self.panel = HyperPanel(entry.choice.spec, entry.choice.values)
        self.panel.setVisible(False)
        self.run_settings = RunSettingsForm(entry.choice, lambda: model.session.steps)
        self.run_settings.setToolTip("Not torch.optim's: Gaussian noise added to every gradient, and a schedule of lr")
        self.run_settings.setVisible(False)
        self.run_settings.changed.connect(self._on_run_settings_changed)
        self.copy_button = QPushButton("Copy as PyTorch")
        self.copy_button.setToolTip("Put the torch.optim code of these settings on the clipboard")
        self.copy_button.setVisible(False)
        self.copy_button.clicked.connect(self.copy_as_pytorch)
        if importlib.util.find_spec("optviz.core.pytorch_text") is None:  # until the core's text function lands
            self.copy_button.setEnabled(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        copy_action = QAction("Copy as PyTorch", self)
        copy_action.triggered.connect(self.copy_as_pytorch)
        self.addAction(copy_action)
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.arrow)
        header.addWidget(self.enabled_box)
        header.addWidget(self.summary, 1)
        body = QVBoxLayout()
        body.setContentsMargins(24, 0, 0, 6)
        body.addWidget(self.panel)
        body.addWidget(self.run_settings)
        body.addWidget(self.copy_button)
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
        self.run_settings.setVisible(expanded)
        self.copy_button.setVisible(expanded)
        if expanded and self._model.entries[self._index].enabled:
            self._model.set_inspected(self._index)  # the optimizer opened is the one looked inside

    def copy_as_pytorch(self) -> str:
        """Put this entry's torch.optim constructor (and scheduler) on the clipboard; returns the text."""
        from optviz.core.pytorch_text import pytorch_source

        text = pytorch_source(self._model.entries[self._index].choice, self._model.session.steps)
        QApplication.clipboard().setText(text)
        return text

    def _on_enabled_box_toggled(self, enabled: bool) -> None:
        self._model.set_enabled(self._index, enabled)

    def _on_panel_changed(self, values: dict) -> None:
        self._model.set_hyper(self._index, values)

    def _on_run_settings_changed(self, settings: dict) -> None:
        self._model.set_run_settings(self._index, **settings)

    def _on_model_optimizer_changed(self, index: int) -> None:
        if index != self._index:
            return
        entry = self._model.entries[index]
        self.enabled_box.blockSignals(True)
        self.enabled_box.setChecked(entry.enabled)
        self.enabled_box.blockSignals(False)
        self.panel.set_values(entry.choice.values)  # silent: HyperPanel.set_values emits nothing
        self.run_settings.set_choice(entry.choice)  # silent too
        self.summary.set_full_text(summary(entry))
