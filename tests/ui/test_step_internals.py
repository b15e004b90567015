"""Inside the step, beside the loss plot: the internals plot reads the recorded internals and follows the cursor;
the rule shows torch.optim's formulas with the numbers of the cursor's step (checked against torch.optim itself)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from playground_helpers import TIMEOUT_MS, axis_texts, parse_value

from optviz.core.surfaces import get_surface
from optviz.ui.playground.rule_formulas import num, vec

SGD, MOMENTUM, ADAGRAD, RMSPROP, ADAM = 0, 1, 3, 4, 5


def _torch_state(choice, start, steps: int) -> tuple[dict, np.ndarray]:
    """torch.optim's state and the gradient of step ``steps`` of a plain one-point run on Himmelblau."""
    x = torch.tensor([start], dtype=torch.float64, requires_grad=True)
    opt = choice.build([x])
    surface = get_surface("himmelblau")
    for _ in range(steps):
        opt.zero_grad()
        surface(x).sum().backward()
        opt.step()
    return {k: v[0].numpy().copy() for k, v in opt.state[x].items() if torch.is_tensor(v) and v.ndim}, \
        x.grad[0].numpy().copy()


def _inspect(qtbot, tab, entry: int, step: int) -> None:
    tab.model.set_inspected(entry)
    tab.model.set_step(step)
    qtbot.waitUntil(lambda: tab.inside_panel.plot.inside is not None, timeout=TIMEOUT_MS)


def test_internals_plot_shows_the_recorded_step_sizes_with_a_cursor_on_the_step(qtbot, playground):
    panel, model = playground.inside_panel, playground.model
    _inspect(qtbot, playground, ADAM, 40)
    assert panel.quantity_combo.currentData() == "step"
    row = model.result.entries.index(ADAM)
    eff = model.result.paths.internals.effective_lr[row, 0]
    for k in (0, 40, 299):
        shown = panel.plot.values_at(k)
        assert (shown["x"], shown["y"]) == pytest.approx(tuple(eff[k]), rel=1e-9)
        assert shown["lr"] == pytest.approx(model.entries[ADAM].choice.values["lr"])
    assert panel.plot.cursor.value() == 40
    panel.plot.cursor.setValue(75)  # dragging the cursor scrubs the animation
    assert model.step == 75
    axis = panel.plot.getPlotItem().getAxis("left")
    assert axis.logMode
    low, high = panel.plot.getPlotItem().getViewBox().viewRange()[1]
    ticks = [parse_value(text) for _, text in axis_texts(axis)]
    assert ticks and all(10 ** low <= t <= 10 ** high for t in ticks)  # true values of the visible range


def test_internals_plot_offers_what_the_optimizer_records(qtbot, playground):
    panel, model = playground.inside_panel, playground.model
    _inspect(qtbot, playground, MOMENTUM, 10)
    assert panel.quantity_combo.currentData() == "momentum"  # the velocity tells most about Momentum
    row = model.result.entries.index(MOMENTUM)
    ins = model.result.paths.internals
    shown = panel.plot.values_at(10)
    assert shown["‖b‖"] == pytest.approx(np.linalg.norm(ins.momentum[row, 0, 10]), rel=1e-9)
    assert shown["‖∇f‖"] == pytest.approx(np.linalg.norm(ins.grad[row, 0, 10]), rel=1e-9)
    _inspect(qtbot, playground, SGD, 10)
    items = panel.quantity_combo.model()
    enabled = {panel.quantity_combo.itemData(r): items.item(r).isEnabled() for r in range(items.rowCount())}
    assert enabled["step"] and not enabled["momentum"] and not enabled["bias"]
    panel.quantity_combo.setCurrentIndex(panel.quantity_combo.findData("angle"))
    panel.quantity_combo.activated.emit(panel.quantity_combo.currentIndex())
    assert panel.plot.values_at(10)["angle"] == pytest.approx(0.0, abs=1e-6)  # SGD steps straight down −∇f
    model.set_enabled(ADAGRAD, False)
    model.set_inspected(ADAGRAD)
    qtbot.waitUntil(lambda: "Adagrad is off" in panel.rule.plain_text(), timeout=TIMEOUT_MS)  # once recomputed


