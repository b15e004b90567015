"""The playground's map views, computed as the GUI computes them (no window): basin maps sliced for Cancel, and
the stability map that follows a dragged start.

    python benchmarks/maps_view.py [--resolution 128] [--steps 300] [--repeat 3]

Baseline in the same run: ``optviz.core.basins.basins()`` on the same inputs in one piece (what ``optviz basins``
runs). Printed: the view's time for all enabled optimizers' maps (the default session: six optimizers on
Himmelblau), its ratio to the baseline (the price of slicing the grid into Cancel-sized blocks), the cancel
latency bound (one block), and the stability map's time (64 × 64 cells, lr × momentum) per dragged position.
Both use the fast engine where a C compiler exists (its build is warmed up first, not timed).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from optviz.core.basins import basins
from optviz.core.presets import default_session
from optviz.ui.playground import map_data


class _Ticket:
    """What the view's job gets, without Qt: progress goes nowhere, nothing is ever cancelled."""

    def progress(self, done: int, total: int) -> None:
        pass


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    session = default_session().with_(steps=args.steps)
    surface = session.make_surface()
    choices = [e.choice for e in session.optimizers if e.enabled]
    ticket = _Ticket()
    basins(surface, choices[:1], 8, 5)  # warm-up: the kernel (built or loaded), the minima
    view = best(lambda: map_data.compute_basins(ticket, session, args.resolution), args.repeat)
    core = best(lambda: basins(surface, choices, args.resolution, args.steps), args.repeat)
    engine = map_data.compute_basins(ticket, session, 8).basins.engine
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; engine {engine}")
    print(f"basins view: {len(choices)} optimizers × {args.resolution}² starts × {args.steps} steps: "
          f"{view:.3f} s (core basins() in one piece: {core:.3f} s, ratio {view / core:.2f})")
    rows = min(map_data.BLOCK_ROWS, args.resolution**2)
    block = view / len(choices) * rows / args.resolution**2
    print(f"cancel waits for one block of {rows} starts: about {block * 1e3:.0f} ms here")
    entry = [e.choice.name for e in session.optimizers].index("momentum")
    starts = [(1.5 - 0.1 * k, -4.0 + 0.1 * k) for k in range(args.repeat * 3)]
    times = []
    for start in starts:
        t = time.perf_counter()
        map_data.compute_stability(ticket, session, entry, start, "momentum", 64)
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"stability map 64 × 64 (lr × momentum) × {args.steps} steps per dragged position: median "
          f"{times[len(times) // 2] * 1e3:.1f} ms, worst {times[-1] * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
