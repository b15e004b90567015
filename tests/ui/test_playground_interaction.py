"""Playground interactions with real events; each asserts on the model and on what is plotted."""

from __future__ import annotations

import numpy as np
import pytest
from playground_helpers import (TIMEOUT_MS, double_click, plotted_starts, send_mouse, viewport_pos,
                                wait_computed)
from PySide6.QtCore import QEvent, Qt


def test_dragging_a_start_moves_it_and_every_path_follows(qtbot, playground):
    model, view = playground.model, playground.surface_view
    x0, y0 = model.starts[0]
    viewport = view.viewport()
    press = viewport_pos(playground, x0, y0)
    target = (0.5, -2.8)
    end = viewport_pos(playground, *target)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send_mouse(viewport, QEvent.Type.MouseButtonPress, press, left, left)
    seen_while_dragging = []
    for k in range(1, 9):
        pos = press + (end - press) * (k / 8)
        send_mouse(viewport, QEvent.Type.MouseMove, pos, none, left)
        if k == 4:  # paths follow while the button is still held, not only on release
            halfway = model.starts[0]
            qtbot.waitUntil(lambda: model.result is not None and model.result.session.starts[0] == halfway,
                            timeout=TIMEOUT_MS)
            seen_while_dragging.append(model.result.paths.positions[:, 0, 0].copy())
    assert view.start_handles.is_dragging()
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, end, left, none)
    assert not view.start_handles.is_dragging()
    x1, y1 = model.starts[0]
    pixel = (view.getPlotItem().getViewBox().viewPixelSize())
    assert abs(x1 - target[0]) < 2 * pixel[0] and abs(y1 - target[1]) < 2 * pixel[1]
    assert np.allclose(seen_while_dragging[0], halfway)
    wait_computed(qtbot, playground)
    positions = model.result.paths.positions
    assert positions.shape[0] == 6
    assert np.allclose(positions[:, 0, 0], (x1, y1))  # every optimizer's path starts at the new point
    assert all(np.allclose(p, (x1, y1)) for p in plotted_starts(playground))
    assert len(plotted_starts(playground)) == 6


def test_toggling_an_optimizer_off_and_on(qtbot, playground):
    model, panel = playground.model, playground.side_panel
    adam = [e.choice.name for e in model.entries].index("adam")
    panel.sections[adam].enabled_box.click()
    assert not model.entries[adam].enabled
    wait_computed(qtbot, playground)
    assert adam not in model.result.entries and len(model.result.entries) == 5
    assert len(playground.surface_view.path_items.rows) == 5
    assert "Adam" not in [label.text for _, label in playground.surface_view.legend.items]
    assert len(playground.loss_plot.curves) == 5
    assert "Adam" not in [row[0] for row in playground.status_table.row_texts()]
    panel.sections[adam].enabled_box.click()
    assert model.entries[adam].enabled
    wait_computed(qtbot, playground)
    assert len(model.result.entries) == 6 and len(playground.surface_view.path_items.rows) == 6
    assert "Adam" in [label.text for _, label in playground.surface_view.legend.items]


def test_changing_lr_recomputes_that_optimizer(qtbot, playground):
    model = playground.model
    sgd = 0
    before = model.result.paths.positions[sgd].copy()
    editor = playground.side_panel.sections[sgd].panel.editor("lr")
    editor.lineEdit().selectAll()
    qtbot.keyClicks(editor.lineEdit(), "0.02")
    qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Return)
    assert model.entries[sgd].choice.values["lr"] == pytest.approx(0.02)
    wait_computed(qtbot, playground)
    after = model.result.paths.positions[sgd]
    assert not np.allclose(before[0, 1:20], after[0, 1:20], equal_nan=True)
    model.set_step(model.last_step)
    drawn = playground.surface_view.plotted_paths(sgd)[0]
    assert np.allclose(drawn, after[0], equal_nan=True)
    assert "lr 0.02" in playground.side_panel.sections[sgd].summary.text()


def test_scrubbing_the_timeline_moves_heads_cursor_and_status(qtbot, playground):
    model, bar = playground.model, playground.animation_bar
    bar.slider.setValue(40)
    assert model.step == 40
    positions = model.result.paths.positions
    for row, items in enumerate(playground.surface_view.path_items.rows):
        hx, hy = items.heads.getData()
        assert np.allclose((hx[0], hy[0]), positions[row, 0, 40])
        assert len(playground.surface_view.plotted_paths(row)[0]) == 41
    assert playground.loss_plot.cursor.value() == 40
    assert "step 40 of" in playground.status_table.caption.text()
    assert bar.step_label.text() == f"step 40 / {model.last_step}"
    qtbot.mouseClick(bar.forward_button, Qt.MouseButton.LeftButton)
    assert model.step == 41 and bar.slider.value() == 41
    qtbot.mouseClick(bar.back_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(bar.back_button, Qt.MouseButton.LeftButton)
    assert model.step == 39
    playground.loss_plot.cursor.setValue(120)  # dragging the loss-plot cursor scrubs too
    assert model.step == 120 and bar.slider.value() == 120


def test_play_advances_and_space_toggles(qtbot, playground):
    model, animator = playground.model, playground.animator
    model.set_step(0)
    playground.surface_view.setFocus()
    qtbot.keyClick(playground.surface_view, Qt.Key.Key_Space)
    assert animator.is_playing()
    qtbot.waitUntil(lambda: model.step > 5, timeout=TIMEOUT_MS)
    qtbot.keyClick(playground.surface_view, Qt.Key.Key_Space)
    assert not animator.is_playing()
    animator.speed = 3000
    animator.play()
    qtbot.waitUntil(lambda: not animator.is_playing(), timeout=TIMEOUT_MS)  # stops at the last step
    assert model.step == model.last_step


def test_double_click_adds_a_start_and_delete_removes_it(qtbot, playground):
    model, view = playground.model, playground.surface_view
    pos = viewport_pos(playground, 2.5, 2.5)
    double_click(view.viewport(), pos)
    assert len(model.starts) == 2 and model.selected == 1
    assert np.allclose(model.starts[1], (2.5, 2.5), atol=0.05)
    wait_computed(qtbot, playground)
    assert model.result.paths.positions.shape[1] == 2
    assert len(view.start_handles.handles) == 2
    assert all(len(view.plotted_paths(row)) == 2 for row in range(6))
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Right)  # nudge the selected point
    assert model.starts[1][0] > 2.5 - 0.05 and model.starts[0] == (1.5, -4.0)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert len(model.starts) == 1 and model.starts[0] == (1.5, -4.0)
    wait_computed(qtbot, playground)
    assert model.result.paths.positions.shape[1] == 1
    assert all(len(view.plotted_paths(row)) == 1 for row in range(6))
    assert len(view.start_handles.handles) == 1


def test_right_click_removes_a_start_and_eight_starts_fit(qtbot, playground):
    model, view = playground.model, playground.surface_view
    for k in range(8):
        model.add_start(-2.0 + 0.5 * k, -3.0)
    assert len(model.starts) == 9
    wait_computed(qtbot, playground)
    assert model.result.paths.positions.shape[:2] == (6, 9)
    assert len(plotted_starts(playground)) == 6 * 9
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=viewport_pos(playground, -2.0, -3.0))
    assert len(model.starts) == 8 and (-2.0, -3.0) not in model.starts
    wait_computed(qtbot, playground)
    assert len(plotted_starts(playground)) == 6 * 8
