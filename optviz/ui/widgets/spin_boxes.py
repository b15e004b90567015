"""Spin boxes for spec numbers: plain, log-scale (lr, eps) and integer, with an optional "off" value.

A box's range is given to it (by :class:`~optviz.ui.widgets.spec_form.SpecForm`, from a spec); it keeps no
bounds of its own. Typed text is never silently reverted: text that is not a number in range may be typed, and at
Enter or focus loss it stays in the field while ``refused`` reports it, so the form can say what is allowed.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QValidator, QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QWidget

from optviz.ui.widgets.problem_mark import ProblemMark
from optviz.ui.widgets.wheel import pass_unfocused_wheel, wheel_needs_focus

_MANTISSAS = (1.0, 2.0, 5.0)  # one arrow step moves along 1-2-5-10, PageUp/PageDown by a decade
_OFF_WORDS = ("none", "null")  # typed for an optional value, besides its own off text


def _parse(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", "."))
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


class NumberSpinBox(ProblemMark, QDoubleSpinBox):
    """A spin box showing numbers with %g, taking '1e-3', with an optional off value below its range.

    ``low``/``high`` are the values the box allows; with ``off_text`` the box's minimum is one unit below ``low``
    and shows ``off_text`` (the spec's ``None``). Commits happen on Enter, focus loss and arrows, not per keystroke.
    """

    refused = Signal(str)  # text that is not an allowed number, at a commit; it stays in the field
    text_accepted = Signal()  # a commit whose text was fine (the value may be unchanged)

    def __init__(self, low: float, high: float, decimals: int = 6, *, off_text: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._low = low
        self._off_text = off_text
        self._refused_text: str | None = None
        self.setDecimals(decimals)
        self.setRange(self.off_value(low) if off_text else low, high)
        if off_text:
            self.setSpecialValueText(off_text)
        self.setKeyboardTracking(False)  # commit on Enter/focus loss/arrows: no recompute per keystroke
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.setAccelerated(True)
        wheel_needs_focus(self)
        self.editingFinished.connect(self._on_editing_finished)

    # ---- what the box allows ---------------------------------------------------------------------------------

    def unit(self) -> float:
        """One unit of the last digit the box keeps (what an open end is pulled in by)."""
        return 10.0 ** -self.decimals()

    def off_value(self, low: float) -> float:
        """The value standing for "off": one unit below ``low``."""
        return low - self.unit()

    def allowed_low(self) -> float:
        """The smallest number the box takes (its minimum, or the one above the off value)."""
        return self._low

    def is_off(self) -> bool:
        return bool(self._off_text) and self.value() < self._low

    def parse(self, text: str) -> float | None:
        """``text`` as a number this kind of box can hold (None: not one)."""
        return _parse(text)

    def is_off_text(self, text: str) -> bool:
        t = text.strip().lower()
        return bool(self._off_text) and t in (self._off_text.lower(), *_OFF_WORDS)

    def is_acceptable(self, text: str) -> bool:
        if self.is_off_text(text):
            return True
        value = self.parse(text)
        return value is not None and self._low <= value <= self.maximum()

    # ---- Qt overrides ------------------------------------------------------------------------------------------

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        if self.is_off_text(text):
            return self.minimum()
        value = self.parse(text)
        return self.value() if value is None else value

    def validate(self, text: str, pos: int) -> object:  # noqa: D102
        # Anything may be typed (letters included): a bad text is refused at the commit, with a message.
        state = QValidator.State.Acceptable if self.is_acceptable(text) else QValidator.State.Intermediate
        return state, text, pos

    def fixup(self, text: str) -> str:
        # Qt calls this at a commit of a text that `validate` did not accept, then shows the previous value.
        self._refused_text = text
        return self.textFromValue(self.value())

    def stepBy(self, steps: int) -> None:  # noqa: N802
        text = self.lineEdit().text()
        if not self.is_acceptable(text):
            self._refuse(text)  # fix the text first: stepping from a value the field does not show would surprise
            return
        if self._off_text and steps:
            steps = self._step_around_off(steps)
        if steps:
            self.step(steps)

    def step(self, steps: int) -> None:
        """One arrow press (or ``steps`` of them) from an allowed value; subclasses change how far."""
        super().stepBy(steps)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if not pass_unfocused_wheel(self, event):
            super().wheelEvent(event)

    # ---- internals -------------------------------------------------------------------------------------------

    def first_on(self) -> float:
        """Where one step up from off lands: one arrow step, or the lowest value if that is more (subset: 500)."""
        return min(max(self._low, self.singleStep()), self.maximum())

    def _step_around_off(self, steps: int) -> int:
        """Off ↔ the first value in one step; returns the steps left to take normally."""
        value = self.value()
        if value < self._low:  # off: up goes to the first value, down stays off
            if steps < 0:
                return 0
            self.setValue(self.first_on())
            return steps - 1
        if steps < 0 and value <= self.first_on():
            self.setValue(self.minimum())
            return 0
        if steps < 0 and self.passes_low(steps):
            self.setValue(self.first_on())
            return 0
        return steps

    def passes_low(self, steps: int) -> bool:
        """Whether ``steps`` arrow steps down from the value would go below the lowest value."""
        return self.value() + steps * self.singleStep() < self._low

    def _refuse(self, text: str) -> None:
        self.lineEdit().setText(text)  # Qt put the old value back; the user's text stays, to be fixed
        self.refused.emit(text)

    def _on_editing_finished(self) -> None:
        text, self._refused_text = self._refused_text, None
        if text is None:
            self.text_accepted.emit()
        else:
            self._refuse(text)


class IntSpinBox(NumberSpinBox):
    """Whole numbers only (up to 2**53, beyond QSpinBox's 32 bits): '2.5' is refused, '1e3' is 1000."""

    def __init__(self, low: float, high: float, *, off_text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(low, high, decimals=0, off_text=off_text, parent=parent)
        self.setSingleStep(1)

    def value(self) -> int:  # type: ignore[override]
        return int(round(super().value()))

    def parse(self, text: str) -> float | None:
        value = _parse(text)
        return value if value is not None and float(value).is_integer() else None

    def textFromValue(self, value: float) -> str:  # noqa: N802
        return str(int(round(value)))


class LogSpinBox(NumberSpinBox):
    """Log-scale entry: arrows step through 1, 2, 5 × 10ᵏ; PageUp/PageDown multiply or divide by 10."""

    def __init__(self, low: float, high: float, floor: float = 1e-12, *, off_text: str = "",
                 parent: QWidget | None = None) -> None:
        # Qt rounds values to `decimals`: keep (almost) all digits of a double
        super().__init__(low, high, decimals=300, off_text=off_text, parent=parent)
        self._floor = max(floor, low) if low > 0 else floor  # where stepping up from 0 lands
        self.setAccelerated(False)

    def off_value(self, low: float) -> float:
        return 0.0 if low > 0 else low - 1.0  # one unit of 1e-300 below a normal number would be the number

    def first_on(self) -> float:
        return min(max(self._floor, self.allowed_low()), self.maximum())

    def passes_low(self, steps: int) -> bool:
        return False  # the 1-2-5 ladder never reaches 0

    def step(self, steps: int) -> None:
        value = self.value()
        if value < self._floor:  # 0, or an open end's 1e-300: up goes to the floor, not along 1-2-5 from there
            if steps > 0:
                self.setValue(self.first_on())
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
        self.setValue(min(max(new, self.allowed_low()), self.maximum()))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            factor = 10.0 if event.key() == Qt.Key.Key_PageUp else 0.1
            if self.value() > 0 and self.is_acceptable(self.lineEdit().text()):
                self.setValue(min(max(self.value() * factor, self.allowed_low()), self.maximum()))
            event.accept()
            return
        super().keyPressEvent(event)
