"""The training tab's pictures tell the truth (issue #9), read back where a user looks: the tick labels drawn, the
pixels a legend or a heatmap covers, the colours of pens, swatches and list items, and the names shown."""

from __future__ import annotations

import math
import os
import re

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
import pytest  # noqa: E402
from playground_helpers import axis_texts, parse_value  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, QRect, Qt  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from optviz.core.field import format_value  # noqa: E402
from optviz.core.optimizers import REGISTRY  # noqa: E402
from optviz.training.events import (BatchEvent, CrossValFinished, EpochEvent, FoldFinished, Pictures,  # noqa: E402
                                    RunFinished, RunStarted)
from optviz.ui.training.gradflow import MIN_HEATMAP_PX  # noqa: E402
from optviz.ui.training.pictures import FILTER_MIN_PX  # noqa: E402
from optviz.ui.training.tab import TrainingTab  # noqa: E402

TIMEOUT_MS = 10_000
CLASSES = tuple("abcd")
RACE = ("sgd", "momentum", "adam")
DEEP = tuple(f"stage{s}.{b}.conv{c}" for s in (1, 2, 3) for b in range(3) for c in (1, 2)) + ("conv1", "fc", "out", "x")


@pytest.fixture
def tab(qtbot):
    widget = TrainingTab()
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_config({"dataset": "shapes", "subset": 100, "epochs": 1, "device": "cpu",
                       "optimizers": list(RACE)})
    yield widget
    widget.shutdown()


# ---- fake runs ----------------------------------------------------------------------------------------------------


def race_runner(losses: list[np.ndarray], *, layers=("conv1", "conv2", "fc1", "classifier"), n_batches=None,
                lr=None, diverges=(), fold=False):
    """A runner for ``len(losses)`` runs (a race, or folds) whose batch losses are ``losses[i]``; one epoch each
    (``n_batches`` defaults to the length of the losses); runs in ``diverges`` end "diverged"."""

    def run(on_event, control):
        rng = np.random.default_rng(1)
        for i, loss in enumerate(losses):
            n = n_batches or len(loss)
            on_event(RunStarted(i, RACE[i % 3], "cpu", tuple(layers), n, 1, 80, 10, 16, CLASSES, (0.5,), (0.25,),
                                (1, 8, 8), fold=i if fold else None))
        for i, loss in enumerate(losses):
            for step, value in enumerate(loss, 1):
                rate = lr[step - 1] if lr is not None else 0.01 * (i + 1)
                norms = 10.0 ** (-np.arange(len(layers), 0, -1) - i)
                on_event(BatchEvent(i, step, 0, step - 1, float(value), rate, norms, 1e4, 0.25 + 0.1 * i))
            if i not in diverges:
                on_event(EpochEvent(i, 0, len(loss), float(loss[-1]), 0.5, float(loss[-1]) * 1.1, 0.6, 1.0))
            images = rng.random((16, 1, 8, 8)).astype(np.float32)
            labels = np.arange(16) % 4
            on_event(Pictures(i, 0, images, labels, labels, rng.normal(size=(6, 1, 5, 5)).astype(np.float32)))
            if fold:
                on_event(FoldFinished(i, 1.0 - 0.1 * i, 0.6 + 0.1 * i))
            status = "diverged" if i in diverges else "finished"
            on_event(RunFinished(i, status, len(loss), 0.4, 0.75, np.diag([4, 4, 4, 4]).astype(np.int64), 2.0))
        if fold:
            accs = [0.6 + 0.1 * i for i in range(len(losses))]
            on_event(CrossValFinished(tuple(accs), tuple(1.0 - 0.1 * i for i in range(len(losses))),
                                      float(np.mean(accs)), float(np.std(accs)), 0.9, 0.1))
    return run


def run(qtbot, tab, runner) -> list:
    tab.runner_factory = lambda config: runner
    before = {r.id for r in tab.model.runs}
    with qtbot.waitSignal(tab.runs_finished, timeout=TIMEOUT_MS):
        assert tab.start()
    QApplication.processEvents()
    return [r for r in tab.model.runs if r.id not in before]


def three_curves(n: int = 60) -> list[np.ndarray]:
    """Losses that fill the loss plot: from 2.3 down to different ends, one crossing the others."""
    t = np.linspace(0, 1, n)
    return [2.3 - 0.3 * t, 2.3 * np.exp(-2.5 * t) + 0.05, 0.4 + 1.9 * (1 - t) ** 3 + 0.6 * t]


# ---- reading what is drawn ----------------------------------------------------------------------------------------


