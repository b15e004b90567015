"""Generated from the specs: every editor the app builds allows exactly what its spec allows, and says so.

For every optimizer hyperparameter, surface parameter, run setting, schedule parameter and TrainConfig field, the
widget in the real panel (HyperPanel, playground side panel, schedule box, training panel) has the spec's range —
its closed ends, or one unit of its last digit inside an open end — or the spec's choices; a value typed outside
is refused at the field, with the spec's own message, and the values keep the last valid one.
"""

from __future__ import annotations

from typing import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QScrollArea, QWidget
from test_spec_form import type_into, wheel

from optviz.core.devices import DEVICE
from optviz.core.optimizers import REGISTRY
from optviz.core.params import ParamError, Spec
from optviz.core.session import STEPS
from optviz.core.surfaces import SURFACES
from optviz.training.config import TrainConfig, check, specs
from optviz.training.models import MODELS
from optviz.training.schedules import SCHEDULES
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.side_panel import SidePanel
from optviz.ui.training.panel import TrainingPanel
from optviz.ui.training.schedule_box import ScheduleBox
from optviz.ui.widgets.hyper_panel import HyperPanel
from optviz.ui.widgets.spec_form import SpecForm
from optviz.ui.widgets.spin_boxes import IntSpinBox, LogSpinBox, NumberSpinBox
from optviz.ui.widgets.wheel import ComboBox

Build = Callable[[], tuple[QWidget, QWidget]]  # → (the panel to keep alive, the editor of the spec)


def _hyper(optimizer: str, name: str) -> Build:
    def build():
        panel = HyperPanel(optimizer)
        return panel, panel.editor(name)
    return build


def _surface(surface: str, name: str) -> Build:
    def build():
        model = PlaygroundModel()
        model.set_surface(surface)
        panel = SidePanel(model)
        return panel, panel.param_editors[name]
    return build


def _run(name: str) -> Build:
    def build():
        model = PlaygroundModel()
        panel = SidePanel(model)
        return panel, {"steps": panel.steps_box, "device": panel.device_combo}[name]
    return build


def _schedule(schedule: str, name: str) -> Build:
    def build():
        box = ScheduleBox()
        box.set_schedule(schedule, {}, 0.0)
        return box, box.spin(name)
    return build


def _training(name: str) -> Build:
    def build():
        panel = TrainingPanel()  # set so that no field is greyed out
        panel.set_config(TrainConfig(dataset="mnist", subset=1000, model="resnet8", weight_decay=0.1))
        return panel, panel.editor(name)
    return build


def cases():
    for optimizer in REGISTRY.values():
        for h in optimizer.hypers:
            yield pytest.param(h, _hyper(optimizer.name, h.name), False, id=f"hyper-{optimizer.name}-{h.name}")
    for surface in SURFACES.values():
        for p in surface.params:
            yield pytest.param(p, _surface(surface.name, p.name), False, id=f"surface-{surface.name}-{p.name}")
    for spec in (STEPS, DEVICE):
        yield pytest.param(spec, _run(spec.name), False, id=f"playground-{spec.name}")
    for schedule in SCHEDULES.values():
        for p in schedule.params:
            yield pytest.param(p, _schedule(schedule.name, p.name), False, id=f"schedule-{schedule.name}-{p.name}")
    for name, spec in specs().items():
        if name != "model":  # two combos (type and depth): see test_model_combos_offer_every_registry_model
            yield pytest.param(spec, _training(name), True, id=f"training-{name}")


def _form_of(editor: QWidget) -> SpecForm:
    widget = editor.parentWidget()
    while not isinstance(widget, SpecForm):
        widget = widget.parentWidget()
    return widget


def _outside(spec: Spec) -> list[str]:
    """Texts just outside the spec's range: an open end itself, one below/above a closed end."""
    numbers = []
    if spec.low is not None:
        numbers.append(spec.low if spec.low_open else spec.low - 1)
    if spec.high is not None:
        numbers.append(spec.high if spec.high_open else spec.high + 1)
    return [str(int(x)) if spec.kind == "int" else repr(float(x)) for x in numbers]


def _message(spec: Spec, text: str, training: bool) -> str:
    with pytest.raises(ParamError) as refused:
        check(spec.name, text, text=True) if training else spec.parse(text)
    return str(refused.value)


