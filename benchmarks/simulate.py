"""Speed of optviz.simulate against the plain torch.optim loop (one optimizer, one start point at a time).

    python benchmarks/simulate.py [--steps 300] [--device cpu|cuda]

Prints wall times and ratios measured in this run: the baseline and optviz on the same machine, same work.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from optviz.core.optimizers import REGISTRY, OptimizerChoice
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
    print(f"{'starts':>7} {'torch.optim loop s':>19} {'optviz.simulate s':>18} {'speed-up':>9}")
    for n in (1, 8, 64, 512):
        starts = rng.uniform(-4, 4, size=(n, 2))
        t_sim = best_of(lambda: simulate(surface, choices, starts, args.steps, device=args.device))
        if n <= 64:
            t_ref = best_of(lambda: torch_loop(surface, choices, starts, args.steps, args.device), repeat=1)
            print(f"{n:>7} {t_ref:>19.3f} {t_sim:>18.3f} {t_ref / t_sim:>8.1f}×")
        else:
            print(f"{n:>7} {'(skipped)':>19} {t_sim:>18.3f}")


if __name__ == "__main__":
    main()
