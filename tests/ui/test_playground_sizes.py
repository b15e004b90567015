"""The playground at real window sizes: whole combo texts in the inside-the-step row, every status row visible (or a
scroll bar saying there are more), a side panel that scrolls up and down but is never cut at its right edge.

Each test builds the main window at a size, lets Qt lay it out, and reads back the geometry that is drawn."""

from __future__ import annotations

import pytest
from playground_helpers import TIMEOUT_MS, make_window, wait_computed
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QStyle,
    QStyleOptionComboBox,
    QWidget,
)

from optviz.core.schedules import ScheduleChoice, run_defaults

ENABLED = 6  # the default session's optimizers


def settle() -> None:
    for _ in range(3):  # layouts, then the splitters' deferred fits, then repaints
        QApplication.processEvents()


@pytest.fixture
def sized(qtbot, tmp_path):
    """A function building the main window at (width, height) with ``enabled`` optimizers on, paths computed, the
    animation at its last step (the longest status texts); the windows are closed (threads joined) at teardown."""
    windows = []

    def build(width: int, height: int, enabled: int = ENABLED):
        window = make_window(qtbot, tmp_path, size=(width, height))
        windows.append(window)
        assert (window.width(), window.height()) == (width, height)
        enable(qtbot, window, enabled)
        return window

    yield build
    for window in windows:
        window.close()


def enable(qtbot, window, count: int) -> None:
    tab = window.playground
    for i in range(len(tab.model.entries)):
        if tab.model.entries[i].enabled != (i < count):
            tab.model.set_enabled(i, i < count)
    wait_computed(qtbot, tab)
    tab.model.set_step(tab.model.last_step)
    qtbot.waitUntil(lambda: tab.status_table.table.rowCount() == count, timeout=TIMEOUT_MS)
    settle()


def text_room(combo: QComboBox) -> int:
    """The width the combo's style leaves for its current text: the edit field less the icon."""
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                         QStyle.SubControl.SC_ComboBoxEditField, combo)
    icon = combo.iconSize().width() + 4 if not combo.itemIcon(combo.currentIndex()).isNull() else 0
    return field.width() - icon


@pytest.mark.parametrize("size", [(1400, 900), (1280, 800)])
def test_the_inside_the_step_combos_show_their_whole_text(qtbot, sized, size):
    window = sized(*size)
    panel = window.playground.inside_panel
    for combo in (panel.optimizer_combo, panel.quantity_combo):
        for index in range(combo.count()):  # whichever optimizer or quantity is current
            combo.setCurrentIndex(index)
            settle()
            text = combo.currentText()
            assert combo.isVisible() and combo.fontMetrics().horizontalAdvance(text) <= text_room(combo), \
                f"{text!r} cut at {size}: {text_room(combo)} px for {combo.fontMetrics().horizontalAdvance(text)}"
            right = combo.mapTo(panel, QPoint(combo.width(), 0)).x()
            assert right <= panel.width(), f"{text!r} runs past the column at {size}"


def test_the_inside_the_step_row_wraps_only_where_the_column_is_narrow(qtbot, sized):
    window = sized(1400, 900)
    tab = window.playground
    panel = tab.inside_panel
    combos = [panel.optimizer_combo, panel.quantity_combo]
    lines = panel.header.lines()
    assert [len(line) for line in lines] == [2, 1] and lines[1] == [panel.quantity_combo]
    left, middle, right = tab.main_splitter.sizes()
    tab.main_splitter.setSizes([left - 400, middle + 400, right])  # a wide middle column: one line
    qtbot.waitUntil(lambda: len(panel.header.lines()) == 1, timeout=TIMEOUT_MS)
    assert panel.header.lines()[0][1:] == combos
    assert all(combo.fontMetrics().horizontalAdvance(combo.currentText()) <= text_room(combo) for combo in combos)


def status_rows_shown(window) -> tuple[int, int, bool]:
    """(rows drawn whole, rows, whether the table's vertical scroll bar is shown), where a row counts as drawn
    whole if it lies inside the table's viewport and the table itself inside the middle column's visible part."""
    tab = window.playground
    table = tab.status_table.table
    viewport = table.viewport()
    column = tab.middle_tabs.currentWidget().viewport()  # the scroll area holding the plots column
    whole = 0
    for row in range(table.rowCount()):
        rect = table.visualRect(table.model().index(row, 0))
        in_table = rect.top() >= 0 and rect.bottom() < viewport.height() and rect.height() > 0
        corner = viewport.mapTo(column, rect.bottomLeft())
        whole += in_table and QRect(QPoint(0, 0), column.size()).contains(corner)
    return whole, table.rowCount(), table.verticalScrollBar().isVisible()


@pytest.mark.parametrize("size, enabled", [((1400, 900), 6), ((1400, 900), 9), ((1280, 800), 6),
                                           ((1920, 1080), 6), ((1920, 1080), 9)])
