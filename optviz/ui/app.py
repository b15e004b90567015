"""Start the GUI, or render it headless for ``--screenshot``.

Screenshot flow: build the window (offscreen when there is no display), wait until the playground's paths and
surface picture are computed — or, with ``--tab training``, until the training tab's runs have finished —,
move the animation to its last step, grab the window, save the PNG and exit 0; any failure is one line on
stderr and a non-zero exit.
"""

from __future__ import annotations

import os
import sys
import threading
from argparse import Namespace
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

from optviz.core.params import quote  # no torch: the window still comes first

SCREENSHOT_TIMEOUT_S = 120.0  # playground paths (5,000 steps × 64 starts take about 10 s on a laptop CPU)
TRAINING_TIMEOUT_S = 900.0
PREVIEW_WAIT_S = 1.0  # the preload thread waits at most this long for the preview to be painted


def parse_size(text: str) -> tuple[int, int]:
    """'1400x900' → (1400, 900); ValueError with a one-line message otherwise."""
    w, sep, h = text.lower().partition("x")
    if sep and w.strip().isdigit() and h.strip().isdigit():
        width, height = int(w), int(h)
        if 200 <= width <= 8000 and 200 <= height <= 8000:
            return width, height
    raise ValueError(f"Invalid --size: {quote(text)} (allowed: WIDTHxHEIGHT, each 200 to 8000, e.g. 1400x900)")


def _needs_offscreen() -> bool:
    no_display = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return no_display and "QT_QPA_PLATFORM" not in os.environ


def run_gui(args: Namespace) -> int:
    """Entry point of ``optviz`` without a subcommand; returns the exit status.

    Without ``--session`` or ``--screenshot`` the window appears at once, saying "starting…", while torch and the
    core load in a background thread; the tabs are built once they have. A session file is read first (its
    errors end the command before any window).
    """
    screenshot = getattr(args, "screenshot", None)
    session = None
    try:
        size = parse_size(getattr(args, "size", None) or "1400x900")
        if screenshot:
            from optviz.core.files import OutputError, check_output

            try:
                check_output(screenshot, (".png",))  # a PNG is what it writes: x.gif would hold PNG data
            except OutputError as exc:
                print(f"optviz: error: {exc}", file=sys.stderr)
                return 1
        if getattr(args, "session", None):
            from optviz.core.session import load_session

            session = load_session(args.session)
        lesson = getattr(args, "lesson", None)
        if lesson:
            from optviz.core.lessons import get_lesson

            lesson = get_lesson(lesson).name  # an unknown name ends here, in one line, before any window
    except ValueError as exc:  # SessionError is a ValueError
        print(f"optviz: error: {exc}", file=sys.stderr)
        return 2
    if screenshot and _needs_offscreen():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    # Several 3D views (the playground's, network landscapes') share one GL namespace: pyqtgraph caches its
    # shader programs once, and a second context could not use them otherwise. Must precede the QApplication.
    QApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("optviz")
    app.setApplicationName("optviz")
    if screenshot:
        window = _main_window(session, remember=False, tab=getattr(args, "tab", None), lesson=lesson)
        tab = args.tab or (window.lessons.lesson.tab if lesson else "playground")
        return screenshot_window(window, Path(screenshot), size, tab, session)
    from optviz.ui.starting import StartingWindow

    starting = StartingWindow()
    starting.show()
    trace_when_shown("window_shown")
    _close_on_ctrl_c(starting)
    previewed: list = []  # the preload thread's preview, handed to the GUI thread
    drawn = threading.Event()  # set once the GUI thread has painted it: torch's import would starve the painting
    remembered = None if session is not None else QSettings("optviz", "optviz").value("session/last")
    wanted = not lesson and getattr(args, "tab", None) in (None, "playground")  # the window opens on these paths
    loader = threading.Thread(target=_preload, args=(session, remembered, previewed, drawn, wanted),
                              name="optviz-preload", daemon=True)
    loader.start()
    holder: list = []

    def build() -> None:
        if previewed and starting.isVisible():
            preview = previewed.pop()
            if preview is None:
                drawn.set()
            else:
                starting.show_preview(preview)
                starting.picture.on_painted = lambda: (preview.clipped and trace("preview_drawn"), drawn.set())
        if loader.is_alive():
            return
        poll.stop()
        if not starting.isVisible():  # closed while starting: nothing to build
            return
        window = _main_window(session, remember=True, tab=getattr(args, "tab", None), lesson=lesson)
        if window.settings.value("window/geometry") is None:
            window.setGeometry(starting.geometry())
        window.show()
        starting.hide()
        starting.deleteLater()
        _trace_startup(window)
        _close_on_ctrl_c(window)
        holder.append(window)

    poll = QTimer(interval=10)
    poll.timeout.connect(build)
    poll.start()
    status = int(app.exec())
    # The window has closed and saved its settings; tearing down torch, Qt and the worker threads object by
    # object took ~2 s more (measured with benchmarks/startup.py), so leave at once.
    QSettings("optviz", "optviz").sync()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _preload(session, remembered, previewed: list, drawn: threading.Event, wanted: bool = True) -> None:
    """Off the GUI thread, no Qt here: compute the launch preview of the session the window will open on (numpy,
    before torch: :mod:`optviz.core.preview`), hand it over in ``previewed`` and wait until it is ``drawn`` (at
    most a second: importing torch holds the interpreter for long stretches); then import what the tabs need
    (torch first, the slowest)."""
    if wanted:
        previewed.append(_launch_preview(session, remembered))
        drawn.wait(PREVIEW_WAIT_S)
    import torch  # noqa: F401

    import optviz.core.critical  # noqa: F401
    import optviz.core.lessons  # noqa: F401
    import optviz.core.presets  # noqa: F401
    import optviz.core.simulate  # noqa: F401
    import optviz.training.jobs  # noqa: F401


