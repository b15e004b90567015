"""The playground's 3D view: the paths it draws are the 2D view's trails lifted to f + lift; offscreen it says that
OpenGL is unavailable and the rest of the window works; under Xvfb it draws with OpenGL (skipped without xvfb)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from optviz.core.optimizers import OptimizerChoice
from optviz.core.session import OptimizerEntry, Session

SESSION = Session(surface="himmelblau", starts=((1.5, -4.0), (-1.0, 4.5)), steps=80,
                  optimizers=(OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.01})),
                              OptimizerEntry(OptimizerChoice("momentum", {"lr": 0.005}))))


def _f(session: Session, xy: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return session.make_surface()(torch.as_tensor(xy, dtype=torch.float64)).numpy()


@pytest.fixture
def tab(qtbot):
    from playground_helpers import wait_computed

    from optviz.ui.playground.tab import PlaygroundTab

    widget = PlaygroundTab(SESSION, autoplay=False)
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    qtbot.waitExposed(widget)
    wait_computed(qtbot, widget)
    widget.show_middle(widget.view3d)
    qtbot.waitUntil(lambda: widget.view3d.surface3d is not None, timeout=5000)
    yield widget
    assert widget.shutdown()


def assert_trails_lift_the_2d_paths(tab) -> None:
    view3d, lift = tab.view3d, tab.view3d.surface3d.lift
    z = tab.model.field.z
    assert lift == pytest.approx(0.012 * (np.nanmax(z) - np.nanmin(z)))
    for row in range(len(tab.surface_view.path_items.rows)):
        flat = tab.surface_view.plotted_paths(row)
        lifted = view3d.trails(row)
        assert len(flat) == len(lifted) == len(tab.model.starts)
        for xy, xyz in zip(flat, lifted):
            np.testing.assert_array_equal(xyz[:, :2], xy)
            np.testing.assert_allclose(xyz[:, 2], _f(tab.session(), xy) + lift, rtol=0, atol=1e-9)


def test_offscreen_says_no_opengl_and_the_window_still_works(tab, qtbot):
    from playground_helpers import wait_computed

    surface3d = tab.view3d.surface3d
    assert not surface3d.available
    assert surface3d.placeholder.isVisible()
    assert surface3d.placeholder.text() == ("3D view needs OpenGL, which is unavailable here: "
                                            "Qt's 'offscreen' platform has no OpenGL")
    with pytest.raises(ValueError, match="needs OpenGL"):
        tab.view3d.image()
    # Everything else goes on: the step moves, a drag recomputes, and the 3D data follow the 2D view.
    tab.model.set_step(40)
    assert_trails_lift_the_2d_paths(tab)
    before = [p.copy() for p in tab.view3d.trails(0)]
    tab.model.move_start(0, 2.0, -3.5)
    wait_computed(qtbot, tab)
    tab.model.set_step(60)
    after = tab.view3d.trails(0)
    assert after[0][0, :2].tolist() == [2.0, -3.5]
    assert not np.array_equal(before[0], after[0])
    assert_trails_lift_the_2d_paths(tab)
    assert tab.surface_view.plotted_paths(0)[0][0].tolist() == [2.0, -3.5]


def test_heads_are_the_trails_last_points_and_the_minima_are_marked(tab):
    tab.model.set_step(30)
    points, colors = tab.view3d.surface3d.heads
    ends = [t[-1] for row in range(2) for t in tab.view3d.trails(row)]
    np.testing.assert_array_equal(points, np.array(ends))
    assert len(colors) == 4
    markers, _ = tab.view3d.surface3d.markers
    minima = sorted((m.x, m.y) for m in tab.model.field.minima)
    assert len(minima) == 4  # Himmelblau's four
    np.testing.assert_allclose(sorted(map(tuple, markers[:, :2])), minima)
    np.testing.assert_allclose(markers[:, 2], tab.view3d.surface3d.lift, atol=1e-6)  # f = 0 at each, lifted


def test_segments_of_a_polyline_skip_breaks():
    from optviz.ui.widgets.surface3d import segments

    p = np.array([[0, 0, 0], [1, 0, 0], [np.nan, np.nan, np.nan], [2, 0, 0], [3, 0, 1]], float)
    np.testing.assert_array_equal(segments(p), [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 1]])
    assert segments(p[:1]).shape == (0, 3)


XVFB_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication
    QApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)  # as optviz's run_gui
    app = QApplication([])
    from optviz.core.optimizers import OptimizerChoice
    from optviz.core.session import OptimizerEntry, Session
    from optviz.ui.playground.tab import PlaygroundTab
    from optviz.ui.widgets.surface3d import segments
    session = Session(surface="himmelblau", starts=((1.5, -4.0),), steps=60,
                      optimizers=(OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.01})),))
    tab = PlaygroundTab(session, autoplay=False)
    tab.resize(1300, 800); tab.show()
    assert tab.wait_until_computed(60)
    tab.show_middle(tab.view3d)
    tab.model.set_step(50)
    for _ in range(10): app.processEvents()
    s3 = tab.view3d.surface3d
    if not s3.available and ("PyOpenGL" in s3.problem or "context" in s3.problem):
        print("nogl:", s3.problem)  # this machine's X server has no GL: not the code's fault
        tab.shutdown()
        sys.exit(0)
    assert s3.available, s3.problem
    assert s3.placeholder is None
    lines = [l for l in s3._lines if l.pos is not None and len(l.pos) > 2]
    assert len(lines) == 1, len(lines)
    np.testing.assert_allclose(lines[0].pos, segments(tab.view3d.trails(0)[0]))
    image = tab.view3d.image()
    image.save(sys.argv[1])
    colors = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colors) > 50, len(colors)  # a coloured surface, not a blank
    s3.reset_camera()
    tab.shutdown()
    print("ok", image.width(), image.height())
""")


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed")
def test_the_3d_view_draws_with_opengl_under_xvfb(tmp_path):
    pytest.importorskip("OpenGL")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    out = tmp_path / "view3d.png"
    proc = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-c", XVFB_SCRIPT,
                           str(out)], capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if proc.stdout.startswith("nogl:"):
        pytest.skip(proc.stdout.strip())
    assert proc.stdout.strip().startswith("ok")
    assert out.stat().st_size > 5000
