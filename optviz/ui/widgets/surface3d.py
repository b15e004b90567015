"""A 3D view of a surface z = f(x, y) with polylines on it and markers at their heads (pyqtgraph.opengl).

Generic: it knows nothing of optimizers or networks. :meth:`Surface3D.set_grid` takes the surface sampled on a
grid, :meth:`Surface3D.set_paths` polylines in the same data units (NaN rows break a line), :meth:`set_heads`
and :meth:`set_markers` points. The data keep their units in the vertex arrays; one transform maps the box they span to a cube-ish
scene, so that a surface ten thousand high and two wide can still be seen. Orbit with the left mouse button,
zoom with the wheel, pan with the middle button; "Reset camera" returns to the default view.

Where OpenGL cannot start (Qt's offscreen platform, no driver, PyOpenGL missing), the widget shows one line in
its place — "3D view needs OpenGL, which is unavailable here: <reason>" — and every setter still works (data
are kept, nothing is drawn), so the rest of the window never notices.

What the picture shows is said around it: a legend above it (:meth:`set_legend`), a colour bar below it with the
ticks its caller gives (:meth:`set_colorbar`: the 2D view's own, so both read alike), a box under the surface with
the values of x and y at its edges and round values between, and an f axis from the surface's lowest to its
highest value (:func:`axis_guides`), and a note saying that heights are rescaled (and by how much paths are
lifted, where they are). The default camera's distance is fitted to the view, so that the box and its texts show
whatever the view's shape (until the user moves the camera). The legend, colour bar and note are plain Qt widgets
(crisp, and readable offscreen too); the box's texts are GL items that move with the camera.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from optviz.core.field import format_value
from optviz.ui.widgets.axes import linear_tick, narrow_log_ticks

MAX_GRID = 160  # mesh vertices per axis: a 400×400 field is thinned (software OpenGL draws 50k triangles fast)
LIFT = 0.012  # paths float this share of the z range above the surface, so that the mesh does not hide them
Z_SHARE = 0.7  # the z range is drawn this share of the box's longer side: heights are not to scale with x and y
TICK = 0.025  # tick marks this share of the box's longer side
ELEVATION, AZIMUTH, DISTANCE = 32.0, -60.0, 3.3  # the default camera (its distance then fitted to the view)
CENTER = (-0.1, -0.06, 0.3)  # it looks at: left of the box's middle, where the f axis's texts need room
FIT_MARGINS = (60, 24, 48, 44)  # px left, above, right, below the box at the default camera: room for texts
# Antialiased GL lines cost software OpenGL (Mesa's llvmpipe) ~7× plain ones: smooth only while the total is small
# enough to redraw at animation speed there (a GPU would not care).
SMOOTH_VERTICES = 60_000
GUIDE_COLOR = (0.75, 0.75, 0.75, 0.9)  # the box, its ticks and its texts
LABEL_PT = 9
COLORBAR_PX = 460  # the colour bar's widest
_ALIGN = {"below": Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
          "right": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
          "left": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
          "above": Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom}
_problem: str | None = None


def gl_problem() -> str:
    """Why OpenGL cannot be used in this process, or "" when it can (checked once, then remembered)."""
    global _problem
    if _problem is None:
        _problem = _find_gl_problem()
    return _problem


def _find_gl_problem() -> str:
    platform = QGuiApplication.platformName()
    if platform in ("offscreen", "minimal", "vnc"):
        return f"Qt's {platform!r} platform has no OpenGL"
    try:
        import OpenGL.GL  # noqa: F401
        import pyqtgraph.opengl  # noqa: F401
    except Exception as exc:  # noqa: BLE001 — any import failure means no 3D, said in one line
        return f"PyOpenGL could not be loaded ({type(exc).__name__}: {exc})"
    from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

    context = QOpenGLContext()
    if not context.create():
        return "no OpenGL context could be created (no driver?)"
    surface = QOffscreenSurface()
    surface.create()
    if not context.makeCurrent(surface):
        return "an OpenGL context could not be made current"
    context.doneCurrent()
    return ""


def rgba(color) -> tuple[float, float, float, float]:
    c = QColor(color)
    return c.redF(), c.greenF(), c.blueF(), c.alphaF()


def segments(points: np.ndarray) -> np.ndarray:
    """A polyline (N, 3) with NaN rows as breaks → segment end points in pairs (2K, 3), for GL's "lines" mode."""
    p = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(p) < 2:
        return np.zeros((0, 3))
    ok = np.isfinite(p).all(1)
    keep = ok[:-1] & ok[1:]
    return np.stack((p[:-1][keep], p[1:][keep]), axis=1).reshape(-1, 3)


