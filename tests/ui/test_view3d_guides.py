"""The 3D views say what they show: a legend of the drawn paths (the 2D legend's names and colours), the 2D colour
bar's ticks and title, x, y and f values on a box around the surface (the view box's and the f range's), and a note
on the height scale and the paths' lift. Offscreen the data are checked; under Xvfb what OpenGL and Qt draw."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from optviz.core.field import format_value
from optviz.core.optimizers import OptimizerChoice
from optviz.core.session import OptimizerEntry, Session

SESSION = Session(surface="himmelblau", starts=((1.5, -4.0), (-1.0, 4.5)), steps=60,
                  optimizers=(OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.01})),
                              OptimizerEntry(OptimizerChoice("momentum", {"lr": 0.005}), enabled=False),
                              OptimizerEntry(OptimizerChoice("adam", {"lr": 0.1})),
                              OptimizerEntry(OptimizerChoice("adam", {"lr": 0.02}))))


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


def legend_2d(tab) -> list[tuple[str, str]]:
    """The 2D legend as drawn: each entry's label and its line's colour."""
    return [(label.text, sample.item.opts["pen"].color().name()) for sample, label in tab.surface_view.legend.items]


def legend_3d(tab) -> list[tuple[str, str]]:
    return [(name, color.name()) for name, color, _ in tab.view3d.surface3d.legend_entries]


def legend_text(surface3d) -> str:
    """The legend label's text as a reader sees it (its HTML rendered to plain text)."""
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(surface3d.legend.text())
    return doc.toPlainText().replace("\xa0", " ")


def test_the_legend_lists_the_enabled_optimizers_as_the_2d_legend_does(tab, qtbot):
    from playground_helpers import wait_computed

    from optviz.ui.playground.colors import entry_colors

    colors = [c.name() for c in entry_colors(SESSION.optimizers)]
    assert legend_3d(tab) == legend_2d(tab) == [("SGD", colors[0]), ("Adam", colors[2]), ("Adam", colors[3])]
    assert colors[2] != colors[3]  # Adam twice: two shades, told apart in both legends
    assert legend_text(tab.view3d.surface3d) == "━━ SGD    ━━ Adam    ━━ Adam"
    html = tab.view3d.surface3d.legend.text()
    assert [html.index(f"color:{c}") for c in (colors[0], colors[2], colors[3])] == sorted(
        html.index(f"color:{c}") for c in (colors[0], colors[2], colors[3]))
    tab.model.set_enabled(1, True)
    tab.model.set_enabled(0, False)
    wait_computed(qtbot, tab)
    assert legend_3d(tab) == legend_2d(tab) == [("Momentum", colors[1]), ("Adam", colors[2]), ("Adam", colors[3])]
    assert legend_text(tab.view3d.surface3d).startswith("━━ Momentum ")


@pytest.mark.parametrize("surface", ["himmelblau", "six_hump_camel", "styblinski_tang"])
def test_the_colour_bar_reads_as_the_2d_one_and_the_box_reads_the_view_box(tab, qtbot, surface):
    """Log (Himmelblau), equalised linear on a box 6 × 4 (the camel), negative values (Styblinski–Tang)."""
    from playground_helpers import parse_value, wait_computed

    tab.model.set_surface(surface)
    wait_computed(qtbot, tab)
    qtbot.waitUntil(lambda: tab.view3d.surface3d.grid is not None
                    and tab.view3d.surface3d.grid[2] is tab.model.field.z, timeout=10_000)
    s3, bar2d, field = tab.view3d.surface3d, tab.surface_view.colorbar, tab.model.field
    assert s3.colorbar.axis._tickLevels == bar2d.axis._tickLevels == [list(field.ticks)]
    assert s3.colorbar.axis.labelText == bar2d.getAxis("left").labelText
    assert s3.colorbar.levels() == bar2d.levels() == (0.0, 1.0)
    (x0, x1), (y0, y1) = tab.model.surface.view
    lo, hi = float(np.nanmin(field.z)), float(np.nanmax(field.z))
    _, texts = s3.guides
    values = {axis: [(t.pos, t.text) for t in texts if t.axis == axis and not t.title] for axis in "xyz"}
    assert [parse_value(text) for _, text in values["x"]][::len(values["x"]) - 1] == [x0, x1]
    assert [parse_value(text) for _, text in values["y"]][::len(values["y"]) - 1] == [y0, y1]
    ends = [parse_value(text) for _, text in values["z"]][::len(values["z"]) - 1]
    step = parse_value(values["z"][2][1]) - parse_value(values["z"][1][1]) if len(values["z"]) > 3 else hi - lo
    assert ends == pytest.approx([lo, hi], abs=abs(step) / 100 + 1e-12)
    for axis, k in (("x", 0), ("y", 1), ("z", 2)):  # each value's text is placed at that value
        for pos, text in values[axis]:
            assert pos[k] == pytest.approx(parse_value(text), abs=abs(hi - lo) / 100 if axis == "z" else 1e-9)
    assert [t.text for t in texts if t.title] == ["x", "y", "f"]
    assert s3.note.text().startswith(f"Height: f from {format_value(lo)} to {format_value(hi)}, drawn 0.7 × ")
    assert f"Paths are drawn {format_value(s3.lift)} (1.2% of the f range) above the surface" in s3.note.text()


