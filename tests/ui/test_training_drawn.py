"""What the training lab draws, read back as a user sees it at 1400×900 and 1280×800: every tick label whole and
apart from the others, the landscape's map on one scale, the confusion matrix's column names apart, the pictures
saying when they were taken, the gradient flow's columns under their steps (issue: the training lab's drawing)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from playground_helpers import axis_texts, parse_value  # noqa: E402
from PySide6.QtCore import QPointF, QRect  # noqa: E402
from PySide6.QtGui import QFontMetrics  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from tick_labels import label_problems  # noqa: E402

from optviz.training.events import (BatchEvent, CrossValFinished, EpochEvent, FoldFinished, Pictures,  # noqa: E402
                                    RunFinished, RunStarted)
from optviz.training.landscape import Landscape  # noqa: E402
from optviz.training.shapes import SHAPE_CLASSES  # noqa: E402
from optviz.ui.training.confusion import ConfusionView  # noqa: E402
from optviz.ui.training.landscape_view import LandscapePanel  # noqa: E402
from optviz.ui.training.tab import TrainingTab  # noqa: E402
from optviz.ui.training.tiles import SPILL  # noqa: E402

TIMEOUT_MS = 10_000
LAYERS = ("conv1", "conv2", "fc1", "classifier")
SIZES = [(1400, 900), (1280, 800)]


# ---- the loss landscape -----------------------------------------------------------------------------------------


def bowl(d1: np.ndarray, d2: np.ndarray, n: int = 21) -> Landscape:
    """A slice whose loss is α² + β² over [−1, 1]²: its contours are circles."""
    a = np.linspace(-1, 1, n)
    loss = 1.0 + a[None, :] ** 2 + a[:, None] ** 2
    path = np.array([[-0.6, -0.2], [-0.3, 0.1], [0.0, 0.0]])
    return Landscape(loss, a, a.copy(), path, np.arange(3), np.array([0.8, 0.1]), "pca", np.zeros(0), np.zeros(0),
                     d1=d1.astype(np.float32), d2=d2.astype(np.float32))


@pytest.mark.parametrize("size", SIZES)
def test_a_slice_in_one_unit_is_drawn_square_with_whole_end_labels(qtbot, size):
    """α and β in the same units (directions equally long) are drawn on one scale: the circles of α² + β² are
    round on screen, and the map fills its box (no band of empty axis). The top label (1.0) was cut in half and
    the bottom axis's ends (−1.0, 1.0) went unlabelled."""
    panel = LandscapePanel("run", with_3d=False)
    qtbot.addWidget(panel)
    panel.resize(size[0] - 20, size[1] - 200)  # the window's panel under the settings
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_landscape(bowl(np.array([3.0, 4.0]), np.array([0.0, 5.0])))
    vb = panel.plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: abs(vb.width() - vb.height()) <= 2, timeout=TIMEOUT_MS)
    px_x, px_y = vb.viewPixelSize()
    assert px_x == pytest.approx(px_y, rel=0.01)  # one data unit is as many pixels across as up
    picture = panel.image.sceneBoundingRect()
    assert picture.width() == pytest.approx(picture.height(), rel=0.01)
    (x0, x1), (y0, y1) = vb.viewRange()
    assert (x0, x1) == pytest.approx((-1, 1), abs=0.02) and (y0, y1) == pytest.approx((-1, 1), abs=0.02)
    bottom = [text for _, text in axis_texts(panel.plot.getPlotItem().getAxis("bottom"))]
    left = [text for _, text in axis_texts(panel.plot.getPlotItem().getAxis("left"))]
    assert {"−1.0", "1.0"} <= set(bottom), bottom
    assert {"−1.0", "1.0"} <= set(left), left
    assert label_problems(panel) == []
    assert panel.plot.getPlotItem().getAxis("left").labelText == "β (direction 2, same units as α)"


