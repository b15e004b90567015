"""Loss-landscape slice: optviz's evaluator against the load-weights-per-point loop, measured in the same run.

    python benchmarks/landscape.py [--resolution 41] [--probe 1000] [--baseline-points 60] [--repeat 1]
                                   [--device cpu|cuda]

A LeNet-5 (trained for 100 steps on MNIST 5k, so the slice is not of random weights) is sliced along two
filter-normalised random directions on a resolution × resolution grid, its loss averaged over ``--probe``
training images. The baseline is the original code's approach (Li et al.'s ``plot_surface.py``): for every grid
point, load the point's weights into the model (``load_state_dict``) and evaluate it. The baseline is timed on
``--baseline-points`` points (the first of the grid, the same points), half just before optviz's slice and half
just after it (so that a change in the machine's load weighs on both sides alike), and scaled to the whole grid;
both use the trainer's thread policy (``training_threads``). Prints the seconds of each, their ratio and the
largest difference between the two on the timed points, and on the CPU the CPU seconds too (steadier than wall
time on a shared machine; with one thread they are the work done); ``--repeat`` runs it all again and prints the
range of the ratios. On CUDA (``--device cuda``, or present) the GPU figures are printed too.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
import torch.nn.functional as F

from optviz.training.config import TrainConfig
from optviz.training.landscape import filter_normalised, probe_data, slice_landscape, trainable
from optviz.training.trainer import Trainer, training_threads


def baseline(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, center: torch.Tensor, d1: torch.Tensor,
             d2: torch.Tensor, points: list[tuple[float, float]],
             device: torch.device) -> tuple[np.ndarray, float, float]:
    """Load each point's weights into the model and evaluate it; (losses, wall seconds, CPU seconds)."""
    model = model.to(device).eval()
    if not points:
        return np.zeros(0), 0.0, 0.0
    x, y = x.to(device), y.to(device)
    names = [n for n, _ in trainable(model)]
    sizes = [p.numel() for _, p in trainable(model)]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    out = []
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for a, b in points:
            flat = (center + a * d1 + b * d2).to(device)
            for name, part in zip(names, torch.split(flat, sizes)):
                state[name] = part.view(state[name].shape)
            model.load_state_dict(state)
            out.append(float(F.cross_entropy(model(x), y)))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return np.array(out), time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--resolution", type=int, default=41)
    p.add_argument("--probe", type=int, default=1000)
    p.add_argument("--baseline-points", type=int, default=60)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--device", choices=("cpu", "cuda"), default=None)
    args = p.parse_args()
    torch.set_num_threads(training_threads())
    config = TrainConfig(model="lenet", max_steps=100, epochs=1, device="cpu")
    trained = Trainer(config).run()
    model = trained.model(0)
    x, y = probe_data(trained.config, trained.data, args.probe)
    devices = [args.device] if args.device else (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    print(f"LeNet-5, {args.resolution}×{args.resolution} grid, probe {len(y)} images, {torch.get_num_threads()} "
          f"thread(s); {platform.machine()}, torch {torch.__version__}")
    ratios: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for name in devices:
            measure(name, model, trained.model(0), x, y, args, ratios)
    if args.repeat > 1:
        for what, values in ratios.items():
            print(f"{what}: {min(values):.1f}–{max(values):.1f}× over {len(values)} runs")


def measure(name: str, model: torch.nn.Module, fresh: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
            args: argparse.Namespace, ratios: dict[str, list[float]]) -> None:
    """One slice by optviz between the two halves of the baseline's points; prints a line, appends the ratios."""
    device = torch.device(name)
    n = args.resolution
    center = torch.cat([q.reshape(-1) for _, q in trainable(model)])
    g = torch.Generator().manual_seed(0)
    d1, d2 = (filter_normalised([q for _, q in trainable(model)], g) for _ in range(2))
    axis = np.linspace(-1.0, 1.0, n)  # slice_landscape's axis for random directions
    points = [(float(axis[j]), float(axis[i])) for i in range(n) for j in range(n)][:args.baseline_points]
    half = len(points) // 2
    ref1, seconds1, cpu1 = baseline(fresh, x, y, center, d1, d2, points[:half], device)
    t0, c0 = time.perf_counter(), time.process_time()
    result = slice_landscape(model, x, y, resolution=n, device=name, seed=0, trajectory=None)
    if device.type == "cuda":
        torch.cuda.synchronize()
    ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
    ref2, seconds2, cpu2 = baseline(fresh, x, y, center, d1, d2, points[half:], device)
    assert np.allclose(result.alphas, axis)
    ref, seconds, cpu = np.concatenate([ref1, ref2]), seconds1 + seconds2, cpu1 + cpu2
    scale = n * n / len(points)
    diff = float(np.abs(result.loss.ravel()[:len(points)] - ref).max())
    ratios.setdefault(f"{name} wall", []).append(seconds * scale / ours)
    cpu_text = ""
    if device.type == "cpu":
        ratios.setdefault(f"{name} CPU time", []).append(cpu * scale / ours_cpu)
        cpu_text = f"; CPU time {ours_cpu:.1f} s vs {cpu * scale:.1f} s → {cpu * scale / ours_cpu:.1f}×"
    print(f"{name}: optviz {ours:.2f} s ({1e3 * ours / (n * n):.1f} ms/point), load-weights loop "
          f"{seconds * scale:.2f} s ({1e3 * seconds / len(points):.1f} ms/point, timed on {len(points)} "
          f"points) → {seconds * scale / ours:.1f}× faster (wall){cpu_text}; largest difference {diff:.1e}",
          flush=True)


if __name__ == "__main__":
    main()
