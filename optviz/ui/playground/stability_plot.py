"""The stability map's plot: one optimizer's final f − f* over lr (log axis, true values on its ticks) and a second
hyperparameter, or an lr strip; log10 colours with a colour bar "final f − f*" reading true values; red cells
diverged. The Stability view (playground) and the CLI's figure (:mod:`optviz.ui.figures`) draw with this one code.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from optviz.core.sweep import Sweep
from optviz.ui.playground.map_data import colour_levels
from optviz.ui.widgets.axes import TrueAxis, decade_ticks, log_labels, xy_text

DIVERGED_RGBA = (220, 30, 30, 255)
EDGE_LABEL_PX = 15  # how far a tick label may reach past the bottom axis's ends
STRIP_PX = 240  # the height of an lr strip's plot (a strip stretched to the full height reads as a wall)


def axis_label(name: str) -> str:
    return "lr (learning rate)" if name == "lr" else name


def caption_head(s: Sweep, title: str, f_star_known: bool) -> str:
    """What the map shows, up to what it says of the current values: ``Final f − f* after 300 steps of …; ``. The
    x range is written as its axis writes it."""
    star = "f* the global minimum" if f_star_known else "f* the smallest final loss on the map"
    ends = [float(s.x_values[0]), float(s.x_values[-1])]
    ends_text = log_labels(ends) if s.x_log else [f"{v:.4g}".replace("-", "−") for v in ends]
    return (f"Final f − f* after {s.steps} steps of {title} from {xy_text(*s.start)} ({star}) over {s.x_name} "
            f"{' … '.join(ends_text)}; red: diverged ({int(s.diverged.sum())} of {s.diverged.size}); ")


class StabilityPlot:
    """The plot widget of a stability map: heatmap, diverged cells, the current values' ring, the colour bar."""

    def __init__(self) -> None:
        self.widget = pg.PlotWidget(axisItems={"left": TrueAxis("left"), "bottom": TrueAxis("bottom")})
        self.widget.setBackground("w")
        plot = self.plot = self.widget.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(False, False)
        self.log = (True, False)  # the image lies in log10(lr) coordinates; the ticks read true lr
        plot.setLogMode(*self.log)
        plot.setLabel("bottom", axis_label("lr"))
        # the range's end values lie half a cell inside the axis: their labels may overhang its ends a little
        plot.getAxis("bottom").setStyle(hideOverlappingLabels=EDGE_LABEL_PX)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.diverged_image = pg.ImageItem(axisOrder="row-major")
        plot.addItem(self.image)
        plot.addItem(self.diverged_image)
        self.current = pg.ScatterPlotItem(symbol="o", size=13, pen=pg.mkPen("#ffffff", width=2.5),
                                          brush=pg.mkBrush(0, 0, 0, 0))
        self.current.setZValue(10)
        plot.addItem(self.current)
        self.colorbar = pg.ColorBarItem(colorMap="viridis", interactive=False, width=14, colorMapMenu=False)
        self.colorbar.setImageItem(self.image, insert_in=plot)
        self.colorbar.axis.enableAutoSIPrefix(False)
        self.colorbar.getAxis("left").setLabel("final f − f*")
        self.sweep: Sweep | None = None

    def show(self, s: Sweep | None, colour: np.ndarray | None = None) -> None:
        """Draw sweep ``s`` coloured by ``colour`` (log10 of final f − f*, NaN where diverged), each axis on a log
        scale where the sweep spaced its values so; None: nothing."""
        self.sweep = s
        for item in (self.image, self.diverged_image):
            item.setVisible(s is not None)
        if s is None:
            self.current.setData([])
            return
        log = (s.x_log, s.y_log)
        if log != self.log:
            self.log = log
            self.plot.setLogMode(*log)
        lo, hi = colour_levels(colour)
        self.image.setImage(np.nan_to_num(colour, nan=lo), autoLevels=False)
        self.colorbar.setLevels((lo, hi))
        self.colorbar.axis.setTicks(decade_ticks(lo, hi))
        rgba = np.zeros(s.diverged.shape + (4,), np.uint8)
        rgba[s.diverged] = DIVERGED_RGBA
        self.diverged_image.setImage(rgba, autoLevels=False)
        rect = self.cell_rect()
        for item in (self.image, self.diverged_image):
            item.setRect(rect)
        self.plot.getAxis("left").setStyle(showValues=bool(s.y_name))
        self.widget.setMaximumHeight(16777215 if s.y_name else STRIP_PX)
        self.plot.setLabel("bottom", axis_label(s.x_name))
        self.plot.setLabel("left", axis_label(s.y_name) if s.y_name else " ")
        self.plot.setRange(rect, padding=0)

    def cell_rect(self) -> QRectF:
        """Where the cells lie in plot coordinates (log10 of a log axis's values; 0..1 across a strip)."""
        s = self.sweep
        lx = np.log10(s.x_values) if self.log[0] else s.x_values
        hx = (lx[-1] - lx[0]) / (len(lx) - 1) / 2
        if len(s.y_values):
            ly = np.log10(s.y_values) if self.log[1] else s.y_values
            hy = (ly[-1] - ly[0]) / (len(ly) - 1) / 2
            return QRectF(lx[0] - hx, ly[0] - hy, lx[-1] - lx[0] + 2 * hx, ly[-1] - ly[0] + 2 * hy)
        return QRectF(lx[0] - hx, 0.0, lx[-1] - lx[0] + 2 * hx, 1.0)

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        """(row i, column j) of the cell under a scene position, or None."""
        if self.sweep is None:
            return None
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = vb.mapSceneToView(scene_pos)
        rect = self.cell_rect()
        ny, nx = self.sweep.final_loss.shape
        j = math.floor((p.x() - rect.left()) / rect.width() * nx)
        i = math.floor((p.y() - rect.top()) / rect.height() * ny)
        return (i, j) if 0 <= i < ny and 0 <= j < nx else None
