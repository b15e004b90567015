"""The reusable hyperparameter form: built from the registry, emits only validated values."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from optviz.core.optimizers import REGISTRY, HyperparameterError
from optviz.ui.widgets.hyper_panel import HyperPanel
from optviz.ui.widgets.spin_boxes import LogSpinBox


@pytest.mark.parametrize("name", list(REGISTRY))
def test_panel_has_one_editor_per_hyper_with_registry_defaults(qtbot, name):
    panel = HyperPanel(name)
    qtbot.addWidget(panel)
    spec = REGISTRY[name]
    assert panel.values() == spec.defaults()
    for h in spec.hypers:
        editor = panel.editor(h.name)
        assert isinstance(editor, LogSpinBox) == h.log
        if h.kind != "bool":  # exact ranges: tests/ui/test_widget_specs.py
            assert h.low <= editor.minimum() <= editor.maximum() <= h.high
            spec.hyper(h.name).validate(editor.maximum())  # open ends are pulled in


def test_set_values_is_silent_and_rejects_bad_values(qtbot):
    panel = HyperPanel("adam")
    qtbot.addWidget(panel)
    seen = []
    panel.changed.connect(seen.append)
    panel.set_values({"lr": 0.05, "amsgrad": True})
    assert panel.values()["lr"] == 0.05 and panel.values()["amsgrad"] is True
    assert panel.editor("lr").value() == 0.05
    with pytest.raises(HyperparameterError):
        panel.set_values({"lr": -1.0, "beta1": 0.5})
    assert panel.values()["lr"] == 0.05 and panel.values()["beta1"] == 0.9
    assert seen == []


def test_typed_entry_commits_validated_values_only(qtbot):
    panel = HyperPanel("sgd")
    qtbot.addWidget(panel)
    panel.show()
    lr = panel.editor("lr")
    with qtbot.waitSignal(panel.changed, timeout=2000) as blocker:
        lr.lineEdit().selectAll()
        qtbot.keyClicks(lr.lineEdit(), "3e-2")
        qtbot.keyClick(lr.lineEdit(), Qt.Key.Key_Return)
    assert blocker.args[0]["lr"] == pytest.approx(0.03)
    seen = []
    panel.changed.connect(seen.append)
    for text in ("abc", "50"):  # refused at the field, with the registry's message; the value stays
        lr.lineEdit().selectAll()
        qtbot.keyClicks(lr.lineEdit(), text)
        qtbot.keyClick(lr.lineEdit(), Qt.Key.Key_Return)
        assert panel.form.problem("lr").startswith(f"Invalid learning rate: {text if text != 'abc' else repr(text)} ")
    assert seen == [] and panel.values()["lr"] == pytest.approx(0.03)
    with qtbot.waitSignal(panel.changed, timeout=2000):
        qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    assert panel.form.problem("lr") == "" and lr.value() == REGISTRY["sgd"].defaults()["lr"]


def test_log_arrows_walk_1_2_5_and_reset_restores_defaults(qtbot):
    panel = HyperPanel("rmsprop", {"lr": 0.02})
    qtbot.addWidget(panel)
    lr = panel.editor("lr")
    lr.stepBy(1)
    assert panel.values()["lr"] == pytest.approx(0.05)
    lr.stepBy(2)
    assert panel.values()["lr"] == pytest.approx(0.2)
    lr.stepBy(-4)
    assert panel.values()["lr"] == pytest.approx(0.01)
    with qtbot.waitSignal(panel.changed, timeout=2000) as blocker:
        qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == REGISTRY["rmsprop"].defaults()
    assert lr.value() == REGISTRY["rmsprop"].defaults()["lr"]
