"""The real app as a process: the window first, then the numpy preview's paths, then the tabs and the engines'
paths; Ctrl+C ends it cleanly at any point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def _launch(tmp_path, trace):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OPTVIZ_TRACE": str(trace), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    with open(tmp_path / "stderr.txt", "w") as err:
        return subprocess.Popen([sys.executable, "-m", "optviz"], env=env, stdout=subprocess.DEVNULL, stderr=err)


def _wait_for(trace, event, proc, timeout=180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if trace.exists() and event in trace.read_text():
            return [line.split()[0] for line in trace.read_text().splitlines()]
        time.sleep(0.02)
    raise AssertionError(f"{event} never came; stderr: {(trace.parent / 'stderr.txt').read_text()[-2000:]}")


def test_window_first_then_preview_then_tabs_then_paths_and_ctrl_c_quits(tmp_path):
    trace = tmp_path / "trace.txt"
    proc = _launch(tmp_path, trace)
    try:
        events = _wait_for(trace, "paths_drawn", proc)
        assert (events.index("window_shown") < events.index("preview_drawn") < events.index("tabs_built")
                < events.index("paths_drawn"))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert "Traceback" not in (tmp_path / "stderr.txt").read_text()
    finally:
        proc.kill()
        proc.wait()


def test_ctrl_c_while_starting_quits_cleanly(tmp_path):
    trace = tmp_path / "trace.txt"
    proc = _launch(tmp_path, trace)
    try:
        _wait_for(trace, "window_shown", proc)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert "tabs_built" not in trace.read_text() or "paths_drawn" not in trace.read_text()
        assert "Traceback" not in (tmp_path / "stderr.txt").read_text()
    finally:
        proc.kill()
        proc.wait()
