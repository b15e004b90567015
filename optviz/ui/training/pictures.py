"""Pictures of one run: test images with predicted/true labels, the confusion matrix, the first conv layer's filters
and the feature maps of every conv layer for the image the user picks."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QScrollArea, QSplitter, QTabWidget, QWidget

from optviz.training.events import Pictures
from optviz.training.models import feature_maps
from optviz.training.records import RunRecord
from optviz.ui.training.confusion import ConfusionView
from optviz.ui.training.model import TrainingModel
from optviz.ui.training.tiles import Tile, TileGrid, diverging, normalised
from optviz.ui.workers import LatestRunner

MISTAKE = "#ff4d4d"
MAPS_PER_LAYER = 8
FILTER_MIN_PX = 48  # a 5×5 filter smaller than this is a blur of pixels nobody can read
FILTER_FRAME = "#8c8c8c"  # near-white weights would run into the page and into each other without it


def _hwc(image: np.ndarray) -> np.ndarray:
    """(C, H, W) → (H, W) for one channel, (H, W, 3) for three."""
    return image[0] if image.shape[0] == 1 else np.transpose(image[:3], (1, 2, 0))


def prediction_tiles(pictures: Pictures, classes: tuple[str, ...]) -> list[Tile]:
    """One tile per test image: the predicted class as caption, red with "≠ true" when it is a mistake."""
    tiles = []
    for image, label, pred in zip(pictures.images, pictures.labels, pictures.predictions):
        true_name, pred_name = classes[int(label)], classes[int(pred)]
        wrong = int(label) != int(pred)
        caption = f"{pred_name}\ntrue: {true_name}" if wrong else pred_name
        tip = f"predicted: {pred_name}\ntrue: {true_name}" + ("\n(mistake)" if wrong else "") + \
            "\nclick: show its feature maps"
        tiles.append(Tile(np.clip(_hwc(image), 0, 1), caption, MISTAKE if wrong else "", tip))
    return tiles


def filter_tiles(filters: np.ndarray) -> list[Tile]:
    """First-layer filters (out, in, kh, kw): RGB when the input has 3 channels, else blue < 0 < red, one scale."""
    if filters.shape[1] == 3:
        return [Tile(normalised(np.transpose(f, (1, 2, 0))), color=FILTER_FRAME, tooltip=f"filter {i}")
                for i, f in enumerate(filters)]
    scale = float(np.max(np.abs(filters))) or 1.0
    return [Tile(diverging(f[0], scale), color=FILTER_FRAME, tooltip=f"filter {i}, channel 0; |w| max {scale:.3g}")
            for i, f in enumerate(filters)]


def feature_rows(maps: list[tuple[str, np.ndarray]], image: np.ndarray) -> list[tuple[str, list[Tile]]]:
    """A row per conv layer with its first maps (blue < 0 < red, each map on its own scale), the input first."""
    rows = [("input", [Tile(np.clip(_hwc(image), 0, 1))])]
    for name, fmap in maps:
        shown = min(len(fmap), MAPS_PER_LAYER)
        more = f" (first {shown})" if shown < len(fmap) else ""
        title = f"{name}: {len(fmap)} maps {fmap.shape[1]}×{fmap.shape[2]}{more}"
        rows.append((title, [Tile(diverging(m), tooltip=f"{name}, channel {c}") for c, m in enumerate(fmap[:shown])]))
    return rows


def _compute_maps(key: tuple, config, weights, image: np.ndarray, mean, std) -> tuple:
    """In the worker thread: (key, feature maps, image)."""
    return key, feature_maps(config, weights, image, mean=mean, std=std), image


def _scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    return area


class PicturesView(QTabWidget):
    """Tabs of pictures for the model's current run; feature maps are computed in a worker thread."""

    feature_maps_ready = Signal()  # the feature maps of the picked image are shown

    def __init__(self, model: TrainingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.predictions = TileGrid(columns=4, min_px=36, max_px=72)
        self.predictions.tile_clicked.connect(self._on_predictions_tile_clicked)
        self.confusion = ConfusionView()
        self.filters = TileGrid(columns=8, min_px=FILTER_MIN_PX, max_px=72)
        self.maps = TileGrid(columns=MAPS_PER_LAYER, min_px=28, max_px=56)
        split = QSplitter(Qt.Orientation.Horizontal)  # the test images and, once the run ends, its confusion matrix
        split.addWidget(_scrolled(self.predictions))
        split.addWidget(self.confusion)
        split.setSizes([270, 300])
        self.addTab(split, "Predictions && confusion")
        self.addTab(_scrolled(self.filters), "Filters")
        self.maps_page = _scrolled(self.maps)
        self.addTab(self.maps_page, "Feature maps")
        self.currentChanged.connect(self._on_tabs_changed)
        self._record: RunRecord | None = None
        self._drawn: tuple = ()
        self._picked = 0
        self._maps_key: tuple = ()  # what the feature maps shown (or being computed) are of
        self._maps_runner = LatestRunner(_compute_maps, delay_ms=0, parent=self)
        self._maps_runner.finished.connect(self._on_maps_runner_finished)
        self._maps_runner.failed.connect(self._on_maps_runner_failed)
        model.selection_changed.connect(self._on_model_selection_changed)
        model.run_renamed.connect(self._on_model_run_renamed)
        self.show_run(None)

    def _on_model_selection_changed(self) -> None:
        self.show_run(self._model.current_record())

    def _on_model_run_renamed(self, _run_id: int) -> None:
        self.refresh()

    @property
    def picked(self) -> int:
        return self._picked

    @property
    def record(self) -> RunRecord | None:
        return self._record

    def shutdown(self) -> None:
        """Wait for a feature-map computation in flight."""
        self._maps_runner.shutdown()

    def show_run(self, record: RunRecord | None) -> None:
        if record is not self._record:
            self._record = record
            self._drawn = ()
        self.refresh()

    def refresh(self) -> None:
        r = self._record
        drawn = (id(r), id(r.pictures) if r else 0, r.status if r else "", r.name if r else "")
        if drawn == self._drawn:
            return
        self._drawn = drawn
        pictures = r.pictures if r else None
        if pictures is None:
            wait = ("Pictures appear at the end of the first epoch (or of the run, if it is shorter)." if r
                    else "Select a run in the runs list.")
            self.predictions.set_rows([], wait)
            self.filters.set_rows([], wait)
        else:
            self._show_predictions(r, pictures)
            self._show_filters(r, pictures)
        self.confusion.show_matrix(r.finished.confusion if r and r.finished else None,
                                   r.started.classes if r else (), r.status if r else "")
        self._update_maps()

    def _show_predictions(self, r: RunRecord, pictures: Pictures) -> None:
        tiles = prediction_tiles(pictures, r.started.classes)
        wrong = sum(t.color == MISTAKE for t in tiles)
        title = f"{r.name} after {r.when(r.pictures_step)}: {wrong} of {len(tiles)} wrong"
        self.predictions.set_rows([(title, tiles)])
        self._picked = min(self._picked, max(len(tiles) - 1, 0))
        self.predictions.set_picked(self._picked)

    def _show_filters(self, r: RunRecord, pictures: Pictures) -> None:
        if pictures.filters is None:
            self.filters.set_rows([], f"{r.config.model} has no conv layer: no filters to show.")
            return
        f = pictures.filters
        title = f"first conv layer after {r.when(r.pictures_step)}: {f.shape[0]} filters {f.shape[2]}×{f.shape[3]}" \
            + (" (RGB)" if f.shape[1] == 3 else " (blue < 0 < red)")
        self.filters.set_rows([(title, filter_tiles(f))])

    # ---- feature maps ----------------------------------------------------------------------------------------

    def pick(self, index: int) -> None:
        """Show the feature maps of test image ``index`` (and switch to them)."""
        self._picked = index
        self.predictions.set_picked(index)
        self.setCurrentWidget(self.maps_page)
        self._update_maps()

    def _on_predictions_tile_clicked(self, index: int) -> None:
        self.pick(index)

    def _on_tabs_changed(self, _index: int) -> None:
        self._update_maps()

    def _update_maps(self) -> None:
        """Compute the picked image's feature maps when they are on screen and out of date."""
        r = self._record
        if self.currentWidget() is not self.maps_page:
            return
        if r is None or r.pictures is None or r.pictures.weights is None or not len(r.pictures.images):
            self._maps_key = ()
            self.maps.set_rows([], "Feature maps appear once the run has pictures; click a test image to pick it.")
            return
        if r.pictures.filters is None:
            self._maps_key = ()
            self.maps.set_rows([], f"{r.config.model} has no conv layer: no feature maps to show.")
            return
        key = (r.id, r.pictures.epoch, id(r.pictures), self._picked)
        if key == self._maps_key:
            return
        self._maps_key = key
        self._maps_runner.request(key, r.config, r.pictures.weights, r.pictures.images[self._picked],
                                  r.started.mean, r.started.std, immediate=True)

    def _on_maps_runner_finished(self, result: tuple) -> None:
        key, maps, image = result
        if key != self._maps_key:
            return  # a newer pick or epoch is on its way
        self.maps.set_rows(feature_rows(maps, image))
        self.feature_maps_ready.emit()

    def _on_maps_runner_failed(self, message: str) -> None:
        self.maps.set_rows([], f"Could not compute the feature maps: {message}")
