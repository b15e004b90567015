"""Pictures and animations of the playground, for slides: PNG, SVG, GIF and MP4, headless or from the GUI.

* :func:`save_picture` writes a widget as PNG (a grab) or SVG (vectors: pyqtgraph's exporter for a plot, which
  clips curves to their view box; QSvgGenerator for any other widget, the whole window say).
* :class:`FrameRenderer` draws the playground's animation offscreen on a model of its own (a copy of the
  session, result and surface picture): the views on screen do not move, and any size can be asked for. Each
  frame carries its step ("step 120 / 300") in the corner of the surface.
* :class:`AnimationExport` renders frames one per event-loop turn into a :class:`~optviz.core.movie.MovieWriter`
  with a progress dialog and Cancel; a cancelled or failed export leaves no file.

Everything is written through :func:`optviz.core.files.write_atomic`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QPoint, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QHBoxLayout, QProgressDialog, QWidget

from optviz.core.field import Field
from optviz.core.files import OutputError, check_output, write_atomic
from optviz.core.movie import MovieWriter, even_size, frame_steps
from optviz.core.params import quote
from optviz.core.session import Session
from optviz.ui.playground.colors import entry_colors
from optviz.ui.playground.model import PlaygroundModel, Result

PICTURE_SUFFIXES = (".png", ".svg")
VIEWS = ("surface", "loss", "both")  # what an exported picture or animation shows


# -- pictures ---------------------------------------------------------------------------------------------------
def image_array(image: QImage) -> np.ndarray:
    """An (h, w, 3) uint8 RGB copy of ``image``."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    return np.frombuffer(image.constBits(), np.uint8, count=h * stride).reshape(h, stride)[:, : 3 * w] \
        .reshape(h, w, 3).copy()


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):
        raise OutputError("the picture could not be encoded as PNG")
    buf.close()
    return bytes(data.data())


def svg_bytes(widget: QWidget, title: str = "optviz") -> bytes:
    """``widget`` as painted, in SVG 1.1 (whose clip paths keep a zoomed plot's curves inside its view box).

    A plot (a pyqtgraph view) is drawn in vectors. A widget holding plots (the whole window, say) is its picture
    as on screen with each plot drawn in vectors over its place: Qt writes the clip paths of anything inside
    another widget at that thing's own origin, which hides a plot's curves and every label and field's text.
    Strokes are moved out of scaling transforms (:func:`flatten_strokes`). pyqtgraph's own SVG exporter is not
    used: with Qt 6.11 it fails on closed paths and misplaces images.
    """
    import pyqtgraph as pg
    from xml.dom import minidom

    if isinstance(widget, pg.GraphicsView):
        doc = minidom.parseString(_qt_svg(widget, title))
    else:
        doc = minidom.parseString(_raster_svg(widget, title))
        root = doc.documentElement
        views = [v for v in widget.findChildren(pg.GraphicsView) if v.isVisibleTo(widget) and v.width() > 0]
        for k, view in enumerate(views):
            part = minidom.parseString(_qt_svg(view, title))
            _prefix_ids(part.documentElement, f"plot{k}-")
            offset = view.mapTo(widget, QPoint(0, 0))
            group = doc.createElement("g")
            group.setAttribute("transform", f"translate({offset.x()},{offset.y()})")
            seen = _seen_rect(view, widget)  # a plot in a scroll area shows only part of itself
            if seen.isEmpty():
                continue
            if seen != view.rect():
                clip = doc.createElement("clipPath")
                clip.setAttribute("id", f"plot{k}-seen")
                box = doc.createElement("rect")
                for name, value in (("x", seen.x()), ("y", seen.y()), ("width", seen.width()),
                                    ("height", seen.height())):
                    box.setAttribute(name, str(value))
                clip.appendChild(box)
                group.appendChild(clip)
                group.setAttribute("clip-path", f"url(#plot{k}-seen)")
            for node in list(part.documentElement.childNodes):
                if node.nodeType == node.ELEMENT_NODE and node.tagName not in ("title", "desc"):
                    group.appendChild(doc.importNode(node, True))
            root.appendChild(group)
    flatten_strokes(doc)
    for image in doc.getElementsByTagName("image"):  # pixels as on screen: a heatmap's cells, not a blur
        image.setAttribute("image-rendering", "optimizeSpeed")
        image.setAttribute("style", "image-rendering:pixelated")
    return doc.toxml(encoding="UTF-8")


