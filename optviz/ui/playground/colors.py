"""Colours of optimizer entries: the registry colour, varied when a session holds one optimizer twice."""

from __future__ import annotations

from PySide6.QtGui import QColor

from optviz.core.session import OptimizerEntry


def entry_colors(entries: tuple[OptimizerEntry, ...]) -> list[QColor]:
    """One colour per entry; the second, third… entry of the same optimizer gets a lighter/darker shade."""
    seen: dict[str, int] = {}
    out = []
    for entry in entries:
        n = seen.get(entry.choice.name, 0)
        seen[entry.choice.name] = n + 1
        color = QColor(entry.choice.spec.color)
        if n:
            color = color.lighter(100 + 35 * n) if n % 2 else color.darker(100 + 35 * n)
        out.append(color)
    return out


def entry_title(entry: OptimizerEntry) -> str:
    """The registry title, plus the label when the session gave the entry its own."""
    spec = entry.choice.spec
    label = entry.choice.label
    return spec.title if label in ("", spec.name) else f"{spec.title} ({label})"
