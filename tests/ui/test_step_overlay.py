"""Inside the step on the surface: the arrows and the ellipse drawn at the head are the recorded internals (and
torch.optim's own state) at the cursor step, at a stated scale that keeps them readable at any zoom."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from playground_helpers import TIMEOUT_MS

from optviz.core.surfaces import get_surface
from optviz.ui.playground.step_overlay import (
    CUT_PX,
    HIGH_PX,
    LOW_PX,
    format_scale,
    nice_scale,
)

MOMENTUM, NESTEROV, ADAM = 1, 2, 5  # entries of the default session (SGD, Momentum, Nesterov, Adagrad, RMSProp, Adam)


def _look(qtbot, tab, entry: int, step: int):
    tab.model.set_inspected(entry)
    tab.model.set_step(step)
    overlay = tab.surface_view.step_overlay
    qtbot.waitUntil(lambda: bool(overlay.drawn()), timeout=TIMEOUT_MS)
    result = tab.model.result
    return overlay, result.entries.index(entry), result.paths


def _drawn_vector(overlay, name: str) -> np.ndarray:
    """What the arrow ``name`` stands for: its drawn vector ÷ k, the cut undone."""
    tail, tip = overlay.drawn()[name]
    return (tip - tail) / overlay.scale * overlay.cut.get(name, 1.0)


def test_arrows_are_the_recorded_gradient_update_and_velocity_at_the_cursor_step(qtbot, playground):
    for entry, k in ((MOMENTUM, 37), (NESTEROV, 3), (ADAM, 120)):
        overlay, row, paths = _look(qtbot, playground, entry, k)
        ins = paths.internals
        head = paths.positions[row, 0, k]
        drawn = overlay.drawn()
        assert all(np.allclose(tail, head) for tail, _ in drawn.values())  # every arrow starts at the head
        lr = ins.lr[row, k]
        assert _drawn_vector(overlay, "update") == pytest.approx(ins.update[row, 0, k], rel=1e-9, abs=1e-15)
        assert _drawn_vector(overlay, "update") == pytest.approx(paths.positions[row, 0, k + 1] - head, rel=1e-9)
        assert _drawn_vector(overlay, "gradient") == pytest.approx(-lr * ins.grad[row, 0, k], rel=1e-9)
        if entry == ADAM:
            assert "velocity" not in drawn  # Adam's state is drawn as its step sizes instead
        else:
            assert _drawn_vector(overlay, "velocity") == pytest.approx(-lr * ins.momentum[row, 0, k], rel=1e-9)
        caption = overlay.caption.textItem.toPlainText()
        assert f"step {k} → {k + 1}" in caption and f"arrows {format_scale(overlay.scale)}" in caption


def test_velocity_is_torch_optims_momentum_buffer(qtbot, playground):
    """End to end: the cyan arrow is −lr·b with b read from a plain torch.optim.SGD(nesterov=True) run."""
    overlay, _, _ = _look(qtbot, playground, NESTEROV, 12)
    choice = playground.model.entries[NESTEROV].choice
    x = torch.tensor([playground.model.starts[0]], dtype=torch.float64, requires_grad=True)
    opt = choice.build([x])
    surface = get_surface("himmelblau")
    for _ in range(13):  # steps t = 1 … 13: the state after the update x_12 → x_13
        opt.zero_grad()
        surface(x).sum().backward()
        opt.step()
    buffer = opt.state[x]["momentum_buffer"][0].numpy()
    assert _drawn_vector(overlay, "velocity") == pytest.approx(-choice.values["lr"] * buffer, rel=1e-9)


def test_ellipse_half_axes_are_the_effective_step_sizes(qtbot, playground):
    overlay, row, paths = _look(qtbot, playground, ADAM, 20)
    eff = paths.internals.effective_lr[row, 0, 20]
    a, b = overlay.half_axes
    assert (a / overlay.ellipse_scale, b / overlay.ellipse_scale) == pytest.approx(tuple(eff), rel=1e-12)
    xs, ys = overlay.ellipse.getData()
    head = paths.positions[row, 0, 20]
    assert xs.max() - head[0] == pytest.approx(a, rel=1e-6) and ys.max() - head[1] == pytest.approx(b, rel=1e-3)
    assert f"×{overlay.ellipse_scale:g}" in overlay.caption.textItem.toPlainText()
    playground.model.set_inspected(MOMENTUM)  # one step size for both coordinates: no ellipse
    assert overlay.half_axes is None and not overlay.ellipse.isVisible()


def test_arrows_stay_readable_when_zooming_and_say_their_scale(qtbot, playground):
    overlay, row, paths = _look(qtbot, playground, ADAM, 50)
    vb = playground.surface_view.getPlotItem().getViewBox()
    head = paths.positions[row, 0, 50]
    for half_width in (4.0, 0.4, 0.01):
        vb.setRange(xRange=(head[0] - half_width, head[0] + half_width),
                    yRange=(head[1] - half_width, head[1] + half_width), padding=0)
        qtbot.wait(1)  # the range signal is delivered at once; nothing to wait for but the repaint
        pixel = vb.viewPixelSize()
        tail, tip = overlay.drawn()["update"]
        length_px = math.hypot((tip - tail)[0] / pixel[0], (tip - tail)[1] / pixel[1])
        assert LOW_PX / 2.5 <= length_px <= HIGH_PX
        assert f"arrows {format_scale(overlay.scale)}" in overlay.caption.textItem.toPlainText()
        for name in overlay.drawn():
            t0, t1 = overlay.drawn()[name]
            assert math.hypot((t1 - t0)[0] / pixel[0], (t1 - t0)[1] / pixel[1]) <= CUT_PX + 1e-6


def test_view_option_hides_the_overlay_and_other_starts_get_their_internals(qtbot, playground):
    overlay = playground.surface_view.step_overlay
    _look(qtbot, playground, MOMENTUM, 5)
    overlay.set_visible(False)
    assert not overlay.drawn() and not overlay.caption.isVisible()
    overlay.set_visible(True)
    assert overlay.drawn()
    model = playground.model
    model.add_start(-2.0, 2.0)  # selects the new start: its internals are recorded next
    qtbot.waitUntil(lambda: model.result is not None and model.result.paths.internals.starts == (1,)
                    and model.result.session == model.session, timeout=TIMEOUT_MS)
    row = model.result.entries.index(MOMENTUM)
    tail, _ = overlay.drawn()["update"]
    assert tail == pytest.approx(model.result.paths.positions[row, 1, 5])
    model.select_start(0)
    qtbot.waitUntil(lambda: model.result.paths.internals.starts == (0,), timeout=TIMEOUT_MS)


def test_nice_scale_is_one_while_readable_and_one_two_five_otherwise():
    assert nice_scale(80.0) == 1.0 and nice_scale(LOW_PX) == 1.0 and nice_scale(HIGH_PX) == 1.0
    assert nice_scale(0.7) == 100.0  # 70 px wanted
    assert nice_scale(3.5) == 20.0
    assert nice_scale(7000.0) == 0.01
    assert nice_scale(0.0) == 1.0 and nice_scale(float("nan")) == 1.0
    assert format_scale(20.0) == "×20" and format_scale(0.005) == "×0.005"


def test_the_caption_wraps_inside_a_narrow_surface_view(qtbot, playground):
    """With a lesson dock open the surface view is narrow: the caption's longest line ("−lr·∇f, the plain gradient
    step (cut: 37.4× longer)") ran under the colour bar, cut off. It wraps inside the view instead."""
    overlay, _, _ = _look(qtbot, playground, ADAM, 0)
    view = playground.surface_view.getPlotItem().getViewBox()
    playground.main_splitter.setSizes([420, 600, 300])
    qtbot.waitUntil(lambda: view.width() < 340, timeout=TIMEOUT_MS)
    playground.model.set_step(1)  # a caption written at this width
    qtbot.waitUntil(lambda: "step 1 → 2" in overlay.caption.textItem.toPlainText(), timeout=TIMEOUT_MS)
    box, caption = view.sceneBoundingRect(), overlay.caption.sceneBoundingRect()
    assert caption.left() >= box.left() and caption.right() <= box.right() + 0.5, (caption, box)
    assert caption.height() > 4 * overlay.caption.textItem.document().firstBlock().layout().lineAt(0).height()
    playground.main_splitter.setSizes([900, 300, 300])  # wide again: one line per item, no wrapping
    qtbot.waitUntil(lambda: view.width() > 450 and overlay.caption.textItem.textWidth() < 0, timeout=TIMEOUT_MS)


def test_a_converged_step_is_not_magnified_into_arrows(qtbot, playground):
    """SGD sits in its minimum of Himmelblau by step 100: its steps are rounding noise, ~10⁻¹⁷, which the overlay
    scaled "×2×10¹⁶" into a long arrow pointing anywhere. Below 10⁻¹⁰ of the view no arrow is drawn, and the
    caption says why."""
    model = playground.model
    model.set_inspected(0)  # SGD
    model.set_step(model.last_step - 1)
    overlay = playground.surface_view.step_overlay
    row = model.result.entries.index(0)
    assert np.linalg.norm(model.result.paths.internals.update[row, 0, model.last_step - 1]) < 1e-12
    qtbot.waitUntil(lambda: "no arrows" in overlay.caption.textItem.toPlainText(), timeout=TIMEOUT_MS)
    assert overlay.drawn() == {} and "below 10⁻¹⁰ of the view" in overlay.caption.textItem.toPlainText()
    model.set_step(5)  # a real step: arrows again
    qtbot.waitUntil(lambda: bool(overlay.drawn()), timeout=TIMEOUT_MS)
    assert "arrows ×" in overlay.caption.textItem.toPlainText()
