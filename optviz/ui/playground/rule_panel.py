"""The inspected optimizer's update rule, as torch.optim implements it, with the numbers of the step at the
animation cursor substituted (rich text in a label; the lines come from :mod:`rule_formulas`)."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from optviz.ui.playground.inside import inspect
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.rule_formulas import rule_lines

NUMBERS_COLOR = "#2a7bd0"  # this step's numbers, under each formula: readable on light and dark panels


class RulePanel(QLabel):
    """Rich text: a heading (optimizer, step) and a two-column table, formula | this step's numbers."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setToolTip("The update rule as torch.optim computes it, with this step's numbers: g is the gradient "
                        "the step used, the state (m, v, b, s) is torch.optim's after the step.")
        self.lines: list[tuple[str, str]] = []
        for signal in (model.step_changed, model.result_changed, model.field_changed, model.selection_changed,
                       model.inspected_changed, model.surface_changed):
            signal.connect(self.refresh)
        self.refresh()

    def refresh(self, *_) -> None:
        inside, why = inspect(self._model)
        k = self._model.step
        if inside is None:
            self.lines = []
            self.setText(f"<span style='color:#888888'>{html.escape(why)}</span>")
            return
        last = k >= inside.steps  # no update follows the last point: show the one that led to it
        if last and inside.steps < 1:
            self.lines = []
            self.setText(f"<b>{html.escape(inside.title)}</b>: no steps were taken.")
            return
        k = min(k, inside.steps - 1)
        bad = np.flatnonzero(~np.isfinite(inside.positions[: k + 1]).all(axis=1))
        if len(bad):  # nothing after a divergence is drawn or written: no NaN formulas either
            self.lines = []
            self.setText(f"<b style='color:{inside.color.name()}'>{html.escape(inside.title)}</b>, start "
                         f"{inside.start + 1}: diverged at step {bad[0]}; there is no update to show after it "
                         f"(move the cursor before step {bad[0]} to see the steps that led there).")
            return
        self.lines = rule_lines(inside, k)
        rows = "".join(f"<div style='margin-top:3px'>{formula}</div>" + (
            f"<div style='margin-left:14px; color:{NUMBERS_COLOR}'>= {numbers}</div>" if numbers else "")
            for formula, numbers in self.lines)
        self.setText(f"<b style='color:{inside.color.name()}'>{html.escape(inside.title)}</b>, start "
                     f"{inside.start + 1}, {'the last update, ' if last else ''}step t = {k + 1} "
                     f"(x<sub>{k}</sub> → x<sub>{k + 1}</sub>){rows}")

    def plain_text(self) -> str:
        """The lines as plain text (tests and copying)."""
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(self.text())
        return doc.toPlainText()
