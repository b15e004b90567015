"""Inside the step, on the surface: at the head of the inspected path, the plain gradient step −lr·∇f, the actual
update, the velocity (momentum buffer) and the per-coordinate step size as an axis-aligned ellipse.

The vectors are tiny or huge next to the view box (an Adam step is about lr, a gradient on Rosenbrock is 10³), so
arrows are drawn ×k with one k for all of them, picked from 1, 2, 5, 10, … so that the update is a readable length
at the current zoom (k = 1 where it already is: then the update arrow ends on the next point of the path), and the
caption says k. An arrow far longer than the others is cut and the caption says by how much. The ellipse's
half-axes are the effective step sizes (units of lr, not of length) drawn ×k_e, a scale of their own.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor

from optviz.core.field import format_value
from optviz.ui.playground.inside import Inside, inspect
from optviz.ui.playground.model import PlaygroundModel
from optviz.ui.playground.path_items import Z_HEADS

TARGET_PX, LOW_PX, HIGH_PX = 70.0, 25.0, 250.0  # the main arrow's length: k = 1 while it lies in [LOW, HIGH]
ELLIPSE_PX = 45.0  # the ellipse's larger half-axis
CUT_PX = 160.0  # a longer arrow is drawn this long and called "cut"
Z_OVERLAY = Z_HEADS + 2  # above the paths' heads and the markers
CAPTION_MARGIN = 6  # px between the caption and the view's edges
TINY = 1e-10  # a vector shorter than this part of the view's diagonal is rounding noise: not magnified into an arrow
ARROWS = {  # name: colour, dashed, what it is (the caption's words)
    "gradient": ("#ff5a36", False, "−lr·∇f, the plain gradient step"),
    "update": ("#ffffff", False, "the update x<sub>t</sub> − x<sub>t−1</sub>"),
    "velocity": ("#29e0ff", True, "velocity −lr·b (momentum buffer)"),
}
ELLIPSE_COLOR = "#ff8ad8"


def nice_scale(length_px: float, target: float = TARGET_PX, low: float = LOW_PX, high: float = HIGH_PX) -> float:
    """The drawing scale k (1, 2, 5 × 10ⁿ) for a vector ``length_px`` pixels long: 1 where that is readable."""
    if not math.isfinite(length_px) or length_px <= 0 or low <= length_px <= high:
        return 1.0
    raw = target / length_px
    exponent = math.floor(math.log10(raw))
    mantissa = raw / 10.0**exponent  # in [1, 10)
    best = min((1.0, 2.0, 5.0, 10.0), key=lambda m: abs(math.log(m / mantissa)))
    return best * 10.0**exponent


def format_scale(k: float) -> str:
    """'×20', '×0.005', '×2×10⁶'."""
    from optviz.core.field import format_value

    return "×" + (f"{k:g}" if 1e-4 <= k < 1e6 else format_value(k))


class _Arrow:
    """A shaft (with a dark halo for contrast on any colour of the heatmap) and a head, in data coordinates."""

    def __init__(self, plot: pg.PlotItem, color: str, dashed: bool) -> None:
        style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        self.halo = pg.PlotCurveItem(pen=pg.mkPen(QColor(0, 0, 0, 150), width=4.5))
        self.shaft = pg.PlotCurveItem(pen=pg.mkPen(color, width=2.2, style=style))
        self.head = pg.ArrowItem(headLen=13, tipAngle=32, tailLen=0, pen=pg.mkPen(QColor(0, 0, 0, 180), width=1),
                                 brush=pg.mkBrush(color))
        for z, item in enumerate((self.halo, self.shaft, self.head)):
            item.setZValue(Z_OVERLAY + 0.1 * z)
            plot.addItem(item, ignoreBounds=True)
        self.tail = self.tip = None

    def items(self) -> tuple:
        return self.halo, self.shaft, self.head

    def set(self, tail: np.ndarray | None, tip: np.ndarray | None, pixel: tuple[float, float]) -> None:
        self.tail, self.tip = tail, tip
        shown = tail is not None and tip is not None and bool(np.all(np.isfinite(tip)))
        for item in self.items():
            item.setVisible(shown)
        if not shown:
            return
        xs, ys = [tail[0], tip[0]], [tail[1], tip[1]]
        self.halo.setData(xs, ys)
        self.shaft.setData(xs, ys)
        dx, dy = (tip[0] - tail[0]) / pixel[0], -(tip[1] - tail[1]) / pixel[1]  # screen pixels, y down
        self.head.setPos(float(tip[0]), float(tip[1]))
        self.head.setStyle(angle=math.degrees(math.atan2(dy, dx)) + 180.0)  # 0° points left
        self.head.setVisible(math.hypot(dx, dy) >= 1.0)


class StepOverlay(QObject):
    """Draws the inspected path's step at the model's current step on the surface view's plot."""

    def __init__(self, model: PlaygroundModel, plot: pg.PlotItem, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._plot = plot
        self._visible = True
        self.arrows = {name: _Arrow(plot, color, dashed) for name, (color, dashed, _) in ARROWS.items()}
        self.ellipse = pg.PlotCurveItem(pen=pg.mkPen(ELLIPSE_COLOR, width=2))
        self.ellipse_halo = pg.PlotCurveItem(pen=pg.mkPen(QColor(0, 0, 0, 150), width=4.5))
        self.lr_circle = pg.PlotCurveItem(pen=pg.mkPen(ELLIPSE_COLOR, width=1, style=Qt.PenStyle.DotLine))
        for z, item in enumerate((self.ellipse_halo, self.ellipse, self.lr_circle)):
            item.setZValue(Z_OVERLAY - 1 + 0.1 * z)
            plot.addItem(item, ignoreBounds=True)
        self.caption = pg.TextItem(anchor=(0, 0), fill=pg.mkBrush(0, 0, 0, 170))
        self.caption.setParentItem(plot.getViewBox())  # fixed in the corner, whatever the zoom
        self.caption.setPos(CAPTION_MARGIN, CAPTION_MARGIN)
        self.caption.setZValue(50)
        self.scale = 1.0  # k of the arrows
        self.ellipse_scale = 1.0  # k_e of the ellipse
        self.half_axes: tuple[float, float] | None = None  # of the ellipse drawn, in data units
        self.cut: dict[str, float] = {}  # arrow name → how many times longer it is than drawn
        self.too_small = False  # every vector of the step below TINY: none drawn
        for signal in (model.step_changed, model.result_changed, model.field_changed, model.selection_changed,
                       model.inspected_changed, model.surface_changed):
            signal.connect(self.refresh)
        plot.getViewBox().sigRangeChanged.connect(self.refresh)
        plot.getViewBox().sigResized.connect(self.refresh)  # the caption wraps to the view's width
        self.refresh()

    def set_visible(self, visible: bool) -> None:
        self._visible = bool(visible)
        self.refresh()

    def is_visible(self) -> bool:
        return self._visible

    def _items(self) -> list:
        items = [self.ellipse, self.ellipse_halo, self.lr_circle, self.caption]
        return items + [item for arrow in self.arrows.values() for item in arrow.items()]

    def refresh(self, *_) -> None:
        inside = inspect(self._model)[0] if self._visible else None
        step = self._model.step
        if inside is None or step >= inside.steps or not np.all(np.isfinite(inside.positions[step])):
            for item in self._items():
                item.setVisible(False)
            self.half_axes, self.cut = None, {}
            return
        self._draw(inside, step)

    def _draw(self, inside: Inside, k: int) -> None:
        pixel = self._plot.getViewBox().viewPixelSize()
        head = inside.positions[k]
        lr = float(inside.at("lr", k))
        vectors = {"gradient": -lr * inside.at("grad", k), "update": inside.at("update", k)}
        if inside.has_velocity():
            vectors["velocity"] = -lr * inside.at("momentum", k)

        (x0, x1), (y0, y1) = self._plot.getViewBox().viewRange()
        floor = TINY * math.hypot(x1 - x0, y1 - y0)
        vectors = {n: v for n, v in vectors.items() if not (np.all(np.isfinite(v)) and math.hypot(*v) < floor)}
        self.too_small = not vectors  # a converged path's steps: ×10¹⁶ would draw its rounding errors

        def px(v: np.ndarray) -> float:
            return float(math.hypot(v[0] / pixel[0], v[1] / pixel[1])) if np.all(np.isfinite(v)) else 0.0

        main = max(px(vectors.get("update", np.zeros(2))), px(vectors.get("velocity", np.zeros(2))))
        self.scale = nice_scale(main if main > 0 else px(vectors.get("gradient", np.zeros(2))))
        self.cut = {}
        for name, arrow in self.arrows.items():
            v = vectors.get(name)
            if v is None or not np.all(np.isfinite(v)):
                arrow.set(None, None, pixel)
                continue
            drawn = self.scale * v
            length = px(drawn)
            if length > CUT_PX:
                self.cut[name] = length / CUT_PX
                drawn = drawn * (CUT_PX / length)
            arrow.set(head, head + drawn, pixel)
        self._draw_ellipse(inside, k, head, pixel)
        self._set_caption(inside, k)

    def _draw_ellipse(self, inside: Inside, k: int, head: np.ndarray, pixel: tuple[float, float]) -> None:
        eff = np.asarray(inside.at("effective_lr", k), dtype=float)
        shown = inside.adaptive() and bool(np.all(np.isfinite(eff))) and bool(np.all(eff > 0))
        for item in (self.ellipse, self.ellipse_halo, self.lr_circle):
            item.setVisible(shown)
        if not shown:
            self.half_axes = None
            return
        self.ellipse_scale = nice_scale(max(eff[0] / pixel[0], eff[1] / pixel[1]), target=ELLIPSE_PX,
                                        low=ELLIPSE_PX / 3, high=ELLIPSE_PX * 3)
        a, b = self.ellipse_scale * eff
        self.half_axes = (float(a), float(b))
        t = np.linspace(0.0, 2 * np.pi, 97)
        xs, ys = head[0] + a * np.cos(t), head[1] + b * np.sin(t)
        self.ellipse.setData(xs, ys)
        self.ellipse_halo.setData(xs, ys)
        r = self.ellipse_scale * float(inside.at("lr", k))
        self.lr_circle.setVisible(4 <= r / pixel[0] <= 4 * CUT_PX)  # SGD's step size, where it fits
        self.lr_circle.setData(head[0] + r * np.cos(t), head[1] + r * np.sin(t))

    def _set_caption(self, inside: Inside, k: int) -> None:
        def swatch(color: str, dashed: bool = False) -> str:
            return f"<span style='color:{color}; font-weight:bold'>{'┅┅' if dashed else '━━'}</span>"

        arrows = (f"no arrows: its step is below {format_value(TINY)} of the view" if self.too_small
                  else f"arrows {format_scale(self.scale)}")
        lines = [f"<b style='color:{inside.color.name()}'>{inside.title}</b>, start {inside.start + 1}: "
                 f"step {k} → {k + 1}, {arrows}"]
        for name, (color, dashed, words) in ARROWS.items():
            if self.arrows[name].shaft.isVisible():
                cut = f" (cut: {self.cut[name]:.3g}× longer)" if name in self.cut else ""
                lines.append(f"{swatch(color, dashed)} {words}{cut}")
        if self.half_axes is not None:
            circle = ", dotted: lr" if self.lr_circle.isVisible() else ""
            lines.append(f"{swatch(ELLIPSE_COLOR)} step size per coordinate {format_scale(self.ellipse_scale)}"
                         f"{circle}")
        self.caption.setTextWidth(-1)  # its natural width, then wrapped where the view is narrower
        self.caption.setHtml("<div style='color:#ffffff; font-size:9pt'>" + "<br>".join(lines) + "</div>")
        room = self._plot.getViewBox().width() - 2 * CAPTION_MARGIN
        if 0 < room < self.caption.textItem.boundingRect().width():
            self.caption.setTextWidth(room)
        self.caption.setVisible(True)

    def drawn(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each visible arrow's (tail, tip) in data coordinates, read back from its shaft."""
        out = {}
        for name, arrow in self.arrows.items():
            if arrow.shaft.isVisible():
                xs, ys = arrow.shaft.getData()
                out[name] = (np.array([xs[0], ys[0]]), np.array([xs[-1], ys[-1]]))
        return out
