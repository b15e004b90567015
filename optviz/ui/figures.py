"""Figures of the map commands (``optviz basins | sweep | landscape --out FILE.png``): the GUI's own views, drawn
offscreen on white, with titles, axes that read true values, colour bars, legends and captions.

Each ``*_figure`` function lays out a widget at its size (:data:`WIDTH` pixels wide by default; a grid of basin
panels grows downwards, and wider past three columns) and returns a :class:`Figure`: ``image()`` is its picture,
``png()`` the PNG bytes, and its parts (plots, colour bars, labels) stay reachable for checks. The drawing is the
views' own: :class:`~optviz.ui.playground.basins_tiles.BasinTiles` (Basins tab),
:class:`~optviz.ui.playground.stability_plot.StabilityPlot` (Stability tab) and
:class:`~optviz.ui.training.landscape_view.LandscapePanel` (Training lab → Loss landscape).

Call :func:`start_qt` first: it starts a QApplication, headless where there is no display, and raises
:class:`QtUnavailable` (one line: why) where Qt cannot start, so that the command can write its bare picture.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator, Sequence

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QImage
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QLayout, QVBoxLayout, QWidget

from optviz.core.basins import Basins
from optviz.core.image import png_bytes
from optviz.core.optimizers import OptimizerChoice
from optviz.core.surfaces import Surface
from optviz.core.sweep import Sweep
from optviz.ui.app import _needs_offscreen
from optviz.ui.export import image_array
from optviz.ui.playground.basins_tiles import (CHROME_PX, EDGE_PX, GAP_PX, BasinTiles, Tile, criterion_text,
                                               grid_height, grid_rect, legend_html)
from optviz.ui.playground.map_data import stability_colour
from optviz.ui.playground.stability_plot import STRIP_PX, StabilityPlot, caption_head
from optviz.ui.widgets.axes import xy_text

WIDTH = 900  # a figure's width, unless its basin panels need more
MARGIN = 16  # around a figure's contents
MAP_PX = (200, 400)  # the least and the most side of a basin panel's map in a figure
SWEEP_PLOT_PX = 560  # the stability map's plot height (a strip: STRIP_PX)
LANDSCAPE_PLOT_PX = 560  # a landscape panel's map height
PAIR_PANEL_PX = 650  # a landscape panel's width where several stand side by side
SETTLE_ROUNDS = 50  # event-loop turns at most for a figure's layout to come to rest
PROBE = "import sys; from PySide6.QtWidgets import QApplication; QApplication(sys.argv[:1])"
_app: QApplication | None = None  # the application start_qt made


class QtUnavailable(RuntimeError):
    """Qt cannot start here (no platform plugin, no display): the message says why, in one line."""


def start_qt() -> QApplication:
    """The QApplication figures are drawn in: started headless (``QT_QPA_PLATFORM=offscreen``) where there is no
    display, or where the display's platform cannot start and the user chose none; tried first in a child
    process, since a platform plugin that fails aborts the process that loads it."""
    app = QApplication.instance()
    if app is not None:
        return app
    chosen = "QT_QPA_PLATFORM" in os.environ
    if _needs_offscreen():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    why = platform_problem()
    if why and not chosen and os.environ.get("QT_QPA_PLATFORM") != "offscreen":  # a figure needs no display
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        why = platform_problem()
    if why:
        if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
            why += " (QT_QPA_PLATFORM=offscreen draws figures without a display)"
        raise QtUnavailable(why)
    global _app
    _app = QApplication(sys.argv[:1])  # held here: the caller may drop it, the figures need it
    return _app


def platform_problem() -> str:
    """Why a QApplication cannot start in this environment ("" when it can), tried in a child process."""
    try:
        proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"Qt could not be tried ({exc})"
    if proc.returncode == 0:
        return ""
    lines = [line.strip().removeprefix("qt.qpa.plugin:").strip() for line in proc.stderr.splitlines() if line.strip()]
    said = next((line for line in lines if "Could not load the Qt platform plugin" in line), None)
    said = said or next((line for line in lines if "platform plugin" in line), None) or (lines[-1] if lines else "")
    return said or f"Qt could not start (exit status {proc.returncode})"


@contextmanager
def antialiased() -> Iterator[None]:
    """pyqtgraph's items antialiased while a figure is built and painted, as in the app (restored after: a test
    process's other views keep their setting)."""
    before = pg.getConfigOption("antialias")
    pg.setConfigOptions(antialias=True)
    try:
        yield
    finally:
        pg.setConfigOptions(antialias=before)


