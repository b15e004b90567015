"""The basin small multiples: every tile's axes span exactly the map (no empty axis beside the picture), x and y at
one scale, and the tiles as large as the space allows — checked on what is drawn (view ranges, view box geometry,
tick strings) at several sizes of the view."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from playground_helpers import axis_texts, make_tab, parse_value
from playground_helpers import show_basins as show_map
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QApplication

from optviz.core.custom import CUSTOM
from optviz.core.presets import default_session

STEPS = 60
# The map side (view box height, px) of the default six tiles in the playground tab at 1400×900 before the tiles
# were sized to fit: the aspect-locked plots in a stretched grid of two columns gave 79 px maps under x axes from
# −9.3 to 9.3 (63.8 px in the main window at 1400×900, under x axes from −11 to 11).
SIDE_BEFORE = 79.2
SIZES = (  # (tab size, the main splitter's sizes): the default window; a small one; a narrow, tall middle column;
    # a wide, short one
    ((1400, 900), [720, 380, 300]), ((1100, 750), [560, 280, 260]), ((1000, 1000), [600, 120, 280]),
    ((1800, 640), [250, 1250, 300]))


def open_tab(qtbot, monkeypatch, session, size):
    monkeypatch.setenv("OPTVIZ_ENGINE", "eager")
    return make_tab(qtbot, session, size=size)


@pytest.fixture
def tab(qtbot, monkeypatch):
    """The default session (six optimizers enabled), few steps, in a tab of the default window's size."""
    widget = open_tab(qtbot, monkeypatch, default_session().with_(steps=STEPS), (1400, 900))
    yield widget
    assert widget.shutdown()


def show_basins(qtbot, tab, resolution=32):
    view = show_map(qtbot, tab, resolution)
    settle(qtbot, view)
    return view


def settle(qtbot, view) -> None:
    """Until the layout is at rest: two polls (events processed in between) see the same geometry."""
    seen = []

    def same() -> bool:
        vbs = tuple(p.getViewBox().sceneBoundingRect().getRect() for p in view.plots)
        seen.append((view.graphics.viewport().size().toTuple(), vbs, tuple(tuple(map(tuple, p.getViewBox().viewRange()))
                                                                           for p in view.plots)))
        return len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3]

    qtbot.waitUntil(same, timeout=5_000)


def tile_problems(view) -> list[str]:
    """What is wrong with the tiles as drawn: a view range other than the map's rectangle (1% of the span), a view
    box whose pixel aspect is not the data's (3%), tiles of different sizes, a tile outside the graphics view."""
    rect = view.grid_rect()
    want = ((rect.left(), rect.right()), (rect.top(), rect.bottom()))
    aspect = rect.width() / rect.height()
    problems = []
    sizes = set()
    area = view.graphics.mapToScene(view.graphics.viewport().rect()).boundingRect()
    for k, plot in enumerate(view.plots):
        vb = plot.getViewBox()
        for axis, (lo, hi), (w_lo, w_hi) in zip("xy", vb.viewRange(), want):
            tol = 0.01 * (w_hi - w_lo)
            if abs(lo - w_lo) > tol or abs(hi - w_hi) > tol:
                problems.append(f"tile {k}: {axis} range ({lo:.3g}, {hi:.3g}), map ({w_lo:.3g}, {w_hi:.3g})")
        box = vb.sceneBoundingRect()
        if abs(box.width() / box.height() / aspect - 1) > 0.03:
            problems.append(f"tile {k}: view box {box.width():.1f}×{box.height():.1f} px, data aspect {aspect:.3g}")
        sizes.add((round(box.width()), round(box.height())))
        if not area.adjusted(-0.5, -0.5, 0.5, 0.5).contains(plot.sceneBoundingRect()):
            problems.append(f"tile {k} at {plot.sceneBoundingRect().getRect()} outside {area.getRect()}")
    if len(sizes) > 1:
        problems.append(f"tiles of several sizes: {sorted(sizes)}")
    return problems


def map_side(view) -> float:
    return min(p.getViewBox().sceneBoundingRect().height() for p in view.plots)


