"""`optviz export`: the playground's picture, animation or paths as a file, headless.

PNG and SVG show the last step; GIF and MP4 play the paths from step 0 to the last, one evenly spaced step per
frame, each frame labelled with its step; CSV and JSON are `optviz paths`'s formats. Pictures are rendered by
the app's own views on Qt's offscreen platform (no display needed), so they look as the window does.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from optviz.commands import UsageError, output_file, plural, write_or_keep
from optviz.core.files import write_atomic
from optviz.core.movie import FPS, FRAMES, HEIGHT, MOVIE_SUFFIXES, WIDTH, even_size, frame_steps, parse_size
from optviz.core.params import quote
from optviz.core.session import STEPS, Session, load_session

SUFFIXES = (".png", ".svg") + MOVIE_SUFFIXES + (".csv", ".json")
VIEWS = ("surface", "loss", "both")  # as optviz.ui.export.VIEWS (not imported here: it loads Qt)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="save the playground as PNG, SVG, GIF, MP4, CSV or JSON",
                       description="Render the playground of a session (default: the app's opening preset) "
                                   "offscreen and save it. The file type follows the name of --out.")
    p.add_argument("--session", metavar="FILE.json", help="the session to show (surface, starts, optimizers, steps)")
    p.add_argument("--out", metavar="FILE", required=True,
                   help="FILE.png or FILE.svg (the last step), FILE.gif or FILE.mp4 (the animation), "
                        "FILE.csv or FILE.json (the paths, as optviz paths writes them)")
    p.add_argument("--size", metavar="WxH", default=f"{WIDTH.default}x{HEIGHT.default}",
                   help=f"picture size in pixels, each side {WIDTH.allowed()} (default "
                        f"{WIDTH.default}x{HEIGHT.default}; MP4 rounds odd sides down)")
    p.add_argument("--fps", metavar="N", help=f"{FPS.doc}: {FPS.allowed()} (default {FPS.default})")
    p.add_argument("--frames", metavar="N",
                   help=f"{FRAMES.doc}: 2 to steps + 1 (default: {FRAMES.default}, or steps + 1 if fewer)")
    p.add_argument("--steps", metavar="N", help=f"override the session's steps: {STEPS.allowed()}")
    p.add_argument("--view", metavar="|".join(VIEWS), default="surface",
                   help="what a picture or animation shows: the surface, the loss plot, or both side by side "
                        "(default surface)")


def _session(args: argparse.Namespace) -> Session:
    from optviz.core.presets import default_session

    session = load_session(args.session) if args.session else default_session()
    if args.steps is not None:
        session = session.with_(steps=STEPS.parse(args.steps))
    if not session.enabled_choices():
        raise UsageError("the session enables no optimizer")
    return session


def run(args: argparse.Namespace) -> int:
    out = output_file(args.out, "--out", SUFFIXES, others={"--session": args.session})
    suffix = out.suffix.lower()
    if args.view not in VIEWS:
        raise UsageError(f"Invalid --view: {quote(args.view)} (allowed: {', '.join(VIEWS)})")
    size = even_size(*parse_size(args.size), suffix)
    fps = FPS.parse(args.fps) if args.fps is not None else FPS.default
    session = _session(args)
    frames = FRAMES.parse(args.frames) if args.frames is not None else min(FRAMES.default, session.steps + 1)
    if suffix in MOVIE_SUFFIXES:
        frame_steps(session.steps, frames)  # too many frames: refused before any work
    if suffix in (".csv", ".json"):
        return _write_paths(session, out)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt loads: headless, whatever the desktop
    return _render(session, out, size, fps, frames, args.view)


def _write_paths(session: Session, out) -> int:
    from optviz.commands.paths import to_csv, to_json
    from optviz.core.simulate import simulate

    paths = simulate(session.make_surface(), session.enabled_choices(), session.starts, session.steps,
                     device=session.device)
    text = to_json(paths, session) if out.suffix.lower() == ".json" else to_csv(paths)
    write_or_keep(out, lambda path: write_atomic(path, text))
    print(f"wrote {out} ({plural(paths.positions.shape[0], 'optimizer', 'optimizers')} × "
          f"{plural(paths.positions.shape[1], 'start', 'starts')}, {paths.steps} steps)", file=sys.stderr)
    return 0


def _render(session: Session, out, size: tuple[int, int], fps: int, frames: int, view: str) -> int:
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    previous = qInstallMessageHandler(_quiet_offscreen)
    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 — the views need one
    try:
        return _render_with_qt(session, out, size, fps, frames, view)
    finally:
        qInstallMessageHandler(previous)


def _quiet_offscreen(mode, context, message: str) -> None:
    """Qt's offscreen platform warns that it cannot propagate size hints: true, and nothing for the user."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def _render_with_qt(session: Session, out, size: tuple[int, int], fps: int, frames: int, view: str) -> int:
    import pyqtgraph as pg

    from optviz.core.field import with_points
    from optviz.ui.export import FrameRenderer, png_bytes, save_picture, write_animation
    from optviz.ui.playground.compute import compute_field, compute_points, compute_result
    from optviz.ui.playground.model import complete_entries

    pg.setConfigOptions(antialias=True)
    session = session.with_(optimizers=complete_entries(session.optimizers))
    result = compute_result(session, session.steps, False)
    field = with_points(compute_field(session), *compute_points(session)[1:])
    renderer = FrameRenderer(session, result, field, size, view)
    try:
        suffix = out.suffix.lower()
        if suffix in MOVIE_SUFFIXES:
            bar = _ProgressBar(f"rendering {out.name}", frames)
            write_animation(renderer, out, fps, frames, bar.update)
            bar.done()
            print(f"wrote {out} ({frames} frames, {size[0]}×{size[1]}, {fps} fps)", file=sys.stderr)
        elif suffix == ".png":
            png = png_bytes(renderer.image(renderer.last_step, label=False))
            write_or_keep(out, lambda path: write_atomic(path, png))
            print(f"wrote {out} ({size[0]}×{size[1]})", file=sys.stderr)
        else:
            renderer.model.set_step(renderer.last_step)
            save_picture(renderer.widget, out)
            print(f"wrote {out} ({size[0]}×{size[1]})", file=sys.stderr)
    finally:
        renderer.close()
    return 0


class _ProgressBar:
    """``rendering x.gif [#######.....]  37/120`` on stderr when it is a terminal; silent otherwise."""

    WIDTH = 30

    def __init__(self, title: str, total: int) -> None:
        self.title, self.total = title, total
        self.tty = sys.stderr.isatty()
        self._last = 0.0

    def update(self, done: int, total: int) -> bool:
        now = time.monotonic()
        if self.tty and (now - self._last > 0.1 or done == total):
            self._last = now
            filled = self.WIDTH * done // max(total, 1)
            sys.stderr.write(f"\r{self.title} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}")
            sys.stderr.flush()
        return True

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