def read_axis(texts, scene_y: float) -> float:
    """What a reader takes from the labelled ticks at height ``scene_y`` (in log10 of the value)."""
    ys = np.array([rect.center().y() for rect, _ in texts])
    logs = np.array([math.log10(parse_value(text)) for _, text in texts])
    slope, offset = np.polyfit(ys, logs, 1)
    assert np.allclose(slope * ys + offset, logs, atol=0.02), texts  # one scale for every label
    return float(slope * scene_y + offset)


def assert_true_log_axis(plot, values: np.ndarray) -> None:
    """Every label of ``plot``'s log y axis sits at the height of the value it names; the axis read at the curve's
    highest and lowest points gives those points' values; no factor in the label."""
    axis, vb = plot.getAxis("left"), plot.getViewBox()
    assert axis.logMode
    label = axis.labelString()
    assert "(x" not in label and "x1e" not in label and "×" not in label, label
    texts = axis_texts(axis)
    assert len(texts) >= 2, texts
    lo, hi = vb.viewRange()[1]
    for rect, text in texts:
        value = math.log10(parse_value(text))
        assert lo - 1e-6 <= value <= hi + 1e-6, text
        assert vb.mapSceneToView(QPointF(0, rect.center().y())).y() == pytest.approx(value, abs=0.02 * (hi - lo))
    assert lo <= math.log10(values.min()) and math.log10(values.max()) <= hi  # the whole curve is in view
    for value in (values.min(), values.max()):
        scene_y = vb.mapViewToScene(QPointF(0, math.log10(value))).y()
        assert read_axis(texts, scene_y) == pytest.approx(math.log10(value), abs=0.02 * (hi - lo))


def widget_rect(view, item) -> QRect:
    """A graphics item's rectangle in window coordinates."""
    rect = view.mapFromScene(item.sceneBoundingRect()).boundingRect()
    return QRect(view.viewport().mapTo(view.window(), rect.topLeft()), rect.size())


def rgb(color) -> str:
    return QColor(color).name()


# ---- axes that do not lie -----------------------------------------------------------------------------------------


def test_log_axes_read_true_values_while_a_run_diverges(qtbot, tab):
    steps = 40
    diverging = 2.0 * 10.0 ** (np.arange(steps) * 18.0 / (steps - 1))  # 2 … 2×10¹⁸
    lr = np.geomspace(1e-4, 0.5, steps)
    bad, good = run(qtbot, tab, race_runner([diverging, np.linspace(2.3, 0.3, steps)], lr=lr, diverges=(0,)))
    assert bad.status == "diverged" and good.status == "finished"
    curves = tab.curves
    curves.smoothing_slider.setValue(0)  # the curves are the batch losses themselves
    curves.log_loss.setChecked(True)
    curves.log_lr.setChecked(True)
    QApplication.processEvents()
    losses = np.concatenate([bad.metrics.batch_loss, good.metrics.batch_loss])
    assert_true_log_axis(curves.loss_plot, losses)
    assert_true_log_axis(curves.lr_plot, lr)
    # linear axes: true numbers too, no "(x1e+18)" or "(x0.001)" in a label
    curves.log_loss.setChecked(False)
    curves.log_lr.setChecked(False)
    QApplication.processEvents()
    for plot in (curves.loss_plot, curves.accuracy_plot, curves.lr_plot):
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            assert "(x" not in axis.labelString() and "×" not in axis.labelString()
            (lo, hi) = plot.getViewBox().viewRange()[1 if name == "left" else 0]
            values = [parse_value(text) for _, text in axis_texts(axis)]
            assert values and all(lo - 1e-9 * abs(hi) <= v <= hi + 1e-9 * abs(hi) for v in values), (name, values)
    top = max(parse_value(text) for _, text in axis_texts(curves.loss_plot.getAxis("left")))
    assert top >= 1e17  # the linear loss axis says how far it went


def test_gradient_colour_bar_and_cross_validation_axes_read_true_values(qtbot, tab):
    folds = run(qtbot, tab, race_runner([np.linspace(2, 1, 10)] * 3, fold=True))
    bar = tab.gradflow.colorbar
    lo, hi = bar.levels()
    texts = axis_texts(bar.axis)
    assert len(texts) >= 2 and "(x" not in bar.axis.labelString()
    norms = np.concatenate([r.metrics.grad_norms.ravel() for r in folds])
    assert lo <= math.log10(norms.min()) + 0.5 and math.log10(norms.max()) - 0.5 <= hi
    assert bar.axis.range[0] == pytest.approx(lo) and bar.axis.range[1] == pytest.approx(hi)
    top = bar.axis.mapToScene(QPointF(0, 0)).y()
    bottom = top + bar.axis.geometry().height()
    for rect, text in texts:  # a label names the norm whose colour sits beside it
        value = parse_value(text)
        assert 10 ** lo * 0.999 <= value <= 10 ** hi * 1.001, text
        fraction = (math.log10(value) - lo) / (hi - lo)
        assert (bottom - rect.center().y()) / (bottom - top) == pytest.approx(fraction, abs=0.03), text
    view = tab.crossval
    axis = view.chart.getPlotItem().getAxis("left")
    assert "%" in axis.labelString() and "(x" not in axis.labelString()
    heights = view.bars.opts["height"]
    np.testing.assert_allclose(heights, [100 * f.fold_result.val_accuracy for f in folds])
    ticks = [parse_value(text) for _, text in axis_texts(axis)]
    (y0, y1) = view.chart.getPlotItem().getViewBox().viewRange()[1]
    assert all(0 <= v <= 100 for v in ticks) and y1 >= max(heights)
    assert -5 <= y0 <= 0  # bars start at 0 (from 38% their lengths made 48% and 51% look twice apart)
    assert max(ticks) - min(ticks) >= 10  # percent, not fractions of one
    assert "%" in view.mean_line.label.toPlainText()


