"""The window a launch shows while torch loads: at once "starting…", then the session's surface and paths.

Only Qt is imported here, so that the window appears before anything else has loaded; the picture
(:mod:`optviz.ui.preview_picture`, numpy) comes when the preview (:mod:`optviz.core.preview`) has been computed.
The playground replaces the whole window once torch has loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QSizePolicy, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from optviz.core.preview import Preview


class StartingWindow(QMainWindow):
    """What the user sees for the second or two while torch loads: the window, in its place, saying so, and
    the session's paths as soon as numpy has computed them."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("optviz")
        central = QWidget()
        layout = QVBoxLayout(central)
        self.label = QLabel("Starting optviz…\nloading PyTorch")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture = None  # a PreviewPicture once the preview has come
        layout.addWidget(self.label)
        self.setCentralWidget(central)
        self.statusBar().showMessage("starting…")
        geometry = QSettings("optviz", "optviz").value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            screen = self.screen().availableGeometry()
            self.resize(min(1400, int(screen.width() * 0.9)), min(900, int(screen.height() * 0.9)))

    def show_preview(self, preview: Preview) -> None:
        from optviz.ui.preview_picture import PreviewPicture

        self.label.setText("Loading PyTorch… the playground opens in a moment")
        self.label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        if self.picture is None:
            self.picture = PreviewPicture()
            self.centralWidget().layout().addWidget(self.picture)
        self.picture.show_preview(preview)
        self.statusBar().showMessage(f"Preview computed with numpy in {preview.seconds:.2f} s; "
                                     "the playground's engines take over once PyTorch has loaded")
