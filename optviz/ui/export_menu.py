"""File → Export: pictures of the views, the playground's animation, its paths, and the training lab's plots and
metrics. Each action asks for a file, then calls a method that tests call with a path directly.

A failed export shows one message naming the file and the reason (the main window's ``show_error``); the
previous file, if any, is left as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QLabel, QMenu, QVBoxLayout,
                               QWidget)

from optviz.core.files import OutputError, check_output, write_atomic
from optviz.core.movie import FPS, FRAMES, HEIGHT, WIDTH, even_size, frame_steps
from optviz.ui.export import (PICTURE_SUFFIXES, VIEWS, AnimationExport, FrameRenderer, png_bytes, save_picture,
                              svg_bytes)
from optviz.ui.widgets.spec_form import SpecForm

if TYPE_CHECKING:
    from optviz.ui.main_window import MainWindow

PICTURE_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"
MOVIE_FILTER = "GIF animation (*.gif);;MP4 video (*.mp4)"
PATHS_FILTER = "CSV (*.csv);;JSON (*.json)"
VIEW_TITLES = {"surface": "Surface", "loss": "Loss plot", "both": "Surface and loss plot"}


def _with_suffix(path: str, chosen_filter: str, suffixes: tuple[str, ...]) -> str:
    """The dialog's path, given the suffix of the filter chosen when the user typed none."""
    if Path(path).suffix.lower() in suffixes:
        return path
    for suffix in suffixes:
        if f"*{suffix}" in chosen_filter:
            return path + suffix
    return path + suffixes[0]


class AnimationDialog(QDialog):
    """Size, frame rate, frame count and view of an exported animation (fields from the specs)."""

    def __init__(self, steps: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export animation")
        self.form = SpecForm((WIDTH, HEIGHT, FPS, FRAMES), {"frames": min(FRAMES.default, steps + 1)},
                             check=lambda v: (frame_steps(steps, v["frames"]), v)[1], owner="the animation")
        self.view_combo = QComboBox()
        for view in VIEWS:
            self.view_combo.addItem(VIEW_TITLES[view], view)
        self.form.add_row("Shows", self.view_combo)
        self._steps = steps
        self.summary = QLabel()
        self.form.changed.connect(self._show_summary)
        self._show_summary()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)

    def _show_summary(self, *_args) -> None:
        v = self.form.values()
        self.summary.setText(f"{v['frames'] / v['fps']:.1f} s: steps 0 to {self._steps}, "
                             f"one frame every {self._steps / max(1, v['frames'] - 1):.3g} steps")

    def accept(self) -> None:
        if not self.form.problems():  # a refused value stays in its field, with its message, until corrected
            super().accept()

    def values(self) -> dict:
        return {**self.form.values(), "view": self.view_combo.currentData()}


