"""The stability map's lr range (issue: the user sets it) and the map views' settings kept in the model and in
session files — driven by real key, wheel and mouse events, checked on what the view draws and shows."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from playground_helpers import (MAPS_STEPS, TIMEOUT_MS, axis_texts, make_window, maps_tab, parse_value,
                                wait_computed)
from playground_helpers import show_stability as show_map
from PySide6.QtCore import QPoint, QRect, Qt
from test_spec_form import type_into, wheel

from optviz.core.session import BASINS_RESOLUTIONS, STABILITY_Y, MapSettings
from optviz.ui.playground import basins_view
from optviz.ui.playground.map_data import Y_RANGES

STEPS = MAPS_STEPS
NESTEROV = 2  # lr 0.005, momentum 0.9 in the default session
ADAM = 5


@pytest.fixture
def tab(qtbot, monkeypatch):
    """As in test_playground_maps.py: the default session with SGD and Nesterov enabled, 150 steps, eager."""
    widget = maps_tab(qtbot, monkeypatch)
    yield widget
    assert widget.shutdown()


def settled(view) -> bool:
    return view.is_current() and not view.is_busy()


def show_stability(qtbot, tab, entry=NESTEROV, y_name="momentum", resolution=16):
    return show_map(qtbot, tab, entry, y_name, resolution)


def bottom_ticks(view) -> list[float]:
    return [parse_value(text) for _, text in axis_texts(view.plot.getAxis("bottom"))]


def shown(view, label) -> bool:
    return label.isVisibleTo(view) and bool(label.text())


def test_the_settings_lists_agree_with_the_views():
    assert tuple(basins_view.RESOLUTIONS) == BASINS_RESOLUTIONS  # what the basins menu offers, the loader allows
    assert set(STABILITY_Y) - {"auto", "strip"} == set(Y_RANGES)


def test_a_typed_range_recomputes_a_map_spanning_it(qtbot, tab):
    view = show_stability(qtbot, tab)
    assert (view.lr_low_box.value(), view.lr_high_box.value()) == (1e-5, 1.0)  # the defaults
    assert min(bottom_ticks(view)) <= 1e-4  # the default axis reads 10⁻⁴ …
    type_into(qtbot, view.lr_high_box, "1e-1")
    type_into(qtbot, view.lr_low_box, "0.01")
    assert tab.model.maps.stability_lr == (0.01, 0.1)
    qtbot.waitUntil(lambda: settled(view) and view.result.sweep.x_values[0] == 0.01, timeout=TIMEOUT_MS)
    x = view.result.sweep.x_values
    assert len(x) == 16 and x[0] == 0.01 and x[-1] == pytest.approx(0.1, rel=1e-12)
    np.testing.assert_allclose(np.diff(np.log10(x)), 1 / 15)  # geometric steps
    (x0, x1), _ = view.plot.getViewBox().viewRange()
    half = 1 / 30  # half a cell, in decades
    assert x0 == pytest.approx(-2 - half, abs=1e-6) and x1 == pytest.approx(-1 + half, abs=1e-6)
    ticks = bottom_ticks(view)
    assert len(ticks) >= 2, ticks
    for value in ticks:  # every label inside the mapped range (and the half cell at its ends)
        assert 0.01 * 10**-half <= value <= 0.1 * 10**half, ticks
    assert "over lr 0.01 … 0.1" in view.caption.text()


def test_a_bad_range_says_so_and_keeps_the_last_map(qtbot, tab):
    view = show_stability(qtbot, tab)
    type_into(qtbot, view.lr_high_box, "0.01")
    qtbot.waitUntil(lambda: settled(view) and view.result.sweep.x_values[-1] == pytest.approx(0.01), timeout=TIMEOUT_MS)
    good = view.result
    assert not shown(view, view.range_label)
    type_into(qtbot, view.lr_low_box, "0.1")
    assert view.range_label.text() == "lr range: from must be below to (got 0.1 … 0.01)"
    assert shown(view, view.range_label)
    assert tab.model.maps.stability_lr == (1e-5, 0.01) and view.result is good and settled(view)
    assert view.lr_low_box.text() == "0.1"  # the typed value stays, to be fixed
    type_into(qtbot, view.lr_low_box, "abc")
    assert view.range_label.text() == "lr range: from must be a number in (0, 10], got 'abc'"
    type_into(qtbot, view.lr_high_box, "100")
    assert view.range_label.text() == "lr range: to must be a number in (0, 10], got '100'"
    assert view.result is good and tab.model.maps.stability_lr == (1e-5, 0.01)
    type_into(qtbot, view.lr_low_box, "0.001")  # both fixed: the message goes, the map follows
    type_into(qtbot, view.lr_high_box, "1")
    assert not shown(view, view.range_label) and tab.model.maps.stability_lr == (1e-3, 1.0)
    qtbot.waitUntil(lambda: settled(view) and view.result is not good, timeout=TIMEOUT_MS)
    assert view.result.sweep.x_values[0] == 1e-3


def test_the_caption_says_when_the_current_lr_is_outside_and_around_current_zooms_to_it(qtbot, tab):
    view = show_stability(qtbot, tab)
    assert "○ the current values" in view.caption.text() and len(view.current.getData()[0]) == 1
    view.set_lr_range(0.01, 0.1)  # Nesterov's lr is 0.005
    qtbot.waitUntil(lambda: settled(view) and view.result.sweep.x_values[0] == 0.01, timeout=TIMEOUT_MS)
    assert "current lr 0.005 is outside the map, so no ○" in view.caption.text()
    assert len(view.current.getData()[0]) == 0  # no ring drawn off the map
    qtbot.mouseClick(view.around_button, Qt.MouseButton.LeftButton)
    assert tab.model.maps.stability_lr == (5e-5, 0.5)
    assert (view.lr_low_box.value(), view.lr_high_box.value()) == (5e-5, 0.5)
    qtbot.waitUntil(lambda: settled(view) and view.result.sweep.x_values[0] == 5e-5, timeout=TIMEOUT_MS)
    assert "outside" not in view.caption.text() and "○ the current values" in view.caption.text()
    x, y = view.current.getData()
    assert x[0] == pytest.approx(math.log10(0.005)) and y[0] == pytest.approx(0.9)
    assert view.range_around(3.0) == (0.03, 10.0)  # clipped to the registry's largest lr


def test_the_wheel_over_an_unfocused_range_box_changes_nothing(qtbot, tab):
    view = show_stability(qtbot, tab)
    view.plot_widget.setFocus()
    qtbot.waitUntil(view.plot_widget.hasFocus, timeout=2000)
    for box in (view.lr_low_box, view.lr_high_box):
        before = box.value()
        wheel(box, +1)
        wheel(box, -1)
        assert box.value() == before and not box.hasFocus()
    assert tab.model.maps.stability_lr == (1e-5, 1.0)
    view.lr_low_box.setFocus()
    qtbot.waitUntil(view.lr_low_box.hasFocus, timeout=2000)
    wheel(view.lr_low_box, +1)  # focused: the wheel steps along 1-2-5, as the arrows do
    assert view.lr_low_box.value() == pytest.approx(2e-5) and tab.model.maps.stability_lr == (2e-5, 1.0)


def test_the_model_holds_the_settings_and_sets_the_widgets(qtbot, tab):
    view = show_stability(qtbot, tab)
    model = tab.model
    view.set_y_name("")  # the strip, chosen
    assert model.maps.stability_y == "strip"
    qtbot.waitUntil(lambda: settled(view) and view.result.sweep.y_name == "", timeout=TIMEOUT_MS)
    view.set_resolution(32)
    assert model.maps.stability_cells == 32
    seen = []
    for widget in (view.axis_combo, view.resolution_combo):
        widget.currentIndexChanged.connect(seen.append)
    for box in (view.lr_low_box, view.lr_high_box):
        box.valueChanged.connect(seen.append)
    model.set_session(model.session.with_(maps=MapSettings(stability_y="momentum", stability_cells=16,
                                                           stability_lr=(1e-3, 3.0))))
    assert seen == []  # model → widget: the widgets' own signals blocked
    assert view.entry == 0 and view.y_name == ""  # an opened session maps its first optimizer, SGD: a strip only
    assert view.resolution_combo.currentData() == 16 and model.maps.stability_y == "momentum"
    assert (view.lr_low_box.value(), view.lr_high_box.value()) == (1e-3, 3.0)
    view.set_entry(NESTEROV)  # Nesterov has momentum, as the session asks
    assert view.y_name == "momentum"
    qtbot.waitUntil(lambda: settled(view) and view.result.sweep.x_values[-1] == pytest.approx(3.0), timeout=TIMEOUT_MS)
    assert view.result.sweep.final_loss.shape == (16, 16) and view.result.sweep.y_name == "momentum"
    model.set_maps(basins_resolution=64)
    assert model.session.maps.basins_resolution == 64
    wait_computed(qtbot, tab)  # the map settings are no input of the paths: nothing waits for them


def test_the_settings_survive_save_and_open(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTVIZ_ENGINE", "eager")

    def window():
        return make_window(qtbot, tmp_path)

    first = window()
    view = first.playground.stability_view
    first.playground.show_middle(view)
    qtbot.waitUntil(lambda: settled(view), timeout=TIMEOUT_MS)
    viewport = view.parentWidget()  # the tab's scroll area: the controls fit without a horizontal scroll
    assert view.width() <= viewport.width()
    for widget in (view.optimizer_combo, view.axis_combo, view.resolution_combo, view.lr_low_box, view.lr_high_box,
                   view.around_button, view.action_button):
        assert widget.isVisible() and view.rect().contains(QRect(widget.mapTo(view, QPoint(0, 0)), widget.size()))
        assert widget.width() >= widget.minimumSizeHint().width(), widget  # not squeezed
    assert view.around_button.width() >= view.around_button.sizeHint().width()  # its whole text
    view.set_entry(ADAM)
    view.set_y_name("beta2")
    view.set_resolution(16)
    type_into(qtbot, view.lr_high_box, "3")
    type_into(qtbot, view.lr_low_box, "1e-3")
    basins = first.playground.basins_view
    basins.resolution_combo.setCurrentIndex(basins.resolution_combo.findData(64))  # as a pick in its menu does
    assert first.playground.model.maps.basins_resolution == 64
    path = tmp_path / "maps.json"
    assert first.save_session(path)
    first.close()
    data = json.loads(path.read_text())
    assert data["version"] == 3 and data["maps"] == {"basins_resolution": 64, "stability_y": "beta2",
                                                     "stability_cells": 16, "stability_lr": [0.001, 3.0]}
    second = window()
    view = second.playground.stability_view
    assert (view.lr_low_box.value(), view.lr_high_box.value()) == (1e-5, 1.0)  # a new window: the defaults
    assert second.playground.basins_view.resolution == 128
    assert second.open_session(path)
    assert second.playground.basins_view.resolution == 64
    assert (view.lr_low_box.value(), view.lr_high_box.value()) == (1e-3, 3.0)
    assert view.lr_low_box.text() == "0.001" and view.lr_high_box.text() == "3"
    assert view.resolution_combo.currentData() == 16
    view.set_entry(ADAM)
    assert view.axis_combo.currentData() == "beta2"
    second.playground.show_middle(view)
    qtbot.waitUntil(lambda: settled(view), timeout=TIMEOUT_MS)
    sweep = view.result.sweep
    assert sweep.y_name == "beta2" and sweep.final_loss.shape == (16, 16)
    assert sweep.x_values[0] == 1e-3 and sweep.x_values[-1] == pytest.approx(3.0)
    second.close()