def _qt_svg(widget: QWidget, title: str) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)
    generator.setOutputDevice(buf)
    generator.setSize(widget.size())
    generator.setViewBox(QRectF(0, 0, widget.width(), widget.height()))
    generator.setTitle(title)
    generator.setResolution(widget.logicalDpiX())  # text in points, converted to pixels as on screen
    painter = QPainter(generator)
    QWidget.render(widget, painter, QPoint())  # the widget as painted (QGraphicsView.render draws its scene)
    painter.end()
    buf.close()
    return bytes(data.data())


def _seen_rect(view: QWidget, top: QWidget):
    """The part of ``view`` that its ancestors up to ``top`` leave visible, in ``view``'s coordinates (computed
    from the geometry, not from visibleRegion, which is empty until the window has been exposed)."""
    from PySide6.QtCore import QRect

    rect, widget = QRect(view.rect()), view
    origin = QPoint(0, 0)  # view's origin in widget's coordinates
    while widget is not top and widget.parentWidget() is not None:
        origin += widget.pos()
        widget = widget.parentWidget()
        rect = rect.intersected(widget.rect().translated(-origin))
    return rect


def _raster_svg(widget: QWidget, title: str) -> bytes:
    """An SVG document holding ``widget``'s picture (PNG, as on screen) at its size."""
    import base64
    from xml.sax.saxutils import escape

    w, h = widget.width(), widget.height()
    data = base64.b64encode(png_bytes(widget.grab().toImage())).decode("ascii")
    return (f'<?xml version="1.0" encoding="UTF-8"?><svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" width="{w}px" height="{h}px" '
            f'viewBox="0 0 {w} {h}"><title>{escape(title)}</title><image x="0" y="0" width="{w}" height="{h}" '
            f'preserveAspectRatio="none" xlink:href="data:image/png;base64,{data}"/></svg>').encode("utf-8")


def _prefix_ids(element, prefix: str) -> None:
    """Make the ids of one part unique in the whole document (and the clip-path references to them)."""
    if element.nodeType != element.ELEMENT_NODE:
        return
    if element.hasAttribute("id"):
        element.setAttribute("id", prefix + element.getAttribute("id"))
    if element.hasAttribute("clip-path"):
        element.setAttribute("clip-path", element.getAttribute("clip-path").replace("url(#", f"url(#{prefix}"))
    for child in element.childNodes:
        _prefix_ids(child, prefix)


def flatten_strokes(doc) -> None:
    """In the minidom document ``doc``, apply each group's scaling transform to its non-scaling-stroke lines.

    Qt draws a plot's curves in data coordinates under a scaling transform with ``vector-effect:
    non-scaling-stroke`` (1 px lines, whatever the zoom). Browsers and Inkscape honour that; librsvg before 2.56,
    LibreOffice and some slide programs do not, and draw the lines hundreds of pixels wide. Here the points are
    moved to the page instead, so every reader draws the same thing. Groups holding anything else (images,
    text) keep their transform.
    """
    for group in doc.getElementsByTagName("g"):
        match = _MATRIX.fullmatch(group.getAttribute("transform").strip())
        children = [c for c in group.childNodes if c.nodeType == c.ELEMENT_NODE]
        if not match or not children or any(c.tagName not in ("polyline", "path", "polygon") for c in children):
            continue
        if any(c.getAttribute("vector-effect") != "non-scaling-stroke" for c in children):
            continue
        a, b, c_, d, e, f = (float(v) for v in match.group(1).split(","))

        def move(token: str) -> str:
            head = token[0] if token[0].isalpha() else ""
            body = token[len(head):]
            if "," not in body:
                return token
            x, y = (float(v) for v in body.split(","))
            return f"{head}{a * x + c_ * y + e:.6g},{b * x + d * y + f:.6g}"

        for child in children:
            attr = "d" if child.tagName == "path" else "points"
            child.setAttribute(attr, " ".join(move(t) for t in child.getAttribute(attr).split()))
        group.setAttribute("transform", "matrix(1,0,0,1,0,0)")


