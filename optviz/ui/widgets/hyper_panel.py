"""Edit one optimizer's hyperparameters: a :class:`SpecForm` of its registry entry and a reset button.

Reused by the playground side panel and the training tab. Only values that ``OptimizerSpec.resolve`` accepts are
ever emitted; a refused entry is shown at its field with the registry's message until it is corrected.
"""

from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from optviz.core.optimizers import REGISTRY, OptimizerSpec
from optviz.ui.widgets.spec_form import SpecForm


class HyperPanel(QWidget):
    """A form of one optimizer's hyperparameters with a "Reset to torch defaults" button."""

    changed = Signal(dict)  # the full, validated values dict after a user edit or a reset

    def __init__(self, spec: OptimizerSpec | str, values: Mapping[str, Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._spec = spec if isinstance(spec, OptimizerSpec) else REGISTRY[spec]
        self.form = SpecForm(self._spec.hypers, check=self._spec.resolve, owner=f"optimizer {self._spec.name}")
        self.reset_button = QPushButton("Reset to torch defaults")
        self.reset_button.setToolTip("Registry defaults: torch.optim's, except momentum = 0.9 for the momentum entries")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form)
        layout.addWidget(self.reset_button)
        self.set_values(values or {})
        self.form.changed.connect(self.changed)
        self.reset_button.clicked.connect(self._on_reset_clicked)

    @property
    def spec(self) -> OptimizerSpec:
        return self._spec

    def editor(self, name: str) -> QWidget:
        """The spin box or checkbox editing hyperparameter ``name``."""
        return self.form.editor(name)

    def values(self) -> dict[str, float | bool]:
        """The current values: always a dict that ``OptimizerSpec.resolve`` accepts."""
        return self.form.values()

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show ``values`` (missing names keep their current value) without emitting ``changed``.

        Raises HyperparameterError, changing nothing, if a name or value is not allowed by the registry.
        """
        self.form.set_values(values)

    def reset(self) -> None:
        """Back to the registry defaults (a refused entry is dropped too); emits ``changed``."""
        self.form.clear_problems()
        self.form.set_values(self._spec.defaults())
        self.changed.emit(self.values())

    def _on_reset_clicked(self) -> None:
        self.reset()
