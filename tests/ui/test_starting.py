"""The starting window: the launch preview drawn where it belongs, computed without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from PySide6.QtGui import QColor

from optviz.core import preview
from optviz.core.optimizers import OptimizerChoice
from optviz.core.presets import default_session
from optviz.core.regularize import Penalty
from optviz.core.session import OptimizerEntry, Session, session_to_dict
from optviz.ui.app import _launch_preview
from optviz.ui.playground.colors import entry_colors
from optviz.ui.starting import StartingWindow

FORMULA = "softplus(x) + max(y, 0.3)*sigmoid(x*y) + min(x, y)**2 + tanh(x)*log(1 + y**2) + abs(x - 1)"


def _shown(qapp, session):
    window = StartingWindow()
    window.resize(1000, 700)
    window.show()
    painted = []
    window.show_preview(preview.compute(session))
    window.picture.on_painted = lambda: painted.append(True)
    for _ in range(3):
        qapp.processEvents()
    return window, window.picture.grab().toImage(), painted


def test_the_launch_preview_needs_no_torch():
    # What a launch does before torch: read the remembered session (with a training part, a formula surface and a
    # penalty) and compute its preview; the first paths must not wait for torch's 2 s.
    session = Session("custom", {}, default_session().optimizers, ((0.5, -1.0),), 200, formula=FORMULA,
                      view=(-2.0, 2.0, -2.0, 2.0), penalty=Penalty("l2", 0.1))
    text = json.dumps({**session_to_dict(session), "training": {"model": "lenet"}})
    code = ("import sys\nfrom optviz.ui.app import _launch_preview\n"
            f"p = _launch_preview(None, {text!r})\n"
            "print(len(p.clipped), p.title, 'torch' in sys.modules)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["6", "Custom", "+", "L2", "False"]


def test_the_preview_opens_the_session_the_window_will_open():
    assert _launch_preview(None, None).session == default_session()
    assert _launch_preview(None, "{not json") is None  # a damaged entry: the window opens without a preview
    mine = default_session().with_(starts=((1.0, 1.0),))
    assert _launch_preview(mine, json.dumps(session_to_dict(default_session()))).session == mine


def test_paths_starts_and_heads_are_drawn_where_they_are(qapp):
    session = default_session().with_(starts=((1.5, -4.0), (-4.0, 4.0)))
    window, image, painted = _shown(qapp, session)
    picture = window.picture
    rect = picture.plot_rect()
    (x0, x1), (y0, y1) = session.make_surface().view
    assert abs(rect.width() / rect.height() - (x1 - x0) / (y1 - y0)) < 1e-9  # x and y on one scale
    assert painted == [True]
    # every drawn point lies in the plot rectangle
    for row in picture.preview.clipped:
        for c in row:
            pts = picture.to_screen(c.points[np.isfinite(c.points).all(-1)])
            assert (pts[:, 0] >= rect.left() - 1e-6).all() and (pts[:, 0] <= rect.right() + 1e-6).all()
            assert (pts[:, 1] >= rect.top() - 1e-6).all() and (pts[:, 1] <= rect.bottom() + 1e-6).all()
    # the start points are white discs
    for sx, sy in picture.to_screen(np.array(session.starts)):
        assert QColor(image.pixel(round(sx), round(sy))).lightness() > 240
    window.close()


def test_a_path_is_drawn_in_its_optimizers_colour(qapp):
    alone = tuple(OptimizerEntry(e.choice, e.choice.name == "momentum") for e in default_session().optimizers)
    session = default_session().with_(optimizers=alone)
    window, image, _ = _shown(qapp, session)
    picture = window.picture
    (path,) = picture.preview.clipped[0]
    want = entry_colors(session.optimizers)[1]
    for k in (10, 40, 80):  # points along the way (each segment's end is on the drawn line)
        sx, sy = picture.to_screen(path.points[k])
        near = [QColor(image.pixel(round(sx) + dx, round(sy) + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        assert any(abs(c.red() - want.red()) + abs(c.green() - want.green()) + abs(c.blue() - want.blue()) < 60
                   for c in near), k
    window.close()


def test_a_session_that_needs_torch_shows_its_surface_and_says_why(qapp):
    noisy = OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.01}, noise=0.5))
    window, image, painted = _shown(qapp, default_session().with_(optimizers=(noisy,)))
    assert window.picture.preview.clipped == () and "gradient noise" in window.picture.preview.note
    assert painted == [True]  # (the launch traces "preview_drawn" only where paths were drawn)
    window.close()