_MATRIX = re.compile(r"matrix\(([-+0-9.eE]+(?:,[-+0-9.eE]+){5})\)")


def save_picture(widget: QWidget, path: str | Path) -> None:
    """Write ``widget`` as it is shown to ``path`` (.png or .svg); OutputError/ValueError with one line."""
    out = check_output(path, PICTURE_SUFFIXES)
    data = svg_bytes(widget) if out.suffix.lower() == ".svg" else png_bytes(widget.grab().toImage())
    write_atomic(out, data)


# -- the animation, offscreen -------------------------------------------------------------------------------------
class FrameRenderer:
    """The playground's views of one result, drawn offscreen at ``size`` on a model of their own."""

    def __init__(self, session: Session, result: Result, field: Field, size: tuple[int, int],
                 view: str = "surface") -> None:
        from optviz.ui.playground.loss_plot import LossPlot
        from optviz.ui.playground.surface_view import SurfaceView

        if view not in VIEWS:
            raise ValueError(f"Invalid view: {quote(view)} (allowed: {', '.join(VIEWS)})")
        self.model = PlaygroundModel(session)
        self.model.set_field(field)
        self.model.set_result(result)
        self.surface_view = SurfaceView(self.model) if view in ("surface", "both") else None
        self.loss_plot = LossPlot(self.model) if view in ("loss", "both") else None
        parts = [w for w in (self.surface_view, self.loss_plot) if w is not None]
        if len(parts) == 1:
            self.widget = parts[0]
        else:
            self.widget = QWidget()
            self.widget.setStyleSheet("background-color: black")  # the gap between the plots, as theirs
            layout = QHBoxLayout(self.widget)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.setSpacing(12)
            layout.addWidget(parts[0], 3)
            layout.addWidget(parts[1], 2)
        self.widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        self.widget.resize(QSize(*size))
        self.widget.show()
        if self.surface_view is not None:
            self.surface_view.fit_to_surface()
        self.size = size

    @property
    def last_step(self) -> int:
        return self.model.last_step

    def colors(self) -> list[tuple[int, int, int]]:
        """The colours a GIF's palette must hold exactly: each path's, the markers', white and black."""
        result = self.model.result
        entries = result.session.optimizers
        shades = [entry_colors(entries)[i] for i in result.entries]
        rgb = [(c.red(), c.green(), c.blue()) for c in shades]
        return rgb + [(255, 255, 255), (0, 0, 0), (255, 102, 204)]

    def image(self, step: int, *, label: bool = True) -> QImage:
        """The views at ``step``, with the step written in the corner when ``label``."""
        self.model.set_step(step)
        image = self.widget.grab().toImage()
        if image.size() != QSize(*self.size):  # a high-DPI screen grabs more pixels
            image = image.scaled(QSize(*self.size), Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        if label:
            self._write_step(image, self.model.step)
        return image

    def frame(self, step: int) -> np.ndarray:
        return image_array(self.image(step))

    def _write_step(self, image: QImage, step: int) -> None:
        text = f"step {step} / {self.last_step}"
        if self.surface_view is not None:
            rect = self.surface_view.getPlotItem().getViewBox().sceneBoundingRect()
            corner = self.surface_view.mapTo(self.widget, self.surface_view.mapFromScene(rect.topLeft()))
        else:
            corner = self.widget.rect().topLeft()
            corner.setX(corner.x() + 60)
        painter = QPainter(image)
        font = QFont(self.widget.font())
        font.setPointSizeF(10)
        painter.setFont(font)
        box = painter.fontMetrics().boundingRect(text).adjusted(-6, -3, 6, 3)
        box.moveTopLeft(corner)
        box.translate(6, 6)
        painter.fillRect(box, QColor(0, 0, 0, 170))
        painter.setPen(QColor("#ffffff"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()

    def close(self) -> None:
        if self.widget is None:
            return
        self.widget.hide()  # not close(): a PlotWidget's close() tears down what its resize handler reads
        self.widget.deleteLater()
        self.widget = None


def write_animation(renderer: FrameRenderer, path: str | Path, fps: int, frames: int,
                    progress: Callable[[int, int], bool] | None = None) -> bool:
    """Render ``frames`` frames to ``path`` (.gif/.mp4), calling ``progress(done, total)`` after each; it returns
    False to cancel. Returns False when cancelled (no file written)."""
    writer = MovieWriter(path, fps, colors=renderer.colors())
    try:
        for k, step in enumerate(frame_steps(renderer.last_step, frames)):
            writer.add(renderer.frame(step))
            if progress is not None and progress(k + 1, frames) is False:
                writer.abort()
                return False
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return True


class AnimationExport(QObject):
    """Renders an animation from the GUI, one frame per event-loop turn, with a progress dialog and Cancel.

    ``finished`` carries "" when the file was written, "cancelled", or the one-line reason it failed.
    """

    finished = Signal(str)

    def __init__(self, renderer: FrameRenderer, path: str | Path, fps: int, frames: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.renderer = renderer
        self.steps = frame_steps(renderer.last_step, frames)  # ParamError before anything starts
        self.writer = MovieWriter(path, fps, colors=renderer.colors())
        self.path = self.writer.path
        self.dialog = QProgressDialog(f"Rendering {self.path.name}…", "Cancel", 0, len(self.steps), parent)
        self.dialog.setWindowTitle("Export animation")
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(0)
        self.dialog.canceled.connect(self.cancel)
        self._next = 0
        self._done = False
        self._busy = False
        self._timer = QTimer(self, interval=0)
        self._timer.timeout.connect(self._on_timer_timeout)

    def start(self) -> None:
        self.dialog.setValue(0)
        self._timer.start()

    def cancel(self) -> None:
        self._end("cancelled")

    def _on_timer_timeout(self) -> None:
        if self._busy:  # a modal progress dialog's setValue runs the event loop, which fires this timer again
            return
        self._busy = True
        try:
            self._advance()
        finally:
            self._busy = False

    def _advance(self) -> None:
        if self._done:
            return
        if self.dialog.wasCanceled():  # Escape, closing the dialog, or cancel() called on it
            self.cancel()
            return
        try:
            if self._next < len(self.steps):
                self.writer.add(self.renderer.frame(self.steps[self._next]))
                self._next += 1
                self.dialog.setValue(self._next)
                if self._next == len(self.steps):
                    self.dialog.setLabelText(f"Writing {self.path.name}…")
                return
            self._timer.stop()
            self.writer.close()
        except (OutputError, ValueError, OSError) as exc:
            self._end(str(exc))
            return
        self._end("")

    def _end(self, message: str) -> None:
        if self._done:
            return
        self._done = True
        self._timer.stop()
        if message:
            self.writer.abort()
        self.dialog.canceled.disconnect(self.cancel)
        self.dialog.reset()
        self.renderer.close()
        self.finished.emit(message)


def even(size: tuple[int, int], path: str | Path) -> tuple[int, int]:
    """The size to render ``path``'s frames at (MP4: even sides)."""
    return even_size(size[0], size[1], Path(path).suffix)
