"""Throughput of the trainer with every live metric on, against a bare PyTorch loop on the same model and data.

    python benchmarks/train.py [--model lenet] [--epochs 2] [--repeats 5]

Both train the same network from the same initial weights on the same batches (the trainer's own Loader), in the
same process, alternating, so a busy machine slows both alike. The bare loop is zero_grad / forward /
cross-entropy / backward / step and nothing else. The trainer runs with every live metric on: per-batch events
(loss, lr, per-layer gradient norms, samples/s, accuracy), per-epoch validation and pictures with a weights
snapshot, the final test evaluation and confusion matrix. Samples/s = training samples / wall time, for the
trainer both over its training batches (what the ≤ 10% target is about) and end to end; the best of
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
from optviz.training.events import BatchEvent
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


def trainer_run(config: TrainConfig, splits) -> tuple[float, float]:
    """Samples/s of ``Trainer.run``: over its training batches, and end to end (validation, pictures, test too).

    A batch's time runs from the event before its BatchEvent to the BatchEvent: the control check, fetching the
    batch, the step with all its metrics and the event itself. The events are collected as the GUI's queue would.
    """
    events: list = []
    batch_seconds = 0.0
    last = time.perf_counter()

    def on_event(event) -> None:
        nonlocal batch_seconds, last
        now = time.perf_counter()
        if isinstance(event, BatchEvent):
            batch_seconds += now - last
        events.append(event)
        last = now

    t0 = time.perf_counter()
    Trainer(config, splits=splits).run(on_event)
    samples = config.epochs * len(splits.train[1])
    return samples / batch_seconds, samples / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=MODELS, default="lenet")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(model=args.model, epochs=args.epochs, batch_size=args.batch_size, device="cpu")
    splits = prepare(config)
    print(f"{args.model} on mnist5k: {len(splits.train[1])} training samples × {args.epochs} epochs, batch "
          f"{args.batch_size}; {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    bare_loop(dataclasses.replace(config, epochs=1), splits)  # warm up both paths
    trainer_run(dataclasses.replace(config, epochs=1), splits)
    bare, loop, whole = [], [], []
    for i in range(args.repeats):
        order = (bare_loop, trainer_run) if i % 2 == 0 else (trainer_run, bare_loop)
        for fn in order:
            if fn is bare_loop:
                bare.append(bare_loop(config, splits))
            else:
                a, b = trainer_run(config, splits)
                loop.append(a)
                whole.append(b)
        print(f"  repeat {i + 1}: bare {bare[-1]:,.0f} samples/s; trainer {loop[-1]:,.0f} over its batches, "
              f"{whole[-1]:,.0f} end to end", flush=True)
    for name, values in (("bare loop", bare), ("trainer, batches", loop), ("trainer, end to end", whole)):
        print(f"{name:20s} best {max(values):8,.0f}   median {statistics.median(values):8,.0f} samples/s")
    for name, values in (("batches", loop), ("end to end", whole)):
        print(f"overhead, {name:10s} {1 - max(values) / max(bare):6.1%} (best of {args.repeats}), "
              f"{1 - statistics.median(values) / statistics.median(bare):6.1%} (medians)")
    print("target: ≤ 10% over the batches")


if __name__ == "__main__":
    main()