def bottom_row(view) -> list:
    """The plots with no plot below them: their bottom axes carry the values."""
    n, cols = len(view.plots), view._columns
    return [p for i, p in enumerate(view.plots) if i + cols >= n]


def test_tiles_span_the_map_at_one_scale_at_every_size(qtbot, tab):
    view = show_basins(qtbot, tab)
    assert len(view.plots) == 6
    assert tile_problems(view) == []
    side = map_side(view)
    print(f"map side at 1400×900: {side:.1f} px ({view._columns} columns; before: {SIDE_BEFORE} px)")
    assert side > SIDE_BEFORE
    for (tab_size, columns), inner in zip(SIZES[1:] + SIZES[:1], (None, None, None, [300, 500])):
        tab.resize(*tab_size)
        tab.main_splitter.setSizes(columns)
        if inner is not None:  # the graphics view resized by the splitter under it, not the view
            view.splitter.setSizes(inner)
        settle(qtbot, view)
        assert tile_problems(view) == [], (tab_size, view.graphics.viewport().size())
        if tab_size == (1800, 640):
            assert view._columns == 6  # the wide, short area: one row of six


def test_the_columns_give_the_largest_maps(qtbot, tab):
    view = show_basins(qtbot, tab)
    for tab_size, columns in SIZES[::-1]:
        tab.resize(*tab_size)
        tab.main_splitter.setSizes(columns)
        settle(qtbot, view)
        size = view.graphics.viewport().size()
        sides = {c: view.fitted_geometry(size.width(), size.height(), c)[0] for c in range(1, 7)}
        assert view._columns == max(sides, key=sides.get)
        assert map_side(view) == pytest.approx(sides[view._columns], abs=1.0)
        # the grid is centred in the graphics view
        left = min(p.sceneBoundingRect().left() for p in view.plots)
        right = max(p.sceneBoundingRect().right() for p in view.plots)
        top = min(p.sceneBoundingRect().top() for p in view.plots)
        bottom = max(p.sceneBoundingRect().bottom() for p in view.plots)
        assert left == pytest.approx(size.width() - right, abs=1.5)
        assert top == pytest.approx(size.height() - bottom, abs=1.5)


@pytest.mark.parametrize("tab_size, columns", SIZES)
def test_bottom_ticks_lie_within_the_map(qtbot, tab, tab_size, columns):
    view = show_basins(qtbot, tab)
    tab.resize(*tab_size)
    tab.main_splitter.setSizes(columns)
    settle(qtbot, view)
    rect = view.grid_rect()
    for plot in bottom_row(view):
        texts = axis_texts(plot.getAxis("bottom"))
        assert len(texts) >= 2, texts
        vb = plot.getViewBox().sceneBoundingRect()
        for at, text in texts:
            assert rect.left() <= parse_value(text) <= rect.right(), (text, [t for _, t in texts])
            assert vb.left() - 1 <= at.center().x() <= vb.right() + 1, text
        values = sorted(parse_value(text) for _, text in texts)
        assert values == pytest.approx(sorted(-v for v in values)), values  # a symmetric box: none dropped
    left = sorted(parse_value(text) for _, text in axis_texts(view.plots[0].getAxis("left")))
    assert len(left) >= 2 and rect.top() <= left[0] and left[-1] <= rect.bottom(), left
    assert left == pytest.approx(sorted(-v for v in left)), left
    for i, plot in enumerate(view.plots):  # the outer-axes rule: values on the first column and the bottom row
        assert bool(axis_texts(plot.getAxis("left"))) == (i % view._columns == 0)
        assert bool(axis_texts(plot.getAxis("bottom"))) == (plot in bottom_row(view))


