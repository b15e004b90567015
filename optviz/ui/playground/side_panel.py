"""The playground's side panel: surface and its parameters, steps and device, one section per optimizer."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from optviz.core.devices import DEVICE
from optviz.core.session import STEPS
from optviz.core.custom import CUSTOM
from optviz.core.surfaces import SURFACES
from optviz.ui.playground.colors import entry_colors
from optviz.ui.playground.formula_box import FormulaBox
from optviz.ui.playground.wells_editor import WellsBox
from optviz.ui.playground.fan_items import FAN_SEEDS
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.optimizer_section import OptimizerSection
from optviz.ui.playground.regularization import PenaltyForm, surface_params
from optviz.ui.widgets.devices import DEVICE_TITLES, offer_available_devices
from optviz.ui.widgets.scroll import VerticalScrollArea, wrap_long_rows
from optviz.ui.widgets.spec_form import SpecForm
from optviz.ui.widgets.wheel import ComboBox

MIN_WIDTH = 260  # the panel is never narrower, even where its forms could be (a field under its label)
HELP = ("Double-click the surface to add a start point; drag to move it; right-click or Delete removes the "
        "selected one; arrow keys nudge it (Shift: ×10). Scroll/drag empty space to zoom/pan.")


class SidePanel(VerticalScrollArea):
    """Edits the model's surface, run settings and optimizers; scrolls up and down, never cut at the right."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(MIN_WIDTH, parent)
        self._model = model
        self._surface_name: tuple = ()
        self.params_form: SpecForm | None = None
        self.param_editors: dict[str, QWidget] = {}
        self.sections: list[OptimizerSection] = []
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
        model.surface_changed.connect(self._on_model_surface_changed)
        model.optimizers_reset.connect(self._on_model_optimizers_reset)
        model.steps_changed.connect(self._on_model_steps_changed)
        model.device_changed.connect(self._on_model_device_changed)
        self._on_model_surface_changed()
        self._on_model_optimizers_reset()
        self._on_model_steps_changed(model.session.steps)
        self._on_model_device_changed(model.session.device)
        wrap_long_rows(body)

    def _surface_box(self) -> QGroupBox:
        box = QGroupBox("Surface")
        self._surface_layout = QFormLayout(box)
        self.surface_combo = ComboBox()
        for surface in SURFACES.values():
            self.surface_combo.addItem(surface.title, surface.name)
        self.surface_combo.addItem("Custom formula…", CUSTOM)
        self.surface_combo.currentIndexChanged.connect(self._on_surface_combo_changed)
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.formula_box = FormulaBox(self._model)  # shown for "Custom formula…"
        self._surface_layout.addRow(self.surface_combo)
        self._surface_layout.addRow(self.formula)
        self._surface_layout.addRow(self.formula_box)
        self.wells_box = WellsBox(self._model)  # shown on the wells surface
        self._surface_layout.addRow(self.wells_box)
        self.penalty_form = PenaltyForm(self._model)  # L1 / L2 and α (issue #12)
        self._surface_layout.addRow(self.penalty_form)
        return box

    def _run_box(self) -> QGroupBox:
        box = QGroupBox("Run")
        self.run_form = SpecForm((STEPS, DEVICE, FAN_SEEDS), titles={"device": DEVICE_TITLES})
        offer_available_devices(self.run_form)
        self.steps_box = self.run_form.editor("steps")
        self.device_combo = self.run_form.editor("device")
        self.run_form.changed.connect(self._on_run_form_changed)
        QVBoxLayout(box).addWidget(self.run_form)
        return box

    # -- model → widgets (each blocks the widget's own signals) ------------------------------------------------
    def _on_model_surface_changed(self) -> None:
        surface = self._model.surface
        self.surface_combo.blockSignals(True)
        self.surface_combo.setCurrentIndex(self.surface_combo.findData(surface.name))
        self.surface_combo.blockSignals(False)
        self.formula.setText(f"f = {surface.formula}")
        custom = surface.name == CUSTOM
        self.formula.setVisible(not custom)
        self.formula_box.setVisible(custom)
        self.wells_box.setVisible(surface.name == "wells")
        if custom:
            self.formula_box.show_surface(surface)
        specs, values = surface_params(surface, self._model.session.penalty)  # the penalty's α is the penalty form's
        if (surface.name, [p.name for p in specs]) != self._surface_name:
            self._rebuild_param_editors()
        self.params_form.set_values(values)

    def _rebuild_param_editors(self) -> None:
        surface = self._model.surface
        specs, values = surface_params(surface, self._model.session.penalty)
        if self.params_form is not None:
            self._surface_layout.removeRow(self.params_form)
        self.params_form = SpecForm(specs, values, owner=f"surface {surface.name}")
        self.params_form.changed.connect(self._on_params_form_changed)
        self.param_editors = {p.name: self.params_form.editor(p.name) for p in specs}
        self._surface_layout.insertRow(self._surface_layout.getWidgetPosition(self.penalty_form)[0], self.params_form)
        self.params_form.setVisible(bool(specs) and self._model.session.wells is None)  # wells: on the plot
        wrap_long_rows(self.params_form)
        self._surface_name = (surface.name, [p.name for p in specs])

    def _on_model_optimizers_reset(self) -> None:
        for section in self.sections:
            self._optimizer_layout.removeWidget(section)
            section.deleteLater()
        colors = entry_colors(self._model.entries)
        self.sections = [OptimizerSection(self._model, i, colors[i]) for i in range(len(self._model.entries))]
        for section in self.sections:
            self._optimizer_layout.addWidget(section)
            wrap_long_rows(section)
        if self.sections:
            self.sections[0].set_expanded(True)  # show once where the hyperparameters are

    def _on_model_steps_changed(self, steps: int) -> None:
        self.run_form.set_values({"steps": steps})  # silent: SpecForm.set_values emits nothing

    def _on_model_device_changed(self, device: str) -> None:
        self.run_form.set_values({"device": device})

    # -- widgets → model ---------------------------------------------------------------------------------------
    def _on_surface_combo_changed(self, index: int) -> None:
        name = self.surface_combo.itemData(index)
        if name == CUSTOM:
            self.formula.setVisible(False)
            self.formula_box.setVisible(True)
            self.formula_box.apply()  # the formula in the box (an example the first time)
            return
        self._model.set_surface(name)

    def _on_params_form_changed(self, values: dict) -> None:
        current = surface_params(self._model.surface, self._model.session.penalty)[1]
        for name in (n for n, v in values.items() if v != current[n]):
            self._model.set_surface_param(name, values[name])

    def _on_run_form_changed(self, values: dict) -> None:
        self._model.set_steps(values["steps"])
        self._model.set_device(values["device"])
        self._model.set_fan(values["fan"])
