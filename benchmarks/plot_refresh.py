"""What live plotting costs the training: trainer samples/s with the training tab's plots redrawing vs not.

    QT_QPA_PLATFORM=offscreen python benchmarks/plot_refresh.py [--seconds 90] [--phase 3] [--model lenet]

One training run (a race of SGD, Momentum and Adam on MNIST 5k by default) in a shown 1400×900 training tab.
Every ``--phase`` seconds the live redraws (curves, gradient flow, pictures) are switched on or off; the events
are drained and stored either way, so the difference is the plotting alone. Throughput is measured in the worker
thread (a timestamp per batch), per phase; the first phase (warm-up) is dropped, and each plotting phase is
compared with the phases on either side of it, so that a slow drift of the machine's load cancels out. Also prints
how many redraws a second the tab made while plotting and how long one took on the GUI thread.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pyqtgraph as pg  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from optviz.training.events import BatchEvent  # noqa: E402
from optviz.training.trainer import Trainer  # noqa: E402
from optviz.ui.training.tab import REFRESH_HZ, TrainingTab  # noqa: E402


def stamped_runner(stamps: list[tuple[float, int]]):
    """A runner factory whose on_event also records (time, samples) of every batch, in the worker thread."""

    def factory(config):
        trainer = Trainer(config)

        def run(on_event, control):
            def on(event):
                if isinstance(event, BatchEvent):
                    stamps.append((time.perf_counter(), config.batch_size))
                on_event(event)
            return trainer.run(on, control)
        return run
    return factory


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=90.0, help="measure this long (default 90)")
    p.add_argument("--phase", type=float, default=3.0, help="seconds per on/off phase (default 3)")
    p.add_argument("--model", default="lenet")
    p.add_argument("--dataset", default="mnist5k")
    args = p.parse_args()

    app = QApplication.instance() or QApplication([])
    pg.setConfigOptions(antialias=True)
    tab = TrainingTab()
    tab.resize(1400, 900)
    tab.show()
    stamps: list[tuple[float, int]] = []
    tab.runner_factory = stamped_runner(stamps)
    tab.set_config({"dataset": args.dataset, "model": args.model, "epochs": 100, "device": "cpu",
                    "optimizers": ["sgd:lr=0.03", "momentum:lr=0.01", "adam"]})
    redraws: list[tuple[float, float]] = []  # (when, seconds) of each redraw while plotting
    refresh = tab._refresh_views

    def timed_refresh() -> None:
        t = time.perf_counter()
        refresh()
        if tab.live_plots:
            redraws.append((t, time.perf_counter() - t))
    tab._refresh_views = timed_refresh

    phases: list[tuple[bool, float, float]] = []  # (plotting, start, end)
    state = {"start": None}

    def switch() -> None:
        now = time.perf_counter()
        if state["start"] is not None:
            phases.append((tab.live_plots, state["start"], now))
            tab.live_plots = not tab.live_plots
        state["start"] = now
        if now - t0 >= args.seconds:
            tab.stop()
            app.quit()

    assert tab.start()
    while not stamps:  # data loading and the first batch are not part of the measurement
        app.processEvents()
    t0 = time.perf_counter()
    timer = QTimer(interval=int(args.phase * 1000))
    timer.timeout.connect(switch)
    switch()
    timer.start()
    app.exec()
    tab.shutdown()
    report(phases[1:], stamps, redraws)


def report(phases, stamps, redraws) -> None:
    rates = [sum(n for t, n in stamps if start <= t < end) / (end - start) for _, start, end in phases]
    on = [r for (plotting, _, _), r in zip(phases, rates) if plotting]
    off = [r for (plotting, _, _), r in zip(phases, rates) if not plotting]
    # each plotting phase against the mean of the phases on either side: the machine's load drifts slowly
    paired = [rates[i] / statistics.mean(rates[j] for j in (i - 1, i + 1) if 0 <= j < len(rates))
              for i, (plotting, _, _) in enumerate(phases) if plotting and len(rates) > 1]
    plotting = [(start, end) for on_, start, end in phases if on_]
    timed = [d for t, d in redraws if any(start <= t < end for start, end in plotting)]
    redraw_time = statistics.median(timed) if timed else float("nan")
    plotting_seconds = sum(end - start for start, end in plotting)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}, torch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s)")
    print(f"phases: {len(on)} plotting, {len(off)} not (first phase dropped as warm-up)")
    print(f"trainer samples/s, plots off: {statistics.mean(off):8.1f}")
    print(f"trainer samples/s, plots on:  {statistics.mean(on):8.1f}")
    print(f"cost of live plotting: {100 * (1 - statistics.median(paired)):+.1f}% (median over plotting phases, "
          f"each against its neighbours; quartiles {_quartiles(paired)})")
    print(f"redraws while plotting: {len(timed) / max(plotting_seconds, 1e-9):.1f}/s (timer {REFRESH_HZ} Hz), "
          f"median {1000 * redraw_time:.1f} ms each on the GUI thread")


def _quartiles(ratios: list[float]) -> str:
    if len(ratios) < 4:
        return "n/a"
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return f"{100 * (1 - q3):+.1f}% … {100 * (1 - q1):+.1f}%"


if __name__ == "__main__":
    main()
