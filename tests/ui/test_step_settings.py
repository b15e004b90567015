"""The rest of torch.optim in the panels, per-run noise and schedules, and "Copy as PyTorch" in both tabs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from playground_helpers import TIMEOUT_MS, wait_computed
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from optviz.core.optimizers import REGISTRY
from optviz.core.schedules import ScheduleChoice
from optviz.core.surfaces import get_surface

SGD, MOMENTUM = 0, 1


def test_every_registry_optimizer_has_a_section_and_only_the_six_are_on(qtbot, playground):
    panel, model = playground.side_panel, playground.model
    assert [s.panel.spec.name for s in panel.sections] == list(REGISTRY)
    on = [s.panel.spec.name for s in panel.sections if s.enabled_box.isChecked()]
    assert on == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
    collapsed = [s.sizeHint().height() for s in panel.sections[1:]]
    assert max(collapsed) < 40  # one line each: 14 entries stay a short list
    adamw = list(REGISTRY).index("adamw")
    panel.sections[adamw].enabled_box.setChecked(True)
    wait_computed(qtbot, playground)
    assert adamw in model.result.entries and len(playground.surface_view.path_items.rows) == 7
    combo = playground.inside_panel.optimizer_combo
    assert combo.itemText(combo.findData(adamw)) == "AdamW"  # on: no "(off)"
    panel.sections[adamw].set_expanded(True)  # opening a section looks inside that optimizer
    assert model.inspected == adamw


def test_noise_and_schedule_of_a_run_reach_the_paths_and_the_internals(qtbot, playground):
    model, section = playground.model, playground.side_panel.sections[SGD]
    section.set_expanded(True)
    form = section.run_settings
    form.editor("noise").setValue(2.0)
    form.editor("seed").setValue(7)
    qtbot.waitUntil(lambda: model.entries[SGD].choice.noise == 2.0 and model.entries[SGD].choice.seed == 7,
                    timeout=TIMEOUT_MS)
    assert "σ 2" in section.summary.text()
    schedule = form.editor("schedule")
    schedule.setCurrentIndex(schedule.findData("step"))
    qtbot.waitUntil(lambda: model.entries[SGD].choice.schedule.name == "step", timeout=TIMEOUT_MS)
    form.editor("gamma").setValue(0.5)
    form.editor("step_size").setValue(50)
    choice = model.entries[SGD].choice
    assert choice.schedule == ScheduleChoice("step", {"gamma": 0.5, "step_size": 50}, 0)
    assert choice.values["lr"] == 0.01  # the hyperparameters stay
    wait_computed(qtbot, playground)
    ins, row = model.result.paths.internals, model.result.entries.index(SGD)
    lr = 0.01 * 0.5 ** (np.arange(model.session.steps) // 50)  # torch's StepLR, one step per "epoch"
    assert ins.lr[row] == pytest.approx(lr, rel=1e-12)
    x = model.result.paths.positions[row, 0, :-1]
    xt = torch.tensor(x, requires_grad=True)
    get_surface("himmelblau")(xt).sum().backward()
    noise = ins.grad[row, 0] - xt.grad.numpy()  # the gradient each step used, less the surface's
    assert 1.6 < noise.std() < 2.4 and abs(noise.mean()) < 0.3  # σ = 2 on each coordinate
    model.set_inspected(SGD)
    model.set_step(120)
    plot = playground.inside_panel.plot
    plot.set_quantity("lr")
    assert plot.values_at(120)["lr"] == pytest.approx(0.01 * 0.5**2)
    assert "+ noise" in playground.inside_panel.rule.plain_text()
    section.panel.editor("lr").setValue(0.02)  # editing a hyperparameter keeps the noise and schedule
    assert model.entries[SGD].choice.noise == 2.0 and model.entries[SGD].choice.schedule.name == "step"


def test_copy_as_pytorch_puts_torchs_constructor_on_the_clipboard_in_both_tabs(qtbot, playground):
    pytorch_text = pytest.importorskip("optviz.core.pytorch_text")
    model, section = playground.model, playground.side_panel.sections[MOMENTUM]
    section.set_expanded(True)
    QApplication.clipboard().clear()
    qtbot.mouseClick(section.copy_button, Qt.MouseButton.LeftButton)
    expected = pytorch_text.pytorch_source(model.entries[MOMENTUM].choice, model.session.steps)
    assert QApplication.clipboard().text() == expected and "torch.optim.SGD(" in expected
    from optviz.ui.training.optimizers_box import OptimizersBox

    box = OptimizersBox()
    qtbot.addWidget(box)
    box.race_button.click()
    box.list.setCurrentRow(2)
    qtbot.mouseClick(box.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == pytorch_text.pytorch_source(box.choices()[2])
    assert "torch.optim.Adam(" in QApplication.clipboard().text()


def test_a_noisy_optimizer_draws_k_seeds_faintly_with_their_mean_path(qtbot, playground):
    from optviz.core.noise import fan

    model, panel = playground.model, playground.side_panel
    fans = playground.surface_view.fan_items
    panel.sections[MOMENTUM].run_settings.editor("noise").setValue(3.0)
    panel.run_form.editor("fan").setValue(6)
    assert model.fan == 6
    qtbot.waitUntil(lambda: fans.result is not None and fans.result.session == model.session
                    and fans.result.seeds == 6 and not fans.is_busy(), timeout=TIMEOUT_MS)
    assert [entry for entry, _, _ in fans.items] == [MOMENTUM]  # only the noisy one
    _, cloud, mean = fans.items[0]
    expected = fan(model.surface, model.entries[MOMENTUM].choice, model.starts, model.session.steps, 6)
    x, y = mean.getData()
    assert np.allclose(x[:-1], expected.mean[0, :, 0], equal_nan=True)  # the same seeds draw the same fan
    assert np.allclose(y[:-1], expected.mean[0, :, 1], equal_nan=True)
    cx, _ = cloud.getData()
    assert np.isfinite(cx).sum() == np.isfinite(expected.paths.positions[..., 0]).sum()  # every seed, all steps
    assert mean.opts["pen"].style() == Qt.PenStyle.DashLine and cloud.opts["pen"].color().alpha() < 100
    panel.run_form.editor("fan").setValue(0)
    qtbot.waitUntil(lambda: fans.result.seeds == 0 and not fans.items, timeout=TIMEOUT_MS)


@pytest.mark.parametrize("name, last", [("step", 1 / 8), ("exponential", 1 / 100), ("time", 1 / 10)])
def test_a_schedule_picked_in_the_playground_spreads_its_decay_over_the_run(qtbot, playground, name, last):
    """The registry's defaults are per epoch of training (γ = 0.5 every epoch); one playground step is an epoch, so
    they halved SGD's lr at every step, 10⁻⁹³ by step 300, a frozen path "still moving". A schedule picked here
    starts with values for this run's length: the lr falls to about 1/8, 1/100 or 1/10 of lr₀ at the end."""
    model, section = playground.model, playground.side_panel.sections[SGD]
    section.set_expanded(True)
    schedule = section.run_settings.editor("schedule")
    schedule.setCurrentIndex(schedule.findData(name))
    qtbot.waitUntil(lambda: model.entries[SGD].choice.schedule.name == name, timeout=TIMEOUT_MS)
    wait_computed(qtbot, playground)
    lr = model.result.paths.internals.lr[model.result.entries.index(SGD)]
    assert lr[-1] / lr[0] == pytest.approx(last, rel=0.1)
    shown = {p: section.run_settings.editor(p).value() for p in model.entries[SGD].choice.schedule.values}
    assert shown == pytest.approx(dict(model.entries[SGD].choice.schedule.values))  # the boxes show what runs