class ExportMenu(QObject):
    """The File → Export submenu of ``window`` and what its actions do."""

    def __init__(self, window: MainWindow, file_menu: QMenu) -> None:
        super().__init__(window)
        self.window = window
        self.job: AnimationExport | None = None
        self.menu = QMenu("&Export", window)
        self.menu.setToolTipsVisible(True)
        self.actions: dict[str, QAction] = {}
        items = [
            ("surface", "Surface view…", "The playground's surface as shown (PNG or SVG)"),
            ("loss", "Loss plot…", "The playground's loss plot as shown (PNG or SVG)"),
            ("view3d", "3D view…", "The playground's 3D view as shown (PNG)"),
            ("window", "Whole window…", "The window as shown (PNG or SVG)"),
            ("animation", "Animation (GIF or MP4)…", "The paths growing from step 0, rendered offscreen"),
            ("paths", "Paths (CSV or JSON)…", "Every path, as optviz paths writes it"),
            (None, "", ""),
            ("training_loss", "Training loss plot…", "The training lab's loss plot (PNG or SVG)"),
            ("training_accuracy", "Training accuracy plot…", "The training lab's accuracy plot (PNG or SVG)"),
            ("training_lr", "Learning-rate plot…", "The training lab's learning-rate plot (PNG or SVG)"),
            ("training_gradflow", "Gradient-flow view…", "The training lab's gradient-flow heatmaps (PNG or SVG)"),
            ("training_metrics", "Training metrics (CSV)…", "Every run's metrics, one row per step"),
        ]
        for key, title, tip in items:
            if key is None:
                self.menu.addSeparator()
                continue
            action = QAction(title, self)
            action.setToolTip(tip)
            action.triggered.connect(lambda _=False, k=key: self._on_action_triggered(k))
            self.menu.addAction(action)
            self.actions[key] = action
        file_menu.addMenu(self.menu)
        self.menu.aboutToShow.connect(self._on_menu_about_to_show)

    # -- what each action does, given a path ------------------------------------------------------------------
    def export_picture(self, what: str, path: str | Path) -> bool:
        """``what``: surface, loss, view3d, window, training_loss, training_accuracy, training_lr, training_gradflow."""
        try:
            if what in ("surface", "loss", "window", "training_gradflow"):
                save_picture(self._widget(what), path)
            elif what == "view3d":
                out = check_output(path, (".png",))
                write_atomic(out, png_bytes(self.window.playground.view3d.image()))
            else:
                save_plot_item(self._plot_item(what), path)
        except (OutputError, ValueError) as exc:
            return self._failed(str(exc))
        return self._done(path)

    def export_animation(self, path: str | Path, width: int, height: int, fps: int, frames: int,
                         view: str = "surface") -> AnimationExport | None:
        """Start rendering; returns the job (its ``finished`` signal tells the end) or None if it cannot start."""
        model = self.window.playground.model
        if not model.is_up_to_date():
            self._failed("The paths are still being computed: export the animation once they are drawn")
            return None
        try:
            size = even_size(width, height, Path(path).suffix)
            renderer = FrameRenderer(model.result.session, model.result, model.field, size, view)
            try:
                self.job = AnimationExport(renderer, path, fps, frames, self.window)
            except BaseException:
                renderer.close()
                raise
        except (OutputError, ValueError) as exc:
            self._failed(str(exc))
            return None
        self.job.finished.connect(self._on_job_finished)
        self.job.start()
        return self.job

    def export_paths(self, path: str | Path) -> bool:
        from optviz.commands.paths import to_csv, to_json

        model = self.window.playground.model
        try:
            out = check_output(path, (".csv", ".json"))
            if model.result is None or model.result.preview:
                raise ValueError("The paths are still being computed: export them once they are drawn")
            result = model.result
            session = result.session.with_(optimizers=tuple(result.session.optimizers[i] for i in result.entries))
            write_atomic(out, to_json(result.paths, session) if out.suffix.lower() == ".json" else to_csv(result.paths))
        except (OutputError, ValueError) as exc:
            return self._failed(str(exc))
        return self._done(path)

    def export_metrics(self, path: str | Path) -> bool:
        from optviz.training.checkpoint import write_metrics_csv

        records = list(self.window.training.model.runs)
        try:
            check_output(path, (".csv",))
            if not records:
                raise ValueError("There are no runs to export: train first")
            layers = records[0].metrics.layer_names
            same = [r.metrics for r in records if r.metrics.layer_names == layers]
            write_metrics_csv(str(path), same)
        except (OutputError, ValueError) as exc:
            return self._failed(str(exc))
        skipped = len(records) - len(same)
        return self._done(path, f" ({skipped} runs of another model left out)" if skipped else "")

    # -- helpers ---------------------------------------------------------------------------------------------------
    def _widget(self, what: str) -> QWidget:
        w = self.window
        return {"surface": w.playground.surface_view, "loss": w.playground.loss_plot, "window": w,
                "training_gradflow": w.training.gradflow}[what]

    def _plot_item(self, what: str):
        curves = self.window.training.curves
        return {"training_loss": curves.loss_plot, "training_accuracy": curves.accuracy_plot,
                "training_lr": curves.lr_plot}[what]

    def _failed(self, message: str) -> bool:
        self.window.show_error("Export failed", message)
        return False

    def _done(self, path: str | Path, extra: str = "") -> bool:
        self.window.statusBar().showMessage(f"Exported {path}{extra}", 5000)
        return True

    def _on_job_finished(self, message: str) -> None:
        path = self.job.path if self.job is not None else ""
        self.job = None
        if message == "cancelled":
            self.window.statusBar().showMessage("Export cancelled: no file written", 5000)
        elif message:
            self._failed(message)
        else:
            self._done(path)

    def _on_menu_about_to_show(self) -> None:
        has_3d = getattr(self.window.playground, "view3d", None) is not None
        self.actions["view3d"].setVisible(has_3d)

    def _on_action_triggered(self, key: str) -> None:
        if key == "animation":
            self._ask_animation()
        elif key == "paths":
            self._ask(PATHS_FILTER, (".csv", ".json"), "paths", self.export_paths)
        elif key == "training_metrics":
            self._ask("CSV (*.csv)", (".csv",), "metrics", self.export_metrics)
        elif key == "view3d":
            self._ask("PNG image (*.png)", (".png",), "surface-3d", lambda p: self.export_picture("view3d", p))
        else:
            self._ask(PICTURE_FILTER, PICTURE_SUFFIXES, key.replace("_", "-"), lambda p: self.export_picture(key, p))

    def _ask(self, filters: str, suffixes: tuple[str, ...], name: str, then) -> None:
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export", str(self._folder() / name), filters)
        if path:
            then(_with_suffix(path, chosen, suffixes))

    def _ask_animation(self) -> None:
        model = self.window.playground.model
        dialog = AnimationDialog(model.last_step, self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        v = dialog.values()
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export animation", str(self._folder() / "paths"),
                                                   MOVIE_FILTER)
        if path:
            self.export_animation(_with_suffix(path, chosen, (".gif", ".mp4")), v["width"], v["height"], v["fps"],
                                  v["frames"], v["view"])

    def _folder(self) -> Path:
        return Path(str(self.window.settings.value("session/dir", str(Path.home()))))


def save_plot_item(item, path: str | Path) -> None:
    """One plot of a layout (a PlotItem) as PNG or SVG: its own rectangle of its view, at its size on screen.

    The SVG is the whole view's (:func:`svg_bytes`) with its viewBox narrowed to the plot: the same drawing as the
    view's, cropped (a scene rendered from a source rectangle misplaces its text in Qt's SVG).
    """
    from xml.dom import minidom

    out = check_output(path, PICTURE_SUFFIXES)
    view = item.scene().views()[0]
    rect = view.mapFromScene(item.sceneBoundingRect()).boundingRect().intersected(view.rect())
    if out.suffix.lower() == ".png":
        write_atomic(out, png_bytes(view.grab(rect).toImage()))
        return
    doc = minidom.parseString(svg_bytes(view))
    root = doc.documentElement
    root.setAttribute("viewBox", f"{rect.x()} {rect.y()} {rect.width()} {rect.height()}")
    root.setAttribute("width", f"{rect.width()}px")
    root.setAttribute("height", f"{rect.height()}px")
    write_atomic(out, doc.toxml(encoding="UTF-8"))
