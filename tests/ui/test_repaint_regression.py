"""PySide6-Essentials 6.12.0 + pyqtgraph 0.14.0 crashed the interpreter ("Fatal Python error: none_dealloc" in
AxisItem.generateDrawSpecs) after a few hundred repaints. pyproject excludes that release; this test repaints a
plot with an image and a curve 500 times in a child interpreter, so a crash fails the test instead of the run."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = r"""
import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets
app = QtWidgets.QApplication([])
win = pg.GraphicsLayoutWidget()
win.resize(500, 400)
plot = win.addPlot()
image = pg.ImageItem(np.random.default_rng(0).random((200, 200)))
plot.addItem(image)
curve = plot.plot(pen="y")
win.show()
x = np.linspace(0, 10, 500)
for i in range(500):
    curve.setData(x, np.sin(x + i * 0.1) * (1 + i))
    app.processEvents()
win.grab()
print("repainted", i + 1)
"""


def test_500_repaints_do_not_crash():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "repainted 500"