@dataclass(frozen=True)
class AxisText:
    """A text of the box: a tick's value or an axis's name, at ``pos`` (data units), placed ``side`` of it."""

    axis: str  # "x", "y", "z"
    text: str
    pos: tuple[float, float, float]
    side: str  # "below", "right", "left", "above" (on screen, at the default camera)
    title: bool = False  # the axis's name, not a value


def axis_values(lo: float, hi: float, most: int = 3) -> list[tuple[float, str]]:
    """Ticks of one edge of the box: both ends, and at most ``most`` round values between them (1, 2 or 5 × 10ⁿ
    apart, as a narrow log axis picks them; every 2nd, 5th or 10th of those where more would fit), each at least ¾
    of their step from the ends, so that the ends' values always show and none crowds them."""
    if not hi > lo:
        return [(lo, format_value(lo))]
    values = narrow_log_ticks(lo, hi)
    step = values[1] - values[0] if len(values) > 1 else hi - lo
    thinned = {k: [v for v in values if round(v / step) % k == 0 and min(v - lo, hi - v) >= 0.75 * k * step]
               for k in (1, 2, 5, 10)}
    k = next((k for k, inner in thinned.items() if 1 <= len(inner) <= most),
             next((k for k, inner in thinned.items() if len(inner) <= most), 10))
    inner, step = thinned[k], k * step
    return [(lo, _end_text(lo, step)), *((v, linear_tick(v, step)) for v in inner[:most]), (hi, _end_text(hi, step))]


def _end_text(value: float, step: float) -> str:
    """An end of an edge: to a hundredth of the step between round values, trailing zeros dropped (−2.05 beside
    −2 and 0, 2.2998 beside 2.296; 0 and 2510 beside 1000 for 6.3×10⁻⁶ … 2509: the note gives the range)."""
    text = linear_tick(value, 10.0 ** math.floor(math.log10(step / 100)))
    return text.rstrip("0").rstrip(".") if "." in text and text[-1] == "0" else text


def axis_guides(xs: np.ndarray, ys: np.ndarray, z_range: tuple[float, float],
                names: tuple[str, str, str] = ("x", "y", "f")) -> tuple[np.ndarray, list[AxisText]]:
    """The box around a surface: its lines (segment end points in pairs, (2K, 3), data units) and texts.

    The floor at the lowest f is the box's bottom; x is read along its front edge (y = ys[0]), y along its right
    edge (x = xs[-1]) and f up the vertical edge at (xs[0], ys[0]), each with tick marks and values
    (:func:`axis_values`): these are the edges nearest the default camera, so the surface hides none of them."""
    x0, x1, y0, y1 = float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1])
    lo, hi = z_range
    t = TICK * max(abs(x1 - x0), abs(y1 - y0), 1e-12)
    lines = [(x0, y0, lo), (x1, y0, lo), (x1, y0, lo), (x1, y1, lo), (x1, y1, lo), (x0, y1, lo), (x0, y1, lo),
             (x0, y0, lo), (x0, y0, lo), (x0, y0, hi)]
    texts = []
    for v, text in axis_values(x0, x1):
        lines += [(v, y0, lo), (v, y0 - t, lo)]
        texts.append(AxisText("x", text, (v, y0 - 1.6 * t, lo), "below"))
    for v, text in axis_values(y0, y1):
        lines += [(x1, v, lo), (x1 + t, v, lo)]
        texts.append(AxisText("y", text, (x1 + 1.6 * t, v, lo), "right"))
    for v, text in axis_values(lo, hi, most=2):  # the f axis is the shortest on screen
        lines += [(x0, y0, v), (x0 - t, y0, v)]  # along −x: on screen left and a little up, clear of x's texts
        texts.append(AxisText("z", text, (x0 - 1.6 * t, y0, v), "left"))
    texts += [AxisText("x", names[0], ((x0 + x1) / 2, y0 - 5 * t, lo), "below", True),
              AxisText("y", names[1], (x1 + 6 * t, (y0 + y1) / 2, lo), "right", True),
              AxisText("z", names[2], (x0, y0, hi + 0.16 * (hi - lo if hi > lo else 1.0)), "above", True)]
    return np.array(lines, float), texts