# ---- colours, names and legend ------------------------------------------------------------------------------------


def test_a_runs_colour_is_the_same_in_every_plot_swatch_and_list(qtbot, tab):
    records = run(qtbot, tab, race_runner(three_curves()))
    assert [r.color for r in records] == [REGISTRY[name].color for name in RACE]
    panel_list = tab.panel.optimizers.list
    for i, r in enumerate(records):
        items = tab.curves._runs[r.id][1]
        for name in ("raw", "smooth", "acc", "lr"):
            assert rgb(getattr(items, name).opts["pen"].color()) == r.color, name
        for name in ("val", "val_acc"):
            assert rgb(getattr(items, name).opts["pen"].color()) == r.color, name
            assert rgb(pg.mkBrush(getattr(items, name).opts["symbolBrush"]).color()) == r.color, name
        swatch = tab.runs.tree.topLevelItem(i).icon(0).pixmap(12, 12).toImage()
        assert rgb(swatch.pixelColor(6, 6)) == r.color  # the runs list
        panel = panel_list.item(i).icon().pixmap(12, 12).toImage()
        assert rgb(panel.pixelColor(6, 6)) == r.color  # the optimizers list the race was started from
        plot, _ = tab.gradflow.heatmap(i)
        assert re.search(r"color:\s*([#\w]+)", plot.titleLabel.text).group(1) == r.color  # the heatmap's title
    assert tab.curves.legend_entries() == [(r.name, r.color) for r in records]


def test_two_identical_starts_get_distinct_names(qtbot, tab):
    [a] = run(qtbot, tab, race_runner([np.linspace(2, 1, 10)]))
    [b] = run(qtbot, tab, race_runner([np.linspace(2, 1, 10)]))
    assert a.name == f"sgd · {tab.config().model}" and b.name == f"{a.name} #2"
    shown = [tab.runs.tree.topLevelItem(i).text(0) for i in range(2)]
    assert len(set(shown)) == 2
    assert [name for name, _ in tab.curves.legend_entries()] == [a.name, b.name]
    assert a.color != b.color
    tab.runs.rename(b.id, a.name)  # renaming onto a taken name keeps them apart too
    assert b.name == f"{a.name} #2" and tab.runs.tree.topLevelItem(1).text(0) == b.name


def test_the_legend_never_sits_on_a_curve(qtbot, tab):
    records = run(qtbot, tab, race_runner(three_curves()))
    curves = tab.curves
    window = tab.window()
    legend = QRect(curves.legend.mapTo(window, QPoint(0, 0)), curves.legend.size())
    assert curves.legend.isVisible() and legend.width() > 100 and legend.height() > 10
    assert all(name.replace(" ", "&nbsp;") in curves.legend.text() for name in (r.name for r in records))
    drawn = 0
    for plot in (curves.loss_plot, curves.accuracy_plot, curves.lr_plot):
        assert not legend.intersects(widget_rect(curves.graphics, plot.getViewBox()))
        for item in plot.listDataItems():
            x, y = item.getData()
            for px, py in zip(x, y):
                scene = plot.getViewBox().mapViewToScene(QPointF(px, py))
                point = curves.graphics.mapFromScene(scene)
                assert not legend.contains(curves.graphics.viewport().mapTo(window, point))
                drawn += 1
    assert drawn > 500


# ---- gradient flow ------------------------------------------------------------------------------------------------