def _launch_preview(session, remembered):
    """The preview of ``session``, else of the remembered session (its JSON text), else of the default one; None
    where there is nothing to preview or it fails (the playground then shows the paths a moment later)."""
    import json

    from optviz.core import preview
    from optviz.core.presets import default_session
    from optviz.core.session import session_from_dict

    try:
        if session is None and remembered:
            data = json.loads(str(remembered))
            data.pop("training", None)  # the training tab's settings are read with torch; not drawn here
            session = session_from_dict(data)
        return preview.compute(session or default_session())
    except Exception:  # noqa: BLE001 — a damaged remembered session: the main window reports or replaces it
        return None


def _main_window(session, *, remember: bool, tab: str | None, lesson: str | None = None):
    import pyqtgraph as pg

    from optviz.ui.main_window import MainWindow

    pg.setConfigOptions(antialias=True)
    window = MainWindow(session, remember=remember, autoplay=remember)
    if lesson:
        window.open_lesson(lesson, start=remember)  # a screenshot starts the training itself, then waits for it
    if tab:
        window.show_tab(tab)
    return window


def trace(event: str) -> None:
    """Append ``event wall-clock-time`` to the file named by OPTVIZ_TRACE (benchmarks/startup.py reads it)."""
    path = os.environ.get("OPTVIZ_TRACE")
    if path:
        import time

        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{event} {time.time()}\n")


def trace_when_shown(event: str) -> None:
    if os.environ.get("OPTVIZ_TRACE"):
        QTimer.singleShot(0, lambda: trace(event))


def _trace_startup(window) -> None:
    if not os.environ.get("OPTVIZ_TRACE"):
        return
    trace("tabs_built")
    model = window.playground.model
    model.result_changed.connect(lambda: model.result is not None and not model.result.preview
                                 and trace("paths_drawn"))


def _close_on_ctrl_c(window) -> None:
    """Ctrl+C in the terminal closes the window (saving settings) instead of being ignored by Qt's loop."""
    import signal

    from PySide6.QtCore import QTimer

    signal.signal(signal.SIGINT, lambda *_: window.close())
    window._sigint_timer = QTimer(window, interval=250)  # wakes the interpreter so that it runs the handler
    window._sigint_timer.timeout.connect(lambda: None)
    window._sigint_timer.start()


def screenshot_window(window, path: Path, size: tuple[int, int], tab: str, session) -> int:
    """Render ``window`` once its results are in, save it to ``path``, close it; returns the exit status."""
    from PySide6.QtWidgets import QApplication

    window.resize(*size)
    window.show()
    try:
        error = _wait_for_training(window, session) if tab == "training" else _wait_for_playground(window)
        if error is None:
            for _ in range(3):  # let layouts and repaints settle
                QApplication.processEvents()
            if not window.grab().save(str(path), "PNG"):
                error = f"cannot write the screenshot to {str(path)!r}"
    except Exception as exc:  # noqa: BLE001 — a screenshot run ends with one line, never a traceback
        error = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
    finally:
        window.close()
    if error is not None:
        print(f"optviz: error: screenshot failed: {error}", file=sys.stderr)
        return 1
    return 0


def _wait_for_playground(window) -> str | None:
    tab = window.playground
    if not tab.wait_until_computed(SCREENSHOT_TIMEOUT_S):
        if tab.last_error:
            return f"the paths could not be computed: {tab.last_error}"
        return f"the paths were not computed within {SCREENSHOT_TIMEOUT_S:g} s"
    tab.model.set_step(tab.model.last_step)
    return None


def _wait_for_training(window, session) -> str | None:
    """Start the training tab with the session's training settings and wait for runs_finished."""
    from PySide6.QtCore import QEventLoop, QTimer

    training = window.training
    if session is not None and session.training is not None:
        training.set_config(session.training)  # ValueError → caught by the caller, one line
    finished = []
    loop = QEventLoop()
    training.runs_finished.connect(lambda: (finished.append(True), loop.quit()))
    timer = QTimer(singleShot=True, interval=int(TRAINING_TIMEOUT_S * 1000))
    timer.timeout.connect(loop.quit)
    if training.start() is False:  # the reason is in the panel: report it rather than a picture of an error
        reason = training.panel.problems.text().split("\n")[0].lstrip("• ")
        return "the training could not start" + (f": {reason}" if reason else "")
    if not finished:
        timer.start()
        loop.exec()
    if not finished:
        training.shutdown()
        return f"training did not finish within {TRAINING_TIMEOUT_S:g} s"
    return None
