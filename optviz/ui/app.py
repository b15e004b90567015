"""Start the GUI, or render it headless for ``--screenshot``.

Screenshot flow: build the window (offscreen when there is no display), wait until the playground's paths and
surface picture are computed — or, with ``--tab training``, until the training tab's runs have finished —,
move the animation to its last step, grab the window, save the PNG and exit 0; any failure is one line on
stderr and a non-zero exit.
"""

from __future__ import annotations

import os
import sys
from argparse import Namespace
from pathlib import Path

SCREENSHOT_TIMEOUT_S = 120.0  # playground paths (5,000 steps × 64 starts take about 10 s on a laptop CPU)
TRAINING_TIMEOUT_S = 900.0


def parse_size(text: str) -> tuple[int, int]:
    """'1400x900' → (1400, 900); ValueError with a one-line message otherwise."""
    w, sep, h = text.lower().partition("x")
    if sep and w.strip().isdigit() and h.strip().isdigit():
        width, height = int(w), int(h)
        if 200 <= width <= 8000 and 200 <= height <= 8000:
            return width, height
    raise ValueError(f"Invalid --size: {text!r} (allowed: WIDTHxHEIGHT, each 200 to 8000, e.g. 1400x900)")


def _needs_offscreen() -> bool:
    no_display = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return no_display and "QT_QPA_PLATFORM" not in os.environ


def run_gui(args: Namespace) -> int:
    """Entry point of ``optviz`` without a subcommand; returns the exit status."""
    from optviz.core.session import SessionError, load_session

    screenshot = getattr(args, "screenshot", None)
    try:
        size = parse_size(getattr(args, "size", None) or "1400x900")
        session = load_session(args.session) if getattr(args, "session", None) else None
    except (SessionError, ValueError) as exc:
        print(f"optviz: error: {exc}", file=sys.stderr)
        return 2
    if screenshot and _needs_offscreen():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from optviz.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("optviz")
    app.setApplicationName("optviz")
    pg.setConfigOptions(antialias=True)
    window = MainWindow(session, remember=not screenshot, autoplay=not screenshot)
    if getattr(args, "tab", None):
        window.show_tab(args.tab)
    if screenshot:
        return screenshot_window(window, Path(screenshot), size, args.tab or "playground", session)
    window.show()
    _close_on_ctrl_c(window)
    return int(app.exec())


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
