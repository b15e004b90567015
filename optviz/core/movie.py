"""Animations as files: GIF (Pillow) and MP4 (imageio-ffmpeg), written frame by frame and committed atomically.

A :class:`MovieWriter` takes RGB frames (``(h, w, 3)`` uint8 arrays, all one size) one at a time, so a caller can
show progress and stop at any frame. :meth:`MovieWriter.close` writes the file through
:func:`optviz.core.files.write_atomic`; :meth:`MovieWriter.abort` (or an error) leaves no file and no temporary
file behind: the previous file at the target, if any, stays as it was. No Qt here.

GIF frames are quantised as they arrive (the slow part) to one 256-colour palette, without dithering, so that
what does not move between frames keeps its bytes (a small file); ``close`` only has to compress them. The
palette is the first frame's colours plus ``colors`` kept exactly (the paths' colours: a thin line's few pixels
would otherwise lose their hue to the surface's many). Pillow merges a frame identical to the one before into it
(adding up the durations); such a frame gets its corner pixel drawn with a twin palette entry of the same colour,
so a GIF always has exactly the frames added.
MP4 is H.264 in yuv420p, which needs an even width and height: :func:`even_size` gives the size to render at.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from optviz.core.files import OutputError, check_output, write_atomic
from optviz.core.params import ParamError, Spec, quote

MOVIE_SUFFIXES = (".gif", ".mp4")
TWIN = 255  # the GIF palette's last entry: a second index for the first frame's corner colour
FPS = Spec("fps", "int", 20, 1, 60, label="frame rate", title="Frames per second", doc="frames per second")
FRAMES = Spec("frames", "int", 120, 2, 5001, label="frame count", title="Frames", doc="frames in the animation")
WIDTH = Spec("width", "int", 800, 200, 8000, title="Width (px)", doc="width of the picture in pixels")
HEIGHT = Spec("height", "int", 600, 200, 8000, title="Height (px)", doc="height of the picture in pixels")


def even_size(width: int, height: int, suffix: str) -> tuple[int, int]:
    """The frame size for a movie of this suffix: MP4 (yuv420p) wants even sides, rounded down."""
    if suffix.lower() == ".mp4":
        return width - width % 2, height - height % 2
    return width, height


class MovieWriter:
    """Collects frames for ``path`` (.gif or .mp4) and writes the file atomically on :meth:`close`."""

    def __init__(self, path: str | os.PathLike, fps: int, *,
                 colors: Sequence[tuple[int, int, int]] = ()) -> None:
        self.colors = [tuple(int(v) for v in c[:3]) for c in colors][:64]  # kept exactly in a GIF's palette
        self._palette = None
        self._corner = 0  # palette index of the first frame's top-left colour; TWIN holds the same colour
        self.path = check_output(path, MOVIE_SUFFIXES)
        self.fps = FPS.validate(fps)
        self.kind = self.path.suffix.lower()[1:]
        self.frames = 0
        self.size: tuple[int, int] | None = None  # (width, height) of the first frame
        self._gif: list = []  # quantised Pillow images
        self._tmpdir: tempfile.TemporaryDirectory | None = None
        self._mp4 = None  # imageio_ffmpeg's write_frames generator

    def add(self, frame: np.ndarray) -> None:
        """Append one RGB frame ``(h, w, 3)`` uint8; every frame must have the first one's size."""
        frame = np.ascontiguousarray(frame[..., :3], dtype=np.uint8)
        h, w = frame.shape[:2]
        if self.size is None:
            self.size = (w, h)
            if self.kind == "mp4":
                self._open_mp4(w, h)
        elif self.size != (w, h):
            raise ValueError(f"frame {self.frames} is {w}×{h}, the first was {self.size[0]}×{self.size[1]}")
        if self.kind == "gif":
            from PIL import Image

            image = Image.fromarray(frame, "RGB")
            if self._palette is None:  # one palette for all: what did not move keeps its bytes, and compresses
                self._palette = self._make_palette(image)
            indexed = image.quantize(palette=self._palette, dither=Image.Dither.NONE)
            if self._gif and indexed.tobytes() == self._gif[-1].tobytes():
                # Pillow would merge it into the frame before: the corner pixel takes the palette's twin entry,
                # the same colour under another index, so the frame stays a frame and looks the same.
                corner = indexed.getpixel((0, 0))
                if corner in (self._corner, TWIN):
                    indexed.putpixel((0, 0), TWIN if corner == self._corner else self._corner)
            self._gif.append(indexed)
        else:
            self._mp4.send(frame)
        self.frames += 1

    def close(self) -> None:
        """Write the file (OutputError if it cannot be written; nothing is left behind then)."""
        if self.frames == 0:
            self.abort()
            raise ValueError("no frames to write")
        try:
            if self.kind == "gif":
                write_atomic(self.path, self._write_gif)
            else:
                self._mp4.close()  # ffmpeg finishes the file
                self._mp4 = None
                tmp = Path(self._tmpdir.name) / "movie.mp4"
                with open(tmp, "rb") as src:
                    write_atomic(self.path, lambda fh: shutil.copyfileobj(src, fh))
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop the frames and any temporary file; the target is left untouched."""
        self._gif = []
        if self._mp4 is not None:
            try:
                self._mp4.close()
            except Exception:  # noqa: BLE001 — ffmpeg may already have stopped; the file is discarded anyway
                pass
            self._mp4 = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def _make_palette(self, image):
        """The first frame's colours (median cut), the reserved ``colors`` exactly, and the corner's twin."""
        from PIL import Image

        n = TWIN - len(self.colors)
        base = image.quantize(n, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).getpalette()[: 3 * n]
        base += [0] * (3 * n - len(base))
        entries = base + [v for c in self.colors for v in c]
        palette = Image.new("P", (1, 1))
        palette.putpalette(entries + [0, 0, 0])
        self._corner = image.quantize(palette=palette, dither=Image.Dither.NONE).getpixel((0, 0))
        palette.putpalette(entries + entries[3 * self._corner: 3 * self._corner + 3])  # the twin of the corner
        return palette

    def _write_gif(self, fh) -> None:
        first, rest = self._gif[0], self._gif[1:]
        buf = io.BytesIO()  # Pillow seeks while writing; the atomic file gets the finished bytes
        first.save(buf, format="GIF", save_all=True, append_images=rest, duration=round(1000 / self.fps),
                   loop=0, optimize=False, disposal=1)
        fh.write(buf.getvalue())

    def _open_mp4(self, width: int, height: int) -> None:
        import imageio_ffmpeg

        if width % 2 or height % 2:
            raise ValueError(f"an MP4 frame needs an even width and height, not {width}×{height}")
        self._tmpdir = tempfile.TemporaryDirectory(prefix="optviz-movie-")
        try:
            gen = imageio_ffmpeg.write_frames(str(Path(self._tmpdir.name) / "movie.mp4"), (width, height),
                                              fps=self.fps, codec="libx264", pix_fmt_in="rgb24",
                                              pix_fmt_out="yuv420p", macro_block_size=1, quality=7,
                                              ffmpeg_log_level="error")
            gen.send(None)  # starts ffmpeg
        except Exception as exc:  # noqa: BLE001 — no ffmpeg, or it refused: one line
            self.abort()
            raise OutputError(f"cannot write {str(self.path)!r}: ffmpeg failed to start ({exc})") from None
        self._mp4 = gen



def parse_size(text: str) -> tuple[int, int]:
    """'800x600' → (800, 600), each side checked by WIDTH/HEIGHT; ValueError with one line otherwise."""
    w, sep, h = text.lower().replace("×", "x").partition("x")
    if not sep:
        raise ValueError(f"Invalid --size: {quote(text)} (allowed: WIDTHxHEIGHT, e.g. 800x600)")
    return WIDTH.parse(w), HEIGHT.parse(h)


def frame_steps(last_step: int, frames: int) -> list[int]:
    """The step shown by each of ``frames`` frames, evenly from 0 to ``last_step``, all different.

    ParamError when more frames are asked than there are steps to show (they would repeat a picture).
    """
    frames = FRAMES.validate(frames)
    if frames > last_step + 1:
        raise ParamError(
            f"Invalid frame count: {frames} (allowed: 2 to {last_step + 1}, one frame per step at most: "
            f"the paths have {last_step} steps)")
    return [int(s) for s in np.round(np.linspace(0, last_step, frames)).astype(int)]
