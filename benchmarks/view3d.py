"""The playground's 3D view during the animation, against the 2D surface view in the same run.

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb python benchmarks/view3d.py \
        [--starts 32] [--steps 3000]

A grid of start points on Himmelblau with the six default optimizers; one animation frame = set the step and
repaint the view. The baseline is the 2D surface view's frame; the 3D view's is printed with its ratio, and the
one-off cost of lifting the paths (f at every drawn point) when a result arrives. Needs OpenGL (Xvfb and Mesa
are enough: that is software rendering, so a GPU does better).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--starts", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--frames", type=int, default=20)
    args = ap.parse_args()
    QApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication.instance() or QApplication([])
    from optviz.core.presets import default_session
    from optviz.ui.playground.tab import PlaygroundTab

    side = int(np.ceil(np.sqrt(args.starts)))
    grid = [(float(x), float(y)) for x in np.linspace(-4, 4, side) for y in np.linspace(-4, 4, side)]
    session = default_session().with_(starts=tuple(grid[: args.starts]), steps=args.steps)
    tab = PlaygroundTab(session, autoplay=False)
    tab.resize(1300, 800)
    tab.show()
    assert tab.wait_until_computed(600)
    n_points = sum(len(c.points) for row in tab.model.result.clipped for c in row)
    print(f"{args.starts} starts × 6 optimizers × {args.steps} steps: {n_points} drawn points")

    def frame_ms(view) -> float:
        t = time.perf_counter()
        for k in range(args.frames):
            tab.model.set_step(args.steps // 2 + k)
            view.repaint()
        return (time.perf_counter() - t) / args.frames * 1e3

    base = frame_ms(tab.surface_view)
    tab.middle_tabs.setCurrentWidget(tab.view3d)
    for _ in range(5):
        app.processEvents()
    surface3d = tab.view3d.surface3d
    if not surface3d.available:
        print(f"no 3D: {surface3d.problem}")
        return
    t = time.perf_counter()
    tab.view3d._build_rows()
    lift_ms = (time.perf_counter() - t) * 1e3
    three = frame_ms(surface3d.view)
    tab.shutdown()
    print(f"{'2D surface view frame (baseline)':40s} {base:8.1f} ms  1.00")
    print(f"{'3D view frame':40s} {three:8.1f} ms  {three / base:.2f}")
    print(f"{'3D: lift the paths of a new result':40s} {lift_ms:8.1f} ms  {lift_ms / base:.2f}")


if __name__ == "__main__":
    main()
