"""Gradient flow: PlainNet-20 against ResNet-20 — the ratio of the first layer's gradient norm to the last's.

    python benchmarks/gradflow.py [--steps 100] [--batchnorm] [--activation relu]

Both networks train on MNIST 5k with Adam defaults from the same seed for ``--steps`` steps; the trainer reports
every layer's gradient norm at every step. Without skip connections the gradient reaching the first layer of a
20-layer network is vanishingly small next to the last layer's; the skips of ResNet carry it back. The same
numbers come from ``optviz train --model plain20 --max-steps 100 --json`` (its ``grad_norms``).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from optviz.training.config import ACTIVATIONS, TrainConfig
from optviz.training.trainer import Trainer


def ratios(model: str, steps: int, batchnorm: bool, activation: str, seed: int) -> tuple[list[str], np.ndarray, float]:
    """Layer names, the per-layer gradient norms of every step (steps × layers) and the run's seconds."""
    config = TrainConfig(model=model, max_steps=steps, epochs=1 + steps // 50, batchnorm=batchnorm,
                         activation=activation, seed=seed, device="cpu")
    t0 = time.perf_counter()
    metrics = Trainer(config).run().metrics[0]
    return list(metrics.layer_names), np.array(metrics.grad_norms), time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batchnorm", action="store_true")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    print(f"MNIST 5k, Adam defaults, batch 32, {args.steps} steps, activation {args.activation}, "
          f"BatchNorm {'on' if args.batchnorm else 'off'}; {platform.machine()}, torch {torch.__version__}")
    for model in ("plain20", "resnet20"):
        names, norms, seconds = ratios(model, args.steps, args.batchnorm, args.activation, args.seed)
        last = norms[-1]
        convs = [i for i, n in enumerate(names) if "shortcut" not in n and n != "classifier"]
        print(f"{model:9s} step {len(norms)}: |g| {names[0]} {last[0]:.3e}, {names[-1]} {last[-1]:.3e} → "
              f"first/last {last[0] / last[-1]:.3e}; first/last conv ({names[convs[-1]]}) "
              f"{last[0] / last[convs[-1]]:.3e}; at step 1 {norms[0][0] / norms[0][-1]:.3e}  ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
