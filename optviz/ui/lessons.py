"""The lesson panel: a closable dock beside the view with the lesson's text and its "try next" buttons.

The panel only shows a :class:`~optviz.core.lessons.Lesson` and says whether the settings still match it; the main
window opens lessons, applies the edits the buttons ask for and tells the panel whether the settings match.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QDockWidget, QFrame, QHBoxLayout, QLabel, QMainWindow, QMenu, QPushButton,
                               QScrollArea, QSizePolicy, QVBoxLayout, QWidget)

from optviz.core.lessons import Edit, Lesson, get_lesson, lessons, matches
from optviz.core.session import Session

PANEL_WIDTH = 280


def _label(text: str = "", *, rich: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    return label


def _bullets(items: tuple[str, ...]) -> str:
    return "".join(f"<p style='margin: 0 0 4px 0'>• {html.escape(item)}</p>" for item in items)


class WrappingButton(QPushButton):
    """A push button whose text wraps to the panel's width instead of widening the panel or being cut off."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 5, 8, 5)
        layout.addWidget(self.label)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

    def text(self) -> str:  # noqa: D102 — the label holds the text
        return self.label.text()

    def sizeHint(self) -> QSize:  # noqa: N802
        return self.layout().sizeHint()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self.layout().minimumSize()


class LessonPanel(QWidget):
    """Title, explanation, what to look for, "try next" buttons and a notice when the settings have changed."""

    edit_requested = Signal(object)  # an Edit: the user clicked its "try next" button
    reload_requested = Signal()  # the user asked for the lesson's own settings again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lesson: Lesson | None = None
        self.title = _label()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.explanation = _label()
        self.look_heading = self._heading("What to look for")
        self.look_for = _label(rich=True)
        self.try_heading = self._heading("Try next")
        self.notice = _label()
        self.notice.setObjectName("lesson_notice")
        self.notice.setStyleSheet("QLabel#lesson_notice { background: #fff3cd; color: #5c4400; "
                                  "border: 1px solid #e0c36c; border-radius: 3px; padding: 4px; }")
        self.reload_button = QPushButton("Back to the lesson's settings")
        self.reload_button.clicked.connect(self.reload_requested)
        self.buttons: list[QPushButton] = []
        self._buttons_box = QVBoxLayout()
        self._buttons_box.setSpacing(4)
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(8, 8, 8, 8)
        column.setSpacing(8)
        for w in (self.title, self.notice, self.reload_button, self.explanation, self.look_heading, self.look_for,
                  self.try_heading):
            column.addWidget(w)
        column.addLayout(self._buttons_box)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.set_matching(True)

    @staticmethod
    def _heading(text: str) -> QLabel:
        label = QLabel(f"<b>{text}</b>")
        return label

    def set_lesson(self, lesson: Lesson) -> None:
        """Show ``lesson``: its text and one button per "try next" edit."""
        self.lesson = lesson
        self.title.setText(f"{lesson.number}. {lesson.title}")
        self.explanation.setText(lesson.explanation)
        self.look_for.setText(_bullets(lesson.look_for))
        for button in self.buttons:
            self._buttons_box.removeWidget(button)
            button.deleteLater()
        self.buttons = [self._edit_button(edit) for edit in lesson.try_next]
        for button in self.buttons:
            self._buttons_box.addWidget(button)
        self.try_heading.setVisible(bool(self.buttons))
        self.set_matching(True)

    def _edit_button(self, edit: Edit) -> QPushButton:
        button = WrappingButton(edit.label)
        button.setToolTip(f"{edit.label}: {edit.expect}")
        button.clicked.connect(lambda _=False, e=edit: self.edit_requested.emit(e))
        return button

    def set_matching(self, matching: bool, applied: Edit | None = None) -> None:
        """Say whether the settings shown are the lesson's (or the last "try next" it applied)."""
        if applied is not None and matching:
            self.notice.setText(f"Tried: {applied.label}. Look for this: {applied.expect}.")
        else:
            self.notice.setText("The settings no longer match this lesson, so what it describes may not be on "
                                "screen.")
        self.notice.setVisible(applied is not None or not matching)
        self.reload_button.setVisible(applied is not None or not matching)


