"""The map commands' PNGs are figures drawn by the GUI's views (titles, true-value axes, colour bars, legends), and
the bare picture where Qt cannot start. Each command runs in-process; the figure it wrote is caught on its way out
(``figures.*_figure`` wrapped) so that what is checked is what was drawn into that very file."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from playground_helpers import axis_texts, parse_value
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QImage

import optviz.ui
from optviz.cli import main
from optviz.commands.basins import race_lines
from optviz.core.basins import basins
from optviz.core.image import basins_picture
from optviz.core.optimizers import OptimizerChoice
from optviz.core.surfaces import get_surface
from optviz.ui import figures
from optviz.ui.playground.basins_tiles import grid_rect
from optviz.ui.widgets.axes import xy_text
from optviz.ui.playground.map_data import basin_rgba
from optviz.ui.playground.stability_plot import DIVERGED_RGBA

BASINS = ["basins", "--surface", "himmelblau", "--optimizer", "sgd:lr=0.01", "--optimizer", "momentum:lr=0.005",
          "--resolution", "24", "--steps", "300"]
SWEEP = ["sweep", "--surface", "rosenbrock", "--start=-1.2,1", "--optimizer", "momentum", "--x", "lr:1e-5:1e-2:log",
         "--y", "momentum:0:0.99", "--resolution", "16", "--steps", "300"]


@pytest.fixture
def caught(monkeypatch):
    """The figures the commands draw, kept open (the command closes its figure once written) until the test ends."""
    made = []
    for name in ("basins_figure", "sweep_figure", "landscape_figure"):
        def wrapped(*args, _draw=getattr(figures, name), **kwargs):
            figure = _draw(*args, **kwargs)
            made.append(figure)
            figure.close, figure.really_close = (lambda: None), figure.close
            return figure

        monkeypatch.setattr(figures, name, wrapped)
    yield made
    for figure in made:
        figure.really_close()


def read_png(path) -> QImage:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage.fromData(data, "PNG")
    assert not image.isNull()
    return image


def figure_pos(figure, view, item, x: float, y: float) -> QPoint:
    """The figure's pixel of point (x, y) in ``item``'s coordinates (``view``: the graphics view showing it)."""
    return view.viewport().mapTo(figure.widget, view.mapFromScene(item.mapToScene(QPointF(x, y))))


def rgb(image: QImage, pos: QPoint) -> tuple[int, int, int]:
    c = image.pixelColor(pos)
    return c.red(), c.green(), c.blue()


def close_to(a, b, tol: int = 3) -> bool:
    return all(abs(int(u) - int(v)) <= tol for u, v in zip(a, b))


def test_basins_png_is_a_titled_panel_per_optimizer_with_axes_legend_and_race(qapp, tmp_path, capsys, caught):
    out = tmp_path / "b.png"
    assert main(BASINS + ["--out", str(out)]) == 0
    printed = capsys.readouterr()
    (figure,) = caught
    picture = read_png(out)
    assert (picture.width(), picture.height()) == figure.size
    assert figure.size[0] >= figures.WIDTH and figure.size[1] > 400  # the bare picture was 520 × 256
    result = figure.tiles.basins
    assert [p.titleLabel.text for p in figure.tiles.plots] == ["sgd (lr=0.01)", "momentum (lr=0.005)"]
    assert "Himmelblau" in figure.title.text()
    # the race table: the lines the command printed
    assert figure.table.text().splitlines() == printed.out.splitlines() == race_lines(result)
    assert figure.table.text().splitlines()[1].split()[0] == "sgd"
    legend = figure.legend.text()
    assert all(xy_text(*m) in legend for m in result.minima) and "not&nbsp;converged" in legend and "diverged" in legend
    assert "24×24" in figure.caption.text() and "300 steps" in figure.caption.text()
    # axes read the true x and y of the view box, on the outer panels
    rect = grid_rect(result)
    for plot in figure.tiles.plots:
        bottom = sorted(parse_value(t) for _, t in axis_texts(plot.getAxis("bottom")))
        assert len(bottom) >= 3 and rect.left() <= bottom[0] and bottom[-1] <= rect.right(), bottom
    left = sorted(parse_value(t) for _, t in axis_texts(figure.tiles.plots[0].getAxis("left")))
    assert len(left) >= 3 and rect.top() <= left[0] and left[-1] <= rect.bottom(), left
    # the PNG's pixel of a grid start has its basin's colour (away from the minima's markers)
    for image, m in zip(figure.tiles.images, result.maps):
        colours = basin_rgba(m.labels, m.steps, result.budget)
        seen = set()
        for i in range(1, 24, 3):
            for j in range(1, 24, 3):
                if min(math.hypot(result.xs[j] - mx, result.ys[i] - my) for mx, my in result.minima) < 1.0:
                    continue  # a minimum's marker covers it
                pos = figure_pos(figure, figure.graphics, image, j + 0.5, i + 0.5)  # the image's pixel (j, i)
                assert close_to(rgb(picture, pos), colours[i, j, :3], 2), (m.label, i, j)
                seen.add(int(m.labels[i, j]))
        assert len(seen) >= 4, (m.label, seen)  # the four basins seen on every panel


def test_basins_figure_grows_with_the_panels(qapp):
    surface = get_surface("himmelblau")
    choices = [OptimizerChoice("sgd", {"lr": lr}, label=f"sgd{k}") for k, lr in enumerate((0.002, 0.005, 0.01, 0.02,
                                                                                           0.03))]
    result = basins(surface, choices, 8, 20)
    one = figures.basins_figure(basins(surface, choices[:1], 8, 20), surface)
    five = figures.basins_figure(result, surface)
    try:
        assert five.tiles.columns == 3 and len(five.tiles.plots) == 5
        assert five.size[0] >= figures.WIDTH and five.size[1] > one.size[1]
        boxes = {tuple(round(v) for v in p.getViewBox().sceneBoundingRect().getRect()[2:]) for p in five.tiles.plots}
        assert len(boxes) == 1 and min(next(iter(boxes))) >= figures.MAP_PX[0] - 1  # one size, not too small
    finally:
        one.close()
        five.close()


def test_sweep_png_reads_true_lr_and_loss_and_shows_diverged_cells_red(qapp, tmp_path, capsys, caught):
    out = tmp_path / "s.png"
    assert main(SWEEP + ["--out", str(out)]) == 0
    (figure,) = caught
    picture = read_png(out)
    assert (picture.width(), picture.height()) == figure.size and figure.size[0] >= figures.WIDTH
    s = figure.map.sweep
    plot, view = figure.map.plot, figure.map.widget
    vb = plot.getViewBox()
    bottom = axis_texts(plot.getAxis("bottom"))
    assert len(bottom) >= 4
    for rect, text in bottom:  # true lr values inside the range, each at its place on the log axis
        value = parse_value(text)
        assert s.x_values[0] * 0.99 <= value <= s.x_values[-1] * 1.01, text
        assert vb.mapSceneToView(rect.center()).x() == pytest.approx(math.log10(value), abs=0.02), text
    left = [parse_value(t) for _, t in axis_texts(plot.getAxis("left"))]
    assert len(left) >= 3 and 0 <= min(left) and max(left) <= 1.0
    assert plot.getAxis("left").labelText == "momentum" and "learning rate" in plot.getAxis("bottom").labelText
    bar = figure.map.colorbar
    assert bar.getAxis("left").labelText == "final f − f*"
    drawn = axis_texts(bar.axis)
    assert len(drawn) >= 3
    ticks = dict((text, at) for at, text in bar.axis._tickLevels[0] + bar.axis._tickLevels[1])
    lo, hi = bar.levels()
    for _, text in drawn:  # a true f − f* (1, 10⁻⁴, …), placed at its log10 on the bar
        assert ticks[text] == pytest.approx(math.log10(parse_value(text)), abs=1e-9) and lo <= ticks[text] <= hi
    # the PNG: diverged cells in the GUI's red, the others in the colour map's colour of their value
    assert s.diverged.any() and not s.diverged.all()
    for i, j in np.argwhere(s.diverged)[::5]:
        assert rgb(picture, figure_pos(figure, view, figure.map.diverged_image, j + 0.5, i + 0.5)) == DIVERGED_RGBA[:3]
    colour = figure.map.image.image
    lut = bar.colorMap().getLookupTable(nPts=256, alpha=False)
    for i, j in np.argwhere(~s.diverged)[::17]:
        at = round((colour[i, j] - lo) / (hi - lo) * 255)
        assert close_to(rgb(picture, figure_pos(figure, view, figure.map.image, j + 0.5, i + 0.5)), lut[at], 4)
    words = figure.caption.text()
    assert f"diverged ({int(s.diverged.sum())} of 256)" in words and "momentum" in words and "(−1.2, 1)" in words
    assert "300 steps" in words and "16×16 cells" in words


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from optviz.training.checkpoint import save_checkpoint
    from optviz.training.config import TrainConfig
    from optviz.training.trainer import Trainer

    config = TrainConfig(dataset="shapes", subset=200, model="mlp", width=4, epochs=1, batch_size=32, device="cpu",
                         optimizers=(OptimizerChoice("adam", {"lr": 0.003}),))
    result = Trainer(config).run()
    path = tmp_path_factory.mktemp("landscape") / "mlp.pt"
    save_checkpoint(str(path), result.config, result.runs, result.data)
    return path


def test_landscape_png_has_the_map_path_colour_bar_and_title(qapp, tmp_path, capsys, caught, checkpoint):
    out = tmp_path / "l.png"
    assert main(["landscape", "--checkpoint", str(checkpoint), "--resolution", "5", "--probe", "40", "--directions",
                 "pca", "--out", str(out)]) == 0
    (figure,) = caught
    picture = read_png(out)
    assert (picture.width(), picture.height()) == figure.size and figure.size[0] >= figures.WIDTH
    (panel,) = figure.panels
    result = panel.landscape
    assert "mlp · adam" in figure.title.text() and "PCA directions" in figure.title.text()
    assert "% of the path's variance" in panel.title.text()
    finite = result.loss[np.isfinite(result.loss)]
    labels = [text for _, text in axis_texts(panel.colorbar.axis)]
    assert len(labels) >= 2 and len(set(labels)) == len(labels)
    for text in labels:  # true losses, inside the slice's range
        assert finite.min() * 0.999 <= parse_value(text) <= finite.max() * 1.001, (text, finite.min(), finite.max())
    alphas = [parse_value(t) for _, t in axis_texts(panel.plot.getPlotItem().getAxis("bottom"))]
    assert len(alphas) >= 3 and result.alphas[0] <= min(alphas) and max(alphas) <= result.alphas[-1]
    # the path's start (green) and end (red star) where the projected trajectory puts them
    item = panel.plot.getPlotItem().getViewBox().childGroup
    start = figure_pos(figure, panel.plot, item, *result.path[0])
    end = figure_pos(figure, panel.plot, item, *result.path[-1])
    assert close_to(rgb(picture, start), (0x2E, 0xCC, 0x40), 6) and close_to(rgb(picture, end), (0xFF, 0x41, 0x36), 6)
    assert panel.line.isVisible()
    # a pair (as the Training lab shows ResNet beside PlainNet): two panels side by side, each as wide as one
    pair = figures.landscape_figure([("resnet", result), ("plain", result)], "ResNet vs PlainNet")
    try:
        boxes = [p.plot.getPlotItem().getViewBox() for p in pair.panels]
        rects = [b.mapRectToItem(pair.panels[0].plot.getPlotItem(), b.boundingRect()) for b in boxes]
        left, right = (p.mapTo(pair.widget, p.rect().topLeft()) for p in pair.panels)
        assert left.y() == right.y() and right.x() >= left.x() + pair.panels[0].width()
        assert pair.size[0] >= 2 * figures.PAIR_PANEL_PX and rects[0].size() == rects[1].size()
        assert [p.title.text().split("<br>")[0] for p in pair.panels] == ["<b>resnet</b>", "<b>plain</b>"]
        pair.image().save(str(tmp_path / "pair.png"))
    finally:
        pair.close()


@pytest.mark.parametrize("how", ["start", "import"])
def test_without_qt_the_bare_picture_and_one_note(tmp_path, capsys, monkeypatch, how):
    if how == "start":
        def fail():
            raise figures.QtUnavailable('Could not load the Qt platform plugin "xcb"')

        monkeypatch.setattr(figures, "start_qt", fail)
    else:
        monkeypatch.delattr(optviz.ui, "figures")
        monkeypatch.setitem(sys.modules, "optviz.ui.figures", None)  # import optviz.ui.figures: ImportError
    out = tmp_path / "b.png"
    assert main(BASINS + ["--out", str(out)]) == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "bare map" in notes[0]
    assert ("platform plugin" if how == "start" else "Qt could not be loaded") in notes[0]
    data = out.read_bytes()
    surface = get_surface("himmelblau")
    choices = [OptimizerChoice("sgd", {"lr": 0.01}, label="sgd"), OptimizerChoice("momentum", {"lr": 0.005},
                                                                                  label="momentum")]
    bare = basins_picture(basins(surface, choices, 24, 300))
    assert int.from_bytes(data[16:20], "big") == bare.shape[1] and int.from_bytes(data[20:24], "big") == bare.shape[0]


def test_the_probe_names_a_platform_that_cannot_start(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert figures.platform_problem() == ""
    monkeypatch.setenv("QT_QPA_PLATFORM", "nosuchplatform")
    why = figures.platform_problem()
    assert "nosuchplatform" in why and "\n" not in why
