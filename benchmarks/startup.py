"""How soon the window appears and the first paths are drawn, and how fast quitting is — as a user sees it.

The first paths are the launch preview's (numpy, drawn in the starting window before torch has loaded:
``preview_drawn``); the playground's own come once torch has loaded and the tabs are built (``paths_drawn``).

    xvfb-run -a python benchmarks/startup.py [--runs 3]

Launches ``python -m optviz`` as a process on the X display (a real one, or Xvfb) with ``OPTVIZ_TRACE=FILE``:
the app appends ``event wall-clock-seconds`` lines (``window_shown``, ``preview_drawn``, ``tabs_built``,
``paths_drawn``). In the same run, a bare PySide6 + pyqtgraph window is timed the same way as the baseline. Quitting: SIGINT (Ctrl+C closes
the window) sent 0.2 s after the window appeared, while the first paths are still being computed; the time until
the process has exited is printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = """
import os, sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import pyqtgraph as pg
app = QApplication(sys.argv[:1])
w = pg.PlotWidget(); w.resize(1400, 900); w.show()
def shown():
    with open(os.environ["OPTVIZ_TRACE"], "a") as f: f.write(f"window_shown {time.time()}\\n")
    app.quit()
QTimer.singleShot(0, shown)
app.exec()
"""


def _events(path: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, t = line.partition(" ")
            out.setdefault(name, float(t))
    return out


def _launch(cmd: list[str], until: str, trace: Path, home: Path, timeout: float = 120.0):
    env = {**os.environ, "OPTVIZ_TRACE": str(trace), "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    env.pop("QT_QPA_PLATFORM", None)
    t0 = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = t0 + timeout
    while until not in _events(trace) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    return t0, proc


def _close(proc: subprocess.Popen) -> float:
    t = time.time()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return time.time() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        sys.exit("needs an X display: run under xvfb-run -a")
    bare, shown, preview, paths, again, quit_idle, quit_busy = [], [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            home = Path(tmp) / f"home{i}"
            home.mkdir()
            trace = Path(tmp) / f"bare{i}.txt"
            t0, proc = _launch([sys.executable, "-c", BARE], "window_shown", trace, home)
            proc.wait(timeout=60)
            bare.append(_events(trace)["window_shown"] - t0)

            trace = Path(tmp) / f"app{i}.txt"
            t0, proc = _launch([sys.executable, "-m", "optviz"], "paths_drawn", trace, home)
            ev = _events(trace)
            shown.append(ev["window_shown"] - t0)
            preview.append(ev["preview_drawn"] - ev["window_shown"])
            paths.append(ev["paths_drawn"] - ev["window_shown"])
            quit_idle.append(_close(proc))

            trace = Path(tmp) / f"again{i}.txt"  # a later launch: the remembered session, its kernel on disk
            t0, proc = _launch([sys.executable, "-m", "optviz"], "paths_drawn", trace, home)
            ev = _events(trace)
            again.append((ev["preview_drawn"] - ev["window_shown"], ev["paths_drawn"] - ev["window_shown"]))
            _close(proc)

            trace = Path(tmp) / f"busy{i}.txt"  # quit while the first paths are being computed
            t0, proc = _launch([sys.executable, "-m", "optviz"], "window_shown", trace, home)
            time.sleep(0.2)
            quit_busy.append(_close(proc))
    med = statistics.median
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"display {os.environ.get('DISPLAY')}; median of {args.runs} runs")
    print(f"bare PySide6 + pyqtgraph window shown:   {med(bare):6.2f} s")
    print(f"optviz window shown:                     {med(shown):6.2f} s   ({med(shown) / med(bare):.2f}× the bare "
          f"window; goal ≤ 1.5×)")
    print(f"first paths drawn after window:          {med(preview):6.2f} s   (goal ≤ 1 s; the launch preview: "
          "numpy, before torch)")
    print(f"playground's own paths after window:     {med(paths):6.2f} s   (torch loaded, tabs built, engine paths)")
    print(f"a later launch, the same two:            {med(a for a, _ in again):6.2f} s and "
          f"{med(b for _, b in again):.2f} s   (remembered session, kernel on disk)")
    print(f"quit when idle (SIGINT → exited):        {med(quit_idle):6.2f} s")
    print(f"quit while computing (SIGINT → exited):  {med(quit_busy):6.2f} s   (goal ≤ 0.5 s)")


if __name__ == "__main__":
    main()
