"""The wells editor: real clicks add wells and hills, a drag moves one, the wheel over one reshapes it (and only
there), right-click removes it; the paths follow and the session keeps the wells."""

from __future__ import annotations

import json

import pytest
from playground_helpers import make_tab, send_mouse, viewport_pos
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from optviz.core.custom import builtin_wells
from optviz.core.presets import default_session
from optviz.core.session import session_from_dict, session_to_dict

LEFT, RIGHT, NONE = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.MouseButton.NoButton


@pytest.fixture
def wells_tab(qtbot):
    tab = make_tab(qtbot, default_session().with_(surface="wells", starts=((-3.2, 2.6),)))
    tab.side_panel.wells_box.edit_box.setChecked(True)  # what a click on the box does
    yield tab
    assert tab.shutdown()


def _click(tab, x, y, button=LEFT, shift=False):
    view = tab.surface_view.viewport()
    pos = viewport_pos(tab, x, y)
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    for kind, buttons in ((QEvent.Type.MouseButtonPress, button), (QEvent.Type.MouseButtonRelease, NONE)):
        from PySide6.QtGui import QMouseEvent

        event = QMouseEvent(kind, QPointF(pos), QPointF(view.mapToGlobal(pos)), button, buttons, mods)
        QApplication.sendEvent(view, event)


def _wheel(tab, x, y, notches, shift=False):
    view = tab.surface_view.viewport()
    pos = QPointF(viewport_pos(tab, x, y))
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    event = QWheelEvent(pos, QPointF(view.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches), NONE,
                        mods, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view, event)


def test_editing_shows_a_handle_per_well_and_clicks_add_wells_and_hills(qtbot, wells_tab):
    editor, model = wells_tab.surface_view.wells_editor, wells_tab.model
    assert editor.active and [tuple(h.pos()) for h in editor.handles] == [(x, y) for x, y, _, _ in builtin_wells()]
    _click(wells_tab, 2.5, 2.5)
    _click(wells_tab, -2.5, -0.5, shift=True)
    wells = model.session.wells
    assert len(wells) == 5 and len(editor.handles) == 5
    assert wells[3][:2] == pytest.approx((2.5, 2.5), abs=0.05) and wells[3][2] > 0
    assert wells[4][:2] == pytest.approx((-2.5, -0.5), abs=0.05) and wells[4][2] < 0
    assert len(model.starts) == 1  # a click while editing adds no start point
    # the paths are computed on the new wells, and the new well is a minimum of the picture
    qtbot.waitUntil(lambda: model.is_up_to_date() and model.field.minima is not None, timeout=60_000)
    assert wells_tab.model.result.session.wells == wells
    assert any(abs(m.x - 2.5) < 0.3 and abs(m.y - 2.5) < 0.3 for m in model.field.minima)


def test_dragging_a_well_moves_it_with_live_paths(qtbot, wells_tab):
    editor, model = wells_tab.surface_view.wells_editor, wells_tab.model
    view = wells_tab.surface_view.viewport()
    x, y = builtin_wells()[0][:2]
    previews = []
    model.inputs_changed.connect(lambda dragging: previews.append(dragging))
    send_mouse(view, QEvent.Type.MouseButtonPress, viewport_pos(wells_tab, x, y), LEFT, LEFT)
    for k in range(1, 6):
        send_mouse(view, QEvent.Type.MouseMove, viewport_pos(wells_tab, x + 0.3 * k, y - 0.2 * k), NONE, LEFT)
    send_mouse(view, QEvent.Type.MouseButtonRelease, viewport_pos(wells_tab, x + 1.5, y - 1.0), LEFT, NONE)
    moved = model.session.wells[0]
    assert moved[:2] == pytest.approx((x + 1.5, y - 1.0), abs=0.05)
    assert moved[2:] == builtin_wells()[0][2:] and model.session.wells[1:] == builtin_wells()[1:]
    assert True in previews and previews[-1] is False  # previews while dragging, then the full run
    assert tuple(editor.handles[0].pos()) == pytest.approx(moved[:2])
    qtbot.waitUntil(lambda: model.result.session == model.session and not model.result.preview, timeout=60_000)


def test_the_wheel_reshapes_a_well_only_over_its_handle(qtbot, wells_tab):
    model = wells_tab.model
    x, y, depth, width = builtin_wells()[0]
    _wheel(wells_tab, x, y, 3)
    assert model.session.wells[0] == pytest.approx((x, y, depth + 0.3, width))
    _wheel(wells_tab, x, y, -15)  # on through 0: a hill
    assert model.session.wells[0][2] == pytest.approx(depth + 0.3 - 1.5)
    _wheel(wells_tab, x, y, 2, shift=True)
    assert model.session.wells[0][3] == pytest.approx(width * 1.1**2)
    vb = wells_tab.surface_view.getPlotItem().getViewBox()
    before_wells, before_range = model.session.wells, vb.viewRange()
    _wheel(wells_tab, 3.0, -3.5, 2)  # empty surface: the view zooms, no well changes
    assert model.session.wells == before_wells and vb.viewRange() != before_range
    wells_tab.side_panel.wells_box.edit_box.setChecked(False)
    _wheel(wells_tab, *model.session.wells[1][:2], 2)  # not editing: no handles, the wheel zooms
    assert model.session.wells == before_wells and wells_tab.surface_view.wells_editor.handles == []
    # right-click removes a well; the session keeps them
    wells_tab.side_panel.wells_box.edit_box.setChecked(True)
    wells_tab.surface_view.getPlotItem().getViewBox().setRange(xRange=(-4, 4), yRange=(-4, 4), padding=0.0)
    x, y = builtin_wells()[1][:2]
    _click(wells_tab, x, y, button=RIGHT)
    assert model.session.wells == before_wells[:1] + before_wells[2:]
    saved = json.loads(json.dumps(session_to_dict(model.session)))
    assert saved["surface"] == {"name": "wells", "params": {}, "wells": [list(w) for w in model.session.wells]}
    assert session_from_dict(saved).wells == model.session.wells
    wells_tab.side_panel.wells_box.blank_button.click()
    assert model.session.wells == () and model.surface.title == "Wells (blank bowl)"
    wells_tab.side_panel.wells_box.reset_button.click()
    assert model.session.wells is None and model.surface.title == "Wells"