def test_offscreen_the_labels_are_kept_but_not_shown(tab):
    s3 = tab.view3d.surface3d
    assert not s3.available and s3.placeholder.isVisible()
    assert not s3.picture.isVisible()  # no colour bar or legend beside a picture that is not there
    assert legend_3d(tab) and s3.colorbar.axis._tickLevels


def test_axis_values_keep_both_ends_and_round_values_between():
    from optviz.ui.widgets.surface3d import axis_values

    assert axis_values(-5.0, 5.0) == [(-5.0, "−5"), (0.0, "0"), (5.0, "5")]
    assert [t for _, t in axis_values(-4.5, 4.5)] == ["−4.5", "−2", "0", "2", "4.5"]
    assert [t for _, t in axis_values(-2.048, 2.048)] == ["−2.05", "0", "2.05"]
    assert [t for _, t in axis_values(2.2903, 2.2998)] == ["2.2903", "2.296", "2.2998"]  # narrow: more digits
    assert [t for _, t in axis_values(6.3e-6, 2509.0, most=2)] == ["0", "1000", "2510"]  # 2000 crowds 2510
    assert axis_values(3.0, 3.0) == [(3.0, "3")]
    for lo, hi in ((-5.12, 5.12), (0.0, 890.0), (-78.3, 250.0), (1e-9, 3e-9), (-1.0, 3.0)):
        values = axis_values(lo, hi, most=2)
        inner = [v for v, _ in values[1:-1]]
        assert values[0][0] == lo and values[-1][0] == hi and len(inner) <= 2
        gaps = np.diff([lo, *inner, hi])
        assert (gaps > 0).all() and (len(inner) < 2 or gaps.min() >= 0.7 * np.diff(inner).min())
        assert len({t for _, t in values}) == len(values)


def test_the_box_lines_are_on_its_edges():
    from optviz.ui.widgets.surface3d import axis_guides

    xs, ys = np.linspace(-3, 3, 7), np.linspace(-2, 2, 5)
    lines, texts = axis_guides(xs, ys, (-1.0, 6.0))
    assert lines.shape[1] == 3 and len(lines) % 2 == 0
    assert lines[:, 2].min() == -1.0 and lines[:, 2].max() == 6.0
    floor = lines[:8]  # the bottom rectangle first
    assert {tuple(p) for p in floor} == {(-3, -2, -1), (3, -2, -1), (3, 2, -1), (-3, 2, -1)}
    x_texts = [t for t in texts if t.axis == "x" and not t.title]
    assert all(t.pos[1] < -2 and t.pos[2] == -1.0 for t in x_texts)  # in front of the front edge, on the floor


