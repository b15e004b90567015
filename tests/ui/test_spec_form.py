"""SpecForm: editors built from specs, driven by real key and wheel events."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from optviz.core.params import ParamError, Spec
from optviz.ui.widgets.spec_form import SpecForm
from optviz.ui.widgets.spin_boxes import IntSpinBox, LogSpinBox
from optviz.ui.widgets.wheel import ComboBox

LR = Spec("lr", "float", 1e-3, 0.0, 10.0, log=True, label="learning rate", doc="step size")
BETA = Spec("beta", "float", 0.9, 0.0, 1.0, high_open=True)
SUBSET = Spec("subset", "int", None, 1, 1000, optional=True, off_text="all")
FLAG = Spec("flag", "bool", False, title="Flag")
KIND = Spec("kind", "choice", "b", choices=("a", "b", "c"))


def type_into(qtbot, editor, text: str, key: Qt.Key = Qt.Key.Key_Return) -> None:
    """Select the field's text, type ``text`` (nothing: delete it) and press ``key`` (Return commits)."""
    editor.lineEdit().selectAll()
    qtbot.keyClicks(editor.lineEdit(), text) if text else qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Delete)
    qtbot.keyClick(editor.lineEdit(), key)


def message_shown(form: SpecForm, text: str) -> bool:
    return any(label.text() == text and label.isVisibleTo(form) for label in form.findChildren(QLabel))


def wheel(widget: QWidget, notches: int = -1) -> None:
    """A wheel turn over the middle of ``widget``, as the window system delivers it (negative: scroll down)."""
    window = widget.window()
    pos = widget.mapTo(window, widget.rect().center())
    QTest.wheelEvent(window.windowHandle(), QPointF(pos), QPoint(0, 120 * notches))
    QApplication.processEvents()


@pytest.fixture
def form(qtbot):
    form = SpecForm((LR, BETA, SUBSET, FLAG, KIND))
    qtbot.addWidget(form)
    form.show()
    qtbot.waitExposed(form)
    return form


def test_editors_follow_the_specs(form):
    assert isinstance(form.editor("lr"), LogSpinBox)
    assert isinstance(form.editor("subset"), IntSpinBox) and form.editor("subset").text() == "all"
    assert isinstance(form.editor("flag"), QCheckBox) and form.editor("flag").text() == "Flag"
    kind = form.editor("kind")
    assert isinstance(kind, ComboBox) and [kind.itemData(i) for i in range(kind.count())] == ["a", "b", "c"]
    assert form.values() == {"lr": 1e-3, "beta": 0.9, "subset": None, "flag": False, "kind": "b"}
    tip = form.editor("lr").toolTip()
    assert "step size" in tip and "a number in [0, 10]" in tip and "default 0.001" in tip
    assert form.editor("beta").maximum() == pytest.approx(1 - 1e-6)  # an open end, one unit inside
    for name in ("lr", "beta", "subset", "kind"):
        assert form.editor(name).focusPolicy() == Qt.FocusPolicy.StrongFocus


def test_changed_carries_validated_values_for_user_edits_only(qtbot, form):
    seen = []
    form.changed.connect(seen.append)
    form.set_values({"lr": 0.05, "flag": True, "kind": "c"})
    assert seen == [] and form.editor("lr").value() == 0.05 and form.editor("kind").currentData() == "c"
    with pytest.raises(ParamError, match="Invalid learning rate: -1"):
        form.set_values({"beta": 0.5, "lr": -1.0})
    assert form.values()["beta"] == 0.9  # nothing changed
    type_into(qtbot, form.editor("lr"), "3e-4")
    qtbot.mouseClick(form.editor("flag"), Qt.MouseButton.LeftButton)
    assert [v["lr"] for v in seen] == [pytest.approx(3e-4)] * 2 and seen[-1]["flag"] is False


@pytest.mark.parametrize("text", ["abc", "-1", "100", "", "nan"])
def test_a_refused_text_stays_with_the_spec_message_until_corrected(qtbot, form, text):
    seen = []
    form.changed.connect(seen.append)
    lr = form.editor("lr")
    type_into(qtbot, lr, text)
    with pytest.raises(ParamError) as expected:
        LR.parse(text)
    assert form.problem("lr") == str(expected.value) and str(expected.value).startswith("Invalid learning rate: ")
    assert message_shown(form, str(expected.value))
    assert lr.lineEdit().text() == text  # not silently put back
    assert form.values()["lr"] == 1e-3 and seen == []
    form.editor("beta").setFocus()  # leaving the field keeps the problem on show
    assert form.problem("lr") and lr.lineEdit().text() == text
    type_into(qtbot, lr, "0.02")
    assert form.problem("lr") == "" and not message_shown(form, str(expected.value))
    assert form.values()["lr"] == 0.02 and seen[-1]["lr"] == 0.02


