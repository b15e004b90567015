"""Basin maps: 256×256 starts × 300 steps for each of the six optimizers, in point-steps per second.

    python benchmarks/basins.py [--resolution 256] [--steps 300] [--eager]

Baseline in the same run: the batched torch.optim loop over the same (N, 2) tensor of starts, one optimizer after
another (forward, backward, step; no bookkeeping). optviz: ``basins()`` end to end (statuses and labels
included) on the fast engine (CPU), and with ``--eager`` on the eager engine; where CUDA is present, the
baseline and the eager engine also on the GPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from optviz.core.basins import basins, grid, race
from optviz.core.presets import PRESETS


def baseline(surface, choices, starts, steps: int, device: str) -> None:
    for choice in choices:
        x = torch.tensor(starts, dtype=torch.float64, device=device, requires_grad=True)
        opt = choice.build([x])
        for _ in range(steps):
            opt.zero_grad()
            surface(x).sum().backward()
            opt.step()
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--eager", action="store_true", help="also time the eager engine on the CPU (slow)")
    args = ap.parse_args()
    session = PRESETS["himmelblau"].session
    surface, choices = session.make_surface(), session.enabled_choices()
    _, _, starts = grid(surface, args.resolution)
    work = len(choices) * len(starts) * args.steps
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}; load {os.getloadavg()[0]:.1f}")
    print(f"work: {len(choices)} optimizers × {args.resolution}×{args.resolution} starts × {args.steps} steps "
          f"on Himmelblau (the preset's learning rates), float64 = {work / 1e6:.0f} M point-steps\n")

    basins(surface, choices, 8, 5)  # build (or load) the kernel outside the timing
    rows = []
    t_fast = timed(lambda: rows.append(basins(surface, choices, args.resolution, args.steps, engine="fast")))
    t_base = timed(lambda: baseline(surface, choices, starts, args.steps, "cpu"))
    print(f"{'':38}{'seconds':>9} {'M point-steps/s':>16} {'vs baseline':>12}")
    print(f"{'baseline: batched torch.optim, CPU':38}{t_base:>9.2f} {work / t_base / 1e6:>16.1f}")
    print(f"{'optviz basins, fast engine, CPU':38}{t_fast:>9.2f} {work / t_fast / 1e6:>16.1f} "
          f"{t_base / t_fast:>11.1f}×   (goal ≥ 3×)")
    if args.eager:
        t_eager = timed(lambda: basins(surface, choices, args.resolution, args.steps, engine="eager", device="cpu"))
        print(f"{'optviz basins, eager engine, CPU':38}{t_eager:>9.2f} {work / t_eager / 1e6:>16.1f} "
              f"{t_base / t_eager:>11.1f}×")
    if torch.cuda.is_available():
        baseline(surface, choices, starts[:1024], 3, "cuda")  # warm-up
        t_gpu_base = timed(lambda: baseline(surface, choices, starts, args.steps, "cuda"))
        t_gpu = timed(lambda: basins(surface, choices, args.resolution, args.steps, engine="eager", device="cuda"))
        print(f"{'baseline: batched torch.optim, CUDA':38}{t_gpu_base:>9.2f} {work / t_gpu_base / 1e6:>16.1f}")
        print(f"{'optviz basins, eager engine, CUDA':38}{t_gpu:>9.2f} {work / t_gpu / 1e6:>16.1f} "
              f"{t_gpu_base / t_gpu:>11.1f}×")
    print()
    for r in race(rows[0]):
        print(f"  {r.label:<10} global {r.global_share:6.1%}  any {r.any_share:6.1%}  diverged {r.diverged_share:6.1%}"
              f"  median steps {r.median_steps:5.0f}  p90 {r.p90_steps:5.0f}")


if __name__ == "__main__":
    main()