def test_every_status_row_shows_where_there_is_room(qtbot, sized, size, enabled):
    window = sized(*size, enabled=enabled)
    whole, rows, bar = status_rows_shown(window)
    assert (whole, rows, bar) == (enabled, enabled, False), f"at {size} with {enabled} optimizers"
    table = window.playground.status_table.table
    line = table.fontMetrics().lineSpacing()
    assert all(table.rowHeight(r) >= 2 * line for r in range(rows))  # the status's two lines, whole


@pytest.mark.parametrize("size, enabled", [((900, 600), 6), ((1280, 800), 9), ((900, 600), 9)])
def test_where_there_is_no_room_the_status_table_shows_its_scroll_bar(qtbot, sized, size, enabled):
    window = sized(*size, enabled=enabled)
    whole, rows, bar = status_rows_shown(window)
    assert rows == enabled and (whole == rows or bar), f"a row cut with no scroll bar at {size}, {enabled} rows"
    assert whole >= 3  # the table keeps a useful height


def test_the_status_table_grows_with_more_optimizers_and_a_taller_window(qtbot, sized):
    window = sized(900, 600)
    assert status_rows_shown(window)[0] < ENABLED  # no room: the table scrolls
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: status_rows_shown(window)[0] == ENABLED, timeout=TIMEOUT_MS)
    enable(qtbot, window, 9)
    qtbot.waitUntil(lambda: status_rows_shown(window) == (9, 9, False), timeout=TIMEOUT_MS)
    sizes = window.playground.plots_splitter.sizes()
    assert sizes[0] >= 150 and sizes[1] >= 230  # the plots above it keep a useful height


def editor_text_room(widget: QWidget) -> tuple[str, int]:
    """The text a spin box or combo box shows and the width it has for it."""
    if isinstance(widget, QComboBox):
        return widget.currentText(), text_room(widget)
    edit = widget.lineEdit()
    return edit.text(), edit.width() - 4  # QLineEdit's own text margins


def cut_in_side_panel(window) -> list[str]:
    """Every shown label, button, spin box and combo box of the side panel that is narrower than its text or runs
    past the panel's right edge."""
    panel = window.playground.side_panel
    body, viewport = panel.widget(), panel.viewport()
    problems = []
    for widget in body.findChildren(QWidget):
        if not widget.isVisibleTo(body):
            continue
        name = f"{type(widget).__name__} {getattr(widget, 'text', lambda: '')()!r}"
        right = widget.mapTo(viewport, QPoint(widget.width(), 0)).x()
        if isinstance(widget, (QLabel, QAbstractButton, QAbstractSpinBox, QComboBox)) and right > viewport.width():
            problems.append(f"{name} ends at x={right}, past the panel's {viewport.width()}")
        if isinstance(widget, QLabel) and not widget.wordWrap() and widget.width() < widget.sizeHint().width():
            problems.append(f"{name} {widget.width()} px wide, needs {widget.sizeHint().width()}")
        if isinstance(widget, QLabel) and widget.wordWrap() and widget.heightForWidth(widget.width()) > widget.height():
            problems.append(f"{name}: its lines do not fit its height")
        if isinstance(widget, (QCheckBox, QAbstractButton)) and widget.width() < widget.sizeHint().width():
            problems.append(f"{name} {widget.width()} px wide, needs {widget.sizeHint().width()}")
        if isinstance(widget, (QAbstractSpinBox, QComboBox)):
            text, room = editor_text_room(widget)
            if widget.fontMetrics().horizontalAdvance(text) > room:
                problems.append(f"{name} shows {text!r} in {room} px")
    return problems


def test_at_900x600_the_side_panel_scrolls_but_cuts_nothing(qtbot, sized):
    window = sized(900, 600)
    tab = window.playground
    panel = tab.side_panel
    for section in panel.sections:  # every optimizer's form open: the panel at its widest
        section.set_expanded(True)
    steps = tab.model.session.steps
    tab.model.set_run_settings(0, schedule=ScheduleChoice("step", run_defaults("step", steps), 10))  # more rows
    assert panel.sections[0].run_settings.form.values()["schedule"] == "step"
    wait_computed(qtbot, tab)
    settle()
    assert cut_in_side_panel(window) == []
    assert panel.horizontalScrollBar().maximum() == 0 and panel.verticalScrollBar().isVisible()
    assert panel.widget().width() <= panel.viewport().width()
    view = tab.surface_view
    assert view.width() >= 300 and view.height() >= 300  # the surface keeps a usable size
    assert tab.middle_tabs.width() >= 200


@pytest.mark.parametrize("size", [(1280, 800), (1400, 900)])
def test_at_usual_sizes_the_side_panel_cuts_nothing(qtbot, sized, size):
    window = sized(*size)
    assert cut_in_side_panel(window) == []