def test_a_slice_in_two_units_says_so_and_fills_its_box(qtbot):
    panel = LandscapePanel("run", with_3d=False)
    qtbot.addWidget(panel)
    panel.resize(1000, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_landscape(bowl(np.array([1.0, 0.0]), np.array([0.0, 2.0])))
    item = panel.plot.getPlotItem()
    assert item.getAxis("bottom").labelText == "α (direction 1, ‖d₁‖ = 1)"
    assert item.getAxis("left").labelText == "β (direction 2, ‖d₂‖ = 2; not to α's scale)"
    vb = item.getViewBox()
    QApplication.processEvents()
    assert not vb.state["aspectLocked"] and vb.width() > 1.3 * vb.height()  # the window's width, not a square
    assert vb.viewRange() == [pytest.approx([-1, 1]), pytest.approx([-1, 1])]


# ---- the tab: a run that max steps stopped mid-epoch, with Shapes' classes -------------------------------------


def shapes_runner(steps: int = 14, n_batches: int = 9, epochs: int = 2):
    """One run of ``steps`` steps on Shapes' six classes, ``n_batches`` per epoch, stopped mid-epoch by max steps as
    the trainer stops it: an EpochEvent and Pictures at every epoch's end and at the last step."""
    classes = SHAPE_CLASSES

    def run(on_event, control):
        on_event(RunStarted(0, "sgd", "cpu", LAYERS, n_batches, epochs, 280, 40, 80, classes, (0.5,), (0.25,),
                            (1, 8, 8)))
        rng = np.random.default_rng(0)
        images = rng.random((16, 1, 8, 8)).astype(np.float32)
        labels = np.arange(16) % len(classes)
        for step in range(1, steps + 1):
            epoch, batch = divmod(step - 1, n_batches)
            norms = 10.0 ** -np.arange(len(LAYERS), 0, -1) * (1 + 0.1 * step)
            on_event(BatchEvent(0, step, epoch, batch, 1.8 - 0.01 * step, 0.01, norms, 1e4, 0.3))
            if batch + 1 == n_batches or step == steps:
                on_event(EpochEvent(0, epoch, step, 1.8, 0.3, 1.9 - 0.01 * step, 0.25, 1.0))
                on_event(Pictures(0, epoch, images, labels, (labels + 1) % len(classes),
                                  rng.normal(size=(6, 1, 5, 5)).astype(np.float32)))
        confusion = (np.full((6, 6), 2) + np.diag(np.full(6, 9))).astype(np.int64)
        on_event(RunFinished(0, "finished", steps, 1.7, 0.3, confusion, 2.0))
    return run


@pytest.fixture(params=SIZES, ids=["1400x900", "1280x800"])
def tab(qtbot, request):
    widget = TrainingTab()
    qtbot.addWidget(widget)
    widget.resize(*request.param)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_config({"dataset": "shapes", "subset": 400, "epochs": 2, "max_steps": 14, "device": "cpu"})
    yield widget
    widget.shutdown()


def run_fake(qtbot, tab, runner):
    tab.runner_factory = lambda config: runner
    with qtbot.waitSignal(tab.runs_finished, timeout=TIMEOUT_MS):
        assert tab.start()
    [record] = list(tab.model.runs)
    tab.model.select([record.id])
    QApplication.processEvents()
    return record


def test_every_tick_label_of_the_tab_is_whole_and_apart(qtbot, tab):
    run_fake(qtbot, tab, shapes_runner())
    for unit in ("steps", "epochs"):
        tab.curves.unit_combo.setCurrentText(unit)
        for page in range(tab.pictures.count()):
            tab.pictures.setCurrentIndex(page)
            QApplication.processEvents()
            assert label_problems(tab) == [], (unit, tab.pictures.tabText(page))


def test_the_confusion_matrix_names_its_columns_apart(qtbot, tab):
    """Shapes' six names under ~40-pixel cells ran into each other ("squaretriangle"): they are cut to prefixes
    that fit, the full names written under the matrix and in the cell's tooltip; wide cells show them whole."""
    record = run_fake(qtbot, tab, shapes_runner())
    view = tab.pictures.confusion
    tab.pictures.setCurrentIndex(0)
    QApplication.processEvents()
    axis = view.plot.getAxis("bottom")
    texts = sorted(axis_texts(axis), key=lambda t: t[0].left())
    assert len(texts) == 6 and all(b[0].left() > a[0].right() for a, b in zip(texts, texts[1:]))
    assert [text for _, text in texts] == list(view.columns)
    shortened = [(c, name) for c, name in zip(view.columns, SHAPE_CLASSES) if c != name]
    assert shortened, view.columns  # at these sizes the cells are narrower than "triangle"
    for column, name in zip(view.columns, SHAPE_CLASSES):
        assert column == name or (column.endswith(".") and name.startswith(column[:-1]))
    assert view.names.isVisible() and all(f"{c} = {name}" in view.names.text() for c, name in shortened)
    scene = view.plot.getViewBox().mapViewToScene(QPointF(3.5, 2.5))
    view._on_scene_mouse_moved(scene)
    assert view.plot_widget.toolTip() == "true square, predicted triangle: 2 (10% of square)"  # 2 of 21
    wide = ConfusionView()  # wide cells: the names whole, nothing under the matrix
    qtbot.addWidget(wide)
    wide.resize(1000, 700)
    wide.show()
    qtbot.waitExposed(wide)
    wide.show_matrix(record.finished.confusion, SHAPE_CLASSES, "finished")
    QApplication.processEvents()
    assert wide.columns == SHAPE_CLASSES and not wide.names.isVisible()
    assert [text for _, text in sorted(axis_texts(wide.plot.getAxis("bottom")), key=lambda t: t[0].left())] == \
        list(SHAPE_CLASSES)


def test_pictures_say_when_they_were_taken(qtbot, tab):
    """Stopped by max steps at step 14 of 9-batch epochs: 1.56 epochs, not "epoch 2"; the epoch axis puts that
    last validation point at 1.56 (it was drawn at 2, outside the axis)."""
    record = run_fake(qtbot, tab, shapes_runner())
    [title] = tab.pictures.predictions.titles()
    assert title == "sgd · lenet after step 14 (1.56 epochs): 16 of 16 wrong"
    [filters] = tab.pictures.filters.titles()
    assert filters.startswith("first conv layer after step 14 (1.56 epochs): 6 filters 5×5")
    assert "epoch 2" not in title + filters
    tab.curves.unit_combo.setCurrentText("epochs")
    x, _ = tab.curves.curve_data(record.id, "val")
    np.testing.assert_allclose(x, [1.0, 14 / 9])
    (_, x1), _ = tab.curves.loss_plot.getViewBox().viewRange()
    assert x[-1] <= x1
    assert record.when(9) == "step 9 (1 epoch)" and record.when(18) == "step 18 (2 epochs)"
    assert tab.runs.tree.topLevelItem(0).toolTip(1) == "finished: step 14 (1.56 epochs), 14 planned"


def test_captions_and_titles_of_the_pictures_are_whole(qtbot, tab):
    """Captions were cut to "true: s…" and the title to "… 16/16 wr…": the grid takes fewer columns until its
    captions fit, and the title wraps."""
    run_fake(qtbot, tab, shapes_runner())
    grid = tab.pictures.predictions
    metrics = QFontMetrics(grid._caption_font())
    for tile, rect in zip(grid.tiles(), grid._rects):
        for line in tile.caption.splitlines():
            assert metrics.horizontalAdvance(line) <= rect.width() + 2 * SPILL, line
    [title] = grid.titles()
    [room] = grid._titles
    whole = QFontMetrics(grid.font()).boundingRect(QRect(room.left(), room.top(), room.width(), 10_000),
                                                   int(0x1000), title)  # Qt.TextWordWrap
    assert whole.height() <= room.height() and whole.width() <= grid.width() - 8
    assert grid._rects[0].top() > room.bottom()


def test_gradient_flow_columns_sit_under_their_steps_from_0(qtbot, tab):
    """Column k is step k, centred on k where the loss plot draws step k's loss; the axis is labelled from 0 (it
    read "50, 100, 150" from 0 to 200)."""
    tab.set_config({"dataset": "shapes", "subset": 2000, "epochs": 5, "max_steps": 200, "device": "cpu"})
    record = run_fake(qtbot, tab, shapes_runner(steps=200, n_batches=44, epochs=5))
    plot, image = tab.gradflow.heatmap(0)
    rect = image.mapRectToView(image.boundingRect())
    assert rect.left() == pytest.approx(0.5) and rect.right() == pytest.approx(200.5)
    texts = [text for _, text in sorted(axis_texts(plot.getAxis("bottom")), key=lambda t: t[0].left())]
    assert texts[0] == "0" and parse_value(texts[-1]) == 200, texts
    vb = plot.getViewBox()
    for x, step in ((6.0, 6), (6.4, 6), (6.6, 7), (200.2, 200)):
        tab.gradflow._on_scene_mouse_moved(vb.mapViewToScene(QPointF(x, 0.5)))
        assert f"step {step}:" in image.toolTip(), (x, image.toolTip())
    tab.curves.unit_combo.setCurrentText("epochs")  # the same columns, in epochs
    rect = image.mapRectToView(image.boundingRect())
    assert rect.left() == pytest.approx(0.5 / 44) and rect.right() == pytest.approx(200.5 / 44)
    assert record.metrics.step == 200


def test_an_empty_cross_validation_chart_reads_percent_whole(qtbot, tab):
    tab.pictures.setCurrentWidget(tab.crossval)
    QApplication.processEvents()
    texts = [text for _, text in axis_texts(tab.crossval.chart.getPlotItem().getAxis("left"))]
    assert texts[0] == "0" and texts[-1] == "100", texts  # it read 0 … 1.0 under "validation accuracy (%)"
    assert label_problems(tab.crossval) == []


def test_the_cross_validation_table_is_whole(qtbot, tab):
    """"1.793 ± 0.004" was cut behind a horizontal scroll bar at 1280×800: the table is as wide as its columns."""
    losses, accs = (1.791, 1.799, 1.7892), (0.131, 0.178, 0.217)

    def folds(on_event, control):
        for k in range(3):
            on_event(RunStarted(k, "sgd", "cpu", LAYERS, 7, 1, 200, 100, 80, SHAPE_CLASSES, (0.5,), (0.25,),
                                (1, 8, 8), fold=k))
            on_event(BatchEvent(k, 1, 0, 0, 1.8, 0.01, np.ones(len(LAYERS)), 1e4, 0.2))
            on_event(FoldFinished(k, losses[k], accs[k]))
            on_event(RunFinished(k, "finished", 1, 1.8, 0.2, np.eye(6, dtype=np.int64), 1.0))
        on_event(CrossValFinished(accs, losses, float(np.mean(accs)), float(np.std(accs)), float(np.mean(losses)),
                                  float(np.std(losses))))

    tab.set_config({"dataset": "shapes", "subset": 400, "epochs": 1, "kfold": 3, "device": "cpu"})
    tab.runner_factory = lambda config: folds
    with qtbot.waitSignal(tab.runs_finished, timeout=TIMEOUT_MS):
        assert tab.start()
    QApplication.processEvents()
    table = tab.crossval.table
    assert tab.pictures.currentWidget() is tab.crossval and table.rowCount() == 4
    assert table.item(3, 2).text() == "1.793 ± 0.004"
    assert table.horizontalScrollBar().maximum() == 0 and table.horizontalHeader().length() <= table.viewport().width()
    for column in range(3):
        assert table.columnWidth(column) >= table.sizeHintForColumn(column)
    assert label_problems(tab.crossval) == []
