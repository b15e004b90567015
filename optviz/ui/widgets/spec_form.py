"""A form of editors built from a list of :class:`~optviz.core.params.Spec`: the one way the GUI edits settings.

Every editor's range, choices, step scale and tooltip come from its spec, so the GUI can never disagree with the
CLI or the validator. A value the spec refuses is shown at its field — a red border and the spec's own message
("Invalid learning rate: 100 (allowed: a number in [0, 10])") under it — until it is corrected; ``values()``
keeps the last valid values, and ``changed`` only ever carries validated ones.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QHBoxLayout, QLabel, QWidget

from optviz.core.params import ParamError, Spec, find
from optviz.ui.widgets.editors import make_editor, tooltip
from optviz.ui.widgets.problem_mark import PROBLEM_COLOR, ProblemMark
from optviz.ui.widgets.spin_boxes import NumberSpinBox
from optviz.ui.widgets.wheel import ComboBox

Check = Callable[[dict[str, Any]], dict[str, Any]]  # the merged values, checked as a whole (ParamError if not)
Parse = Callable[[str, str], Any]  # (name, typed text) → value, or ParamError


class SpecForm(QWidget):
    """One row per spec: a label (the spec's title, else its name), its editor, and a message line when refused.

    A checkbox carries its words itself, beside the box.

    ``check`` sees the merged values after every edit and may refuse them (ParamError) or normalise them;
    ``parse`` reads a typed text in place of the spec's own ``parse`` (for an owner with rules of its own);
    ``titles`` gives the words shown for a choice spec's items, by spec name.
    """

    changed = Signal(dict)  # every value, validated, after a user edit

    def __init__(self, specs: Sequence[Spec], values: Mapping[str, Any] | None = None, *,
                 titles: Mapping[str, Mapping[str, str]] | None = None, check: Check | None = None,
                 parse: Parse | None = None,
                 owner: str = "this form", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._specs = tuple(specs)
        self._check = check
        self._parse = parse or (lambda name, text: self.spec(name).parse(text))
        self._owner = owner
        self._values: dict[str, Any] = {s.name: s.default for s in self._specs}
        self._editors: dict[str, QWidget] = {}
        self._labels: dict[str, QLabel] = {}
        self._rows: dict[str, QHBoxLayout] = {}
        self._messages: dict[str, QLabel] = {}
        self._problems: dict[str, str] = {}
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        for spec in self._specs:
            self._add_row(spec, (titles or {}).get(spec.name))
        self.set_values({**self._values, **(values or {})})

    # ---- reading ---------------------------------------------------------------------------------------------

    @property
    def specs(self) -> tuple[Spec, ...]:
        return self._specs

    def spec(self, name: str) -> Spec:
        return find(self._specs, name, self._owner)

    def editor(self, name: str) -> QWidget:
        """The widget editing ``name``: a spin box, checkbox, combo box or line edit."""
        return self._editors[name]

    def label(self, name: str) -> QLabel:
        return self._labels[name]

    def values(self) -> dict[str, Any]:
        """The last valid values, by name (what ``changed`` last carried, or what ``set_values`` set)."""
        return dict(self._values)

    def problem(self, name: str) -> str:
        """The message shown at field ``name``, or "" when it holds a valid value."""
        return self._problems.get(name, "")

    def problems(self) -> dict[str, str]:
        return dict(self._problems)

    # ---- writing ---------------------------------------------------------------------------------------------

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show ``values`` (names left out keep theirs) without emitting ``changed``.

        Raises ParamError, changing nothing, if a name is unknown or a value refused. A field showing a problem
        keeps its text unless its value changes here.
        """
        merged = dict(self._values)
        for name, value in values.items():
            merged[name] = self.spec(name).validate(value)
        if self._check is not None:
            merged = self._check(merged)
        old, self._values = self._values, merged
        for name, value in merged.items():
            if name in self._problems and value == old[name]:
                continue  # a refused text stays in its field until the user corrects it
            self._show_value(name, value)
            self._clear(name)

    def clear_problems(self) -> None:
        """Put every field showing a problem back to its last valid value."""
        for name in list(self._problems):
            self._show_value(name, self._values[name])
            self._clear(name)

    def set_choice_enabled(self, name: str, choice: str, enabled: bool, why: str = "") -> None:
        """Grey out one item of a choice (e.g. cuda on a machine without one), ``why`` as its tooltip."""
        combo = self._editors[name]
        item = combo.model().item(combo.findData(choice))
        item.setEnabled(enabled)
        item.setToolTip("" if enabled else why)

    def attach(self, name: str, widget: QWidget) -> None:
        """Put ``widget`` (a "…" button, say) on the right of field ``name``."""
        self._rows[name].addWidget(widget)

    def add_row(self, label: str, widget: QWidget, *, before: str | None = None) -> None:
        """A row of the caller's own (a widget that is not a spec's editor), above field ``before`` or last."""
        row = self.form.getWidgetPosition(self._labels[before])[0] if before else self.form.rowCount()
        self.form.insertRow(row, label, widget)

    def insert_specs(self, specs: Sequence[Spec], values: Mapping[str, Any] | None = None, *,
                     after: str | None = None, titles: Mapping[str, Mapping[str, str]] | None = None) -> None:
        """Add rows for ``specs`` below field ``after`` (or last), showing ``values`` or the defaults; silent."""
        new = {s.name: s.validate((values or {}).get(s.name, s.default)) for s in specs}
        row = self.form.getWidgetPosition(self._messages[after])[0] + 1 if after else self.form.rowCount()
        for i, spec in enumerate(specs):
            self._add_row(spec, (titles or {}).get(spec.name), row + 2 * i)
        at = [s.name for s in self._specs].index(after) + 1 if after else len(self._specs)
        self._specs = self._specs[:at] + tuple(specs) + self._specs[at:]
        self._values.update(new)
        for name, value in new.items():
            self._show_value(name, value)

    def remove_specs(self, names: Sequence[str]) -> None:
        """Remove the rows of fields ``names`` (their editors are deleted); silent."""
        for name in names:
            self.form.removeRow(self._messages.pop(name))
            self.form.removeRow(self._labels.pop(name))
            del self._editors[name], self._rows[name], self._values[name]
            self._problems.pop(name, None)
        self._specs = tuple(s for s in self._specs if s.name not in names)

    # ---- building --------------------------------------------------------------------------------------------

    def _add_row(self, spec: Spec, titles: Mapping[str, str] | None, row: int = -1) -> None:
        editor = make_editor(spec, titles)
        editor.setToolTip(tooltip(spec))
        label = QLabel("" if spec.kind == "bool" else spec.heading)
        label.setBuddy(editor)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(editor, 0 if spec.kind == "bool" else 1)  # a wide checkbox would not take a click on its right
        if spec.kind == "bool":
            line.addStretch(1)
        message = QLabel()
        message.setWordWrap(True)
        message.setStyleSheet(f"color: {PROBLEM_COLOR};")
        message.setVisible(False)
        row = self.form.rowCount() if row < 0 else row
        self.form.insertRow(row, label, line)
        self.form.insertRow(row + 1, message)
        self._editors[spec.name], self._labels[spec.name] = editor, label
        self._rows[spec.name], self._messages[spec.name] = line, message
        self._connect(spec.name, editor)

    def _connect(self, name: str, editor: QWidget) -> None:
        if isinstance(editor, NumberSpinBox):
            editor.valueChanged.connect(lambda _v: self._on_editor_edited(name))
            editor.refused.connect(lambda text: self._on_editor_refused(name, text))
            editor.text_accepted.connect(lambda: self._on_editor_accepted(name))
        elif isinstance(editor, QCheckBox):
            editor.toggled.connect(lambda _on: self._on_editor_edited(name))
        elif isinstance(editor, ComboBox):
            editor.currentIndexChanged.connect(lambda _i: self._on_editor_edited(name))
        else:
            editor.editingFinished.connect(lambda: self._on_line_finished(name))

    # ---- editors ↔ values ------------------------------------------------------------------------------------

    def _editor_value(self, name: str) -> Any:
        editor = self._editors[name]
        if isinstance(editor, NumberSpinBox):
            return None if editor.is_off() else editor.value()
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, ComboBox):
            return editor.currentData()
        return editor.text()

    def _show_value(self, name: str, value: Any) -> None:
        editor = self._editors[name]
        editor.blockSignals(True)
        try:
            if isinstance(editor, NumberSpinBox):
                editor.setValue(editor.minimum() if value is None else value)
            elif isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, ComboBox):
                editor.setCurrentIndex(editor.findData(value))
            else:
                editor.setText("" if value is None else str(value))
        finally:
            editor.blockSignals(False)

    def _commit(self, name: str, value: Any) -> None:
        """A user's value for ``name``: stored and emitted if allowed, else shown as a problem at the field."""
        spec = self.spec(name)
        try:
            merged = {**self._values, name: spec.validate(value)}
            if self._check is not None:
                merged = self._check(merged)
        except ParamError as error:
            self._show_problem(name, str(error))
            return
        self._values = merged
        self._clear(name)
        self.changed.emit(self.values())

    def _show_problem(self, name: str, message: str) -> None:
        self._problems[name] = message
        self._messages[name].setText(message)
        self._messages[name].setVisible(True)
        self._mark(name, True)

    def _clear(self, name: str) -> None:
        if self._problems.pop(name, None) is not None:
            self._messages[name].setVisible(False)
            self._messages[name].clear()
            self._mark(name, False)

    def _mark(self, name: str, on: bool) -> None:
        editor = self._editors[name]
        if isinstance(editor, ProblemMark):  # a checkbox has no text to refuse, only a whole-form check can
            editor.set_problem(on)

    # ---- slots -----------------------------------------------------------------------------------------------

    def _on_editor_edited(self, name: str) -> None:
        self._commit(name, self._editor_value(name))

    def _on_editor_refused(self, name: str, text: str) -> None:
        try:
            value = self._parse(name, text)
        except ParamError as error:
            self._show_problem(name, str(error))
            return
        # The spec takes it but the editor's digits do not (0.9999999 for [0, 1)): the nearest the editor holds
        # (a new value arrives through valueChanged).
        editor = self._editors[name]
        editor.setValue(editor.minimum() if value is None else value)
        self._on_editor_accepted(name)

    def _on_editor_accepted(self, name: str) -> None:
        if self._editor_value(name) == self._values[name]:
            self._clear(name)  # corrected back to the value already held: nothing to emit

    def _on_line_finished(self, name: str) -> None:
        text = self._editors[name].text()
        if not text.strip() and self.spec(name).optional:
            self._commit(name, None)
            return
        try:
            value = self._parse(name, text)
        except ParamError as error:
            self._show_problem(name, str(error))
            return
        if value == self._values[name]:
            self._clear(name)
        else:
            self._commit(name, value)