class Figure:
    """A figure's widget, laid out offscreen at ``width`` pixels (its height: what its contents need)."""

    def __init__(self, widget: QWidget, width: int, graphics: Sequence[pg.GraphicsItem] = ()) -> None:
        self.widget = widget
        widget.setObjectName("figure")
        widget.setStyleSheet("QWidget#figure, QLabel { background: white; color: #222222; }")
        widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        layout = widget.layout()
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else layout.sizeHint().height()
        widget.resize(width, max(height, layout.minimumSize().height()))
        widget.show()
        self._settle(graphics)

    def _settle(self, graphics: Sequence[pg.GraphicsItem]) -> None:
        """Turn the event loop until the widgets' and the plots' geometry stop changing (pyqtgraph lays out in
        posted events)."""
        app, seen = QApplication.instance(), None
        for _ in range(SETTLE_ROUNDS):
            app.processEvents()
            now = (tuple(w.geometry().getRect() for w in self.widget.findChildren(QWidget))
                   + tuple(item.sceneBoundingRect().getRect() for item in graphics))
            if now == seen:
                return
            seen = now

    @property
    def size(self) -> tuple[int, int]:
        return self.widget.width(), self.widget.height()

    def image(self) -> QImage:
        """The figure as drawn, one pixel per pixel of its size (whatever a screen's scale)."""
        image = QImage(self.widget.size(), QImage.Format.Format_RGB32)
        image.fill(Qt.GlobalColor.white)
        with antialiased():
            self.widget.render(image)
        return image

    def png(self) -> bytes:
        return png_bytes(image_array(self.image()))

    def close(self) -> None:
        self.widget.close()
        self.widget.deleteLater()


def _label(text: str, *, size: float | None = None, bold: bool = False, grey: bool = False,
           mono: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(not mono)
    label.setTextFormat(Qt.TextFormat.PlainText if mono else Qt.TextFormat.AutoText)
    font = QFont(label.font())
    if mono:
        font.setFamily("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
    if size:
        font.setPointSizeF(size)
    font.setBold(bold)
    label.setFont(font)
    if grey:
        label.setStyleSheet("color: #555555;")
    return label


def _column(*parts: QWidget | QHBoxLayout) -> QWidget:
    widget = QWidget()
    layout = QVBoxLayout(widget)
    layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)  # no size hints for a window of no screen
    layout.setContentsMargins(MARGIN, MARGIN - 4, MARGIN, MARGIN - 4)
    layout.setSpacing(8)
    for part in parts:
        if isinstance(part, QWidget):
            layout.addWidget(part)
        else:
            layout.addLayout(part)
    return widget


def choice_title(choice: OptimizerChoice, leave_out: Sequence[str] = ()) -> str:
    """``momentum (lr=0.005)``: the label and, as on the command line, lr and the values that differ from the
    registry's defaults (but those in ``leave_out``: swept)."""
    values = {k: v for k, v in choice.values.items() if k == "lr" or k in choice.changed()}
    words = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items() if k not in leave_out]
    return f"{choice.label} ({', '.join(words)})" if words else choice.label


def surface_title(surface: Surface) -> str:
    return f"{surface.title}: f = {surface.formula}"


