"""Spin boxes for registry numbers: a log-scale one (lr, eps) and a plain one, both refusing non-numeric text."""

from __future__ import annotations

import math

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QWidget

_MANTISSAS = (1.0, 2.0, 5.0)  # one arrow step moves along 1-2-5-10, PageUp/PageDown by a decade


def _parse(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_prefix(text: str) -> bool:
    """Text that could still become a number as the user types ('', '-', '1e', '1e-', '.')."""
    t = text.strip().lower()
    return t in ("", "-", "+", ".") or t.endswith(("e", "e-", "e+"))


class NumberSpinBox(QDoubleSpinBox):
    """A double spin box that shows numbers with %g, accepts '1e-3' and never holds text that is not a number."""

    def __init__(self, low: float, high: float, decimals: int = 6, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(decimals)
        self.setRange(low, high)
        self.setKeyboardTracking(False)  # commit on Enter/focus loss/arrows: no recompute per keystroke
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.setAccelerated(True)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        value = _parse(text)
        return self.value() if value is None else value

    def validate(self, text: str, pos: int) -> object:  # noqa: D102
        value = _parse(text)
        if value is None:
            state = QValidator.State.Intermediate if _is_prefix(text) else QValidator.State.Invalid
        elif self.minimum() <= value <= self.maximum():
            state = QValidator.State.Acceptable
        else:
            state = QValidator.State.Intermediate  # out of range: kept while typing, reverted on commit
        return state, text, pos

    def fixup(self, text: str) -> str:
        return self.textFromValue(self.value())


class LogSpinBox(NumberSpinBox):
    """Log-scale entry: arrows step through 1, 2, 5 × 10ᵏ; PageUp/PageDown multiply or divide by 10."""

    def __init__(self, low: float, high: float, floor: float = 1e-12, parent: QWidget | None = None) -> None:
        super().__init__(low, high, decimals=300, parent=parent)  # Qt rounds to `decimals`: keep all digits
        self._floor = max(floor, low) if low > 0 else floor  # where stepping up from 0 lands
        self.setAccelerated(False)

    def stepBy(self, steps: int) -> None:  # noqa: N802
        value = self.value()
        if value <= 0:
            if steps > 0:
                self.setValue(self._floor)
            return
        # Position on the 1-2-5 ladder, as a (fractional) index: 3 rungs per decade.
        exponent = math.floor(math.log10(value) + 1e-9)
        mantissa = value / 10**exponent
        rung = max(i for i, m in enumerate(_MANTISSAS) if m <= mantissa * (1 + 1e-9))
        on_rung = math.isclose(mantissa, _MANTISSAS[rung], rel_tol=1e-9)
        if steps < 0 and not on_rung:
            steps += 1  # between rungs: the first step down lands on the rung below
        index = exponent * 3 + rung + steps
        new = _MANTISSAS[index % 3] * 10 ** (index // 3)
        self.setValue(min(max(new, self.minimum()), self.maximum()))

    def keyPressEvent(self, event) -> None:  # noqa: N802
        from PySide6.QtCore import Qt

        if event.key() in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            factor = 10.0 if event.key() == Qt.Key.Key_PageUp else 0.1
            if self.value() > 0:
                self.setValue(min(max(self.value() * factor, self.minimum()), self.maximum()))
            event.accept()
            return
        super().keyPressEvent(event)
