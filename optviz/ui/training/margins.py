"""Room for the tick labels at the ends of a plot's axes, so that they are drawn whole or not at all.

pyqtgraph draws a left axis's top label centred on its tick, half of it above the axis: with nothing above the
plot (no title) the view's edge cut it in half (the landscape's "1.0"). A bottom axis hides the labels that would
reach past its ends, so the first and last ticks went unlabelled (the gradient flow read "50, 100, 150" from step
0 to 200). :func:`room_for_end_labels` lets a bottom axis's end labels reach ``END_LABEL_PX`` past its ends, and
gives the plot that much room on its right and half a label's height on top.
"""

from __future__ import annotations

import pyqtgraph as pg

END_LABEL_PX = 16  # half of a label as wide as "0.0015": a wider end label is hidden, not cut
TOP_PX = 9  # half a tick label's height, and a pixel
LOWER_PX = 5  # a bottom axis's labels this far under its ticks


def room_for_end_labels(plot: pg.PlotItem, *, top: bool = True, right: bool = True) -> None:
    """Let ``plot``'s bottom axis label its first and last ticks, and keep them and the left axis's top label
    inside the view: ``top`` for a plot without a title above it, ``right`` for one with nothing beside it on the
    right (a colour bar inserted in the plot gets the room between them instead)."""
    # a few pixels lower than pyqtgraph's 2, so that the first label clears the left axis's lowest one
    plot.getAxis("bottom").setStyle(hideOverlappingLabels=END_LABEL_PX, tickTextOffset=LOWER_PX)
    left, old_top, old_right, bottom = plot.layout.getContentsMargins()
    plot.layout.setContentsMargins(left, max(old_top, TOP_PX) if top else old_top,
                                   max(old_right, END_LABEL_PX) if right else old_right, bottom)


def room_before_colorbar(plot: pg.PlotItem) -> None:
    """The gap between ``plot``'s view and a colour bar inserted in it (``ColorBarItem(insert_in=plot)``) wide
    enough for the bottom axis's last label (pyqtgraph leaves 5 px)."""
    plot.layout.setColumnFixedWidth(4, END_LABEL_PX)
