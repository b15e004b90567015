"""Main window: session files, remembered layout, the --screenshot flow."""

from __future__ import annotations

import json
import subprocess
import sys
from argparse import Namespace

import pytest
from playground_helpers import TIMEOUT_MS, wait_computed
from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

import optviz.ui.main_window as main_window
from optviz.core.session import save_session, session_to_dict
from optviz.ui.app import parse_size, run_gui


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def make_window(qtbot, settings, session=None, size=(1200, 800)):
    window = main_window.MainWindow(session, settings=settings, autoplay=False)
    qtbot.addWidget(window)
    if size:
        window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    wait_computed(qtbot, window.playground)
    return window


def test_save_then_open_round_trips_and_bad_files_change_nothing(qtbot, settings, tmp_path):
    window = make_window(qtbot, settings)
    model = window.playground.model
    model.add_start(1.0, 1.0)
    model.set_enabled(3, False)
    path = tmp_path / "mine.json"
    assert window.save_session(path)
    data = json.loads(path.read_text())
    assert data["starts"] == [[1.5, -4.0], [1.0, 1.0]] and data["optimizers"][3]["enabled"] is False
    assert data["training"] == window.training.config_dict()
    bad = tmp_path / "bad.json"
    for text in ("{not json", json.dumps({"version": 1, "surface": {"name": "nowhere"}})):
        bad.write_text(text)
        before = model.session
        assert not window.open_session(bad)
        assert model.session == before
        assert window.last_message is not None and "bad.json" in window.last_message.text()
        window.last_message.close()
    model.remove_start(1)
    assert window.open_session(path)
    assert model.starts == ((1.5, -4.0), (1.0, 1.0)) and not model.entries[3].enabled
    wait_computed(qtbot, window.playground)
    window.close()


def test_window_remembers_geometry_splitters_and_session(qtbot, settings):
    window = make_window(qtbot, settings, size=(790, 600))  # the offscreen screen is 800×800
    window.playground.model.set_surface("himmelblau")
    window.playground.main_splitter.setSizes([300, 100, 350])
    sizes = window.playground.main_splitter.sizes()
    size = (window.width(), window.height())  # what the window could get: at least its minimum size
    window.show_tab("training")
    window.close()
    again = make_window(qtbot, settings, size=None)
    assert again.playground.model.session.surface == "himmelblau"
    assert (again.width(), again.height()) == size
    assert again.tabs.currentIndex() == 1
    again.show_tab("playground")
    qtbot.waitUntil(lambda: again.playground.main_splitter.sizes() == sizes, timeout=TIMEOUT_MS)
    again.close()


def test_status_bar_shows_the_device(qtbot, settings):
    import re

    window = make_window(qtbot, settings)
    text = window.device_label.text()
    paths = window.playground.model.result.paths
    n = paths.positions.shape[0] * paths.positions.shape[1]
    # which engine drew these paths, and the fast engine's state only where it adds something
    assert re.fullmatch(rf"Device: cpu   {n} paths × {paths.steps} steps in [0-9.]+ m?s "
                        r"\((fast engine|eager engine; fast engine (idle|compiling|ready|unavailable: .+))\)", text), text
    window.close()


def test_screenshot_command_writes_the_png(tmp_path):
    out = tmp_path / "shot.png"
    session = tmp_path / "s.json"
    save_session(load_session_default().with_(steps=120), session)
    proc = subprocess.run([sys.executable, "-m", "optviz", "--screenshot", str(out), "--session", str(session),
                           "--size", "960x640"], capture_output=True, text=True, timeout=180,
                          env=_env_offscreen())
    assert proc.returncode == 0, proc.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (960, 640)


def test_bad_session_or_size_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    args = Namespace(session=str(bad), tab=None, screenshot=str(tmp_path / "x.png"), size="1400x900")
    assert run_gui(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.json" in err
    assert run_gui(Namespace(session=None, tab=None, screenshot="x.png", size="big")) == 2
    with pytest.raises(ValueError):
        parse_size("10x10")
    assert not (tmp_path / "x.png").exists()


class _FakeTraining(QWidget):
    """Stands in for the training tab: finishes its runs a little after start()."""

    runs_finished = Signal()
    settings_changed = Signal()

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.config = None

    def set_config(self, data):
        self.config = data

    def config_dict(self):
        return dict(self.config or {})

    def start(self):
        QTimer.singleShot(50, self.runs_finished.emit)

    def is_running(self):
        return False

    def shutdown(self):
        pass


def test_screenshot_of_the_training_tab_waits_for_runs_finished(qtbot, tmp_path, monkeypatch):
    fake = _FakeTraining()
    monkeypatch.setattr(main_window, "TrainingTab", lambda: fake)
    window = main_window.MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                                    remember=False, autoplay=False)
    qtbot.addWidget(window)
    from optviz.ui.app import screenshot_window

    session = load_session_default().with_(training={"epochs": 1})
    out = tmp_path / "training.png"
    assert screenshot_window(window, out, (900, 560), "training", session) == 0
    assert fake.config == {"epochs": 1}
    assert QImage(str(out)).width() == 900
    qtbot.waitUntil(lambda: not window.playground.computer.is_busy(), timeout=TIMEOUT_MS)


def load_session_default():
    from optviz.core.presets import default_session

    return default_session()


def _env_offscreen():
    import os

    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def test_session_to_dict_of_window_is_what_cli_reads(qtbot, settings, tmp_path):
    window = make_window(qtbot, settings)
    data = session_to_dict(window.current_session())
    enabled = [o["name"] for o in data["optimizers"] if o.get("enabled", True)]
    assert data["surface"]["name"] == "himmelblau"
    assert enabled == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]  # the others: off until enabled
    window.close()


def test_lessons_menu_loads_the_wells_lesson(qtbot, settings):
    window = make_window(qtbot, settings)
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Lessons")
    titles = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert len(titles) >= 5 and titles[0] == "1. Six optimizers, three minima"
    wells = next(a for a in menu.actions() if a.text().startswith("2. Noisy gradients"))
    wells.trigger()
    model = window.playground.model
    assert model.session.surface == "wells" and model.starts == ((-3.2, 2.6),)
    wait_computed(qtbot, window.playground)
    paths = model.result.paths
    names = [c.name for c in model.session.enabled_choices()]
    sgd_end = paths.positions[names.index("sgd"), 0, -1]
    momentum_end = paths.positions[names.index("momentum"), 0, -1]
    assert abs(sgd_end[0] - (-0.963)) < 0.1 and abs(momentum_end[0] - 1.716) < 0.1  # noisy: near the wells
    assert window.lessons.dock.isVisible() and "Momentum" in window.lessons.dock.panel.explanation.text()
    window.close()
