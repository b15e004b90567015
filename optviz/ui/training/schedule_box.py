"""The learning-rate schedule: its kind, its parameters (built from ``config.SCHEDULE_PARAMS``) and a warm-up."""

from __future__ import annotations

from typing import Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QVBoxLayout, QWidget

from optviz.training.config import SCHEDULE_PARAMS, SCHEDULES
from optviz.ui.widgets.spin_boxes import NumberSpinBox

SCHEDULE_TITLES = {"none": "constant", "step": "step", "exponential": "exponential", "time": "1/t (time-based)",
                   "cosine": "cosine"}


class ScheduleBox(QWidget):
    """Schedule combo, one spin box per parameter of the chosen schedule, and the warm-up in epochs."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        for name in SCHEDULES:
            self.kind.addItem(SCHEDULE_TITLES.get(name, name), name)
        self.kind.setToolTip("Learning rate over time, counted in epochs and updated after every batch")
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.warmup_box = NumberSpinBox(0.0, 1e4, decimals=3)
        self.warmup_box.setSingleStep(0.5)
        self.warmup_box.setToolTip("Epochs of linear warm-up from ~0 to the optimizer's lr before the schedule")
        self.warmup_box.valueChanged.connect(self._on_value_changed)
        self._form = QFormLayout()
        self._form.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Schedule", self.kind)
        layout.addLayout(form)
        layout.addLayout(self._form)
        tail = QFormLayout()
        tail.setContentsMargins(0, 0, 0, 0)
        tail.addRow("Warm-up (epochs)", self.warmup_box)
        layout.addLayout(tail)
        self._spins: dict[str, NumberSpinBox] = {}
        self._build("none", {})

    def schedule(self) -> str:
        return self.kind.currentData()

    def params(self) -> dict[str, float]:
        return {name: spin.value() for name, spin in self._spins.items()}

    def warmup(self) -> float:
        return self.warmup_box.value()

    def set_schedule(self, name: str, params: Mapping[str, float], warmup: float) -> None:
        """Show a schedule without emitting ``changed`` (unknown parameter names are ignored here)."""
        self.kind.blockSignals(True)
        self.kind.setCurrentIndex(max(self.kind.findData(name), 0))
        self.kind.blockSignals(False)
        self._build(self.schedule(), params)
        self.warmup_box.blockSignals(True)
        self.warmup_box.setValue(warmup)
        self.warmup_box.blockSignals(False)

    def spin(self, name: str) -> NumberSpinBox:
        return self._spins[name]

    def _build(self, name: str, values: Mapping[str, float]) -> None:
        while self._form.rowCount():
            self._form.removeRow(0)
        self._spins = {}
        for h in SCHEDULE_PARAMS.get(name, ()):
            low = h.low + 1e-6 if h.low_open else h.low
            spin = NumberSpinBox(low, h.high - 1e-6 if h.high_open else h.high, decimals=6)
            spin.setSingleStep(0.05 if h.high <= 1 else 0.5)
            spin.setValue(float(values.get(h.name, h.default)))
            spin.setToolTip(f"{h.name}: {h.doc}; allowed: {h.allowed()}")
            spin.valueChanged.connect(self._on_value_changed)
            self._form.addRow(h.name, spin)
            self._spins[h.name] = spin

    def _on_kind_changed(self, _index: int) -> None:
        self._build(self.schedule(), {})
        self.changed.emit()

    def _on_value_changed(self, _value: float) -> None:
        self.changed.emit()