def test_a_wide_view_box_gives_wide_tiles(qtbot, monkeypatch):
    session = default_session().with_(surface=CUSTOM, formula="x**2 + 3*y**2", view=(-4.0, 4.0, -1.0, 1.0),
                                      starts=((1.5, 0.5),), steps=STEPS)
    tab = open_tab(qtbot, monkeypatch, session, (1400, 900))
    try:
        view = show_basins(qtbot, tab)
        rect = view.grid_rect()
        assert rect.width() / rect.height() == pytest.approx(4.0)
        assert tile_problems(view) == []
        box = view.plots[0].getViewBox().sceneBoundingRect()
        assert box.width() / box.height() == pytest.approx(4.0, rel=0.03)
        for tab_size, columns in SIZES[1:]:
            tab.resize(*tab_size)
            tab.main_splitter.setSizes(columns)
            settle(qtbot, view)
            assert tile_problems(view) == [], tab_size
            left = sorted(parse_value(text) for _, text in axis_texts(view.plots[0].getAxis("left")))
            assert left and left == pytest.approx(sorted(-v for v in left)), (tab_size, left)  # no "0.5" without "−0.5"
    finally:
        assert tab.shutdown()


def test_resizing_refits_without_rebuilding_and_only_on_a_change(qtbot, tab):
    view = show_basins(qtbot, tab)
    plots, cols, side = list(view.plots), view._columns, map_side(view)
    resized = []
    for plot in plots:
        plot.setMinimumSize = lambda *size, _f=plot.setMinimumSize: resized.append(size) or _f(*size)

    def predicted(dw: float, dh: float) -> tuple[int, float]:  # (best columns, map height) after a move
        w, h = view.graphics.width() + dw, view.graphics.height() + dh
        sides = {c: view.fitted_geometry(w, h, c)[0] for c in range(1, 7)}
        best = max(sides, key=sides.get)
        return best, sides[best]

    # a move of a splitter (the plots column wider, or the maps taller) that keeps the columns, ± a few pixels,
    # and changes the maps' size
    dw, dh = next((dw, dh) for dw, dh in ((0, 30), (0, -30), (30, 0), (-30, 0), (0, 15), (15, 0))
                  if all(predicted(dw + e, dh + e)[0] == cols for e in (-3, 3))
                  and abs(predicted(dw, dh)[1] - predicted(0, 0)[1]) >= 3)
    expected = predicted(dw, dh)[1]
    if dh:
        top, bottom = view.splitter.sizes()
        view.splitter.setSizes([top + dh, bottom - dh])
    else:
        left, middle, right = tab.main_splitter.sizes()
        tab.main_splitter.setSizes([left - dw, middle + dw, right])
    settle(qtbot, view)
    assert view._columns == cols and all(a is b for a, b in zip(view.plots, plots)) and len(view.plots) == 6
    assert map_side(view) == pytest.approx(expected, abs=1.0) and abs(map_side(view) - side) >= 2
    assert len(resized) == 6  # each panel resized once
    assert tile_problems(view) == []
    size = view.graphics.size()
    QApplication.sendEvent(view.graphics, QResizeEvent(size, size))  # the same size again: nothing to redo
    settle(qtbot, view)
    assert len(resized) == 6


def test_the_race_table_shows_every_column_in_the_default_window(qtbot, tmp_path):
    """At 1400×900 the race table's six columns fit its width: the median and p90 steps were cut off behind a
    horizontal scroll bar."""
    from playground_helpers import make_window

    window = make_window(qtbot, tmp_path)
    view = show_map(qtbot, window.playground)
    table = view.table
    qtbot.waitUntil(lambda: table.rowCount() == 6)
    header = table.horizontalHeader()
    assert header.length() <= table.viewport().width(), [table.columnWidth(c) for c in range(table.columnCount())]
    assert not table.horizontalScrollBar().isVisible()
    # the maps' titles are not in their optimizers' colours, which are the minima's too (SGD red over a red basin)
    assert {pg.mkColor(p.titleLabel.opts["color"]).name() for p in view.plots} == {"#222222"}
    for column in range(table.columnCount()):  # each header's text fits its column
        text = table.horizontalHeaderItem(column).text()
        widest = max(header.fontMetrics().horizontalAdvance(line) for line in text.split("\n"))
        assert widest <= table.columnWidth(column), text
    assert window.playground.shutdown()
