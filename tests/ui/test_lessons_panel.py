"""The Lessons menu and the lesson panel: opening a lesson, "try next" by one click, the notice, the title, --lesson."""

from __future__ import annotations

import numpy as np
import pytest
from playground_helpers import TIMEOUT_MS, make_window, wait_computed
from PySide6.QtCore import Qt

from optviz.cli import main
from optviz.core.lessons import get_lesson, lessons, matches


@pytest.fixture
def window(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    yield w
    w.close()


def lessons_menu(window):
    return next(a.menu() for a in window.menuBar().actions() if a.text() == "&Lessons")


def lesson_action(window, name):
    lesson = get_lesson(name)
    return next(a for a in lessons_menu(window).actions() if a.text() == f"{lesson.number}. {lesson.title}")


def visible_menus(window):
    return [a.text() for a in window.menuBar().actions() if a.isVisible()]


def test_the_lessons_menu_lists_every_lesson_on_both_tabs_and_replaces_presets(window):
    menu = lessons_menu(window)
    texts = [a.text() for a in menu.actions()]
    sections = [a.text() for a in menu.actions() if a.isSeparator() and a.text()]
    assert sections == ["Playground", "Training lab"]
    for lesson in lessons().values():
        assert f"{lesson.number}. {lesson.title}" in texts
    assert "&Presets" not in visible_menus(window)
    window.show_tab("training")
    assert "&Lessons" in visible_menus(window)
    assert not window.lessons.dock.isVisible()  # the panel appears when a lesson is opened


def test_opening_a_lesson_loads_it_restarts_the_animation_and_shows_the_panel(qtbot, window):
    model = window.playground.model
    model.set_step(model.last_step)
    lesson_action(window, "rosenbrock").trigger()
    lesson = get_lesson("rosenbrock")
    assert model.step == 0
    assert matches(lesson.session, model.session, "playground")
    dock = window.lessons.dock
    assert dock.isVisible()
    assert dock.panel.title.text() == "3. Rosenbrock's valley: Momentum overshoots, Nesterov corrects"
    assert dock.panel.explanation.text() == lesson.explanation
    assert "zig-zags across the valley floor" in dock.panel.look_for.text()
    assert not dock.panel.notice.isVisible()
    assert window.windowTitle() == "optviz — Lesson 3: Rosenbrock's valley: Momentum overshoots, Nesterov corrects"
    assert lesson.explanation[:40] not in window.statusBar().currentMessage()  # no more lesson in the status bar
    assert window.lessons.dock.x() < window.tabs.x()  # beside the view, on its left
    wait_computed(qtbot, window.playground)


def test_the_lesson_dock_takes_its_width_from_the_surface_not_the_plots_column(qtbot, window):
    """The dock's 280 px came out of the surface and the plots column 3:2, and the plots column, at 270 px, cut
    the rule's numbers and the status table's f behind a scroll bar. The surface gives the width now."""
    tab = window.playground
    qtbot.waitUntil(lambda: tab.main_splitter.sizes()[0] > 0, timeout=TIMEOUT_MS)
    before = tab.main_splitter.sizes()
    lesson_action(window, "adagrad").trigger()
    qtbot.waitUntil(lambda: window.lessons.dock.isVisible() and tab.main_splitter.sizes() != before,
                    timeout=TIMEOUT_MS)
    wait_computed(qtbot, tab)
    after = tab.main_splitter.sizes()
    assert after[1:] == before[1:] and after[0] < before[0] - 200, (before, after)
    page = tab.middle_tabs.currentWidget()  # the Loss page's scroll area: nothing of it hidden sideways
    assert not page.horizontalScrollBar().isVisible()
    bar, fit = tab.animation_bar, tab.fit_button  # the bar under the narrower surface still shows all it holds
    assert bar.step_label.fontMetrics().horizontalAdvance(bar.step_label.text()) <= bar.step_label.width()
    assert fit.geometry().right() <= fit.parentWidget().width()


def test_a_try_next_button_applies_its_edit_with_one_click(qtbot, window):
    window.open_lesson("rosenbrock")
    panel = window.lessons.dock.panel
    button = panel.buttons[1]
    assert button.text() == "Raise Momentum's and Nesterov's lr to 0.002"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    model = window.playground.model
    values = {e.choice.name: e.choice.values["lr"] for e in model.session.optimizers if e.enabled}
    assert values["momentum"] == values["nesterov"] == 0.002 and values["sgd"] == 0.001
    wait_computed(qtbot, window.playground)
    paths = model.result.paths
    names = [c.name for c in model.session.enabled_choices()]
    ends = {n: paths.positions[names.index(n), 0, -1] for n in ("momentum", "nesterov")}
    assert np.hypot(*(ends["momentum"] - 1)) < 1e-3  # what the button said would happen
    assert np.allclose(ends["nesterov"], (0.86, 0.73), atol=0.005)
    assert panel.notice.isVisible() and panel.notice.text().startswith("Tried: Raise Momentum")
    assert "(settings changed)" not in window.windowTitle()


def test_changing_a_setting_shows_the_notice_and_the_title_follows(qtbot, window):
    window.open_lesson("saddle")
    panel = window.lessons.dock.panel
    model = window.playground.model
    model.set_steps(200)
    assert panel.notice.isVisible() and "no longer match" in panel.notice.text()
    assert window.windowTitle() == "optviz — Lesson 7: Escaping a saddle (settings changed)"
    qtbot.mouseClick(panel.reload_button, Qt.MouseButton.LeftButton)
    assert model.session.steps == 150 and not panel.notice.isVisible()
    assert window.windowTitle() == "optviz — Lesson 7: Escaping a saddle"
    wait_computed(qtbot, window.playground)


def test_the_panel_closes_and_comes_back_from_the_menu(qtbot, window):
    window.open_lesson("adam")
    dock = window.lessons.dock
    dock.close()
    assert not dock.isVisible()
    window.lessons.panel_action.trigger()
    assert dock.isVisible() and dock.panel.title.text().startswith("6. Adam")
    wait_computed(qtbot, window.playground)


def test_opening_a_session_file_forgets_the_lesson(qtbot, window, tmp_path):
    from optviz.core.session import save_session

    window.open_lesson("divergence")
    path = tmp_path / "s.json"
    save_session(get_lesson("himmelblau").session, path)
    assert window.open_session(path)
    assert not window.lessons.dock.isVisible() and window.windowTitle() == "optviz — s.json"
    wait_computed(qtbot, window.playground)


def test_a_training_lesson_loads_its_configuration_and_starts_training(qtbot, window):
    window.open_lesson("batchnorm")
    training = window.training
    lesson = get_lesson("batchnorm")
    assert window.tabs.currentIndex() == 1 and window.lessons.dock.isVisible()
    assert matches(lesson.session, window.current_session(), "training")
    assert training.is_running()
    panel = window.lessons.dock.panel
    assert [b.text() for b in panel.buttons] == ["Add BatchNorm"]
    assert not panel.notice.isVisible()
    first = training.job
    with qtbot.waitSignal(training.runs_finished, timeout=TIMEOUT_MS):  # the running one stops first…
        qtbot.mouseClick(panel.buttons[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: training.job is not first and training.is_running(), timeout=TIMEOUT_MS)  # …then
    assert training.config().batchnorm and training.job.config.batchnorm
    assert "(settings changed)" not in window.windowTitle() and panel.notice.text().startswith("Tried: Add")
    with qtbot.waitSignal(training.runs_finished, timeout=TIMEOUT_MS):
        training.stop()


def test_the_lesson_option_opens_the_app_on_a_lesson(qtbot):
    from optviz.ui.app import _main_window

    w = _main_window(None, remember=False, tab=None, lesson="wells")
    qtbot.addWidget(w)
    try:
        assert w.lessons.lesson.name == "wells" and w.playground.model.session.surface == "wells"
        assert w.windowTitle().startswith("optviz — Lesson 2:")
        wait_computed(qtbot, w.playground)
    finally:
        w.close()


def test_an_unknown_lesson_ends_before_any_window_in_one_line(capsys):
    assert main(["--lesson", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("optviz: error: Invalid lesson: 'nope' (allowed: himmelblau") and "\n" not in err
