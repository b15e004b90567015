"""Edit one optimizer's hyperparameters: a form built from its registry entry.

Reused by the playground side panel and the training tab. Only values that pass the registry's validation are
ever emitted: the spin boxes refuse non-numeric text and clamp to the registry range, and the whole dict goes
through ``OptimizerSpec.resolve`` before ``changed`` fires.
"""

from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QPushButton, QVBoxLayout, QWidget

from optviz.core.optimizers import REGISTRY, Hyper, HyperparameterError, OptimizerSpec
from optviz.ui.widgets.spin_boxes import LogSpinBox, NumberSpinBox

_DECIMALS = 6  # linear entries: enough for beta2 = 0.999999
_LOG_FLOOR = {"lr": 1e-6, "eps": 1e-12}  # where stepping up from 0 lands


def _bounds(h: Hyper, decimals: int) -> tuple[float, float]:
    """The spin box range: the registry's, pulled in by one unit of the last digit at an open end."""
    unit = 10.0**-decimals
    low = h.low + unit if h.low_open else h.low
    high = h.high - unit if h.high_open else h.high
    return low, high


def _tooltip(h: Hyper, spec: OptimizerSpec) -> str:
    default = spec.defaults()[h.name]
    text = f"{h.name}: {h.doc + '; ' if h.doc else ''}allowed: {h.allowed()}; default {default:g}"
    if h.log:
        text += "\nArrows step 1-2-5, PageUp/PageDown ×10/÷10; type e.g. 3e-4"
    return text


class HyperPanel(QWidget):
    """A form of one optimizer's hyperparameters with a "Reset to torch defaults" button."""

    changed = Signal(dict)  # the full, validated values dict after a user edit or a reset

    def __init__(self, spec: OptimizerSpec | str, values: Mapping[str, Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._spec = spec if isinstance(spec, OptimizerSpec) else REGISTRY[spec]
        self._editors: dict[str, QWidget] = {}
        self._values: dict[str, float | bool] = self._spec.defaults()
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        for h in self._spec.hypers:
            editor = self._make_editor(h)
            editor.setToolTip(_tooltip(h, self._spec))
            self._editors[h.name] = editor
            form.addRow(h.name, editor)
        self.reset_button = QPushButton("Reset to torch defaults")
        self.reset_button.setToolTip("Registry defaults: torch.optim's, except momentum = 0.9 for the momentum entries")
        self.reset_button.clicked.connect(self._on_reset_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.reset_button)
        self.set_values(values or {})

    @property
    def spec(self) -> OptimizerSpec:
        return self._spec

    def editor(self, name: str) -> QWidget:
        """The spin box or checkbox editing hyperparameter ``name`` (for tests and focus handling)."""
        return self._editors[name]

    def values(self) -> dict[str, float | bool]:
        """The current values: always a dict that ``OptimizerSpec.resolve`` accepts."""
        return dict(self._values)

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show ``values`` (missing names keep their current value) without emitting ``changed``.

        Raises HyperparameterError, changing nothing, if a name or value is not allowed by the registry.
        """
        merged = self._spec.resolve({**self._values, **values})
        self._values = merged
        for name, value in merged.items():
            editor = self._editors[name]
            editor.blockSignals(True)
            if isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            else:
                editor.setValue(float(value))
            editor.blockSignals(False)

    def reset(self) -> None:
        """Back to the registry defaults; emits ``changed``."""
        self.set_values(self._spec.defaults())
        self.changed.emit(self.values())

    def _make_editor(self, h: Hyper) -> QWidget:
        if h.kind == "bool":
            box = QCheckBox()
            box.toggled.connect(lambda on, name=h.name: self._on_editor_changed(name, on))
            return box
        if h.log:
            low, high = _bounds(h, 300)
            spin: NumberSpinBox = LogSpinBox(low, high, floor=_LOG_FLOOR.get(h.name, 1e-6))
        else:
            spin = NumberSpinBox(*_bounds(h, _DECIMALS), decimals=_DECIMALS)
            spin.setSingleStep(0.01 if h.high <= 1 else 0.1)
        spin.valueChanged.connect(lambda v, name=h.name: self._on_editor_changed(name, v))
        return spin

    def _on_editor_changed(self, name: str, value: float | bool) -> None:
        try:
            merged = self._spec.resolve({**self._values, name: value})
        except HyperparameterError:
            self.set_values(self._values)  # put the editor back; nothing invalid leaves this widget
            return
        self._values = merged
        self.changed.emit(self.values())

    def _on_reset_clicked(self) -> None:
        self.reset()
