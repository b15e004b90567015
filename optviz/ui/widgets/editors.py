"""One editor per spec: its range, choices, arrow step and tooltip from the spec alone (see :mod:`spec_form`)."""

from __future__ import annotations

import math
from typing import Mapping

from PySide6.QtWidgets import QCheckBox, QWidget

from optviz.core.params import Spec, fmt
from optviz.ui.widgets.problem_mark import LineEdit
from optviz.ui.widgets.spin_boxes import IntSpinBox, LogSpinBox, NumberSpinBox
from optviz.ui.widgets.wheel import ComboBox

DECIMALS = 6  # digits a linear float editor keeps: enough for beta2 = 0.999999
LOG_DECIMALS = 300  # a log editor keeps every digit of a double
FLOAT_LIMIT = 1e300  # stands for an unbounded float end (Qt's range must be finite)
INT_LIMIT = 2**53  # stands for an unbounded integer end: the largest whole number a double holds exactly



def editor_range(spec: Spec, decimals: int) -> tuple[float, float]:
    """The allowed values an editor keeping ``decimals`` digits offers: the spec's ends, an open end pulled in
    by one unit of the last digit, a missing end at the editor's limit."""
    unit = 10.0**-decimals
    limit = INT_LIMIT if spec.kind == "int" else FLOAT_LIMIT
    low = -limit if spec.low is None else spec.low + unit if spec.low_open else spec.low
    high = limit if spec.high is None else spec.high - unit if spec.high_open else spec.high
    return low, high


def nice_step(span: float) -> float:
    """An arrow step of about a hundredth of ``span``, rounded down to 1, 2 or 5 × 10ᵏ."""
    raw = span / 100
    exponent = math.floor(math.log10(raw))
    mantissa = max(m for m in (1, 2, 5) if m <= raw / 10**exponent * (1 + 1e-9))
    return mantissa * 10.0**exponent


def log_floor(spec: Spec) -> float:
    """Where a log editor's first step up from 0 lands: its low end if above 0, else 1/1000 of the default."""
    if spec.low is not None and spec.low > 0:
        return spec.low
    if isinstance(spec.default, (int, float)) and spec.default > 0:
        return 10.0 ** (math.floor(math.log10(spec.default)) - 3)
    return 1e-6


def tooltip(spec: Spec) -> str:
    """What the field means, what it allows and its default."""
    head = f"{spec.name}: {spec.doc}" if spec.doc else spec.name
    default = spec.off_text if spec.default is None else fmt(spec.default)
    text = f"{head}\nAllowed: {spec.allowed()}; default {default}"
    if spec.log:
        text += "\nArrows step 1-2-5, PageUp/PageDown ×10/÷10; type e.g. 3e-4"
    return text


def make_editor(spec: Spec, titles: Mapping[str, str] | None = None) -> QWidget:
    """The editor for one spec, its range and choices from the spec only (``titles``: words for choices)."""
    off = spec.off_text if spec.optional else ""
    if spec.kind == "bool":
        return QCheckBox(spec.heading)  # its words beside the box, as Qt forms do; the row's label stays empty
    if spec.kind == "choice":
        combo = ComboBox()
        for choice in spec.choices:
            combo.addItem((titles or {}).get(choice, choice), choice)
        return combo
    if spec.kind == "str":
        line = LineEdit()
        if spec.optional:
            line.setPlaceholderText(spec.off_text)
        return line
    if spec.kind == "int":
        box: NumberSpinBox = IntSpinBox(*editor_range(spec, 0), off_text=off)
    elif spec.log:
        box = LogSpinBox(*editor_range(spec, LOG_DECIMALS), floor=log_floor(spec), off_text=off)
    else:
        low, high = editor_range(spec, DECIMALS)
        box = NumberSpinBox(low, high, decimals=DECIMALS, off_text=off)
        bounded = spec.low is not None and spec.high is not None and spec.high > spec.low
        box.setSingleStep(nice_step(spec.high - spec.low) if bounded else 0.1)
    if spec.step is not None:
        box.setSingleStep(spec.step)
    return box