def test_rule_shows_adams_formulas_with_torch_optims_numbers_of_the_cursor_step(qtbot, playground):
    model, rule = playground.model, playground.inside_panel.rule
    _inspect(qtbot, playground, ADAM, 6)
    choice = model.entries[ADAM].choice
    state, g = _torch_state(choice, model.starts[0], 7)  # t = 7 is the update x_6 → x_7
    text = rule.plain_text()
    assert "step t = 7" in text and "√" in text
    html = rule.text()
    for value in (g, state["exp_avg"], state["exp_avg_sq"]):
        assert vec(value) in html
    b1 = choice.values["beta1"]
    assert num(1 - b1 ** 7) in html  # the bias correction of this step
    row = model.result.entries.index(ADAM)
    assert vec(model.result.paths.positions[row, 0, 7]) in html  # where the step lands
    model.set_step(7)  # the next step starts from this one's m
    assert f"{num(b1)}·{vec(state['exp_avg'])} + " in rule.text() and "step t = 8" in rule.plain_text()


def test_at_the_last_step_the_rule_shows_the_update_that_led_there(qtbot, playground):
    """The animation ends on the last step, where no update follows: the panel said only that. It shows the last
    update, x₂₉₉ → x₃₀₀, with torch.optim's numbers."""
    model, rule = playground.model, playground.inside_panel.rule
    last = model.last_step
    _inspect(qtbot, playground, ADAM, last)
    state, g = _torch_state(model.entries[ADAM].choice, model.starts[0], last)
    text = rule.plain_text()
    assert f"the last update, step t = {last}" in text and f"x{last - 1} → x{last}" in text, text
    html = rule.text()
    for value in (g, state["exp_avg"], state["exp_avg_sq"]):
        assert vec(value) in html
    row = model.result.entries.index(ADAM)
    assert vec(model.result.paths.positions[row, 0, last]) in html  # where it lands: the path's last point


@pytest.mark.parametrize("entry, key", [(ADAGRAD, "sum"), (RMSPROP, "square_avg"), (MOMENTUM, "momentum_buffer")])
def test_rule_divides_by_the_root_of_accumulated_squares_with_torchs_state(qtbot, playground, entry, key):
    model, rule = playground.model, playground.inside_panel.rule
    _inspect(qtbot, playground, entry, 3)
    state, g = _torch_state(model.entries[entry].choice, model.starts[0], 4)
    html = rule.text()
    assert vec(state[key]) in html and vec(g) in html
    if entry != MOMENTUM:
        assert "√" in rule.plain_text() and "g²" in rule.plain_text()


def test_after_a_divergence_the_rule_says_so_instead_of_nan_numbers(qtbot, playground):
    """SGD at lr 0.5 leaves Himmelblau within a few steps: the panel wrote ∇f(nan, nan) = (nan, nan)."""
    from playground_helpers import wait_computed

    model, rule = playground.model, playground.inside_panel.rule
    model.set_hyper(SGD, {**model.entries[SGD].choice.values, "lr": 0.5})
    wait_computed(qtbot, playground)
    row = model.result.entries.index(SGD)
    path = model.result.paths.positions[row, 0]
    first_bad = int(np.flatnonzero(~np.isfinite(path).all(axis=1))[0])
    _inspect(qtbot, playground, SGD, model.last_step)
    text = rule.plain_text()
    assert f"diverged at step {first_bad}" in text and "nan" not in text.lower(), text
    _inspect(qtbot, playground, SGD, first_bad - 1)  # the step that led out still shows its numbers
    assert f"step t = {first_bad}" in rule.plain_text() and "diverged" not in rule.plain_text()