@pytest.mark.parametrize(("spec", "build", "training"), list(cases()))
def test_every_editor_has_its_specs_range_and_refuses_outside_it(qtbot, spec, build, training):
    panel, editor = build()
    qtbot.addWidget(panel)
    assert editor.isEnabled()
    assert editor.focusPolicy() == Qt.FocusPolicy.StrongFocus or isinstance(editor, (QCheckBox, QLineEdit))
    if spec.kind == "bool":
        assert isinstance(editor, QCheckBox)
        return
    if spec.kind == "choice":
        assert isinstance(editor, ComboBox)
        assert [editor.itemData(i) for i in range(editor.count())] == list(spec.choices)
        return
    if spec.kind == "str":
        assert isinstance(editor, QLineEdit)
        return
    assert isinstance(editor, NumberSpinBox)
    assert isinstance(editor, IntSpinBox) == (spec.kind == "int") and isinstance(editor, LogSpinBox) == spec.log
    unit = 10.0 ** -editor.decimals()
    if spec.low is not None:
        low = spec.low + unit if spec.low_open else spec.low
        assert editor.allowed_low() == pytest.approx(low, rel=1e-12, abs=1e-300)
        if spec.optional:  # the one value under the range stands for None
            assert editor.minimum() < low and editor.specialValueText() == spec.off_text
        else:
            assert editor.minimum() == pytest.approx(low, rel=1e-12, abs=1e-300)
    if spec.high is not None:
        high = spec.high - unit if spec.high_open else spec.high
        assert editor.maximum() == pytest.approx(high, rel=1e-12)

    form = _form_of(editor)
    before = form.values()
    for text in _outside(spec):
        type_into(qtbot, editor, text)
        message = _message(spec, text, training)
        assert form.problem(spec.name) == message
        assert any(label.text() == message and not label.isHidden() for label in form.findChildren(QLabel))
        assert editor.lineEdit().text() == text
        assert form.values() == before


def test_model_combos_offer_every_registry_model(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    seen = set()
    for i in range(panel.model_type.count()):
        panel.model_type.setCurrentIndex(i)
        for j in range(panel.depth.count() if panel.depth.isEnabled() else 1):
            panel.depth.setCurrentIndex(j)
            seen.add(panel.config().model)
    assert seen == set(MODELS)


def test_the_wheel_over_the_playground_panel_scrolls_it_and_changes_nothing(qtbot):
    model = PlaygroundModel()
    panel = SidePanel(model)
    qtbot.addWidget(panel)
    panel.resize(300, 300)
    panel.show()
    qtbot.waitExposed(panel)
    adam = next(s for s in panel.sections if s.panel.spec.name == "adam")
    adam.set_expanded(True)
    panel.setFocus()
    qtbot.waitUntil(panel.hasFocus, timeout=2000)
    lr = adam.panel.editor("lr")
    panel.ensureWidgetVisible(lr)
    bar = panel.verticalScrollBar()
    entries = model.entries
    for editor in (lr, panel.surface_combo, panel.steps_box, panel.device_combo):
        panel.ensureWidgetVisible(editor)
        top = bar.value()
        wheel(editor, -1 if top < bar.maximum() else +1)
        assert model.entries == entries and model.session.surface == "himmelblau" and model.session.steps == 300
        assert bar.value() != top, "the wheel scrolled the panel"


def test_the_wheel_over_the_training_panel_scrolls_it_and_changes_nothing(qtbot):
    panel = TrainingPanel()
    scroll = QScrollArea()
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.resize(360, 400)
    qtbot.addWidget(scroll)
    scroll.show()
    qtbot.waitExposed(scroll)
    scroll.setFocus()
    qtbot.waitUntil(scroll.hasFocus, timeout=2000)
    config = panel.config()
    bar = scroll.verticalScrollBar()
    for editor in (panel.batch_size, panel.dataset, panel.optimizers.hypers.editor("lr"), panel.schedule.kind,
                   panel.epochs, panel.device):
        scroll.ensureWidgetVisible(editor)
        top = bar.value()
        wheel(editor, -1 if top < bar.maximum() else +1)
        assert panel.config() == config
        assert bar.value() != top, "the wheel scrolled the panel"


def test_a_typed_invalid_value_never_reaches_the_playground_model(qtbot):
    model = PlaygroundModel()
    panel = SidePanel(model)
    qtbot.addWidget(panel)
    panel.show()
    sgd = panel.sections[0]
    lr = sgd.panel.editor("lr")
    before = model.entries[0].choice.values["lr"]
    for text in ("abc", "-1", "100"):
        type_into(qtbot, lr, text)
        assert model.entries[0].choice.values["lr"] == before
        assert sgd.panel.form.problem("lr") == _message(REGISTRY["sgd"].hyper("lr"), text, False)
    type_into(qtbot, panel.steps_box, "0")
    assert model.session.steps == 300 and panel.run_form.problem("steps").startswith("Invalid steps: 0 (allowed: ")
    type_into(qtbot, lr, "0.02")
    assert model.entries[0].choice.values["lr"] == 0.02 and sgd.panel.form.problem("lr") == ""
    assert "lr 0.02" in sgd.summary.text()


def test_a_typed_invalid_value_never_reaches_the_training_config(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.show()
    seen = []
    panel.changed.connect(lambda: seen.append(panel.config()))
    type_into(qtbot, panel.kfold, "1")  # in the spin box's range, refused by the config's own rule
    assert panel.config().kfold == 0 and seen == []
    assert panel.run_form.problem("kfold") == _message(specs()["kfold"], "1", True)
    type_into(qtbot, panel.max_steps, "100")
    assert panel.config().max_steps == 100 and seen[-1].max_steps == 100
    type_into(qtbot, panel.max_steps, "off")
    assert panel.config().max_steps is None
