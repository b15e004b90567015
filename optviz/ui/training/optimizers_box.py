"""The optimizers of a training: one entry trains once, several race from the same initial weights.

The selected entry is edited with the playground's :class:`HyperPanel`, built from the registry.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from optviz.core.optimizers import REGISTRY, OptimizerChoice
from optviz.ui.widgets.hyper_panel import HyperPanel
from optviz.ui.widgets.wheel import ComboBox

if TYPE_CHECKING:
    from optviz.training.config import TrainConfig

WEIGHT_DECAY_TIP = "Set weight decay under Regularisation: it applies to every optimizer, L2 or decoupled"
# learning rates at which the three differ as textbooks say on LeNet / MNIST (SGD slowest, Adam fastest at first)
RACE_PRESET = {"sgd": {"lr": 0.03}, "momentum": {"lr": 0.01}, "adam": {"lr": 0.001}}


def _icon(name: str) -> QIcon:
    pixmap = QPixmap(10, 10)
    pixmap.fill(QColor(REGISTRY[name].color))
    return QIcon(pixmap)


def _describe(choice: OptimizerChoice) -> str:
    changed = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in choice.changed().items())
    return f"{choice.spec.title}" + (f"  ({changed})" if changed else "")


class OptimizersBox(QWidget):
    """A list of optimizer choices with +, − and "Race SGD/Momentum/Adam"; the selected one is edited below."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._choices: list[OptimizerChoice] = [OptimizerChoice("adam")]
        self.list = QListWidget()
        self.list.setMaximumHeight(84)
        self.list.currentRowChanged.connect(self._on_list_row_changed)
        self.add_button = QPushButton("+")
        self.add_button.setToolTip("Add an optimizer: several optimizers race from the same initial weights")
        self.remove_button = QPushButton("−")
        self.remove_button.setToolTip("Remove the selected optimizer")
        self.race_button = QPushButton("Race SGD · Momentum · Adam")
        self.race_button.setToolTip("Replace the list with SGD (lr 0.03), Momentum (lr 0.01) and Adam (lr 0.001)")
        self.add_button.clicked.connect(self._on_add_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.race_button.clicked.connect(self._on_race_clicked)
        self.kind = ComboBox()
        for name, spec in REGISTRY.items():
            self.kind.addItem(_icon(name), spec.title, name)
        self.kind.setToolTip("The selected entry's optimizer")
        self.kind.activated.connect(self._on_kind_activated)
        self.mode = QLabel()
        self.mode.setWordWrap(True)
        self.copy_button = QPushButton("Copy as PyTorch")
        self.copy_button.setToolTip("Put the torch.optim constructor of the selected optimizer on the clipboard")
        self.copy_button.clicked.connect(self.copy_as_pytorch)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button):
            b.setMaximumWidth(32)
            buttons.addWidget(b)
        buttons.addWidget(self.race_button, 1)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.list)
        self._layout.addLayout(buttons)
        self._layout.addWidget(self.mode)
        kind_row = QHBoxLayout()
        kind_row.addWidget(self.kind, 1)
        kind_row.addWidget(self.copy_button)
        self._layout.addLayout(kind_row)
        self.hypers: HyperPanel | None = None
        self.training_config: Callable[[], TrainConfig] | None = None  # for the copied text's decay and schedule
        self._race_allowed, self._race_tip = True, ""
        self.set_choices(self._choices)

    def choices(self) -> tuple[OptimizerChoice, ...]:
        return tuple(self._choices)

    def set_choices(self, choices: tuple[OptimizerChoice, ...] | list[OptimizerChoice]) -> None:
        """Show ``choices`` (at least one) without emitting ``changed``."""
        self._choices = list(choices) or [OptimizerChoice("adam")]
        self.list.blockSignals(True)
        self.list.clear()
        for choice in self._choices:
            self.list.addItem(QListWidgetItem(_icon(choice.name), _describe(choice)))
        self.list.setCurrentRow(0)
        self.list.blockSignals(False)
        self._edit(0)

    def set_race_allowed(self, allowed: bool, why: str = "") -> None:
        """Disable adding optimizers (e.g. during cross-validation), saying why in the tooltips."""
        self._race_allowed, self._race_tip = allowed, why
        self._update_buttons()

    def _update_buttons(self) -> None:
        for b, tip in ((self.add_button, "Add an optimizer: several optimizers race from the same initial weights"),
                       (self.race_button, "Replace the list with SGD (lr 0.03), Momentum (lr 0.01) and Adam (lr 0.001)")):
            b.setEnabled(self._race_allowed)
            b.setToolTip(tip if self._race_allowed else self._race_tip)
        self.remove_button.setEnabled(len(self._choices) > 1)
        n = len(self._choices)
        self.mode.setText("One optimizer: a single run." if n == 1 else
                          f"Race: {n} optimizers from the same initial weights and batches.")

    def copy_as_pytorch(self) -> str:
        """Put the selected entry's torch.optim constructor on the clipboard, with the training's weight decay and
        schedule where ``training_config`` is set (the panel sets it); returns the text."""
        from optviz.core.pytorch_text import pytorch_source, training_source
        from optviz.training.data import batches_per_epoch

        choice = self._choices[self.current_row()]
        if self.training_config is None:
            text = pytorch_source(choice)
        else:
            config = self.training_config()
            n_batches = batches_per_epoch(config)
            if n_batches is not None:
                text = training_source(choice, config, n_batches)
            else:  # a folder dataset: its size, hence the schedule's step counts, is known once it is loaded
                scheduled = config.schedule != "none" or config.warmup_epochs
                text = training_source(choice, dataclasses.replace(config, schedule="none", schedule_params={},
                                                                     warmup_epochs=0), 1)
                if scheduled:
                    text += (f"\n# schedule {config.schedule!r} (warm-up {config.warmup_epochs:g} epochs): stepped "
                             "once per batch; its step counts need the dataset's batches per epoch")
        QApplication.clipboard().setText(text)
        return text

    def current_row(self) -> int:
        return max(self.list.currentRow(), 0)

    def _edit(self, row: int) -> None:
        """Put the entry ``row`` into the combo box and a fresh HyperPanel."""
        choice = self._choices[row]
        self.kind.setCurrentIndex(self.kind.findData(choice.name))
        if self.hypers is not None:  # gone at once: deleteLater alone waits for an event loop to return
            self._layout.removeWidget(self.hypers)
            self.hypers.hide()
            self.hypers.setParent(None)
            self.hypers.deleteLater()
        self.hypers = HyperPanel(choice.name, choice.values)
        if "weight_decay" in self.hypers.spec.hyper_names and not choice.values.get("weight_decay"):
            self.hypers.editor("weight_decay").setEnabled(False)
            self.hypers.editor("weight_decay").setToolTip(WEIGHT_DECAY_TIP)
        self.hypers.changed.connect(self._on_hypers_changed)
        self._layout.addWidget(self.hypers)
        self._update_buttons()

    def _replace(self, row: int, choice: OptimizerChoice) -> None:
        self._choices[row] = choice
        item = self.list.item(row)
        item.setText(_describe(choice))
        item.setIcon(_icon(choice.name))
        self.changed.emit()

    def _on_list_row_changed(self, row: int) -> None:
        if 0 <= row < len(self._choices):
            self._edit(row)

    def _on_kind_activated(self, index: int) -> None:
        row = self.current_row()
        self._replace(row, OptimizerChoice(self.kind.itemData(index)))
        self._edit(row)

    def _on_hypers_changed(self, values: dict) -> None:
        row = self.current_row()
        self._replace(row, OptimizerChoice(self._choices[row].name, values))

    def _on_add_clicked(self) -> None:
        used = {c.name for c in self._choices}
        name = next((n for n in REGISTRY if n not in used), "adam")
        self._choices.append(OptimizerChoice(name))
        self.list.addItem(QListWidgetItem(_icon(name), _describe(self._choices[-1])))
        self.list.setCurrentRow(len(self._choices) - 1)
        self.changed.emit()

    def _on_remove_clicked(self) -> None:
        if len(self._choices) > 1:
            row = self.current_row()
            del self._choices[row]
            self.set_choices(self._choices)
            self.changed.emit()

    def _on_race_clicked(self) -> None:
        self.set_choices([OptimizerChoice(name, values) for name, values in RACE_PRESET.items()])
        self.changed.emit()
