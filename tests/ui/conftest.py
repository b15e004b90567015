"""Qt tests run offscreen; no test may leave a worker running."""

from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _collect_on_the_gui_thread(request):
    """As the app does (MainWindow installs it): worker threads never run the garbage collector on Qt objects."""
    if "qtbot" in request.fixturenames or "qapp" in request.fixturenames:
        request.getfixturevalue("qapp")
        from optviz.ui import gc_guard

        gc_guard.install()
    yield


@pytest.fixture(autouse=True)
def _no_running_workers(request):
    """Fail a Qt test that leaves a job in the global thread pool or a playground job thread alive."""
    yield
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        return
    from PySide6.QtCore import QThreadPool

    assert QThreadPool.globalInstance().waitForDone(10_000), "a worker was still running after the test"
    alive = [t.name for t in threading.enumerate() if t.name.startswith("optviz-job")]
    assert not alive, f"threads still running after the test: {alive}"


@pytest.fixture(autouse=True)
def _no_training_thread_left():
    """Fail a test that leaves a training job's thread alive (stop/shutdown must join it)."""
    yield
    alive = [t.name for t in threading.enumerate() if t.name.startswith("optviz-training")]
    assert not alive, f"training threads left running: {alive}"


@pytest.fixture
def playground(qtbot):
    """A playground tab on the default session, shown, paths computed, not animating; joined at teardown."""
    from playground_helpers import wait_computed

    from optviz.ui.playground.tab import PlaygroundTab

    widget = PlaygroundTab(autoplay=False)
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    qtbot.waitExposed(widget)
    wait_computed(qtbot, widget)
    yield widget
    assert widget.shutdown()
