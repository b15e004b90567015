"""Views that stay whole (issue #9): every surface after every other, never old paths on a new surface, the
animation starting over, the caption while dragging."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from playground_helpers import TIMEOUT_MS, make_tab, wait_computed, widget_rect_of
from PySide6.QtCore import QRectF

import optviz.ui.playground.compute as compute
from optviz.core.field import sample, spread
from optviz.core.presets import PRESETS, default_session
from optviz.core.surfaces import SURFACES


def every_ordered_pair(names: list[str]) -> list[str]:
    """A walk through the complete directed graph on ``names`` that takes every edge (a→b, a ≠ b) once:
    an Euler circuit (Hierholzer), so 13 surfaces need 157 visits instead of 2 × 156."""
    edges = {a: [b for b in names if b != a] for a in names}
    stack, walk = [names[0]], []
    while stack:
        if edges[stack[-1]]:
            stack.append(edges[stack[-1]].pop())
        else:
            walk.append(stack.pop())
    return walk[::-1]


def test_the_walk_takes_every_ordered_pair_once():
    walk = every_ordered_pair(list(SURFACES))
    pairs = list(zip(walk, walk[1:]))
    assert len(pairs) == len(set(pairs)) == 13 * 12


@pytest.fixture
def quick_tab(qtbot, monkeypatch):
    """A playground that computes each surface picture once and runs two optimizers for 20 steps."""
    cached = functools.lru_cache(maxsize=None)(lambda name, params: sample(SURFACES[name].with_params(**dict(params))))
    monkeypatch.setattr(compute, "compute_field", lambda s: cached(s.surface, tuple(sorted(s.surface_params.items()))))
    base = default_session()
    session = base.with_(steps=20, optimizers=tuple(e if e.choice.name in ("sgd", "adam") else
                                                    type(e)(e.choice, False) for e in base.optimizers))
    tab = make_tab(qtbot, session, size=(1200, 760))
    yield tab
    assert tab.shutdown()


def _inside(outer: QRectF, inner: QRectF, slack: float = 1.0) -> bool:
    return (inner.left() >= outer.left() - slack and inner.top() >= outer.top() - slack
            and inner.right() <= outer.right() + slack and inner.bottom() <= outer.bottom() + slack)


def test_after_every_surface_in_any_order_the_view_is_whole(qtbot, quick_tab):
    model, view, panel = quick_tab.model, quick_tab.surface_view, quick_tab.side_panel
    seen_spread = {}
    for name in every_ordered_pair(list(SURFACES))[1:]:
        panel.surface_combo.setCurrentIndex(panel.surface_combo.findData(name))
        assert model.session.surface == name
        wait_computed(qtbot, quick_tab)
        qtbot.wait(1)  # layouts and repaints
        rect = QRectF(view.rect())
        plot = view.getPlotItem()
        where = f"after switching to {name}"
        assert _inside(rect, widget_rect_of(view, view.colorbar)), where
        legend = widget_rect_of(view, view.legend)
        assert legend.width() > 0 and _inside(rect, legend), where
        assert len(view.legend.items) == 2
        vb = widget_rect_of(view, plot.getViewBox())
        assert _inside(rect, vb) and vb.width() > 0.5 * rect.width() - 150, where
        assert _inside(rect, widget_rect_of(view, plot.titleLabel)), where
        assert not legend.intersects(vb)  # the legend is outside the heatmap: it hides no path
        (x0, x1), (y0, y1) = SURFACES[name].view
        (vx0, vx1), (vy0, vy1) = plot.getViewBox().viewRange()
        tol = 1e-6 * max(x1 - x0, y1 - y0)
        assert vx0 <= x0 + tol and vx1 >= x1 - tol and vy0 <= y0 + tol and vy1 >= y1 - tol, where
        # What the heatmap shows: the 5th–95th percentile of its colour indices covers most of the colour map.
        lo, hi = view.image.getLevels()
        seen_spread[name] = spread((view.image.image - lo) / (hi - lo))
        assert view.title_text().startswith(SURFACES[name].title)
    assert set(seen_spread) == set(SURFACES)
    assert min(seen_spread.values()) >= 0.6, seen_spread


def test_fit_to_surface_repairs_the_view_after_zooming(qtbot, quick_tab):
    view = quick_tab.surface_view
    quick_tab.model.set_surface("goldstein_price")
    wait_computed(qtbot, quick_tab)
    view.getPlotItem().getViewBox().scaleBy((4.0, 4.0))
    quick_tab.fit_button.click()
    (x0, x1), (y0, y1) = SURFACES["goldstein_price"].view
    (vx0, vx1), (vy0, vy1) = view.getPlotItem().getViewBox().viewRange()
    assert vx0 <= x0 + 1e-9 and vx1 >= x1 - 1e-9 and vy0 <= y0 + 1e-9 and vy1 >= y1 - 1e-9
    assert min(vx1 - vx0 - (x1 - x0), vy1 - vy0 - (y1 - y0)) < 1e-6  # exactly the box in its tight direction
    assert _inside(QRectF(view.rect()), widget_rect_of(view, view.colorbar))


def _drawn_on_another_surface(tab) -> list[str]:
    """What is drawn from a result computed on another surface than the one the session (and title) shows."""
    model, problems = tab.model, []
    surface = model.session.surface
    result = model.result
    foreign = result is not None and result.session.surface != surface
    drawn_paths = any(np.isfinite(items.trail.getData()[0]).any() or len(items.heads.getData()[0])
                      for items in tab.surface_view.path_items.rows)
    drawn_loss = any(len(c.getData()[0]) and np.isfinite(c.getData()[1]).any() for c in tab.loss_plot.curves)
    if foreign and drawn_paths:
        problems.append("paths")
    if foreign and drawn_loss:
        problems.append("loss curves")
    if foreign and tab.status_table.table.rowCount():
        problems.append("status rows")
    field = model.field
    if field is not None and field.key[0] != surface and tab.surface_view.image.opacity() > 0.5:
        problems.append("the old heatmap, undimmed")
    return problems


def test_old_paths_are_never_drawn_over_a_new_surface(qtbot, playground):
    model = playground.model
    problems: list[str] = []

    def check(name):
        problems.extend(f"{p} on {name}" for p in _drawn_on_another_surface(playground))

    for name in ("result_changed", "field_changed", "surface_changed", "step_changed"):
        getattr(model, name).connect(lambda *_, name=name: check(name))  # after the views: once they redrew
    for change in (lambda: model.set_surface("rosenbrock"), lambda: model.set_session(PRESETS["wells"].session),
                   lambda: model.set_surface("six_hump_camel")):
        model.set_step(model.last_step)
        change()
        check("the change")  # at once, before any event is processed
        assert playground.status_table.caption.full_text() == "computing…"
        assert playground.surface_view.computing.isVisible()
        wait_computed(qtbot, playground)
        assert not playground.surface_view.computing.isVisible()
        assert playground.status_table.table.rowCount() == len(model.result.entries)
    assert problems == []


def test_a_new_preset_plays_from_step_0_and_the_trail_grows(qtbot, playground):
    model, animator = playground.model, playground.animator
    animator.autoplay = True  # as in the app
    model.set_step(model.last_step)
    model.set_session(PRESETS["wells"].session)
    assert model.step == 0 and not animator.is_playing()  # at once, while the new paths are computed
    qtbot.waitUntil(lambda: animator.is_playing() or model.step > 0, timeout=TIMEOUT_MS)
    animator.pause()
    step = model.step
    assert step < model.last_step
    drawn = playground.surface_view.plotted_paths(0)[0]
    assert len(drawn) == step + 1  # the trail reaches the head, not the end of the path
    assert np.allclose(drawn[-1], model.result.paths.positions[0, 0, step])
    future_x, _ = playground.surface_view.path_items.rows[0].future.getData()
    assert np.isfinite(future_x).sum() == model.last_step + 1  # the whole path, faint
    assert playground.surface_view.path_items.rows[0].future.opts["pen"].color().alpha() < 100


def test_the_caption_stays_one_whole_line_while_dragging(qtbot, playground, monkeypatch):
    monkeypatch.setenv("OPTVIZ_ENGINE", "eager")  # a drag preview (the fast engine computes the whole paths)
    playground.computer._seconds_per_step = 1e-2  # as an eager run measures it on a slow machine
    model, caption = playground.model, playground.status_table.caption
    playground.plots_splitter.parentWidget()  # the column the caption lives in
    playground.main_splitter.setSizes([900, 240, 300])  # a narrow plots column
    model.move_start(0, -3.123456, 2.987654, dragging=True)
    qtbot.waitUntil(lambda: model.result.preview and model.result.session.starts[0] == (-3.123456, 2.987654),
                    timeout=TIMEOUT_MS)
    qtbot.wait(1)
    full = caption.full_text()
    assert "preview" in full and f"of {model.session.steps} steps" in full
    line = caption.fontMetrics().height()
    assert line <= caption.height() < 2 * line  # one line, not squashed
    assert caption.width() <= playground.status_table.width()
    assert caption.text() == full or (caption.text().endswith("…") and caption.toolTip() == full)
    assert caption.fontMetrics().horizontalAdvance(caption.text()) <= caption.width()
    model.move_start(0, -3.123456, 2.987654, dragging=False)
    wait_computed(qtbot, playground)


def test_with_the_fast_engine_a_drag_computes_the_whole_paths(qtbot, playground, monkeypatch):
    monkeypatch.setenv("OPTVIZ_ENGINE", "fast")
    model = playground.model
    model.move_start(0, -2.5, 2.5, dragging=True)
    qtbot.waitUntil(lambda: model.result.session.starts[0] == (-2.5, 2.5), timeout=TIMEOUT_MS)
    assert not model.result.preview and model.result.paths.steps == model.session.steps
    assert model.result.paths.engine == "fast"
    model.move_start(0, -2.5, 2.5, dragging=False)
    wait_computed(qtbot, playground)
