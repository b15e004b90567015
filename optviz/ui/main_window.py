"""The main window: Playground and Training lab tabs, File menu for sessions, status bar, remembered layout."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget, QWidget

from optviz.core.files import OutputError
from optviz.core.session import (Session, SessionError, load_session, save_session, session_from_dict,
                                 session_to_dict)
from optviz.ui import gc_guard
from optviz.ui.export_menu import ExportMenu
from optviz.ui.lessons import LessonController
from optviz.ui.playground.tab import PlaygroundTab
from optviz.ui.training.tab import TrainingTab
from optviz.ui.widgets.scroll import scrollable

TABS = ("playground", "training")
SESSION_FILTER = "optviz sessions (*.json);;All files (*)"


class MainWindow(QMainWindow):
    """Holds both tabs; ``settings=None`` uses the user's QSettings, ``remember=False`` neither reads nor writes them."""

    def __init__(self, session: Session | None = None, *, settings: QSettings | None = None, remember: bool = True,
                 autoplay: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        gc_guard.install()  # worker threads never collect Qt objects (a hang otherwise)
        self.settings = settings if settings is not None else QSettings("optviz", "optviz")
        self._remember = remember
        self.last_message: QMessageBox | None = None
        if session is None and remember:
            session = self._remembered_session()
        self.playground = PlaygroundTab(session, autoplay=autoplay)
        self.training = TrainingTab()
        if session is not None and session.training is not None:
            try:
                self.training.set_config(session.training)
            except ValueError as exc:
                self.statusBar().showMessage(f"Training settings not loaded: {exc}", 10_000)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.playground, "Playground")
        self.tabs.addTab(scrollable(self.training), "Training lab")
        self.setCentralWidget(self.tabs)
        self.setWindowTitle("optviz")
        self._build_menus()
        self.device_label = QLabel()
        self.statusBar().addPermanentWidget(self.device_label)
        model = self.playground.model
        model.result_changed.connect(self._on_model_result_changed)
        model.compute_failed.connect(self._on_model_compute_failed)
        self._on_model_result_changed()
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        if remember:
            self._restore_layout()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open session…", self, shortcut=QKeySequence.StandardKey.Open)
        self.save_action = QAction("&Save session…", self, shortcut=QKeySequence.StandardKey.Save)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        self.open_action.triggered.connect(self._on_open_action_triggered)
        self.save_action.triggered.connect(self._on_save_action_triggered)
        quit_action.triggered.connect(self.close)
        file_menu.addActions([self.open_action, self.save_action])
        file_menu.addSeparator()
        self.export_menu = ExportMenu(self, file_menu)  # File → Export ▸ (optviz/ui/export_menu.py)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        self.lessons = LessonController(self)  # Lessons menu and the lesson dock (optviz/ui/lessons.py)
        view_menu = self.menuBar().addMenu("&View")
        fit_action = QAction("&Fit to surface", self, shortcut=QKeySequence("Ctrl+0"))
        fit_action.triggered.connect(self.playground.surface_view.fit_to_surface)
        view_menu.addAction(fit_action)
        self.saddles_action = QAction("Show &saddle points", self, checkable=True, checked=True)
        self.saddles_action.setToolTip("Mark the saddle points of the surface (crosses)")
        self.saddles_action.toggled.connect(self.playground.surface_view.set_saddles_visible)
        view_menu.addAction(self.saddles_action)
        self.inside_action = QAction("Show &inside the step", self, checkable=True, checked=True)
        self.inside_action.setToolTip("At the head of the inspected optimizer's path: the gradient step, the update, "
                                      "the velocity and the step size per coordinate")
        self.inside_action.toggled.connect(self.playground.surface_view.step_overlay.set_visible)
        view_menu.addAction(self.inside_action)
        self.fps_action = QAction("Show &FPS", self, checkable=True, checked=False)
        self.fps_action.setToolTip("Frames per second of the surface view and the last recompute's time and engine")
        self.fps_action.toggled.connect(self.playground.fps_overlay.setVisible)
        view_menu.addAction(self.fps_action)

    # -- sessions ---------------------------------------------------------------------------------------------
    def current_session(self) -> Session:
        """The playground's session with the training tab's configuration under "training"."""
        return self.playground.session().with_(training=self.training.config())

    def open_session(self, path: str | Path) -> bool:
        """Open a session file; a bad file shows a message and changes nothing."""
        try:
            session = load_session(path)
            if session.training is not None:
                self.training.set_config(session.training)
        except (SessionError, ValueError) as exc:
            self.show_error("Cannot open session", str(exc))
            return False
        self.lessons.clear()
        self.playground.set_session(session)
        self.settings.setValue("session/dir", str(Path(path).resolve().parent))
        self.setWindowTitle(f"optviz — {Path(path).name}")
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    def open_lesson(self, name: str, *, start: bool = True) -> None:
        """Open a lesson: its settings in its tab, the animation restarted or (``start``) the training started,
        and the lesson panel."""
        self.lessons.open(name, start=start)

    def save_session(self, path: str | Path) -> bool:
        try:
            save_session(self.current_session(), path)
        except OutputError as exc:
            self.show_error("Cannot save session", str(exc))
            return False
        self.settings.setValue("session/dir", str(Path(path).resolve().parent))
        self.setWindowTitle(f"optviz — {Path(path).name}")
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def show_error(self, title: str, text: str) -> None:
        """A window-modal message that does not block the event loop (kept in ``last_message``)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.open()
        self.last_message = box

    def show_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(name))

    def _on_open_action_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", self._session_dir(), SESSION_FILTER)
        if path:
            self.open_session(path)

    def _on_save_action_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save session", self._session_dir(), SESSION_FILTER)
        if path:
            self.save_session(path if path.endswith(".json") else path + ".json")

    def _session_dir(self) -> str:
        return str(self.settings.value("session/dir", str(Path.home())))

    # -- status bar -------------------------------------------------------------------------------------------
    def _on_model_result_changed(self) -> None:
        result = self.playground.model.result
        if self.statusBar().currentMessage().startswith("Could not compute the paths"):
            self.statusBar().clearMessage()  # they are computed now
        if result is None:
            self.device_label.setText("Device: —")
            return
        from optviz.core import engine  # loaded with the tabs already

        p = result.paths
        n_paths = p.positions.shape[0] * p.positions.shape[1]
        took = f"{p.seconds * 1e3:.1f} ms" if p.seconds < 1 else f"{p.seconds:.2f} s"
        state = engine.status(self.playground.model.surface)  # "fast engine ready" says nothing new after "fast"
        how = f"{p.engine} engine" + ("" if p.engine == "fast" and state.endswith("ready") else f"; {state}")
        self.device_label.setText(f"Device: {p.device}   {n_paths} paths × {p.steps} steps in {took} ({how})")

    def _on_tabs_current_changed(self, index: int) -> None:
        self.device_label.setVisible(index == TABS.index("playground"))  # it describes the playground's paths

    def _on_model_compute_failed(self, message: str) -> None:
        self.statusBar().showMessage(message, 10_000)

    # -- persistence ------------------------------------------------------------------------------------------
    def _remembered_session(self) -> Session | None:
        text = self.settings.value("session/last")
        if not text:
            return None
        try:
            return session_from_dict(json.loads(str(text)))
        except (ValueError, SessionError):
            return None  # an old or damaged entry: start from the default session

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:  # first launch: room for the surface, the loss plot and the panel side by side
            screen = self.screen().availableGeometry()
            self.resize(min(1400, int(screen.width() * 0.9)), min(900, int(screen.height() * 0.9)))
        for splitter in self.playground.splitters():
            state = self.settings.value(f"splitters/{splitter.objectName()}")
            if isinstance(state, QByteArray):
                splitter.restoreState(state)
        tab = self.settings.value("window/tab")
        if tab in TABS:
            self.show_tab(str(tab))

    def _save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        for splitter in self.playground.splitters():
            self.settings.setValue(f"splitters/{splitter.objectName()}", splitter.saveState())
        self.settings.setValue("window/tab", TABS[self.tabs.currentIndex()])
        self.settings.setValue("session/last", json.dumps(session_to_dict(self.current_session())))
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self._remember:
            self._save_layout()
        self.training.shutdown()
        self.playground.shutdown()
        super().closeEvent(event)
