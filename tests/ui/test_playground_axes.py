"""Axes that do not lie and divergence drawn as what it is (issue #9), read back from what is drawn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from playground_helpers import axis_texts, make_tab, parse_value
from PySide6.QtCore import QPointF

from optviz.core.presets import PRESETS, default_session
from optviz.core.clip import clip_paths


@pytest.fixture
def diverging(qtbot):
    """The "Too large a learning rate" preset (SGD leaves Rosenbrock within a few steps; Adam stays), at its end."""
    tab = make_tab(qtbot, PRESETS["divergence"].session)
    tab.model.set_step(tab.model.last_step)
    yield tab
    assert tab.shutdown()


def _read_axis(scene_y: float, texts) -> float:
    """What a reader takes from a log axis at height ``scene_y``: log10 of the value, on the line through the
    labelled ticks (which must all lie on one line: one scale for every label)."""
    ys = np.array([rect.center().y() for rect, _ in texts])
    logs = np.array([math.log10(parse_value(text)) for _, text in texts])
    slope, offset = np.polyfit(ys, logs, 1)
    assert np.allclose(slope * ys + offset, logs, atol=0.02)
    return float(slope * scene_y + offset)


def test_log_axis_labels_are_true_values_while_a_path_diverges(diverging):
    model, plot = diverging.model, diverging.loss_plot.getPlotItem()
    paths = model.result.paths
    assert paths.diverged_step[0, 0] >= 1 and paths.diverged_step[1, 0] == -1  # SGD diverged, Adam did not
    axis, vb = plot.getAxis("left"), plot.getViewBox()
    assert axis.logMode
    texts = [(rect, text) for rect, text in axis_texts(axis) if text]
    assert len(texts) >= 3
    label = axis.labelString()
    assert "f − f*" in label and "x1e" not in label and "×" not in label and "(x" not in label
    (lo, hi) = vb.viewRange()[1]
    for rect, text in texts:  # each label sits at the height of the value it names
        value = parse_value(text)
        drawn_at = vb.mapSceneToView(QPointF(0, rect.center().y())).y()
        assert lo - 1e-6 <= math.log10(value) <= hi + 1e-6, text
        assert drawn_at == pytest.approx(math.log10(value), abs=0.02 * (hi - lo)), text
    # Adam ends at f ≈ 3.8 and the axis, read at Adam's curve, says so (it used to say 10⁻¹¹).
    adam = diverging.loss_plot.curves[1]
    x, y = adam.getData()
    last = np.flatnonzero(np.isfinite(y))[-1]
    scene_y = vb.mapViewToScene(QPointF(x[last], y[last])).y()
    f_star = 0.0  # Rosenbrock's minimum
    truth = math.log10(paths.losses[1, 0, -1] - f_star)
    assert paths.losses[1, 0, -1] == pytest.approx(3.8, abs=0.2)
    assert _read_axis(scene_y, texts) == pytest.approx(truth, abs=0.05)
    # The range is that of the paths on the surface, not SGD's 10¹⁸: Adam's whole curve is in view.
    assert lo <= np.nanmin(y) and np.nanmax(y) <= hi
    assert hi < math.log10(1e6)


@pytest.mark.parametrize("session", [default_session(), PRESETS["divergence"].session], ids=["default", "divergence"])
def test_the_loss_axis_title_never_overlaps_its_tick_labels(qtbot, session):
    tab = make_tab(qtbot, session)
    try:
        axis = tab.loss_plot.getPlotItem().getAxis("left")
        title = axis.label.sceneBoundingRect()
        texts = [rect for rect, text in axis_texts(axis) if text]
        assert texts and title.width() > 0
        assert all(not title.intersects(rect) for rect in texts)
        view = tab.loss_plot
        assert view.mapFromScene(title).boundingRect().left() >= 0  # and it is not cut off at the widget's edge
    finally:
        assert tab.shutdown()


def test_a_diverged_path_is_drawn_inside_the_view_box_and_ends_in_an_arrow(diverging):
    model, view = diverging.model, diverging.surface_view
    (x0, x1), (y0, y1) = model.surface.view
    sgd = view.path_items.rows[0]
    for curve in (sgd.trail, sgd.future):
        x, y = curve.getData()
        finite = np.isfinite(x) & np.isfinite(y)
        assert finite.sum() >= 2
        eps = 1e-9 * (x1 - x0)
        assert np.all((x[finite] >= x0 - eps) & (x[finite] <= x1 + eps) & (y[finite] >= y0 - eps)
                      & (y[finite] <= y1 + eps))
    hx, _ = sgd.heads.getData()
    assert len(hx) == 0  # its head is gone…
    (spot,) = sgd.exits.points()  # …and an arrow sits where it left, on the box's edge, pointing out of it
    px, py = spot.pos().x(), spot.pos().y()
    on_edge = [abs(px - x0), abs(px - x1), abs(py - y0), abs(py - y1)]
    edge = int(np.argmin(on_edge))
    assert on_edge[edge] < 1e-9 * (x1 - x0)
    outward = [(-1, 0), (1, 0), (0, -1), (0, 1)][edge]
    symbol = spot.symbol()
    tip = symbol.elementAt(0).x, -symbol.elementAt(0).y  # the arrow's first point is its tip; y up
    assert tip[0] * outward[0] + tip[1] * outward[1] > 0.25
    # Adam's path stays on the surface: a head ring, no arrow.
    adam = view.path_items.rows[1]
    assert len(adam.heads.getData()[0]) == 1 and len(adam.exits.getData()[0]) == 0


def test_a_diverged_loss_curve_ends_at_its_divergence_step_with_a_marker(diverging):
    model, plot = diverging.model, diverging.loss_plot
    d = int(model.result.paths.diverged_step[0, 0])
    x, y = plot.curves[0].getData()
    drawn = x[np.isfinite(y)]
    assert drawn.max() <= d and drawn.max() >= d - 1
    (spot,) = plot.divergence.points()
    lo, hi = plot.getPlotItem().getViewBox().viewRange()[1]
    assert spot.pos().x() == d and lo < spot.pos().y() < hi
    assert spot.symbol() == "t1"  # it left through the top
    assert diverging.status_table.row_texts()[0][1].split("\n")[0] == f"diverged at step {d}"


def test_goldstein_price_with_three_diverging_optimizers_draws_nothing_outside(qtbot):
    session = default_session().with_(surface="goldstein_price", starts=((-1.2, 1.2),))
    tab = make_tab(qtbot, session)
    try:
        tab.model.set_step(tab.model.last_step)
        (x0, x1), (y0, y1) = tab.model.surface.view
        diverged = tab.model.result.paths.diverged_step[:, 0] >= 0
        assert diverged.sum() >= 1
        for row in np.flatnonzero(diverged):
            x, y = tab.surface_view.path_items.rows[row].trail.getData()
            keep = np.isfinite(x)
            assert np.all((x[keep] >= x0 - 1e-9) & (x[keep] <= x1 + 1e-9) & (y[keep] >= y0 - 1e-9)
                          & (y[keep] <= y1 + 1e-9))
            assert len(tab.surface_view.path_items.rows[row].exits.points()) == 1
        assert len(tab.loss_plot.divergence.points()) == diverged.sum()
    finally:
        assert tab.shutdown()


def test_clipping_keeps_what_is_inside_and_marks_each_exit():
    box = ((0.0, 1.0), (0.0, 1.0))
    path = np.array([[[0.5, 0.5], [1.5, 0.5], [3.0, -5.0], [0.5, 2.0], [0.5, 0.25], [np.nan, np.nan]]])
    (clip,) = clip_paths(path, box)
    points = clip.points
    drawn = points[np.isfinite(points[:, 0])]
    assert np.all((drawn >= 0.0) & (drawn <= 1.0))
    # 0.5,0.5 → leaves at (1, 0.5); the jump (1.5, 0.5) → (3, −5) → (0.5, 2) stays away (not drawn, though the
    # straight line (3, −5)→(0.5, 2) crosses the box); it comes back at (0.5, 1) to (0.5, 0.25), then jumps to NaN.
    assert np.allclose(points[:2], [[0.5, 0.5], [1.0, 0.5]]) and np.isnan(points[2]).all()
    assert np.allclose(points[3:5], [[0.5, 1.0], [0.5, 0.25]])
    assert list(clip.inside) == [True, False, False, False, True, False]
    assert list(clip.upto) == [1, 3, 3, 3, 5, 5]
    assert list(clip.last_exit) == [-1, 0, 0, 0, 0, 4]
    assert clip.exit_angles[0] == pytest.approx(0.0) and np.isnan(clip.exit_angles[4])
    assert np.allclose(clip.exit_points[4], [0.5, 0.25])  # left from its last finite point, direction unknown


@pytest.mark.parametrize("decades, plain", [((-4, -2), False), ((-3, -1), True), ((-2.01, -0.99), True),
                                            ((-3.05, 0.05), True), ((2, 6), False)])
def test_a_log_axis_writes_all_its_labels_in_one_style(qtbot, decades, plain):
    """pyqtgraph labels a log axis's decades and the 2×, 5× between them in separate calls: the axis's range picks
    one style for both, so 10⁻³ never sits beside 0.002 (and each label still reads its true value)."""
    import pyqtgraph as pg

    from optviz.ui.widgets.axes import TrueAxis

    widget = pg.PlotWidget(axisItems={"bottom": TrueAxis("bottom")})
    qtbot.addWidget(widget)
    widget.resize(900, 300)
    widget.show()
    qtbot.waitExposed(widget)
    plot = widget.getPlotItem()
    plot.setLogMode(x=True, y=False)
    plot.setXRange(*decades, padding=0)
    plot.getAxis("bottom").setStyle(hideOverlappingLabels=15)
    texts = [text for _, text in axis_texts(plot.getAxis("bottom"))]
    assert len(texts) >= 4
    powers = ["10" in t and ("⁻" in t or any(c in t for c in "⁰¹²³⁴⁵⁶⁷⁸⁹")) for t in texts]
    assert all(not p for p in powers) if plain else all(powers), texts
    low, high = 10.0 ** decades[0], 10.0 ** decades[1]  # (a map's range reaches half a cell past its ends: the
    # unlabelled 9×10⁻⁴ below 10⁻³ does not make the labels powers)
    assert all(low * 0.999 <= parse_value(t) <= high * 1.001 for t in texts), texts


@pytest.mark.parametrize("orientation", ["left", "bottom"])
@pytest.mark.parametrize("low, high, expected", [(1.15, 2.6, ["1.5", "2", "2.5"]), (0.6, 3.2, ["1", "2", "3"]),
                                                 (0.38, 3.4, ["0.5", "1", "2"]), (0.011, 0.019,
                                                 ["0.012", "0.014", "0.016", "0.018"])])
def test_a_log_axis_under_a_decade_reads_at_least_three_values(qtbot, orientation, low, high, expected):
    """pyqtgraph ticks a log axis at 1…9 × 10ⁿ only, so a loss of 1.2 … 2.5 (an lr sweep's copies late in
    training) read one label, "2". Each drawn label sits where its value is on the log scale."""
    import pyqtgraph as pg

    from optviz.ui.widgets.axes import true_axes

    widget = pg.PlotWidget(axisItems=true_axes())
    qtbot.addWidget(widget)
    widget.resize(500, 420)
    widget.show()
    qtbot.waitExposed(widget)
    plot = widget.getPlotItem()
    plot.setLogMode(True, True)
    (plot.setYRange if orientation == "left" else plot.setXRange)(np.log10(low), np.log10(high), padding=0)
    qtbot.wait(20)  # the axes' widths settle with the new labels
    axis = plot.getAxis(orientation)
    drawn = axis_texts(axis)
    assert [text for _, text in drawn] == expected
    view = plot.getViewBox()
    for rect, text in drawn:  # the label's centre is at log10 of its value, in the view's coordinates
        centre = view.mapSceneToView(rect.center())
        at = centre.y() if orientation == "left" else centre.x()
        span = np.log10(high) - np.log10(low)
        assert at == pytest.approx(np.log10(parse_value(text)), abs=0.02 * span), text


@pytest.mark.parametrize("steps", [1, 3])
def test_step_axes_are_ticked_at_whole_steps(qtbot, steps):
    """A 1-step run's loss plot was ticked 0, 0.2, 0.4, 0.6, 0.8: there is no step 0.2."""
    from playground_helpers import make_tab

    tab = make_tab(qtbot, default_session().with_(steps=steps))
    for plot in (tab.loss_plot, tab.inside_panel.plot):
        texts = [text for _, text in axis_texts(plot.getPlotItem().getAxis("bottom"))]
        assert texts and all(float(t) == int(float(t)) and 0 <= float(t) <= steps for t in texts), texts
    assert tab.shutdown()