def test_heatmaps_are_tall_name_their_layers_and_have_their_own_x_range(qtbot, tab):
    short, long = np.linspace(2, 1, 30), np.linspace(2, 1, 90)
    run(qtbot, tab, race_runner([short, long, short], layers=DEEP))
    run(qtbot, tab, race_runner([long], layers=("a", "b")))
    tab.model.select([r.id for r in tab.model.runs])  # four heatmaps
    QApplication.processEvents()
    flow = tab.gradflow
    assert len(flow.shown_ids()) == 4
    assert flow.scroll.verticalScrollBar().maximum() > 0  # four don't fit: the stack scrolls, none is squashed
    for i, record in enumerate(tab.model.selected_records()):
        plot, image = flow.heatmap(i)
        vb = plot.getViewBox()
        assert vb.sceneBoundingRect().height() >= MIN_HEATMAP_PX
        shown = image.sceneBoundingRect().intersected(vb.sceneBoundingRect())
        assert shown.height() >= MIN_HEATMAP_PX - 1  # the picture itself, not only its box
        (x0, x1), _ = vb.viewRange()
        assert x0 <= 0 and x1 == pytest.approx(record.planned_steps, rel=0.03)  # its own length, not the longest
        texts = sorted(axis_texts(plot.getAxis("left")), key=lambda t: t[0].top())
        names = flow.layer_names(record)
        assert {text for _, text in texts} <= set(names)
        assert len(texts) == len(names) or len(texts) >= vb.height() / 20  # all, or as many as fit
        assert all(b[0].top() >= a[0].bottom() - 1 for a, b in zip(texts, texts[1:]))  # none overlap
        for row, name in enumerate(names):  # the tooltip names every layer, with its norm
            scene = vb.mapViewToScene(QPointF(5.5, row + 0.5))
            flow._on_scene_mouse_moved(scene)
            tip = image.toolTip()
            assert f": {name}\n" in tip and f"layer {row + 1}/{len(names)}" in tip, tip
            norm = record.metrics.grad_norms[5, row]
            assert "step 6:" in tip and tip.endswith(f"= {format_value(float(norm))}"), tip
    (_, a1), _ = flow.heatmap(0)[0].getViewBox().viewRange()
    (_, b1), _ = flow.heatmap(1)[0].getViewBox().viewRange()
    assert b1 > 2 * a1


# ---- runs list, filters, presets ------------------------------------------------------------------------------------


def _contrast(a: QColor, b: QColor) -> float:
    def luminance(c: QColor) -> float:
        parts = [((v / 255 + 0.055) / 1.055) ** 2.4 if v / 255 > 0.03928 else v / 255 / 12.92
                 for v in (c.red(), c.green(), c.blue())]
        return 0.2126 * parts[0] + 0.7152 * parts[1] + 0.0722 * parts[2]
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_finished_does_not_look_disabled(qtbot, tab, dark):
    if dark:
        palette = tab.runs.tree.palette()
        palette.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
        palette.setColor(QPalette.ColorRole.Text, QColor("#e6e6e6"))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6e6e6e"))
        tab.runs.tree.setPalette(palette)
    records = run(qtbot, tab, race_runner(three_curves(), diverges=(1,)))
    tab.model.select([])
    palette = tab.runs.tree.palette()
    base = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.Text)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    for i, r in enumerate(records):
        item = tab.runs.tree.topLevelItem(i)
        assert item.flags() & Qt.ItemFlag.ItemIsEnabled and item.flags() & Qt.ItemFlag.ItemIsSelectable
        color = item.foreground(1).color()
        assert _contrast(color, base) >= 4.5, (item.text(1), color.name(), base.name())
        if r.status == "finished":
            assert item.text(1) == "finished" and color == text and color != disabled
    assert tab.runs.tree.topLevelItem(1).text(1).startswith("diverged")
    for status in ("running", "stopped", "failed"):
        assert _contrast(tab.runs.status_color(status), base) >= 4.5, status


def test_first_layer_filters_are_at_least_48_px(qtbot, tab):
    run(qtbot, tab, race_runner([np.linspace(2, 1, 10)]))
    pictures = tab.pictures
    pictures.setCurrentIndex(1)
    for width in (pictures.width(), 260):
        pictures.resize(width, pictures.height())
        QApplication.processEvents()
        rects = pictures.filters._rects
        assert len(rects) == 6
        assert all(r.width() >= FILTER_MIN_PX and r.height() >= FILTER_MIN_PX for r in rects), rects
        assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
        shot = pictures.filters.grab().toImage()
        first = rects[0]
        assert shot.pixelColor(first.center()) != shot.pixelColor(first.right() + 3, first.center().y())


def test_lessons_are_offered_on_both_tabs(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from optviz.ui.main_window import MainWindow

    window = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), remember=False,
                        autoplay=False)
    qtbot.addWidget(window)
    window.show()
    titles = lambda: [a.text() for a in window.menuBar().actions() if a.isVisible()]  # noqa: E731
    assert "&Lessons" in titles() and "&Presets" not in titles()
    window.show_tab("training")
    assert "&Lessons" in titles()  # the training lab has lessons of its own
    window.close()
