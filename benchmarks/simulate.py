"""Speed of optviz.simulate on both engines against the plain torch.optim loop (one optimizer, one start at a time).

    python benchmarks/simulate.py [--steps 300] [--device cpu|cuda]

Prints wall times and ratios measured in this run: the baseline and optviz on the same machine, same work. The
fast engine runs on the CPU only; with --device cuda its column is left out.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from optviz.core.optimizers import REGISTRY, OptimizerChoice
from optviz.core import engine
from optviz.core.simulate import simulate
from optviz.core.surfaces import get_surface


def torch_loop(surface, choices, starts, steps, device):
    for choice in choices:
        for start in starts:
            x = torch.tensor(start, dtype=torch.float64, device=device, requires_grad=True)
            opt = choice.build([x])
            for _ in range(steps):
                opt.zero_grad()
                surface(x).backward()
                opt.step()


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    surface = get_surface("himmelblau")
    choices = [OptimizerChoice(n, {"lr": 0.01}) for n in REGISTRY]
    rng = np.random.default_rng(0)
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, device {args.device}; 6 optimizers, {args.steps} steps, float64")
    fast = args.device == "cpu"
    if fast:
        engine.library(surface)  # built (or loaded) before anything is timed
    print(f"{'starts':>7} {'torch.optim loop s':>19} {'eager engine s':>15} {'speed-up':>9}"
          + (f" {'fast engine s':>14} {'speed-up':>9}" if fast else ""))
    for n in (1, 8, 64, 512):
        starts = rng.uniform(-4, 4, size=(n, 2))
        t_eager = best_of(lambda: simulate(surface, choices, starts, args.steps, device=args.device, engine="eager"))
        t_fast = best_of(lambda: simulate(surface, choices, starts, args.steps, engine="fast")) if fast else 0.0
        t_ref = best_of(lambda: torch_loop(surface, choices, starts, args.steps, args.device), repeat=1) \
            if n <= 64 else float("nan")
        line = f"{n:>7} {t_ref:>19.3f} {t_eager:>15.3f} {t_ref / t_eager:>8.1f}×"
        print(line + (f" {t_fast:>14.4f} {t_ref / t_fast:>8.0f}×" if fast else ""))
    print("(the torch.optim loop is skipped above 64 starts: nan)")

if __name__ == "__main__":
    main()
