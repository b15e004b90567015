"""Exporting the playground's animation: what one frame costs, against a plain grab of the same view.

    python benchmarks/export.py [--size 800x600] [--frames 60]

The baseline is ``widget.grab()`` of the offscreen surface view at a new step (the least any frame can cost);
then a labelled frame as numpy, a GIF frame (+ quantising), an MP4 frame (+ H.264 through ffmpeg), and the whole
`write_animation` for GIF and MP4 including the file's write. Ratios compare numbers from this run only.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="800x600")
    ap.add_argument("--frames", type=int, default=60)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841
    import pyqtgraph as pg

    from optviz.core.field import with_points
    from optviz.core.movie import MovieWriter, frame_steps, parse_size
    from optviz.core.presets import default_session
    from optviz.ui.export import FrameRenderer, write_animation
    from optviz.ui.playground.compute import compute_field, compute_points, compute_result
    from optviz.ui.playground.model import complete_entries

    pg.setConfigOptions(antialias=True)
    size = parse_size(args.size)
    session = default_session()
    session = session.with_(optimizers=complete_entries(session.optimizers))
    result = compute_result(session, session.steps, False)
    field = with_points(compute_field(session), *compute_points(session)[1:])
    renderer = FrameRenderer(session, result, field, size)
    steps = frame_steps(renderer.last_step, args.frames)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {size[0]}×{size[1]}, "
          f"{args.frames} frames of {renderer.last_step} steps, Himmelblau, 6 optimizers")

    def per_frame(fn) -> float:
        t = time.perf_counter()
        for s in steps:
            fn(s)
        return (time.perf_counter() - t) / len(steps) * 1e3

    def grab(s):
        renderer.model.set_step(s)
        renderer.widget.grab()

    base = per_frame(grab)
    rows = [("grab (baseline)", base), ("labelled frame as numpy", per_frame(renderer.frame))]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("gif", "mp4"):
            writer = MovieWriter(os.path.join(tmp, f"w.{kind}"), 20, colors=renderer.colors())
            rows.append((f"frame + {kind.upper()} encoding", per_frame(lambda s: writer.add(renderer.frame(s)))))
            writer.abort()
        for kind in ("gif", "mp4"):
            path = os.path.join(tmp, f"a.{kind}")
            t = time.perf_counter()
            write_animation(renderer, path, 20, args.frames)
            ms = (time.perf_counter() - t) / args.frames * 1e3
            rows.append((f"write_animation {kind.upper()} (whole file)", ms))
            print(f"  {kind.upper()}: {os.path.getsize(path) / 1e6:.2f} MB")
    renderer.close()
    print(f"{'':38s} {'ms/frame':>9s} {'× grab':>7s}")
    for name, ms in rows:
        print(f"{name:38s} {ms:9.1f} {ms / base:7.2f}")


if __name__ == "__main__":
    main()
