"""Soak: many animation frames, recomputes and short trainings in one window; memory and threads at the end.

    QT_QPA_PLATFORM=offscreen python benchmarks/soak.py [--frames 20000] [--recomputes 2000] [--trainings 20]

Offscreen, in one MainWindow: ``--frames`` animation frames (the model's step moved and the views redrawn, as the
animation timer does), ``--recomputes`` recomputes (a hyperparameter changed, the paths computed in the worker and
drawn; every tenth also moves a start point and every hundredth changes the surface), then ``--trainings`` short
trainings started and stopped at random moments. Prints the resident memory after warm-up and at the end (goal:
growth < 50 MB; the warm-up includes one training, so loading a dataset and torch's first training kernels
count as start-up, not growth; every run stays in the runs list, about 1 MB each) and the threads left when the
window has closed (goal: only the main thread).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import threading
import time


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=20_000)
    ap.add_argument("--recomputes", type=int, default=2_000)
    ap.add_argument("--trainings", type=int, default=20)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from optviz.core.surfaces import SURFACES
    from optviz.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = QSettings(os.path.join(os.environ.get("TMPDIR", "/tmp"), "optviz-soak.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, remember=False, autoplay=False)
    window.resize(1400, 900)
    window.show()
    tab, model = window.playground, window.playground.model
    rng = random.Random(0)

    def recompute(i: int) -> None:
        entry = rng.randrange(len(model.entries))
        model.set_hyper(entry, {"lr": 10 ** rng.uniform(-3, -1)})
        if i % 10 == 0:
            (x0, x1), (y0, y1) = model.surface.view
            model.move_start(0, rng.uniform(x0, x1), rng.uniform(y0, y1))
        if i % 100 == 99:
            model.set_surface(rng.choice(list(SURFACES)))
        tab.wait_until_computed(120)

    training = window.training
    training.set_config({"dataset": "mnist5k", "subset": 500, "model": "mlp", "width": 4, "epochs": 50,
                         "device": "cpu"})

    def train_briefly() -> None:
        training.start()
        end = time.monotonic() + rng.uniform(0.05, 1.5)
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)
        training.stop()
        while training.is_running():
            app.processEvents()
            time.sleep(0.01)

    for i in range(20):  # warm-up: every code path once (a training too), caches filled, datasets loaded
        recompute(i)
    train_briefly()
    baseline = rss_mb()
    t0 = time.perf_counter()
    for i in range(args.frames):
        model.set_step(i % (model.last_step + 1))
        if i % 20 == 0:
            app.processEvents()
    t_frames = time.perf_counter() - t0
    after_frames = rss_mb()
    t0 = time.perf_counter()
    for i in range(args.recomputes):
        recompute(i)
    t_recomputes = time.perf_counter() - t0
    after_recomputes = rss_mb()
    for _ in range(args.trainings):
        train_briefly()
    end_rss = rss_mb()
    window.close()
    app.processEvents()
    left = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    print(f"{args.frames} frames in {t_frames:.1f} s ({args.frames / t_frames:.0f}/s), {args.recomputes} recomputes "
          f"in {t_recomputes:.1f} s, {args.trainings} trainings started and stopped")
    print(f"RSS after warm-up {baseline:.0f} MB; after the frames {after_frames:.0f} MB; after the recomputes "
          f"{after_recomputes:.0f} MB; at the end {end_rss:.0f} MB; growth {end_rss - baseline:+.0f} MB (goal < 50 MB)")
    print(f"threads left after closing: {len(left)} {left} (goal: none but the main thread)")


if __name__ == "__main__":
    main()
