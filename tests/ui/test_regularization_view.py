"""Regularisation in the playground (issue #12): the surface box's L1/L2 and α, the regularised surface and its
critical points, the constraint region through the moved minimum, the unregularised minimum and the caption."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from playground_helpers import TIMEOUT_MS, make_tab, wait_computed
from PySide6.QtCore import Qt

from optviz.core.presets import default_session
from optviz.core.regularize import DEMO, Penalty, geometry
from optviz.core.session import session_from_dict, session_to_dict
from optviz.core.surfaces import get_surface

BOOTH = DEMO["surface"]
ALPHA = DEMO["strength"]  # 20: L1 puts Booth's minimum on the y axis, L2 only shrinks it


@pytest.fixture
def booth_tab(qtbot, monkeypatch):
    monkeypatch.setenv("OPTVIZ_ENGINE", "eager")  # 100 steps: no C kernel to build for each new surface function
    tab = make_tab(qtbot, default_session().with_(surface=BOOTH, starts=((-6.0, 6.0),), steps=100))
    yield tab
    assert tab.shutdown()


def choose(qtbot, tab, kind: str, strength: float | None = None) -> None:
    """Pick the penalty in the surface box as a user does, and wait for the region and the paths."""
    form = tab.side_panel.penalty_form
    form.kind_combo.setCurrentIndex(form.kind_combo.findData(kind))
    if strength is not None:
        form.strength_box.setValue(strength)
    region = tab.surface_view.regularization
    qtbot.waitUntil(lambda: not region.is_busy() and (region.result is not None) == tab.model.session.penalty.active,
                    timeout=TIMEOUT_MS)
    wait_computed(qtbot, tab)
    qtbot.waitUntil(lambda: tab.model.field.minima is not None, timeout=TIMEOUT_MS)


def marker_points(tab) -> list[tuple[float, float]]:
    x, y = tab.surface_view.markers.getData()
    return list(zip(x.tolist(), y.tolist()))


def test_l1_on_booth_draws_the_diamond_through_a_minimum_exactly_on_the_axis(qtbot, booth_tab):
    tab, region = booth_tab, booth_tab.surface_view.regularization
    choose(qtbot, tab, "l1", ALPHA)
    penalty = Penalty("l1", ALPHA)
    assert tab.model.session.penalty == penalty
    g = geometry(get_surface(BOOTH), penalty)
    assert np.array_equal(region.drawn_outline(), g.outline)  # the diamond |x| + |y| = r, as the core has it
    assert region.drawn_minimum() == (g.minimum.x, g.minimum.y)
    x, y = region.drawn_minimum()
    assert x == 0.0 and y == pytest.approx(1.8, abs=1e-9)  # exactly on the axis: L1's kink
    assert np.abs(region.drawn_outline()).sum(axis=1) == pytest.approx(1.8)
    assert marker_points(tab) == [(0.0, pytest.approx(1.8, abs=1e-9))]  # the regularised surface's own minimum
    bx, by = region.base.getData()
    assert (bx[0], by[0]) == pytest.approx((1.0, 3.0))  # Booth's own minimum, faintly
    assert region.base.opts["brush"].color().alpha() < 255 and region.label.isVisible()
    assert region.label.textItem.toPlainText() == "moved by L1"
    assert (region.arrow_head.pos().x(), region.arrow_head.pos().y()) == (x, y)
    caption = "L1 α=20: minimum on the axis x = 0, at (0, 1.8)"
    assert region.caption.textItem.toPlainText() == caption
    assert tab.side_panel.penalty_form.caption.text() == caption
    assert "+ L1" in tab.surface_view.title_text()
    # the paths run on the regularised surface: the loss at the start includes the penalty
    f0 = float(get_surface(BOOTH)(torch.tensor([-6.0, 6.0], dtype=torch.float64)))
    assert tab.model.result.paths.losses[0, 0, 0] == pytest.approx(f0 + ALPHA * 12.0, rel=1e-12)
    combo = tab.side_panel.surface_combo  # another surface: the penalty stays, the region is the new surface's
    combo.setCurrentIndex(combo.findData("himmelblau"))
    assert region.drawn_minimum() is None  # Booth's region is not left on Himmelblau meanwhile
    qtbot.waitUntil(lambda: region.result is not None and not region.is_busy(), timeout=TIMEOUT_MS)
    g = geometry(get_surface("himmelblau"), penalty)
    assert region.drawn_minimum() == (g.minimum.x, g.minimum.y) and g.minimum.y == 0.0
    assert tab.side_panel.penalty_form.kind_combo.currentData() == "l1"
    wait_computed(qtbot, tab)


def test_l2_at_the_same_strength_shrinks_the_minimum_to_the_closed_form_on_a_circle(qtbot, booth_tab):
    tab, region = booth_tab, booth_tab.surface_view.regularization
    choose(qtbot, tab, "l1", ALPHA)
    l1_image = tab.surface_view.image.image.copy()
    choose(qtbot, tab, "l2")  # α stays 20: everything drawn must still change
    assert tab.side_panel.penalty_form.strength_box.value() == ALPHA
    assert tab.model.session.penalty == Penalty("l2", ALPHA)
    hessian = np.array([[10.0, 8.0], [8.0, 10.0]])  # Booth is the quadratic (w − w*)ᵀH(w − w*)/2, w* = (1, 3)
    closed = np.linalg.solve(hessian + ALPHA * np.eye(2), hessian @ np.array([1.0, 3.0]))
    assert region.drawn_minimum() == pytest.approx(tuple(closed), abs=1e-9)
    assert marker_points(tab) == [pytest.approx(tuple(closed), abs=1e-9)]
    outline = region.drawn_outline()
    assert np.array_equal(outline, geometry(get_surface(BOOTH), Penalty("l2", ALPHA)).outline)
    assert np.hypot(outline[:, 0], outline[:, 1]) == pytest.approx(np.hypot(*closed), rel=1e-12)  # a circle
    assert all(abs(v) > 0.5 for v in region.drawn_minimum())  # no coordinate goes to 0: L2 only shrinks
    assert region.label.textItem.toPlainText() == "moved by L2"
    assert "shrunk towards 0 (‖x‖ 3.16 → 1.35)" in region.caption.textItem.toPlainText()
    assert "+ L2" in tab.surface_view.title_text()
    assert not np.array_equal(tab.surface_view.image.image, l1_image)  # the heatmap is L2's
    box = tab.side_panel.penalty_form.strength_box  # α typed in its box
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "5")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.model.session.penalty == Penalty("l2", 5.0), timeout=TIMEOUT_MS)
    assert tab.model.surface.param_values() == {"l2": 5.0}  # the regularised surface's α …
    assert not tab.side_panel.param_editors  # … is edited there, not among Booth's (no) parameters
    wait_computed(qtbot, tab)


def test_switching_off_removes_the_region_and_opening_a_saved_session_brings_it_back(qtbot, booth_tab):
    tab, region, form = booth_tab, booth_tab.surface_view.regularization, booth_tab.side_panel.penalty_form
    assert not form.strength_box.isEnabled()  # α means nothing without a penalty
    form.kind_combo.setCurrentIndex(form.kind_combo.findData("l1"))
    assert form.strength_box.isEnabled() and form.caption.text() == "α = 0 adds nothing: set a strength above 0."
    assert not tab.model.session.penalty.active and not region.outline.isVisible()
    choose(qtbot, tab, "l1", ALPHA)
    assert form.strength_box.isEnabled() and region.outline.isVisible()
    data = session_to_dict(tab.model.session)
    assert data["penalty"] == {"kind": "l1", "strength": ALPHA}
    choose(qtbot, tab, "none")
    assert tab.model.session.penalty.kind == "none" and not form.strength_box.isEnabled()
    assert not any(item.isVisible() for item in region.items())
    assert region.drawn_outline() is None and region.drawn_minimum() is None
    assert form.caption.text() == "" and "+ L1" not in tab.surface_view.title_text()
    assert marker_points(tab) == [pytest.approx((1.0, 3.0))]
    tab.set_session(session_from_dict(data))
    assert (form.kind_combo.currentData(), form.strength_box.value()) == ("l1", ALPHA)
    qtbot.waitUntil(lambda: region.drawn_minimum() == (0.0, pytest.approx(1.8)), timeout=TIMEOUT_MS)
    wait_computed(qtbot, tab)


@pytest.mark.parametrize("kind, minimum, base, caption", [
    ("l1", (0.0, 1.8), (1.0, 3.0), "L1 α=20: minimum on the axis x = 0, at (0, 1.8)"),
    ("l1", (3.28698, 0.0), (3.58443, -1.84813), "L1 α=20: minimum on the axis y = 0, at (3.28698, 0)"),
    ("l1", (0.0, 0.0), (1.0, 1.0), "L1 α=20: minimum at the origin (x = y = 0)"),
    ("l2", (0.0, 0.0), (0.0, 0.0), "L2 α=20: the minimum stays at (0, 0)"),
    ("l2", (0.6, 0.8), (3.0, 4.0), "L2 α=20: minimum at (0.6, 0.8), shrunk towards 0 (‖x‖ 5 → 1)"),
    ("l2", None, None, "L2 α=20: no minimum in the view"),
])
def test_the_caption_says_where_the_minimum_went(kind, minimum, base, caption):
    from optviz.core.regularize import Geometry
    from optviz.core.surfaces import Point
    from optviz.ui.playground.regularization import caption_text

    penalty = Penalty(kind, ALPHA)
    g = Geometry(penalty, Point(*minimum, 0.0) if minimum else None, Point(*base, 0.0) if base else None, 0.0,
                 np.zeros((0, 2)))
    assert caption_text(penalty, g) == caption
    assert caption_text(Penalty("l1", 0.0), g) == ""  # no penalty: no caption
