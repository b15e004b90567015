"""The playground's side panel: surface and its parameters, steps and device, one section per optimizer."""

from __future__ import annotations

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QLabel, QScrollArea, QSpinBox, QVBoxLayout,
                               QWidget)

from optviz.core.session import MAX_STEPS
from optviz.core.surfaces import SURFACES, Param
from optviz.ui.playground.colors import entry_colors
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.optimizer_section import OptimizerSection
from optviz.ui.widgets.spin_boxes import LogSpinBox, NumberSpinBox

DEVICES = (("Auto", "auto"), ("CPU", "cpu"), ("CUDA", "cuda"))
HELP = ("Double-click the surface to add a start point; drag to move it; right-click or Delete removes the "
        "selected one; arrow keys nudge it (Shift: ×10). Scroll/drag empty space to zoom/pan.")


def param_editor(param: Param) -> NumberSpinBox:
    box = LogSpinBox(param.low, param.high) if param.log else NumberSpinBox(param.low, param.high, decimals=4)
    if not param.log:
        box.setSingleStep((param.high - param.low) / 50)
    box.setToolTip(f"{param.doc or param.name}: allowed [{param.low:g}, {param.high:g}], default {param.default:g}")
    return box


class SidePanel(QScrollArea):
    """Edits the model's surface, run settings and optimizers."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._surface_name = ""
        self.param_editors: dict[str, NumberSpinBox] = {}
        self.sections: list[OptimizerSection] = []
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        self._layout = QVBoxLayout(body)
        self._layout.addWidget(self._surface_box())
        self._layout.addWidget(self._run_box())
        self._optimizer_box = QGroupBox("Optimizers")
        self._optimizer_layout = QVBoxLayout(self._optimizer_box)
        self._optimizer_layout.setSpacing(0)
        self._layout.addWidget(self._optimizer_box)
        help_label = QLabel(HELP)
        help_label.setWordWrap(True)
        help_label.setStyleSheet("color: #555555;")
        self._layout.addWidget(help_label)
        self._layout.addStretch(1)
        self.setWidget(body)
        self.setMinimumWidth(260)
        model.surface_changed.connect(self._on_model_surface_changed)
        model.optimizers_reset.connect(self._on_model_optimizers_reset)
        model.steps_changed.connect(self._on_model_steps_changed)
        model.device_changed.connect(self._on_model_device_changed)
        self._on_model_surface_changed()
        self._on_model_optimizers_reset()
        self._on_model_steps_changed(model.session.steps)
        self._on_model_device_changed(model.session.device)

    def _surface_box(self) -> QGroupBox:
        box = QGroupBox("Surface")
        self._params_form = QFormLayout(box)
        self.surface_combo = QComboBox()
        for surface in SURFACES.values():
            self.surface_combo.addItem(surface.title, surface.name)
        self.surface_combo.currentIndexChanged.connect(self._on_surface_combo_changed)
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self._params_form.addRow(self.surface_combo)
        self._params_form.addRow(self.formula)
        return box

    def _run_box(self) -> QGroupBox:
        box = QGroupBox("Run")
        form = QFormLayout(box)
        self.steps_box = QSpinBox()
        self.steps_box.setRange(1, MAX_STEPS)
        self.steps_box.setSingleStep(50)
        self.steps_box.setKeyboardTracking(False)
        self.steps_box.setAccelerated(True)
        self.steps_box.valueChanged.connect(self._on_steps_box_changed)
        self.device_combo = QComboBox()
        for text, value in DEVICES:
            self.device_combo.addItem(text, value)
        if not torch.cuda.is_available():
            item = self.device_combo.model().item(2)
            item.setEnabled(False)
            item.setToolTip("No CUDA device is available")
        self.device_combo.setToolTip("Auto uses CUDA only for large batches of start points")
        self.device_combo.currentIndexChanged.connect(self._on_device_combo_changed)
        form.addRow("Steps", self.steps_box)
        form.addRow("Device", self.device_combo)
        return box

    # -- model → widgets (each blocks the widget's own signals) ------------------------------------------------
    def _on_model_surface_changed(self) -> None:
        surface = self._model.surface
        self.surface_combo.blockSignals(True)
        self.surface_combo.setCurrentIndex(self.surface_combo.findData(surface.name))
        self.surface_combo.blockSignals(False)
        self.formula.setText(f"f = {surface.formula}")
        if surface.name != self._surface_name:
            self._rebuild_param_editors()
        for name, value in surface.param_values().items():
            editor = self.param_editors[name]
            editor.blockSignals(True)
            editor.setValue(value)
            editor.blockSignals(False)

    def _rebuild_param_editors(self) -> None:
        surface = self._model.surface
        for _ in self.param_editors:
            self._params_form.removeRow(2)
        self.param_editors = {}
        for param in surface.params:
            editor = param_editor(param)
            editor.valueChanged.connect(lambda v, name=param.name: self._on_param_editor_changed(name, v))
            self.param_editors[param.name] = editor
            self._params_form.addRow(param.doc.capitalize() + f" ({param.name})" if param.doc else param.name, editor)
        self._surface_name = surface.name

    def _on_model_optimizers_reset(self) -> None:
        for section in self.sections:
            self._optimizer_layout.removeWidget(section)
            section.deleteLater()
        colors = entry_colors(self._model.entries)
        self.sections = [OptimizerSection(self._model, i, colors[i]) for i in range(len(self._model.entries))]
        for section in self.sections:
            self._optimizer_layout.addWidget(section)
        if self.sections:
            self.sections[0].set_expanded(True)  # show once where the hyperparameters are

    def _on_model_steps_changed(self, steps: int) -> None:
        self.steps_box.blockSignals(True)
        self.steps_box.setValue(steps)
        self.steps_box.blockSignals(False)

    def _on_model_device_changed(self, device: str) -> None:
        self.device_combo.blockSignals(True)
        self.device_combo.setCurrentIndex(self.device_combo.findData(device))
        self.device_combo.blockSignals(False)

    # -- widgets → model ---------------------------------------------------------------------------------------
    def _on_surface_combo_changed(self, index: int) -> None:
        self._model.set_surface(self.surface_combo.itemData(index))

    def _on_param_editor_changed(self, name: str, value: float) -> None:
        self._model.set_surface_param(name, value)

    def _on_steps_box_changed(self, steps: int) -> None:
        self._model.set_steps(steps)

    def _on_device_combo_changed(self, index: int) -> None:
        self._model.set_device(self.device_combo.itemData(index))