# -- basins ----------------------------------------------------------------------------------------------------
class BasinsFigure(Figure):
    """One titled panel per optimizer, the minima's legend, the criterion and the race table."""

    def __init__(self, result: Basins, surface: Surface, race: Sequence[str], width: int = WIDTH) -> None:
        n = len(result.maps)
        cols = n if n <= 3 else min(4, math.ceil(math.sqrt(n)))
        width = max(width, 2 * MARGIN + 2 * EDGE_PX + cols * (MAP_PX[0] + CHROME_PX[0]) + (cols - 1) * GAP_PX[0])
        inner = width - 2 * MARGIN
        rect = grid_rect(result)
        room = (inner - 2 * EDGE_PX - (cols - 1) * GAP_PX[0]) / cols - CHROME_PX[0]
        map_h = min(room * rect.height() / rect.width(), MAP_PX[1])
        with antialiased():
            self.title = _label(f"Basins of attraction on {surface_title(surface)}", size=13, bold=True)
            self.graphics = pg.GraphicsLayoutWidget()
            self.graphics.setFixedSize(inner, grid_height(map_h, -(-n // cols)))
            self.tiles = BasinTiles(self.graphics, title_size="11pt")
            self.tiles.show(result, [Tile(choice_title(m.choice), m) for m in result.maps])
            self.tiles.fit(size=(self.graphics.width(), self.graphics.height()), columns=cols)
            self.legend = _label(legend_html(result))
            self.caption = _label(criterion_text(len(result.xs), result.budget, result.tol, result.radius)
                                  + f" Computed in {result.seconds:.1f} s ({result.engine} engine, "
                                  f"{result.device}).", grey=True)
            self.table = _label("\n".join(race), mono=True)
            super().__init__(_column(self.title, self.graphics, self.legend, self.caption, self.table), width,
                             [p.getViewBox() for p in self.tiles.plots])


def basins_figure(result: Basins, surface: Surface, race: Sequence[str] = (), width: int = WIDTH) -> BasinsFigure:
    """The basin maps of ``result`` (computed on ``surface``) with the race table's lines ``race``."""
    return BasinsFigure(result, surface, race, width)


# -- sweep -----------------------------------------------------------------------------------------------------
class SweepFigure(Figure):
    """The stability map: heatmap on true-value axes, the colour bar "final f − f*", red diverged cells."""

    def __init__(self, result: Sweep, surface: Surface, width: int = WIDTH) -> None:
        f_star, known, colour = stability_colour(result, surface)
        swept = (result.x_name, result.y_name)
        over = " × ".join(name for name in swept if name)
        with antialiased():
            self.title = _label(f"Stability of {choice_title(result.choice, swept)}: final f − f* over {over} "
                                f"from {xy_text(*result.start)} on {surface_title(surface)}", size=13, bold=True)
            self.map = StabilityPlot()
            self.map.show(result, colour)
            self.map.plot.setContentsMargins(0, 10, 0, 0)  # room for the top tick's label
            self.map.widget.setFixedHeight(SWEEP_PLOT_PX if result.y_name else STRIP_PX)
            cells = "×".join(str(n) for n in result.final_loss.shape)
            self.caption = _label(caption_head(result, result.choice.label, known).removesuffix("; ")
                                  + f". {cells} cells; {result.engine} engine, {result.device}, "
                                  f"{result.seconds:.2g} s.", grey=True)
            super().__init__(_column(self.title, self.map.widget, self.caption), width, [self.map.plot.getViewBox()])
        self.f_star = f_star


def sweep_figure(result: Sweep, surface: Surface, width: int = WIDTH) -> SweepFigure:
    """The sweep ``result`` (on ``surface``), each axis on a log scale where the sweep spaced it so."""
    return SweepFigure(result, surface, width)


# -- landscape -------------------------------------------------------------------------------------------------
class LandscapeFigure(Figure):
    """One landscape panel per run, side by side: heatmap, contours, path, colour bar; the straight line below."""

    def __init__(self, runs: Sequence[tuple[str, object]], title: str, width: int = WIDTH) -> None:
        from optviz.ui.training.landscape_view import EXPLAIN, LandscapePanel  # torch: only for landscapes

        with antialiased():
            self.title = _label(title, size=13, bold=True)
            self.panels = [LandscapePanel(name, with_3d=False) for name, _ in runs]
            row = QHBoxLayout()
            row.setSpacing(MARGIN)
            for panel, (_, result) in zip(self.panels, runs):
                for plot in (panel.plot, panel.line):
                    plot.setBackground("w")
                panel.plot.setFixedHeight(LANDSCAPE_PLOT_PX)
                panel.show_landscape(result)
                row.addWidget(panel, 1)
            notes = sorted({note for _, result in runs for note in result.notes})
            self.caption = _label(EXPLAIN + "".join(f" Note: {n}." for n in notes), grey=True)
            super().__init__(_column(self.title, row, self.caption), max(width, PAIR_PANEL_PX * len(runs)),
                             [p.plot.getPlotItem().getViewBox() for p in self.panels])


def landscape_figure(runs: Sequence[tuple[str, object]], title: str, width: int = WIDTH) -> LandscapeFigure:
    """The slices ``runs`` (name, :class:`~optviz.training.landscape.Landscape`) side by side under ``title``."""
    return LandscapeFigure(runs, title, width)
