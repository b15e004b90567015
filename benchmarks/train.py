"""Throughput of the trainer with every live metric on, against a bare PyTorch loop on the same model and data.

    python benchmarks/train.py [--model lenet] [--epochs 2] [--repeats 5]

Both train the same network from the same initial weights on the same batches (the trainer's own Loader), in the
same process, alternating, so a busy machine slows both alike. The bare loop is zero_grad / forward /
cross-entropy / backward / step and nothing else. The trainer's time is its whole ``run``: per-batch events
(loss, lr, per-layer gradient norms, samples/s, accuracy), per-epoch validation and pictures with a weights
snapshot, the final test evaluation and confusion matrix. Samples/s = training samples / wall time; the best of
``--repeats`` of each is compared (the least disturbed by other processes), and the medians are printed too.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from optviz.training.config import MODELS, TrainConfig
from optviz.training.data import Loader, prepare
from optviz.training.models import build_model
from optviz.training.trainer import Trainer


def bare_loop(config: TrainConfig, splits) -> float:
    """Samples/s of the plainest PyTorch training loop."""
    torch.manual_seed(config.seed)
    c, h, _ = splits.image_shape
    model = build_model(config, c, len(splits.classes), h)
    opt = torch.optim.Adam(model.parameters())
    loader = Loader(splits.train, splits.mean, splits.std, batch_size=config.batch_size, device=torch.device("cpu"),
                    shuffle=True, seed=config.seed)
    model.train()
    t0 = time.perf_counter()
    for _ in range(config.epochs):
        for x, y in loader:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
    return config.epochs * len(splits.train[1]) / (time.perf_counter() - t0)


def trainer_run(config: TrainConfig, splits) -> float:
    """Samples/s of ``Trainer.run`` end to end, its events collected as the GUI's queue would."""
    events: list = []
    t0 = time.perf_counter()
    Trainer(config, splits=splits).run(events.append)
    return config.epochs * len(splits.train[1]) / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=MODELS, default="lenet")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    args = p.parse_args()
    config = TrainConfig(model=args.model, epochs=args.epochs, batch_size=args.batch_size, device="cpu")
    splits = prepare(config)
    print(f"{args.model} on mnist5k: {len(splits.train[1])} training samples × {args.epochs} epochs, batch "
          f"{args.batch_size}; {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    bare_loop(dataclasses.replace(config, epochs=1), splits)  # warm up both paths
    trainer_run(dataclasses.replace(config, epochs=1), splits)
    bare, full = [], []
    for i in range(args.repeats):
        order = (bare_loop, trainer_run) if i % 2 == 0 else (trainer_run, bare_loop)
        for fn in order:
            (bare if fn is bare_loop else full).append(fn(config, splits))
        print(f"  repeat {i + 1}: bare {bare[-1]:,.0f} samples/s, trainer {full[-1]:,.0f} samples/s", flush=True)
    best = 1 - max(full) / max(bare)
    median = 1 - statistics.median(full) / statistics.median(bare)
    print(f"bare loop  best {max(bare):,.0f}  median {statistics.median(bare):,.0f} samples/s")
    print(f"trainer    best {max(full):,.0f}  median {statistics.median(full):,.0f} samples/s")
    print(f"overhead   {best:.1%} (best of {args.repeats}), {median:.1%} (medians)  — target ≤ 10%")


if __name__ == "__main__":
    main()
