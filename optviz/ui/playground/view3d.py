"""The playground's 3D view: the surface as a mesh, each optimizer's path lifted just above it, the heads at the
animation step. It reads the same model as the 2D view, so dragging a start point there moves the paths here.

The minima are white (global) and grey (local) points on the surface. The 3D trails are the 2D trails as drawn
(clipped to the view box, NaN breaks and all) with z = f(x, y) + lift: :meth:`View3D.trails` gives them per row
and start, the same arrays the GL items get. Work is done only while
the view is visible: a change while hidden is drawn when it is shown again.

Around the picture, as in the 2D view: a legend of the drawn rows (the same titles and colours as the 2D legend),
the colour bar with the 2D view's ticks and title (``Field.ticks``, ``scale_label``: log or equalised alike), the
box's x, y and f values, and a note on the height scale and the paths' lift.
"""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtWidgets import QVBoxLayout, QWidget

from optviz.core.clip import clip_paths
from optviz.core.field import scale_label
from optviz.ui.playground.colors import entry_colors, entry_title
from optviz.ui.playground.compute import shown_field, shown_result
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.widgets.surface3d import Surface3D

MINIMUM_COLORS = {"global": "#ffffff", "local": "#bbbbbb"}  # as the 2D view's stars and dots
CAPTION = "Dots on the surface: its minima (white: global, grey: local)."


class View3D(QWidget):
    """Draws the model's surface, paths and heads in a :class:`Surface3D` (built when first shown)."""

    def __init__(self, model: PlaygroundModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.surface3d: Surface3D | None = None
        self._rows: list[tuple] = []  # per shown row: (colour, [(clipped path, (M, 3) x, y, f + lift)])
        self._grid_key: tuple | None = None
        self._paths_dirty = self._grid_dirty = True
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        model.field_changed.connect(self._on_model_field_changed)
        model.surface_changed.connect(self._on_model_field_changed)
        model.result_changed.connect(self._on_model_result_changed)
        model.step_changed.connect(self._on_model_step_changed)

    # -- reading (tests, export) ---------------------------------------------------------------------------
    def trails(self, row: int) -> list[np.ndarray]:
        """Row ``row``'s trails at the current step, one (M, 3) array (x, y, f + lift) per start."""
        step = self._model.step
        out = []
        for c, xyz in self._rows[row][1]:
            out.append(xyz[: int(c.upto[min(step, len(c.upto) - 1)])])  # a view: no copy per frame
        return out

    def image(self):
        self.ensure_built()
        return self.surface3d.image()

    # -- building and refreshing ----------------------------------------------------------------------------
    def ensure_built(self) -> Surface3D:
        if self.surface3d is None:
            self.surface3d = Surface3D(lifted=True, caption=CAPTION)
            self._layout.addWidget(self.surface3d)
            self._refresh()
        return self.surface3d

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.ensure_built()
        self._refresh()

    def _visible(self) -> bool:
        return self.surface3d is not None and self.isVisible()

    def _on_model_field_changed(self) -> None:
        self._grid_dirty = self._paths_dirty = True
        if self._visible():
            self._refresh()

    def _on_model_result_changed(self) -> None:
        self._paths_dirty = True
        if self._visible():
            self._refresh()

    def _on_model_step_changed(self, _step: int) -> None:
        if self._visible() and not self._paths_dirty:
            self._draw_step()

    def _refresh(self) -> None:
        if self.surface3d is None:
            return
        if self._grid_dirty:
            self._grid_dirty = False
            field = shown_field(self._model)
            if field is not None and (field.key, field.minima is None) != self._grid_key:
                self.surface3d.set_grid(field.xs, field.ys, field.z, field.colour)
                self.surface3d.set_colorbar(field.ticks, scale_label(field.scale))
                self._grid_key = (field.key, field.minima is None)
                minima = field.minima or ()
                lift = self.surface3d.lift
                self.surface3d.set_markers(np.array([(m.x, m.y, m.value + lift) for m in minima]),
                                           [MINIMUM_COLORS[m.kind] for m in minima])
        if self._paths_dirty:
            self._paths_dirty = False
            self._build_rows()
        self._draw_step()

    def _build_rows(self) -> None:
        """Per shown row its clipped paths (as the 2D view draws them) and f + lift at each of their points."""
        self._rows = []
        result = shown_result(self._model) if shown_field(self._model) is not None else None
        if result is None or self.surface3d is None:
            return  # no result for a moment (a new surface): the legend stays, as the 2D view's
        surface = result.session.make_surface()
        clipped = getattr(result, "clipped", None)
        if clipped is None:
            clipped = tuple(tuple(clip_paths(paths, surface.view)) for paths in result.paths.positions)
        entries = result.session.optimizers
        colors = entry_colors(entries)
        self.surface3d.set_legend([(entry_title(entries[i]), colors[i]) for i in result.entries])
        lift = self.surface3d.lift
        for i, row in zip(result.entries, clipped):
            self._rows.append((colors[i], [(c, np.column_stack((c.points, _heights(surface, c.points) + lift)))
                                           for c in row]))

    def _draw_step(self) -> None:
        if self.surface3d is None:
            return
        paths, heads, head_colors = [], [], []
        step = self._model.step
        for row, (color, parts) in enumerate(self._rows):
            for trail, (c, _) in zip(self.trails(row), parts):
                paths.append((trail, color))
                s = min(step, len(c.upto) - 1)
                if c.inside[s] and len(trail):
                    heads.append(trail[-1])
                    head_colors.append(color)
        self.surface3d.set_paths(paths)
        self.surface3d.set_heads(np.array(heads).reshape(-1, 3), head_colors)


def _heights(surface, points: np.ndarray) -> np.ndarray:
    """f at each (x, y) row of ``points`` (NaN rows stay NaN), in float64 as the paths were computed."""
    if len(points) == 0:
        return np.zeros(0)
    with torch.no_grad():
        return surface(torch.as_tensor(points, dtype=torch.float64)).numpy().astype(float)