def test_typing_the_held_value_back_clears_the_problem(qtbot, form):
    beta = form.editor("beta")
    type_into(qtbot, beta, "1")
    assert form.problem("beta") == "Invalid beta: 1 (allowed: a number in [0, 1))"
    type_into(qtbot, beta, "0.9")
    assert form.problem("beta") == "" and form.values()["beta"] == 0.9


def test_arrows_do_not_step_from_a_value_the_field_does_not_show(qtbot, form):
    beta = form.editor("beta")
    type_into(qtbot, beta, "x", Qt.Key.Key_Up)
    assert form.values()["beta"] == 0.9 and beta.lineEdit().text() == "x"
    assert form.problem("beta").startswith("Invalid beta: 'x' ")
    type_into(qtbot, beta, "0.5")
    qtbot.keyClick(beta.lineEdit(), Qt.Key.Key_Up)
    assert form.values()["beta"] == pytest.approx(0.51) and form.problem("beta") == ""


def test_optional_number_steps_between_off_and_its_lowest_value(qtbot, form):
    subset = form.editor("subset")
    qtbot.keyClick(subset.lineEdit(), Qt.Key.Key_Up)
    assert form.values()["subset"] == 1
    qtbot.keyClick(subset.lineEdit(), Qt.Key.Key_Down)
    assert form.values()["subset"] is None and subset.text() == "all"
    type_into(qtbot, subset, "0")  # the number under "all" is not a subset
    assert form.problem("subset") == "Invalid subset: 0 (allowed: an integer in [1, 1000], or all)"
    type_into(qtbot, subset, "2.5")
    assert form.problem("subset").startswith("Invalid subset: 2.5 ")
    type_into(qtbot, subset, "250")
    assert form.values()["subset"] == 250 and form.problem("subset") == ""
    type_into(qtbot, subset, "all")
    assert form.values()["subset"] is None


def test_off_steps_to_one_arrow_step_when_that_is_above_the_lowest_value(qtbot):
    clip = Spec("clip", "float", None, 0.0, 100.0, low_open=True, optional=True, step=0.5)
    big = Spec("subset", "int", None, 1, 10_000, optional=True, off_text="all", step=500)
    form = SpecForm((clip, big))
    qtbot.addWidget(form)
    for name, first in (("clip", 0.5), ("subset", 500)):
        editor = form.editor(name)
        qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Up)
        assert form.values()[name] == first  # not the open end's 1e-06, nor 1
        qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Up)
        assert form.values()[name] == 2 * first
        qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Down)
        qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Down)
        assert form.values()[name] is None


def test_a_check_of_the_whole_refuses_at_the_edited_field(qtbot):
    def check(values: dict) -> dict:
        if values["beta"] > 0.95:
            raise ParamError("Invalid beta: above 0.95 with this lr")
        return values

    form = SpecForm((LR, BETA), check=check)
    qtbot.addWidget(form)
    type_into(qtbot, form.editor("beta"), "0.99")
    assert form.problem("beta") == "Invalid beta: above 0.95 with this lr" and form.values()["beta"] == 0.9


def test_rows_can_be_inserted_and_removed(qtbot, form):
    extra = Spec("gamma", "float", 0.5, 0.0, 1.0, low_open=True)
    form.insert_specs([extra], {"gamma": 0.25}, after="lr")
    assert [s.name for s in form.specs][:3] == ["lr", "gamma", "beta"] and form.values()["gamma"] == 0.25
    row_lr = form.form.getWidgetPosition(form.label("lr"))[0]
    assert form.form.getWidgetPosition(form.label("gamma"))[0] == row_lr + 2  # below lr and its message line
    form.remove_specs(["gamma"])
    assert "gamma" not in form.values() and [s.name for s in form.specs][:2] == ["lr", "beta"]


def test_the_wheel_scrolls_the_panel_unless_the_editor_has_focus(qtbot):
    body = QWidget()
    column = QVBoxLayout(body)
    forms = [SpecForm((LR, KIND, SUBSET)) for _ in range(12)]
    for f in forms:
        column.addWidget(f)
    scroll = QScrollArea()
    scroll.setWidget(body)
    scroll.setWidgetResizable(True)
    scroll.resize(300, 200)
    qtbot.addWidget(scroll)
    scroll.show()
    qtbot.waitExposed(scroll)
    scroll.setFocus()  # a shown window gives its first editor focus: take it away
    qtbot.waitUntil(scroll.hasFocus, timeout=2000)
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0
    for name in ("lr", "kind", "subset"):
        editor = forms[0].editor(name)
        before, top = forms[0].values()[name], bar.value()
        wheel(editor)
        assert forms[0].values()[name] == before, f"an unfocused {name} took the wheel"
        assert bar.value() > top, "the scroll area got the wheel"
        bar.setValue(0)
    lr = forms[0].editor("lr")
    lr.setFocus()
    qtbot.waitUntil(lr.hasFocus, timeout=2000)
    wheel(lr, +1)
    assert forms[0].values()["lr"] == pytest.approx(2e-3)  # focused: the wheel steps, as the arrows do
