"""The custom surface box: typing a formula redraws the surface, a refused one shows why at the field."""

from __future__ import annotations

import numpy as np
import pytest
from playground_helpers import make_tab, wait_computed
from PySide6.QtCore import Qt

from optviz.core.custom import CUSTOM, DEFAULT_FORMULA
from optviz.core.presets import default_session
from optviz.core.surfaces import SURFACES


def _choose_custom(qtbot, tab):
    panel = tab.side_panel
    panel.surface_combo.setCurrentIndex(panel.surface_combo.findData(CUSTOM))
    wait_computed(qtbot, tab)


def test_custom_entry_shows_the_example_formula_with_its_critical_points(qtbot, playground):
    panel, model = playground.side_panel, playground.model
    items = [panel.surface_combo.itemData(i) for i in range(panel.surface_combo.count())]
    assert items == [*SURFACES, CUSTOM]
    assert not panel.formula_box.isVisible()
    _choose_custom(qtbot, playground)
    assert panel.formula_box.isVisible() and not panel.formula.isVisible()
    assert (model.session.surface, model.session.formula) == (CUSTOM, DEFAULT_FORMULA)
    qtbot.waitUntil(lambda: model.field.minima is not None, timeout=20_000)
    assert len(model.field.minima) >= 5 and len(model.field.saddles) >= 5
    assert playground.surface_view.markers.points().size == len(model.field.minima)
    assert DEFAULT_FORMULA in playground.surface_view.title_text()


def test_typing_a_formula_redraws_the_surface(qtbot, playground):
    panel, model, view = playground.side_panel, playground.model, playground.surface_view
    _choose_custom(qtbot, playground)
    before = view.image.image.copy()
    edit = panel.formula_box.formula_edit
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "(x - 1)**2 + 2*(y + 1)**2")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert model.session.formula == "(x - 1)**2 + 2*(y + 1)**2"
    wait_computed(qtbot, playground)
    qtbot.waitUntil(lambda: model.field.minima is not None, timeout=20_000)
    assert not np.array_equal(view.image.image, before)
    (minimum,) = model.field.minima
    assert (minimum.x, minimum.y) == pytest.approx((1.0, -1.0), abs=1e-9)
    # the darkest pixel of the picture is where the minimum is
    i, j = np.unravel_index(np.argmin(view.image.image), view.image.image.shape)
    assert (model.field.xs[j], model.field.ys[i]) == pytest.approx((1.0, -1.0), abs=0.05)


def test_a_refused_formula_or_view_box_shows_why_and_changes_nothing(qtbot, playground):
    panel, model = playground.side_panel, playground.model
    _choose_custom(qtbot, playground)
    box, session = panel.formula_box, model.session
    box.formula_edit.setText("x**2 + z")
    box.formula_edit.editingFinished.emit()
    assert box.error.isVisible() and "unknown name 'z' at column 8" in box.error.text()
    assert box.formula_edit.has_problem() and model.session == session
    box.formula_edit.setText("log(x) + y")
    box.formula_edit.editingFinished.emit()
    assert "f is NaN at (x, y) = (-3, -3)" in box.error.text()
    box.view_edits[0].setText("0.5")  # a view box where log(x) is defined: accepted
    box.view_edits[0].editingFinished.emit()
    assert not box.error.isVisible() and not box.formula_edit.has_problem()
    assert model.session.formula == "log(x) + y" and model.session.view == (0.5, 3.0, -3.0, 3.0)
    box.view_edits[1].setText("0.1")  # x to < x from
    box.view_edits[1].editingFinished.emit()
    assert "Invalid view box" in box.error.text() and box.view_edits[1].has_problem()
    box.view_edits[1].setText("abc")
    box.view_edits[1].editingFinished.emit()
    assert "'abc' is not a number" in box.error.text()
    assert model.session.view == (0.5, 3.0, -3.0, 3.0)
    wait_computed(qtbot, playground)


def test_a_session_with_a_formula_opens_in_the_box(qtbot):
    session = default_session().with_(surface=CUSTOM, formula="x**2 + 3*y**2", view=(-2.0, 2.0, -1.0, 1.0),
                                      starts=((1.5, 0.5),))
    tab = make_tab(qtbot, session)
    try:
        panel = tab.side_panel
        assert panel.surface_combo.currentData() == CUSTOM
        assert panel.formula_box.formula_edit.text() == "x**2 + 3*y**2"
        assert panel.formula_box.view_text() == ("-2", "2", "-1", "1")
        assert tab.model.field.key[0].startswith("custom:")
        (x0, x1), (y0, y1) = tab.surface_view.getPlotItem().getViewBox().viewRange()
        assert x0 <= -2 and x1 >= 2 and y0 <= -1 and y1 >= 1
        panel.surface_combo.setCurrentIndex(panel.surface_combo.findData("booth"))
        assert tab.model.session.formula == "" and tab.model.session.surface == "booth"
        assert not panel.formula_box.isVisible()
        wait_computed(qtbot, tab)
    finally:
        assert tab.shutdown()


@pytest.mark.parametrize("formula", ["x + y", "0*x", "1"])
def test_a_plane_or_a_constant_is_drawn_without_an_error(qtbot, playground, formula):
    """A plane is a learner's first formula: the minima search raised torch's "element 0 of tensors does not
    require grad", blamed on the paths, and the loss plot said "computing…" for good. It has no minima, says so by
    marking none, and the paths are drawn."""
    panel, model = playground.side_panel, playground.model
    _choose_custom(qtbot, playground)
    errors = []
    model.compute_failed.connect(errors.append)
    edit = panel.formula_box.formula_edit
    edit.setText(formula)
    edit.editingFinished.emit()
    assert model.session.formula == formula and not panel.formula_box.error.isVisible()
    wait_computed(qtbot, playground)
    qtbot.waitUntil(lambda: model.field is not None and model.field.minima is not None, timeout=20_000)
    assert errors == [] and model.field.minima == () and playground.last_error == ""
    assert playground.surface_view.markers.points().size == 0
    assert model.result is not None and model.result.session.formula == formula


def test_an_empty_formula_points_to_the_hint_once(qtbot, playground):
    panel = playground.side_panel
    _choose_custom(qtbot, playground)
    box = panel.formula_box
    box.formula_edit.setText("  ")
    box.formula_edit.editingFinished.emit()
    assert box.error.text() == "empty formula (see below)"