def legend_html(entries: Sequence[tuple[str, QColor, str]]) -> str:
    """One line of entries, each its symbol in its colour and its name; it wraps between entries."""
    items = [f'<span style="color:{c.name()}; font-weight:bold">{symbol}</span>&nbsp;{_escape(name)}'
             for name, c, symbol in entries]
    return " &nbsp;&nbsp; ".join(items)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(" ", "&nbsp;")


class Surface3D(QWidget):
    """A surface mesh coloured by a colour map, polylines lifted above it and head markers; or a placeholder.

    ``names``: what x, y and the height are called on the box and in the note; ``lifted``: the caller draws its
    paths :attr:`lift` above the surface (the note says so); ``caption``: a sentence for the note (what markers
    mean, say)."""

    def __init__(self, parent: QWidget | None = None, *, colormap: str = "viridis",
                 names: tuple[str, str, str] = ("x", "y", "f"), lifted: bool = False, caption: str = "") -> None:
        super().__init__(parent)
        self.problem = gl_problem()
        self._colormap = colormap
        self.names, self._lifted, self._caption = names, lifted, caption
        self.grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # xs, ys, z (n_y, n_x) as given
        self.paths: list[tuple[np.ndarray, tuple]] = []
        self.heads: tuple[np.ndarray, list] = (np.zeros((0, 3)), [])
        self.markers: tuple[np.ndarray, list] = (np.zeros((0, 3)), [])
        self.legend_entries: list[tuple[str, QColor, str]] = []  # (name, colour, symbol)
        self.guides: tuple[np.ndarray, list[AxisText]] = (np.zeros((0, 3)), [])
        self._z_range = (0.0, 1.0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._build_frame()
        if self.problem:
            self.view = None
            self.placeholder = QLabel(f"3D view needs OpenGL, which is unavailable here: {self.problem}")
            self.placeholder.setWordWrap(True)
            self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(self.placeholder, 1)
            self.picture.hide()  # the legend, colour bar and note are kept up to date, not shown
            return
        import pyqtgraph.opengl as gl

        self.placeholder = None
        self.view = gl.GLViewWidget()
        self.view.setBackgroundColor("k")
        self._mesh = gl.GLSurfacePlotItem(shader=None, computeNormals=False, smooth=False, glOptions="opaque")
        self._lines: list = []
        self._heads = gl.GLScatterPlotItem(pxMode=True, size=13, glOptions="translucent")
        self._markers = gl.GLScatterPlotItem(pxMode=True, size=9, glOptions="translucent")
        self._box = gl.GLLinePlotItem(mode="lines", color=GUIDE_COLOR, width=1, antialias=True,
                                      glOptions="translucent")
        self._texts: list = []
        for item in (self._mesh, self._box, self._markers, self._heads):
            self.view.addItem(item)
        self._middle.insertWidget(0, self.view, 1)
        self._default_camera: dict = {}
        self.view.installEventFilter(self)
        self.reset_button = QPushButton("Reset camera")
        self.reset_button.setToolTip("Back to the default viewing angle and distance")
        self.reset_button.clicked.connect(self.reset_camera)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 4)
        self.hint = QLabel("drag: orbit · wheel: zoom · middle drag: pan")
        bar.addWidget(self.hint, 1)
        bar.addWidget(self.reset_button)
        layout.addWidget(self.picture, 1)
        layout.addLayout(bar)
        self.reset_camera()

    def _build_frame(self) -> None:
        """The picture: the legend above, the GL view (added later, where there is one) and the colour bar under
        it, the note below; black like the scene, so that white and yellow entries read."""
        self.picture = QWidget(self)
        self.picture.setObjectName("picture")
        self.picture.setStyleSheet("#picture { background: black; } QLabel { color: #dddddd; padding: 2px 4px; }")
        self.picture.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.colorbar_view = pg.GraphicsLayoutWidget()  # below the scene: its width is what scales the scene
        self.colorbar_view.setFixedHeight(64)
        self.colorbar_view.setMaximumWidth(COLORBAR_PX)
        self.colorbar = pg.ColorBarItem(colorMap=self._colormap, interactive=False, width=14, colorMapMenu=False,
                                        orientation="horizontal")
        self.colorbar.axis.enableAutoSIPrefix(False)
        self.colorbar.axis.setStyle(hideOverlappingLabels=40)  # the end ticks' texts overhang the bar: keep them
        self.colorbar_view.ci.setContentsMargins(28, 2, 28, 2)  # … and give them room
        self.colorbar.setLevels((0.0, 1.0))
        self.colorbar_view.addItem(self.colorbar)
        self.colorbar_view.hide()  # until a caller gives its ticks
        self._middle = QVBoxLayout()
        self._middle.setContentsMargins(0, 0, 0, 0)
        self._middle.addWidget(self.colorbar_view, 0, Qt.AlignmentFlag.AlignHCenter)
        inner = QVBoxLayout(self.picture)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.setSpacing(0)
        inner.addWidget(self.legend)
        inner.addLayout(self._middle, 1)
        inner.addWidget(self.note)

    @property
    def available(self) -> bool:
        return self.view is not None

    @property
    def lift(self) -> float:
        """How far above the surface paths are drawn, in z units (LIFT of the grid's z range)."""
        lo, hi = self._z_range
        return LIFT * (hi - lo if hi > lo else 1.0)

    # -- data -------------------------------------------------------------------------------------------------
    def set_grid(self, xs: np.ndarray, ys: np.ndarray, z: np.ndarray, colour: np.ndarray | None = None) -> None:
        """The surface: ``z[i, j]`` = f(xs[j], ys[i]) (row-major, as images); ``colour`` in [0, 1] of the same
        shape picks the colour map's colour (default: z scaled to [0, 1]). Non-finite z is drawn at the top."""
        xs, ys, z = np.asarray(xs, float), np.asarray(ys, float), np.asarray(z, float)
        finite = z[np.isfinite(z)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self._z_range = (lo, hi)
        self.grid = (xs, ys, z)
        self.guides = axis_guides(xs, ys, self._z_range, self.names)
        self.note.setText(self.note_text())
        if colour is None:
            colour = (np.nan_to_num(z, nan=hi, posinf=hi, neginf=lo) - lo) / (hi - lo if hi > lo else 1.0)
        if not self.available:
            return
        sx, sy = max(1, -(-len(xs) // MAX_GRID)), max(1, -(-len(ys) // MAX_GRID))
        xs_, ys_ = xs[::sx], ys[::sy]
        z_ = np.nan_to_num(z[::sy, ::sx], nan=hi, posinf=hi, neginf=lo)
        colors = pg.colormap.get(self._colormap).map(np.clip(colour[::sy, ::sx], 0, 1).T, mode="float")
        self._mesh.setData(x=xs_, y=ys_, z=z_.T, colors=colors.reshape(-1, 4))  # vertex order: x-major
        untouched = self._camera_untouched()
        self._draw_guides()
        self._apply_transform()
        if untouched:
            self.reset_camera()  # fitted to this box

    def set_colorbar(self, ticks: Sequence[tuple[float, str]], title: str) -> None:
        """The colour bar: colour index 0 … 1 (as ``set_grid``'s ``colour``), ``ticks`` (index, text) and a title."""
        self.colorbar.axis.setTicks([list(ticks)])
        self.colorbar.axis.setLabel(title)
        self.colorbar_view.show()

    def set_legend(self, entries: Sequence[tuple]) -> None:
        """What is drawn, one entry each: ``(name, colour)`` for a line, ``(name, colour, symbol)`` otherwise."""
        self.legend_entries = [(e[0], QColor(e[1]), e[2] if len(e) > 2 else "━━") for e in entries]
        self.legend.setText(legend_html(self.legend_entries))
        self.legend.setVisible(bool(self.legend_entries))

    def note_text(self) -> str:
        """What the picture changes: heights are not to scale with x and y, and paths float above the surface."""
        lo, hi = self._z_range
        x, y, f = self.names
        text = (f"Height: {f} from {format_value(lo)} to {format_value(hi)}, drawn {Z_SHARE:g} × the box's width "
                f"(not to scale with {x} and {y}).")
        if self._lifted:
            text += (f" Paths are drawn {format_value(self.lift)} ({100 * LIFT:g}% of the {f} range) above the "
                     "surface so that it does not hide them.")
        return f"{text} {self._caption}".strip()

    def set_paths(self, paths: Sequence[tuple[np.ndarray, object]], width: float = 2.0) -> None:
        """Polylines ``(points (N, 3), colour)`` in data units; NaN rows break a line. Replaces the previous."""
        self.paths = [(np.asarray(p, float).reshape(-1, 3), rgba(c)) for p, c in paths]
        if not self.available:
            return
        import pyqtgraph.opengl as gl

        gap = np.full((1, 3), np.nan)
        by_colour: dict[tuple, list[np.ndarray]] = {}
        for points, color in self.paths:
            by_colour.setdefault(color, []).extend((points, gap))
        by_colour = {color: segments(np.concatenate(parts)) for color, parts in by_colour.items()}
        smooth = sum(len(pos) for pos in by_colour.values()) <= SMOOTH_VERTICES
        while len(self._lines) > len(by_colour):
            self.view.removeItem(self._lines.pop())
        while len(self._lines) < len(by_colour):
            line = gl.GLLinePlotItem(mode="lines", antialias=True, glOptions="translucent")
            self.view.addItem(line)
            self._lines.append(line)
        for line, (color, pos) in zip(self._lines, by_colour.items()):
            line.setData(pos=pos if len(pos) else np.zeros((2, 3)), color=color if len(pos) else (0, 0, 0, 0),
                         width=width, antialias=smooth)
        self._apply_transform()

    def set_heads(self, points: np.ndarray, colors: Sequence[object]) -> None:
        """Markers at ``points`` (K, 3), one colour each."""
        points = np.asarray(points, float).reshape(-1, 3)
        self.heads = (points, [rgba(c) for c in colors])
        if not self.available:
            return
        color = np.array(self.heads[1], float).reshape(-1, 4) if len(points) else np.zeros((0, 4))
        self._heads.setData(pos=points, color=color)

    def set_markers(self, points: np.ndarray, colors: Sequence[object]) -> None:
        """Fixed points of interest (a surface's minima, say) at ``points`` (K, 3), one colour each."""
        points = np.asarray(points, float).reshape(-1, 3)
        self.markers = (points, [rgba(c) for c in colors])
        if not self.available:
            return
        color = np.array(self.markers[1], float).reshape(-1, 4) if len(points) else np.zeros((0, 4))
        self._markers.setData(pos=points, color=color)

    # -- camera and pictures ------------------------------------------------------------------------------
    def reset_camera(self) -> None:
        """The default view: from ELEVATION and AZIMUTH towards CENTER, as close as leaves the box and its texts
        inside the view (its width or its height, whichever binds: a short wide view needs the camera further)."""
        if not self.available:
            return
        from PySide6.QtGui import QVector3D

        self.view.setCameraPosition(pos=QVector3D(*CENTER), distance=DISTANCE, elevation=ELEVATION, azimuth=AZIMUTH)
        w, h = self.view.width(), self.view.height()
        if w > 2 * (FIT_MARGINS[0] + FIT_MARGINS[2]) and h > 2 * (FIT_MARGINS[1] + FIT_MARGINS[3]):
            for _ in range(3):  # a point's offset from the middle shrinks about as 1 / distance: converges fast
                self.view.opts["distance"] *= self._fit_ratio(w, h)
            self.view.update()
        self._default_camera = self.view.cameraParams()

    def _fit_ratio(self, w: int, h: int) -> float:
        """How much further the camera must be (< 1: may come closer) for the box's corners to keep FIT_MARGINS
        pixels from the view's edges."""
        from PySide6.QtGui import QVector3D

        ax, ay = self._box_half()
        viewport = self.view.getViewport()
        m = self.view.projectionMatrix(viewport, viewport) * self.view.viewMatrix()
        left, top, right, bottom = FIT_MARGINS
        ratio = 0.0
        for corner in (QVector3D(x, y, z) for x in (-ax, ax) for y in (-ay, ay) for z in (0.0, Z_SHARE)):
            p = m.map(corner)
            dx, dy = p.x() * w / 2, -p.y() * h / 2  # pixels right of and below the middle
            ratio = max(ratio, abs(dx) / (w / 2 - (right if dx > 0 else left)),
                        abs(dy) / (h / 2 - (bottom if dy > 0 else top)))
        return ratio or 1.0

    def _box_half(self) -> tuple[float, float]:
        """Half the box's width and depth in the scene (the longer is 1)."""
        if self.grid is None:
            return 1.0, 1.0
        xs, ys, _ = self.grid
        dx, dy = abs(xs[-1] - xs[0]), abs(ys[-1] - ys[0])
        longer = max(dx, dy, 1e-12)
        return dx / longer, dy / longer

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        # A resized view, or a new box, keeps the default camera fitted, unless the user has moved it
        if watched is self.view and event.type() == QEvent.Type.Resize and self._camera_untouched():
            self.reset_camera()
        return super().eventFilter(watched, event)

    def _camera_untouched(self) -> bool:
        return self.available and self.view.cameraParams() == self._default_camera

    def image(self) -> QImage:
        """The picture as shown: legend, 3D view, colour bar and note (ValueError with the placeholder's words
        where there is no OpenGL)."""
        if not self.available:
            raise ValueError(self.placeholder.text())
        image = self.picture.grab().toImage()
        painter = QPainter(image)  # grab() leaves out what GL items paint with QPainter (the box's texts)
        painter.drawImage(QRectF(self.view.mapTo(self.picture, QPoint(0, 0)), QSizeF(self.view.size())),
                          self.view.grabFramebuffer())
        painter.end()
        return image

    def screen_pos(self, point: Sequence[float]) -> QPointF:
        """Where the data point (x, y, z) is drawn in the GL view, in its pixels, at the current camera."""
        from PySide6.QtGui import QVector3D

        viewport = self.view.getViewport()
        m = self.view.projectionMatrix(viewport, viewport) * self.view.viewMatrix() * self._box.transform()
        ndc = m.map(QVector3D(*map(float, point)))
        rect = QRectF(self.view.rect())
        return QPointF(rect.left() + (ndc.x() + 1) / 2 * rect.width(), rect.top() + (1 - ndc.y()) / 2 * rect.height())

    def _draw_guides(self) -> None:
        import pyqtgraph.opengl as gl

        lines, texts = self.guides
        self._box.setData(pos=lines)
        for item in self._texts:
            self.view.removeItem(item)
        font = QFont(self.font())
        font.setPointSizeF(LABEL_PT)
        bold = QFont(font)
        bold.setBold(True)
        color = QColor.fromRgbF(*GUIDE_COLOR)
        self._texts = [gl.GLTextItem(pos=np.array(t.pos), text=t.text, color=color, font=bold if t.title else font,
                                     alignment=_ALIGN[t.side]) for t in texts]
        for item in self._texts:
            self.view.addItem(item)

    def _apply_transform(self) -> None:
        """Data units → the scene: the grid's box to [-1, 1] on its longer side, z range to [0, Z_SHARE]."""
        if self.grid is None:
            return
        from pyqtgraph import Transform3D

        xs, ys, _ = self.grid
        cx, cy = (xs[0] + xs[-1]) / 2, (ys[0] + ys[-1]) / 2
        half = max(abs(xs[-1] - xs[0]), abs(ys[-1] - ys[0]), 1e-12) / 2
        lo, hi = self._z_range
        t = Transform3D()
        t.scale(1 / half, 1 / half, Z_SHARE / (hi - lo if hi > lo else 1.0))
        t.translate(-cx, -cy, -lo)
        for item in [self._mesh, self._heads, self._markers, self._box, *self._texts, *self._lines]:
            item.setTransform(t)
