"""Soak: many animation frames, recomputes and short trainings in one window; memory and threads at the end.

    QT_QPA_PLATFORM=offscreen python benchmarks/soak.py [--frames 20000] [--recomputes 2000] [--trainings 20]

Offscreen, in one MainWindow: ``--frames`` animation frames (the model's step moved and the views redrawn, as the
animation timer does), ``--recomputes`` recomputes (a hyperparameter changed, the paths computed in the worker and
drawn; every tenth also moves a start point and every hundredth changes the surface), then ``--trainings`` short
trainings started and stopped at random moments. Prints the resident memory after warm-up, after each phase and at
the end (goal: growth < 50 MB; the warm-up includes one training, so loading a dataset and torch's first training
kernels count as start-up, not growth) and the threads left when the window has closed (goal: only the main
thread). Every reading is taken after a second at rest (events processed, as when the user pauses), so deferred
work such as the heap trim after a surface change (core/memory.py) has run.

Every run stays in the runs list, with its weights, optimizer state and weight trajectory (for the loss-landscape
view, trajectory.py: at most 33 snapshots of the weights): the tensors and arrays the runs list holds are printed
with the last reading, and the runs are then removed to show that the memory they held is given back.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import sys
import threading
import time


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def heap_mb() -> tuple[float, float] | None:
    """glibc's (in use, free but kept) heap in MB (``mallinfo2``), or None on another C library."""
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                          "fsmblks", "uordblks", "fordblks", "keepcost")]

    try:
        fn = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = MallInfo2
    info = fn()
    return (info.uordblks + info.hblkhd) / 2**20, info.fordblks / 2**20


def held_mb(records) -> float:
    """MB of tensor storage and numpy arrays reachable from ``records`` through dataclasses, dicts and sequences."""
    import dataclasses

    import numpy as np
    import torch

    seen, total, stack = set(), 0, list(records)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type)):
            continue
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            storage = obj.untyped_storage()
            if storage.data_ptr() not in seen:
                seen.add(storage.data_ptr())
                total += storage.nbytes()
        elif isinstance(obj, np.ndarray):
            base = obj if obj.base is None else obj.base
            if isinstance(base, np.ndarray) and id(base) not in seen:
                seen.add(id(base))
                total += base.nbytes
        elif dataclasses.is_dataclass(obj):
            stack.extend(getattr(obj, f.name, None) for f in dataclasses.fields(obj))
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
    return total / 2**20


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

    heap: dict[str, tuple[float, float] | None] = {}

    def at_rest(label: str) -> float:
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)
        heap[label] = heap_mb()
        return rss_mb()

    for i in range(20):  # warm-up: every code path once (a training too), caches filled, datasets loaded
        recompute(i)
    train_briefly()
    baseline = at_rest("warm-up")
    t0 = time.perf_counter()
    for i in range(args.frames):
        model.set_step(i % (model.last_step + 1))
        if i % 20 == 0:
            app.processEvents()
    t_frames = time.perf_counter() - t0
    after_frames = at_rest("frames")
    t0 = time.perf_counter()
    for i in range(args.recomputes):
        recompute(i)
    t_recomputes = time.perf_counter() - t0
    after_recomputes = at_rest("recomputes")
    for _ in range(args.trainings):
        train_briefly()
    end_rss = at_rest("trainings")
    runs_held = held_mb(list(training.model.runs))
    training.model.remove([r.id for r in training.model.runs])  # as the Delete button does (it trims the heap)
    gc.collect()
    removed_rss = at_rest("runs removed")
    window.close()
    app.processEvents()
    left = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    print(f"{args.frames} frames in {t_frames:.1f} s ({args.frames / t_frames:.0f}/s), {args.recomputes} recomputes "
          f"in {t_recomputes:.1f} s, {args.trainings} trainings started and stopped")
    print(f"RSS after warm-up {baseline:.0f} MB; after the frames {after_frames:.0f} MB; after the recomputes "
          f"{after_recomputes:.0f} MB; at the end {end_rss:.0f} MB; growth {end_rss - baseline:+.0f} MB (goal < 50 MB)")
    print(f"the runs list held {runs_held:.0f} MB of tensors and arrays ({args.trainings + 1} runs; a run's weights, "
          f"optimizer state and trajectory are a mapped file, resident only when read); with every run "
          f"removed: RSS {removed_rss:.0f} MB, growth {removed_rss - baseline:+.0f} MB")
    if heap["warm-up"] is not None:  # where RSS grew: memory in use, or freed but kept by malloc (fragmentation)
        used0, free0 = heap["warm-up"]
        print("heap (glibc) in use / free but kept, change from the warm-up: " + "; ".join(
            f"{label} {used - used0:+.0f} / {free - free0:+.0f} MB" for label, (used, free) in heap.items()
            if label != "warm-up"))
    print(f"threads left after closing: {len(left)} {left} (goal: none but the main thread)")


if __name__ == "__main__":
    main()
