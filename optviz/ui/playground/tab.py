"""The playground tab: surface view and animation bar | loss plot and status | side panel."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget

from optviz.core.session import Session
from optviz.ui.playground.animation import AnimationBar, Animator
from optviz.ui.playground.basins_view import BasinsView
from optviz.ui.playground.compute import PlaygroundComputer
from optviz.ui.playground.fps_overlay import FpsOverlay
from optviz.ui.playground.inside_panel import InsidePanel
from optviz.ui.playground.loss_plot import LossPlot
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.side_panel import SidePanel
from optviz.ui.playground.stability_view import StabilityView
from optviz.ui.playground.status_table import StatusTable
from optviz.ui.playground.surface_view import SurfaceView
from optviz.ui.playground.view3d import View3D
from optviz.ui.widgets.scroll import scrollable

PLOTS_FLOOR = (150, 230)  # the loss plot's and the inside-the-step panel's heights that the status table leaves them
LOSS_MIN_HEIGHT = 120  # a smaller window shrinks the loss plot to this, then the others


class PlaygroundTab(QWidget):
    """Owns the playground model, its computer and animator, and lays out the views."""

    def __init__(self, session: Session | None = None, *, autoplay: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = PlaygroundModel(session)
        self.computer = PlaygroundComputer(self.model, self)
        self.animator = Animator(self.model, autoplay=autoplay, parent=self)
        self.last_error = ""  # the latest computation failure, cleared by the next result
        self.model.compute_failed.connect(self._on_model_compute_failed)
        self.model.result_changed.connect(self._on_model_result_changed)
        self.surface_view = SurfaceView(self.model)
        self.animation_bar = AnimationBar(self.model, self.animator)
        self.loss_plot = LossPlot(self.model)
        self.status_table = StatusTable(self.model)
        self.inside_panel = InsidePanel(self.model)  # issue #12: the internals plot and the rule with numbers
        self.side_panel = SidePanel(self.model)
        self.side_panel.wells_box.edit_toggled.connect(self.surface_view.wells_editor.set_active)
        self.surface_view.regularization.caption_changed.connect(self.side_panel.penalty_form.set_caption)
        # The maps (issue #10) share the middle column with the loss plot, beside the surface view they edit.
        self.basins_view = BasinsView(self.model, self.surface_view.getPlotItem())
        self.stability_view = StabilityView(self.model)
        self.view3d = View3D(self.model)
        self.fps_overlay = FpsOverlay(self.surface_view, self.model)
        self.fit_button = QPushButton("Fit")  # short: the bar under the surface sets the surface's narrowest width
        self.fit_button.setToolTip("Fit to surface: show the whole surface again after zooming or panning "
                                   "(View → Fit to surface, Ctrl+0)")
        self.fit_button.setMaximumWidth(self.fit_button.fontMetrics().horizontalAdvance("Fit") + 28)
        self.fit_button.clicked.connect(self._on_fit_button_clicked)
        self._build_layout()
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.animator.toggle,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence(Qt.Key.Key_Home), self, self.animator.restart,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def _build_layout(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.animation_bar, 1)
        bar.addWidget(self.fit_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.surface_view, 1)
        left_layout.addLayout(bar)
        self.plots_splitter = QSplitter(Qt.Orientation.Vertical)
        self.plots_splitter.setObjectName("playground_plots")
        self.plots_splitter.addWidget(self.loss_plot)
        self.plots_splitter.addWidget(self.inside_panel)
        self.plots_splitter.addWidget(self.status_table)
        # The status table keeps the height that shows every row (issue: a half-hidden last row at 1400x900): what
        # the column gains or loses goes to the plots above it until they are down to their minimums.
        self.plots_splitter.setStretchFactor(0, 1)
        self.plots_splitter.setStretchFactor(1, 1)
        self.plots_splitter.setStretchFactor(2, 0)
        self.plots_splitter.setSizes([250, 330, self.status_table.sizeHint().height()])
        self.loss_plot.setMinimumHeight(LOSS_MIN_HEIGHT)
        self.status_table.rows_changed.connect(self._fit_status_table)
        self.plots_splitter.installEventFilter(self)  # a taller column: the table takes rows it had to scroll
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.setObjectName("playground_main")
        self.main_splitter.addWidget(left)
        self.middle_tabs = QTabWidget()
        self.middle_tabs.setDocumentMode(True)
        # Each page scrolls rather than setting the window's minimum width (a 900-px window must stay whole).
        self.middle_tabs.addTab(scrollable(self.plots_splitter), "Loss")
        self.middle_tabs.addTab(scrollable(self.basins_view), "Basins")
        self.middle_tabs.addTab(scrollable(self.stability_view), "Stability")
        self.middle_tabs.addTab(scrollable(self.view3d), "3D")  # issue #13: the surface and paths in 3D, beside the 2D view
        self.main_splitter.addWidget(self.middle_tabs)
        self.main_splitter.addWidget(self.side_panel)
        # The surface takes what the window gains or loses (a lesson dock opening takes 280 px): the plots column
        # keeps the width its tables and formulas need until the surface is down to its minimum (its bar's).
        self.main_splitter.setStretchFactor(0, 1)
        self.main_splitter.setStretchFactor(1, 0)
        self.main_splitter.setStretchFactor(2, 0)
        self.main_splitter.setSizes([720, 380, 316])  # the side panel: its forms side by side beside its scroll bar
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.main_splitter)

    def show_middle(self, widget: QWidget) -> None:
        """Bring the middle column's page holding ``widget`` (the loss plots, a map or the 3D view) to the front."""
        for i in range(self.middle_tabs.count()):
            page = self.middle_tabs.widget(i)
            if page is widget or page.isAncestorOf(widget):
                self.middle_tabs.setCurrentIndex(i)
                return
        raise ValueError("not in the middle column")

    def splitters(self) -> list[QSplitter]:
        """The splitters whose positions the main window remembers."""
        return [self.main_splitter, self.plots_splitter, self.inside_panel.splitter]

    def session(self) -> Session:
        return self.model.session

    def set_session(self, session: Session) -> None:
        self.model.set_session(session)

    def wait_until_computed(self, timeout_s: float) -> bool:
        """Run the event loop until the paths and surface picture of the current session are in."""
        loop = QEventLoop()
        timer = QTimer(singleShot=True, interval=int(timeout_s * 1000))
        timer.timeout.connect(loop.quit)
        check = QTimer(interval=20)
        check.timeout.connect(lambda: self._settled() and loop.quit())
        timer.start()
        check.start()
        if not self._settled():
            loop.exec()
        check.stop()
        return self.model.is_up_to_date()

    def _settled(self) -> bool:
        busy = self.computer.is_busy()
        return not busy and (self.model.is_up_to_date() or bool(self.last_error))

    def shutdown(self) -> bool:
        """Stop the animation and join the worker threads."""
        self.animator.pause()
        maps = [view.shutdown() for view in (self.basins_view, self.stability_view)]
        fans = self.surface_view.fan_items.shutdown()
        region = self.surface_view.regularization.shutdown()
        return self.computer.shutdown() and all(maps) and fans and region

    def _on_model_compute_failed(self, message: str) -> None:
        self.last_error = message

    def _on_model_result_changed(self) -> None:
        self.last_error = ""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.plots_splitter and event.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, self, self._fit_status_table)  # once the splitter has shared out its new height
        return False

    def _fit_status_table(self) -> None:
        """The status table grows to show every row, taking the height from the loss plot and the inside-the-step
        panel while they keep a useful height (beyond that the table scrolls, its scroll bar showing)."""
        sizes = self.plots_splitter.sizes()
        wanted = self.status_table.height_for_rows(self.status_table.table.rowCount()) - sizes[2]
        spare = [max(0, size - floor) for size, floor in zip(sizes, PLOTS_FLOOR)]
        take = min(wanted, sum(spare))
        if take <= 0 or not self.plots_splitter.isVisible():  # not shown yet: the initial sizes ask for the rows
            return
        from_loss = take * spare[0] // sum(spare)
        self.plots_splitter.setSizes([sizes[0] - from_loss, sizes[1] - (take - from_loss), sizes[2] + take])

    def _on_fit_button_clicked(self) -> None:
        self.surface_view.fit_to_surface()
