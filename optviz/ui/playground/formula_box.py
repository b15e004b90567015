"""The side panel's editor of a custom surface: the formula f(x, y) and its view box, with the reason inline when
either is refused (the text stays, framed in red, until it is corrected; the model keeps the last good surface)."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from optviz.core.custom import DEFAULT_FORMULA, DEFAULT_VIEW
from optviz.core.formula import ALLOWED_FUNCTIONS, FormulaError
from optviz.core.params import ParamError
from optviz.core.surfaces import Surface
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.widgets.problem_mark import PROBLEM_COLOR, LineEdit

HELP = f"x, y, pi, e, + - * / ** and {ALLOWED_FUNCTIONS}. Enter applies."


class FormulaBox(QWidget):
    """Edits the model's formula surface: a formula line and four view-box fields (Enter or leaving applies)."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("f(x, y) ="))
        self.formula_edit = LineEdit(DEFAULT_FORMULA)
        self.formula_edit.setPlaceholderText(DEFAULT_FORMULA)
        self.formula_edit.setToolTip(HELP)
        layout.addWidget(self.formula_edit)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        self.view_edits: list[LineEdit] = []
        for i, value in enumerate(DEFAULT_VIEW):
            edit = LineEdit(f"{value:g}")
            edit.setToolTip("the view box: " + ("x" if i < 2 else "y") + (" from" if i % 2 == 0 else " to"))
            self.view_edits.append(edit)
        for row, name in enumerate(("x", "y")):
            grid.addWidget(QLabel(f"{name} from"), row, 0)
            grid.addWidget(self.view_edits[2 * row], row, 1)
            grid.addWidget(QLabel("to"), row, 2)
            grid.addWidget(self.view_edits[2 * row + 1], row, 3)
        layout.addLayout(grid)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {PROBLEM_COLOR};")
        self.error.setVisible(False)
        layout.addWidget(self.error)
        hint = QLabel(HELP)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555555;")
        layout.addWidget(hint)
        for edit in (self.formula_edit, *self.view_edits):
            edit.editingFinished.connect(self.apply)

    def view_text(self) -> tuple[str, str, str, str]:
        return tuple(e.text() for e in self.view_edits)  # type: ignore[return-value]

    # -- widgets → model ---------------------------------------------------------------------------------------
    def apply(self) -> bool:
        """Show the typed formula over the typed view box; False (and the reason shown) if either is refused."""
        for edit in (self.formula_edit, *self.view_edits):
            edit.set_problem(False)
        try:
            view = self._view()
            self._model.set_formula(self.formula_edit.text(), view)
        except FormulaError as exc:
            text = str(exc)
            if ALLOWED_FUNCTIONS in text:  # the list is in the hint right below
                head, found, _ = text.partition(" (allowed:")
                text = head + " (allowed: see below)" if found else text.split(" (")[0] + " (see below)"
            return self._show_error(text, [self.formula_edit])
        except ParamError as exc:
            return self._show_error(str(exc), self.view_edits)
        self.error.setVisible(False)
        return True

    def _view(self) -> tuple[float, ...]:
        values = []
        for edit in self.view_edits:
            try:
                values.append(float(edit.text()))
            except ValueError:
                edit.set_problem(True)
                raise ParamError(f"Invalid view box: {edit.text()!r} is not a number (allowed: four numbers "
                                 "xmin < xmax, ymin < ymax)") from None
        return tuple(values)

    def _show_error(self, message: str, edits: list[LineEdit]) -> bool:
        for edit in edits:
            edit.set_problem(True)
        self.error.setText(message)
        self.error.setVisible(True)
        return False

    # -- model → widgets ---------------------------------------------------------------------------------------
    def show_surface(self, surface: Surface) -> None:
        """The model's formula surface in the fields (setText emits no editingFinished: nothing loops)."""
        (x0, x1), (y0, y1) = surface.view
        self.formula_edit.setText(surface.formula)
        for edit, value in zip(self.view_edits, (x0, x1, y0, y1)):
            edit.setText(f"{value:.12g}")
            edit.set_problem(False)
        self.formula_edit.set_problem(False)
        self.error.setVisible(False)
