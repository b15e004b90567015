"""Axes whose tick labels are the true values: no SI prefix or ×10ⁿ factor in the label ever rescales them.

pyqtgraph's automatic SI prefix measures a log axis by 10^range, so a diverging loss of 10¹⁸ put "(x1e+18)" in the
label while the ticks, formatted from the exponents, still read 1 … 10⁻¹⁰. Every plot axis of both tabs is a
:class:`TrueAxis`; fixed tick lists (the gradient flow's colour bar) come from :func:`decade_ticks`.
"""

from __future__ import annotations

import math

import pyqtgraph as pg

from optviz.core.field import SUPERSCRIPT, format_value

_MINOR_LABELS = (1.0, 2.0, 5.0)  # within a decade of minor ticks, only these keep a label (the others crowd)


class TrueAxis(pg.AxisItem):
    """An axis labelled with true values: 10ⁿ on a log axis, plain numbers on a linear one, never scaled."""

    def __init__(self, orientation: str, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def resizeEvent(self, ev=None) -> None:  # noqa: N802
        super().resizeEvent(ev)
        if self.orientation == "left" and self.label is not None and self.label.x() < 0:
            self.label.setX(0)  # pyqtgraph nudges it 5 px past the widget's edge, cutting the first letter

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, N803 — pyqtgraph's names
        # pyqtgraph puts a log axis's ticks at 1…9 × 10ⁿ only: a range like 1.2 … 2.5 got one label ("2"). Where
        # fewer than three labelled ticks (1, 2, 5 × 10ⁿ) fall in range, round linear steps of the true value.
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        labelled = [v for _, level in ticks for v in level if round(10.0 ** (v % 1.0), 6) in _MINOR_LABELS]
        if len(labelled) >= 3 or not (math.isfinite(minVal) and math.isfinite(maxVal)) or maxVal <= minVal:
            return ticks
        return [(None, [math.log10(v) for v in narrow_log_ticks(10.0 ** minVal, 10.0 ** maxVal)])]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 — pyqtgraph's name
        # pyqtgraph asks once per tick level (decades, then the 2×, 5× between them): the axis's whole range picks
        # one style for all, so that 10⁻³ never sits beside 0.002
        lo, hi = sorted(10.0 ** float(v) for v in self.range)
        strings = log_labels([float(10.0 ** v) for v in values], plain=_plain(_round_in(lo, up=True), _round_in(hi)))
        if len(values) > 6:  # a decade's minor ticks: 1×, 2× and 5× keep their labels
            keep = [round(10.0 ** (v % 1.0), 6) in _MINOR_LABELS for v in values]
            strings = [s if k else "" for s, k in zip(strings, keep)]
        return strings

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        if self.logMode:
            return self.logTickStrings(values, scale, spacing)
        return [linear_tick(float(v), spacing) for v in values]


def linear_tick(value: float, spacing: float) -> str:
    """A linear axis's tick: as many decimals as the spacing needs (1050, 0.015), 10ⁿ notation past a million
    or below 10⁻⁴."""
    value = round(value / spacing) * spacing
    if value == 0:
        return "0"
    if not 1e-4 <= abs(value) < 1e6:
        return format_value(value)
    places = max(0, math.ceil(-math.log10(spacing) - 1e-9))
    return f"{value:.{places}f}".replace("-", "−")


def _plain(*values: float) -> bool:
    return all(1e-3 <= abs(v) < 1e4 for v in values)


def _round_in(value: float, up: bool = False) -> float:
    """The first labelled tick (1, 2 or 5 × 10ⁿ) at or above ``value`` (``up``), or the last at or below it."""
    if not (math.isfinite(value) and value > 0):
        return value
    e = math.floor(math.log10(value))
    ticks = [m * 10.0**k for k in (e - 1, e, e + 1) for m in _MINOR_LABELS]
    fudge = value * 1e-9
    return min(t for t in ticks if t >= value - fudge) if up else max(t for t in ticks if t <= value + fudge)


def narrow_log_ticks(lo: float, hi: float) -> list[float]:
    """Three to six round values (1, 2 or 5 × 10ⁿ apart) inside [lo, hi], for a log axis under a decade or so."""
    span = hi - lo
    for step in sorted((m * 10.0 ** e for e in range(math.floor(math.log10(span)) - 2, math.floor(math.log10(span)) + 1)
                        for m in (1, 2, 5)), reverse=True):
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last - first + 1 >= 3:
            return [float(f"{k * step:.12g}") for k in range(first, last + 1)]
    return [lo, hi]


def xy_text(x: float, y: float) -> str:
    """A point as the tables and captions write it: ``(3.58, −1.85)``."""
    return f"({x:.3g}, {y:.3g})".replace("-", "−")


def log_labels(values: list[float], plain: bool | None = None) -> list[str]:
    """Labels of a log axis's ticks: plain decimals (0.05, 0.1, 20) when every value reads well that way, else
    powers of ten (10⁻⁶, 2×10¹⁸) for all of them, so that neighbouring labels are written alike. ``plain``: the
    style decided for a whole axis (None: by ``values``)."""
    if plain if plain is not None else _plain(*values):
        return [f"{v:.3g}" if abs(v) < 1e3 else f"{v:.0f}" for v in values]
    return [_power(v) for v in values]


def _power(value: float) -> str:
    """``value`` as m×10ⁿ (10ⁿ for m = 1; 1 itself as 1), the style of a log axis's labels past 10⁻³ … 10⁴."""
    if value == 0 or not math.isfinite(value):
        return format_value(value)
    exponent = math.floor(math.log10(abs(value)) + 1e-9)
    mantissa = value / 10.0**exponent
    power = f"10{str(exponent).translate(SUPERSCRIPT)}"
    if abs(abs(mantissa) - 1.0) <= 1e-9:
        text = ("1" if exponent == 0 else power) if mantissa > 0 else "-" + ("1" if exponent == 0 else power)
    else:
        text = f"{mantissa:.3g}×{power}"
    return text.replace("-", "−", 1) if text.startswith("-") else text


class StepAxis(TrueAxis):
    """An axis of step numbers: ticks at whole steps only (a 1-step run was ticked 0, 0.2, 0.4, …)."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 — pyqtgraph's names
        levels = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size) if spacing >= 1]
        return levels or [(1.0, 0.0)]


def true_axes(steps: bool = False) -> dict[str, TrueAxis]:
    """``axisItems`` for a PlotItem: true-value left and bottom axes (``steps``: the bottom one counts steps)."""
    return {"left": TrueAxis("left"), "bottom": StepAxis("bottom") if steps else TrueAxis("bottom")}


def decade_ticks(lo: float, hi: float) -> list[list[tuple[float, str]]]:
    """Ticks for an axis of log10 values from ``lo`` to ``hi``, labelled with the true values: every whole decade
    (every second, third… past eight), and 2× and 5× when fewer than three decades show."""
    first, last = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    step = max(1, math.ceil((last - first) / 8))  # at most about nine labels
    major = [float(e) for e in range(first, last + 1) if e % step == 0]  # 10⁰ = 1 always, when in range
    minor = []
    if len(major) < 3:
        minor = [e + math.log10(k) for e in range(math.floor(lo), math.ceil(hi) + 1) for k in (2.0, 5.0)]
        minor = [v for v in minor if lo - 1e-9 <= v <= hi + 1e-9]
    labels = log_labels([10.0 ** v for v in major + minor])
    return [list(zip(major, labels[:len(major)])), list(zip(minor, labels[len(major):]))]
