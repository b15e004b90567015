"""The playground's maps (issue #10): basin maps with the race, the stability map, the FPS overlay — checked on
what is drawn (pixel colours, tick strings) and after real mouse events."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from playground_helpers import (MAPS_STEPS, TIMEOUT_MS, axis_texts, make_window, maps_tab, parse_value, send_mouse,
                                show_basins, show_stability, wait_computed)
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt

import optviz.ui.playground.map_data as map_data
from optviz.core.basins import basins, race
from optviz.core.image import DIVERGED, NOT_CONVERGED
from optviz.core.optimizers import REGISTRY, OptimizerChoice
from optviz.ui.playground.map_data import basin_colour, basin_rgba, y_choices
from optviz.ui.playground.stability_view import DIVERGED_RGBA, cell_value

STEPS = MAPS_STEPS


@pytest.fixture
def tab(qtbot, monkeypatch):
    """The default session (Himmelblau) with SGD and Nesterov enabled, 150 steps, eager engine (no compiler)."""
    widget = maps_tab(qtbot, monkeypatch)
    yield widget
    assert widget.shutdown()


def click(widget, pos: QPoint) -> None:
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send_mouse(widget, QEvent.Type.MouseButtonPress, pos, left, left)
    send_mouse(widget, QEvent.Type.MouseButtonRelease, pos, left, none)


def widget_pos(graphics_view, view_box, x: float, y: float) -> QPoint:
    """The viewport pixel of plot coordinates (x, y)."""
    return graphics_view.mapFromScene(view_box.mapViewToScene(QPointF(x, y)))


# -- colours ---------------------------------------------------------------------------------------------------
def test_basin_colours_follow_the_labels_and_darken_with_steps():
    labels = np.array([[0, 1, -1], [-2, 0, 12]])
    steps = np.array([[0, 50, -1], [-1, 100, 100]])
    rgba = basin_rgba(labels, steps, budget=100)
    assert rgba.shape == (2, 3, 4) and (rgba[..., 3] == 255).all()
    assert tuple(rgba[0, 0, :3]) == basin_colour(0)  # converged at once: the full colour
    assert tuple(rgba[1, 1, :3]) == tuple(round(c * 0.45) for c in basin_colour(0))  # at the budget: darkest
    assert tuple(rgba[0, 2, :3]) == NOT_CONVERGED and tuple(rgba[1, 0, :3]) == DIVERGED
    assert basin_colour(12) == basin_colour(2)  # colours repeat every ten minima


def test_stability_axes_for_every_registry_optimizer():
    assert y_choices(OptimizerChoice("momentum")) == ("momentum", "")
    assert y_choices(OptimizerChoice("nesterov")) == ("momentum", "")
    assert y_choices(OptimizerChoice("adam")) == ("beta1", "beta2", "")
    assert y_choices(OptimizerChoice("rmsprop"))[0] == "alpha"
    assert y_choices(OptimizerChoice("sgd")) == ("",) and y_choices(OptimizerChoice("adagrad")) == ("",)
    for name in REGISTRY:  # whatever the registry holds: a strip at least, every axis a hyperparameter of it
        choices = y_choices(OptimizerChoice(name))
        assert choices[-1] == "" and all(c in REGISTRY[name].hyper_names for c in choices[:-1])


# -- basin maps --------------------------------------------------------------------------------------------------
def test_basin_pixels_show_the_core_labels_and_the_race_table_the_core_race(qtbot, tab):
    view = show_basins(qtbot, tab)
    model = tab.model
    surface = model.surface
    enabled = [e.choice for e in model.entries if e.enabled]
    core = basins(surface, enabled, 32, STEPS, engine="eager")
    result = view.result
    assert [p.entry for p in result.panels] == [0, 2] and len(view.plots) == 2
    for panel, m in zip(result.panels, core.maps):
        assert np.array_equal(panel.map.labels, m.labels) and np.array_equal(panel.map.steps, m.steps)
    assert view.row_texts() == [[t, *s.texts()] for t, s in zip(("SGD", "Nesterov"), race(core))]
    assert f"same {STEPS} steps" in view.caption.text() and "32×32" in view.caption.text()
    # What is on screen: the pixel of grid start (xs[j], ys[i]) has its label's colour.
    b = result.basins
    picture = view.graphics.grab().toImage()
    minima_px = []
    for k, plot in enumerate(view.plots):
        vb = plot.getViewBox()
        minima_px = [widget_pos(view.graphics, vb, x, y) for x, y in b.minima]
        labels, steps = result.panels[k].map.labels, result.panels[k].map.steps
        expected = basin_rgba(labels, steps, b.budget)
        checked = set()
        for i in range(1, 32, 3):
            for j in range(1, 32, 3):
                pos = widget_pos(view.graphics, vb, b.xs[j], b.ys[i])
                if min((pos - m).manhattanLength() for m in minima_px) < 14:
                    continue  # a minimum's marker covers it
                colour = picture.pixelColor(pos)
                assert abs(colour.red() - expected[i, j, 0]) <= 2, (k, i, j)
                assert abs(colour.green() - expected[i, j, 1]) <= 2 and abs(colour.blue() - expected[i, j, 2]) <= 2
                checked.add(int(labels[i, j]))
        assert len(checked) >= 3  # several basins seen on every panel


def test_clicking_a_basin_pixel_adds_that_start_and_a_map_lies_over_the_surface(qtbot, tab):
    view = show_basins(qtbot, tab)
    model, b = tab.model, view.result.basins
    n = len(model.starts)
    i, j = 5, 27
    pos = widget_pos(view.graphics, view.plots[1].getViewBox(), b.xs[j], b.ys[i])
    send_mouse(view.graphics.viewport(), QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    assert view.hover_label.text() == view.hover_text(1, i, j)  # what the pointer is over, in words
    assert view.hover_label.text().startswith(f"start ({b.xs[j]:.3g}, ".replace("-", "−"))
    click(view.graphics.viewport(), pos)
    assert len(model.starts) == n + 1 and model.selected == n
    assert model.starts[-1] == pytest.approx((b.xs[j], b.ys[i]))
    wait_computed(qtbot, tab)
    # The path from that start ends where its pixel says (the map's criterion is looser than the paths').
    label = int(view.result.panels[1].map.labels[i, j])
    end = model.result.paths.positions[1, n, -1]
    if label >= 0:
        assert np.hypot(*(end - b.minima[label])) < 0.1
    view.set_overlay(2)
    overlay = view.overlay
    assert overlay.isVisible() and overlay.scene() is tab.surface_view.scene()
    m = view.result.panels[1].map
    assert np.array_equal(overlay.image, basin_rgba(m.labels, m.steps, view.result.basins.budget))
    rect, b = overlay.mapRectToView(overlay.boundingRect()), view.result.basins
    half = (b.xs[1] - b.xs[0]) / 2
    assert rect.left() == pytest.approx(b.xs[0] - half) and rect.right() == pytest.approx(b.xs[-1] + half)
    tab.middle_tabs.setCurrentIndex(0)  # the maps hidden, the overlay still follows the hyperparameters
    tab.model.set_hyper(2, {"lr": 0.004})
    qtbot.waitUntil(lambda: view.is_current() and not view.is_busy(), timeout=TIMEOUT_MS)
    m = view.result.panels[1].map
    assert np.array_equal(overlay.image, basin_rgba(m.labels, m.steps, view.result.basins.budget))
    tab.model.set_surface("rosenbrock")  # another surface: the old map leaves at once
    assert not overlay.isVisible()


def test_hyperparameter_changes_recompute_once_debounced_and_only_when_shown(qtbot, tab):
    tab.model.set_hyper(0, {"lr": 0.02})
    qtbot.wait(400)
    assert tab.basins_view.result is None and not tab.basins_view.is_busy()  # hidden views compute nothing
    assert tab.stability_view.result is None and not tab.stability_view.is_busy()
    view = show_basins(qtbot, tab)
    calls = []
    fn = view.runner._fn
    view.runner._fn = lambda *args: calls.append(1) or fn(*args)
    for lr in (0.011, 0.012, 0.013, 0.014):
        tab.model.set_hyper(0, {"lr": lr})
    qtbot.waitUntil(lambda: view.is_current() and not view.is_busy(), timeout=TIMEOUT_MS)
    assert len(calls) == 1
    assert view.result.key[1][0][1].values["lr"] == 0.014
    tab.model.move_start(0, 1.0, 1.0)  # the maps do not depend on the start points
    qtbot.wait(400)
    assert len(calls) == 1 and view.is_current()


def test_cancel_stops_the_running_map(qtbot, tab, monkeypatch):
    monkeypatch.setattr(map_data, "BLOCK_ROWS", 512)  # a progress report (and a chance to stop) every 512 starts
    view = show_basins(qtbot, tab)
    old = view.result
    progressed = []
    view.runner.progressed.connect(lambda done, total: progressed.append(done))
    view.set_resolution(128)  # 2 × 128² starts: 64 reports
    qtbot.waitUntil(lambda: any(progressed), timeout=TIMEOUT_MS)
    assert view.progress.isVisible() and view.progress.value() > 0 and view.action_button.text() == "Cancel"
    with qtbot.waitSignal(view.runner.cancelled, timeout=TIMEOUT_MS):
        view.action_button.click()
    qtbot.waitUntil(lambda: not view.is_busy(), timeout=TIMEOUT_MS)
    assert max(progressed) < 2 * 128 * 128  # it stopped before the end
    assert view.result is old and "Cancelled" in view.state_label.text()
    assert view.action_button.text() == "Compute" and view.action_button.isEnabled()
    assert not view.progress.isVisible()


# -- stability map -----------------------------------------------------------------------------------------------
def test_stability_map_ticks_are_true_values_and_diverged_cells_red(qtbot, tab):
    view = show_stability(qtbot, tab, 2, "momentum")
    sweep = view.result.sweep
    assert sweep.final_loss.shape == (16, 16) and sweep.y_name == "momentum"
    vb = view.plot.getViewBox()
    texts = axis_texts(view.plot.getAxis("bottom"))
    assert len(texts) >= 4
    for rect, text in texts:
        value = parse_value(text)
        assert sweep.x_values[0] * 0.99 <= value <= sweep.x_values[-1] * 1.01
        drawn_at = vb.mapSceneToView(rect.center()).x()  # log10 of the lr under the label
        assert drawn_at == pytest.approx(math.log10(value), abs=0.02), text
    left = axis_texts(view.plot.getAxis("left"))
    assert [t for _, t in left][:3] == ["0", "0.2", "0.4"]
    for rect, text in left:  # a linear momentum axis, each label at its value
        assert vb.mapSceneToView(rect.center()).y() == pytest.approx(parse_value(text), abs=0.01), text
    assert sweep.diverged.any() and not sweep.diverged.all()
    picture = view.plot_widget.grab().toImage()
    vb = view.plot.getViewBox()
    for i, j in [tuple(c) for c in np.argwhere(sweep.diverged)[::7]]:
        colour = picture.pixelColor(widget_pos(view.plot_widget, vb, math.log10(sweep.x_values[j]), sweep.y_values[i]))
        assert (colour.red(), colour.green(), colour.blue()) == DIVERGED_RGBA[:3]
    i, j = np.argwhere(~sweep.diverged)[0]
    colour = picture.pixelColor(widget_pos(view.plot_widget, vb, math.log10(sweep.x_values[j]), sweep.y_values[i]))
    assert (colour.red(), colour.green(), colour.blue()) != DIVERGED_RGBA[:3]
    view = show_stability(qtbot, tab, 0, "")
    assert [view.axis_combo.itemData(k) for k in range(view.axis_combo.count())] == [""]
    assert view.result.sweep.final_loss.shape == (1, 16) and not view.result.sweep.y_name
    assert axis_texts(view.plot.getAxis("left")) == []


def test_clicking_a_cell_sets_its_hyperparameters(qtbot, tab):
    view = show_stability(qtbot, tab, 2, "momentum")
    model, sweep = tab.model, view.result.sweep
    i, j = 10, 4
    lr, mom = math.log10(sweep.x_values[j]), sweep.y_values[i]
    pos = widget_pos(view.plot_widget, view.plot.getViewBox(), lr, mom)
    click(view.plot_widget.viewport(), pos)
    want_lr, want_mom = cell_value(sweep.x_values[j], True), cell_value(sweep.y_values[i], False)
    values = model.entries[2].choice.values
    assert values["lr"] == want_lr and values["momentum"] == want_mom
    panel = tab.side_panel.sections[2].panel
    assert panel.editor("lr").value() == pytest.approx(want_lr) and panel.editor("momentum").value() == pytest.approx(
        want_mom)
    assert view.is_current()  # the swept values are the map's axes: no recompute
    wait_computed(qtbot, tab)
    assert tab.model.result.session.optimizers[2].choice.values["lr"] == want_lr  # and the path is shown
    x, y = view.current.getData()
    assert x[0] == pytest.approx(math.log10(want_lr)) and y[0] == pytest.approx(want_mom)


def test_the_map_follows_a_dragged_start(qtbot, tab):
    view = show_stability(qtbot, tab, 2, "momentum")
    model = tab.model
    for x in (1.0, 0.5, 0.0):
        model.move_start(0, x, -3.0, dragging=True)
        qtbot.waitUntil(lambda x=x: view.result.sweep.start == (x, -3.0), timeout=TIMEOUT_MS)
    model.move_start(0, 0.0, -3.0, dragging=False)
    qtbot.waitUntil(lambda: view.is_current() and not view.is_busy(), timeout=TIMEOUT_MS)
    wait_computed(qtbot, tab)


# -- FPS overlay -------------------------------------------------------------------------------------------------
def test_view_menu_shows_fps_and_the_last_recompute(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, (1300, 800))
    tab = window.playground
    overlay = tab.fps_overlay
    assert not overlay.isVisible()
    action = next(a for a in window.menuBar().actions() if a.text() == "&View").menu().actions()
    next(a for a in action if a.text() == "Show &FPS").trigger()
    assert overlay.isVisible() and window.fps_action.isChecked()
    for _ in range(10):
        tab.surface_view.viewport().repaint()
    overlay.refresh()
    p = tab.model.result.paths
    match = re.fullmatch(r"(\d+) fps · paths ([\d.]+) (ms|s) · (\w+) engine · (\w+)", overlay.text())
    assert match, overlay.text()
    assert int(match[1]) >= 10 and match[4] == p.engine and match[5] == p.device
    assert float(match[2]) == pytest.approx(p.seconds * (1e3 if match[3] == "ms" else 1), rel=0.01, abs=0.01)
    window.fps_action.trigger()
    assert not overlay.isVisible()
    window.close()