class LessonDock(QDockWidget):
    """The closable dock that holds the lesson panel, beside the view."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Lesson", parent)
        self.setObjectName("lesson_dock")
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.panel = LessonPanel()
        self.panel.setMinimumWidth(PANEL_WIDTH)
        self.setWidget(self.panel)


class LessonController(QObject):
    """Wires lessons into the main window: the Lessons menu, the dock, opening a lesson, "try next", the notice
    and the window title."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.lesson: Lesson | None = None
        self.reference: Session | None = None  # the settings the lesson (or its last "try next") set up
        self.applied: Edit | None = None
        self._start_when_stopped = False  # a lesson's training waits for the running one to stop
        self.dock = LessonDock(window)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
        self.dock.hide()
        self.menu = self._build_menu(window.menuBar())
        self.dock.panel.edit_requested.connect(self._on_panel_edit_requested)
        self.dock.panel.reload_requested.connect(self._on_panel_reload_requested)
        window.playground.model.inputs_changed.connect(self._on_settings_changed)
        window.training.settings_changed.connect(self._on_settings_changed)
        window.training.runs_finished.connect(self._on_training_runs_finished)

    def _build_menu(self, bar) -> QMenu:
        menu = bar.addMenu("&Lessons")
        menu.setToolTipsVisible(True)
        for tab, heading in (("playground", "Playground"), ("training", "Training lab")):
            menu.addSection(heading)
            for lesson in lessons().values():
                if lesson.tab != tab:
                    continue
                action = QAction(f"{lesson.number}. {lesson.title}", self.window)
                action.setToolTip(lesson.explanation.split(". ")[0] + ".")
                action.triggered.connect(lambda _=False, name=lesson.name: self.open(name))
                menu.addAction(action)
        menu.addSeparator()
        self.panel_action = self.dock.toggleViewAction()
        self.panel_action.setText("Show the lesson &panel")
        menu.addAction(self.panel_action)
        return menu

    def open(self, name: str, *, start: bool = True) -> None:
        """Load the lesson's settings into its tab, restart the animation or (``start``) the training, show the
        panel."""
        lesson = get_lesson(name)
        self.lesson, self.applied = lesson, None
        self.dock.panel.set_lesson(lesson)
        self._load(lesson.session, start=start)
        self.window.show_tab(lesson.tab)
        self.dock.show()
        self.dock.raise_()

    def clear(self) -> None:
        """Forget the lesson (a session file was opened): the panel closes."""
        self.lesson = self.reference = self.applied = None
        self.dock.hide()

    def _load(self, session: Session, *, start: bool = True) -> None:
        self.reference = session
        if self.lesson is None:
            return
        if self.lesson.tab == "playground":
            self.window.playground.set_session(session)
        else:
            training = self.window.training
            training.set_config(session.training)
            if start and training.is_running():  # start once the running training has stopped
                self._start_when_stopped = True
                training.stop()
            elif start:
                training.start()
        self._on_settings_changed()

    def _on_training_runs_finished(self) -> None:
        if self._start_when_stopped:
            self._start_when_stopped = False
            self.window.training.start()

    def current(self) -> Session:
        return self.window.playground.session().with_(training=self.window.training.config())

    def matching(self) -> bool:
        return self.lesson is None or self.reference is None or matches(self.reference, self.current(),
                                                                        self.lesson.tab)

    def _on_settings_changed(self, *_args) -> None:
        if self.lesson is None:
            return
        ok = self.matching()
        self.dock.panel.set_matching(ok, self.applied if ok else None)
        title = f"optviz — Lesson {self.lesson.number}: {self.lesson.title}"
        self.window.setWindowTitle(title if ok else f"{title} (settings changed)")

    def _on_panel_edit_requested(self, edit: Edit) -> None:
        base = self.reference if self.reference is not None else self.current()
        try:
            session = edit.apply(base)
        except ValueError as exc:  # a lesson's edit is checked by the tests; say so rather than fail silently
            self.window.statusBar().showMessage(f"Could not apply “{edit.label}”: {exc}", 10_000)
            return
        self.applied = edit
        self.window.show_tab(self.lesson.tab if self.lesson else "playground")
        self._load(session)

    def _on_panel_reload_requested(self) -> None:
        if self.lesson is not None:
            self.open(self.lesson.name)