XVFB_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication
    QApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)  # as optviz's run_gui
    app = QApplication([])
    from optviz.core.optimizers import OptimizerChoice
    from optviz.core.session import OptimizerEntry, Session
    from optviz.ui.playground.tab import PlaygroundTab

    def drawn_ticks(axis):
        image = QImage(10, 10, QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        painter.setFont(axis.style["tickFont"] or QApplication.font())
        _, _, texts = axis.generateDrawSpecs(painter)
        painter.end()
        return [text for _, _, text in texts if text]

    session = Session(surface="himmelblau", starts=((1.5, -4.0),), steps=60,
                      optimizers=(OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.01})),
                                  OptimizerEntry(OptimizerChoice("adam", {"lr": 0.1}))))
    tab = PlaygroundTab(session, autoplay=False)
    tab.resize(1300, 800); tab.show()
    assert tab.wait_until_computed(60)
    tab.show_middle(tab.view3d)
    tab.model.set_step(50)
    for _ in range(20): app.processEvents()
    s3 = tab.view3d.surface3d
    if not s3.available and ("PyOpenGL" in s3.problem or "context" in s3.problem):
        print("nogl:", s3.problem)
        tab.shutdown()
        sys.exit(0)
    assert s3.available, s3.problem
    assert s3.legend.isVisible() and s3.colorbar_view.isVisible() and s3.note.isVisible()
    assert [n for n, _, _ in s3.legend_entries] == ["SGD", "Adam"]
    ticks_2d, ticks_3d = drawn_ticks(tab.surface_view.colorbar.axis), drawn_ticks(s3.colorbar.axis)
    assert ticks_3d == ticks_2d and len(ticks_3d) >= 3, (ticks_3d, ticks_2d)
    # The box's GL items: its lines where the guides put them, one text item per guide text, on the mesh's scale
    lines, texts = s3.guides
    np.testing.assert_allclose(s3._box.pos, lines, rtol=1e-6)  # GL keeps float32
    assert [(t.text, tuple(t.pos)) for t in s3._texts] == [(g.text, g.pos) for g in texts]
    assert all(t.transform() == s3._mesh.transform() for t in [s3._box, *s3._texts])
    # At the default camera each text's anchor is inside the view, and something light is drawn around it
    image = s3.image()
    image.save(sys.argv[1])
    origin = s3.view.mapTo(s3.picture, s3.view.rect().topLeft())
    view = QRectF(s3.view.rect()).adjusted(4, 4, -4, -4)
    for g in texts:
        p = s3.screen_pos(g.pos)
        assert view.contains(p), (g.text, p, view)
        light = 0
        for dx in range(-30, 31, 2):
            for dy in range(-14, 15, 2):
                c = image.pixelColor(int(p.x() + origin.x() + dx), int(p.y() + origin.y() + dy))
                light += c.red() > 140 and abs(c.red() - c.green()) < 30 and abs(c.green() - c.blue()) < 30
        assert light >= 3, (g.text, light)
    # The texts move with the camera, and "Reset camera" brings them back
    before = s3.screen_pos(texts[0].pos)
    s3.view.orbit(40, 10)
    assert s3.screen_pos(texts[0].pos) != before
    s3.reset_button.click()
    after = s3.screen_pos(texts[0].pos)
    assert abs(after.x() - before.x()) < 1 and abs(after.y() - before.y()) < 1
    tab.shutdown()
    print("ok")
""")


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed")
def test_the_guides_are_drawn_with_opengl_under_xvfb(tmp_path):
    pytest.importorskip("OpenGL")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    out = tmp_path / "guides.png"
    proc = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-c", XVFB_SCRIPT,
                           str(out)], check=False, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if proc.stdout.startswith("nogl:"):
        pytest.skip(proc.stdout.strip())
    assert proc.stdout.strip().endswith("ok"), proc.stdout + proc.stderr


def test_the_landscape_3d_view_reads_as_its_map(qtbot):
    """A slice's 3D tab: the map's colour bar ticks and title, its path and end points in the legend, α, β and
    loss on the box."""
    from optviz.training.landscape import Landscape
    from optviz.ui.training.landscape_view import LandscapePanel

    a = np.linspace(-1, 1, 21)
    loss = 1.5 * 10.0 ** (2.93 * (a[None, :] ** 2 + a[:, None] ** 2) / 2)  # 1.5 … 1280: a log picture
    path = np.c_[np.linspace(0.8, 0, 5), np.linspace(0.5, 0, 5)]
    result = Landscape(loss, a, a, path, np.arange(5), np.array([0.9, 0.05]), "pca", np.zeros(0), np.zeros(0),
                       d1=np.zeros(1, np.float32), d2=np.zeros(1, np.float32))
    panel = LandscapePanel("run")
    qtbot.addWidget(panel)
    panel.show_landscape(result)
    s3 = panel.ensure_3d()
    assert s3.colorbar.axis._tickLevels == panel.colorbar.axis._tickLevels
    assert [label for _, label in s3.colorbar.axis._tickLevels[0]] == ["10", "100", "1000"]
    assert s3.colorbar.axis.labelText == panel.colorbar.getAxis("left").labelText == "loss (log scale)"
    assert [(n, c.name()) for n, c, _ in s3.legend_entries] == [
        ("the run's path", "#ffffff"), ("initial weights", "#2ecc40"), ("final weights", "#ff4136")]
    assert [t.text for t in s3.guides[1] if t.title] == ["α", "β", "loss"]
    z = s3.grid[2]  # the slice drawn 4× finer, bilinearly: its lowest point is near, not at, the minimum
    assert float(z.min()) == pytest.approx(1.5, rel=0.01) and float(z.max()) == pytest.approx(loss.max())
    lo, hi = format_value(float(z.min())), format_value(float(z.max()))
    assert s3.note.text() == (f"Height: loss from {lo} to {hi}, drawn 0.7 × the box's width "
                              "(not to scale with α and β).")
