"""A 3D view of a surface z = f(x, y) with polylines on it and markers at their heads (pyqtgraph.opengl).

Generic: it knows nothing of optimizers or networks. :meth:`Surface3D.set_grid` takes the surface sampled on a
grid, :meth:`Surface3D.set_paths` polylines in the same data units (NaN rows break a line), :meth:`set_heads`
and :meth:`set_markers` points. The data keep their units in the vertex arrays; one transform maps the box they span to a cube-ish
scene, so that a surface ten thousand high and two wide can still be seen. Orbit with the left mouse button,
zoom with the wheel, pan with the middle button; "Reset camera" returns to the default view.

Where OpenGL cannot start (Qt's offscreen platform, no driver, PyOpenGL missing), the widget shows one line in
its place — "3D view needs OpenGL, which is unavailable here: <reason>" — and every setter still works (data
are kept, nothing is drawn), so the rest of the window never notices.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

MAX_GRID = 160  # mesh vertices per axis: a 400×400 field is thinned (software OpenGL draws 50k triangles fast)
LIFT = 0.012  # paths float this share of the z range above the surface, so that the mesh does not hide them
ELEVATION, AZIMUTH = 32.0, -60.0
# Antialiased GL lines cost software OpenGL (Mesa's llvmpipe) ~7× plain ones: smooth only while the total is small
# enough to redraw at animation speed there (a GPU would not care).
SMOOTH_VERTICES = 60_000
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


class Surface3D(QWidget):
    """A surface mesh coloured by a colour map, polylines lifted above it and head markers; or a placeholder."""

    def __init__(self, parent: QWidget | None = None, *, colormap: str = "viridis") -> None:
        super().__init__(parent)
        self.problem = gl_problem()
        self._colormap = colormap
        self.grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # xs, ys, z (n_y, n_x) as given
        self.paths: list[tuple[np.ndarray, tuple]] = []
        self.heads: tuple[np.ndarray, list] = (np.zeros((0, 3)), [])
        self.markers: tuple[np.ndarray, list] = (np.zeros((0, 3)), [])
        self._z_range = (0.0, 1.0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if self.problem:
            self.view = None
            self.placeholder = QLabel(f"3D view needs OpenGL, which is unavailable here: {self.problem}")
            self.placeholder.setWordWrap(True)
            self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(self.placeholder, 1)
            return
        import pyqtgraph.opengl as gl

        self.placeholder = None
        self.view = gl.GLViewWidget()
        self.view.setBackgroundColor("k")
        self._mesh = gl.GLSurfacePlotItem(shader=None, computeNormals=False, smooth=False, glOptions="opaque")
        self._lines: list = []
        self._heads = gl.GLScatterPlotItem(pxMode=True, size=13, glOptions="translucent")
        self._markers = gl.GLScatterPlotItem(pxMode=True, size=9, glOptions="translucent")
        self.view.addItem(self._mesh)
        self.view.addItem(self._markers)
        self.view.addItem(self._heads)
        self.reset_button = QPushButton("Reset camera")
        self.reset_button.setToolTip("Back to the default viewing angle and distance")
        self.reset_button.clicked.connect(self.reset_camera)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 4)
        self.hint = QLabel("drag: orbit · wheel: zoom · middle drag: pan")
        bar.addWidget(self.hint, 1)
        bar.addWidget(self.reset_button)
        layout.addWidget(self.view, 1)
        layout.addLayout(bar)
        self.reset_camera()

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
        if colour is None:
            colour = (np.nan_to_num(z, nan=hi, posinf=hi, neginf=lo) - lo) / (hi - lo if hi > lo else 1.0)
        if not self.available:
            return
        sx, sy = max(1, -(-len(xs) // MAX_GRID)), max(1, -(-len(ys) // MAX_GRID))
        xs_, ys_ = xs[::sx], ys[::sy]
        z_ = np.nan_to_num(z[::sy, ::sx], nan=hi, posinf=hi, neginf=lo)
        import pyqtgraph as pg

        colors = pg.colormap.get(self._colormap).map(np.clip(colour[::sy, ::sx], 0, 1).T, mode="float")
        self._mesh.setData(x=xs_, y=ys_, z=z_.T, colors=colors.reshape(-1, 4))  # vertex order: x-major
        self._apply_transform()

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
        if not self.available:
            return
        from PySide6.QtGui import QVector3D

        self.view.setCameraPosition(pos=QVector3D(0, 0, 0.35), distance=2.7, elevation=ELEVATION, azimuth=AZIMUTH)

    def image(self) -> QImage:
        """The 3D view as drawn (ValueError with the placeholder's words where there is no OpenGL)."""
        if not self.available:
            raise ValueError(self.placeholder.text())
        return self.view.grabFramebuffer()

    def _apply_transform(self) -> None:
        """Data units → the scene: the grid's box to [-1, 1] on its longer side, z range to [0, 0.7]."""
        if self.grid is None:
            return
        from pyqtgraph import Transform3D

        xs, ys, _ = self.grid
        cx, cy = (xs[0] + xs[-1]) / 2, (ys[0] + ys[-1]) / 2
        half = max(abs(xs[-1] - xs[0]), abs(ys[-1] - ys[0]), 1e-12) / 2
        lo, hi = self._z_range
        t = Transform3D()
        t.scale(1 / half, 1 / half, 0.7 / (hi - lo if hi > lo else 1.0))
        t.translate(-cx, -cy, -lo)
        for item in [self._mesh, self._heads, self._markers, *self._lines]:
            item.setTransform(t)
