"""Throughput of the trainer with every live metric on, against a bare PyTorch loop on the same model and data.

    python benchmarks/train.py [--model lenet] [--epochs 2] [--repeats 7] [--threads N] [--cli]

Both train the same network from the same initial weights on the same batches (the trainer's own Loader), in the
same process, alternating, so a busy machine slows both alike. The bare loop is zero_grad / forward /
cross-entropy / backward / step and nothing else. The trainer runs with every live metric on: per-batch events
(loss, lr, per-layer gradient norms, samples/s, accuracy), per-epoch validation and pictures with a weights
snapshot, the final test evaluation and confusion matrix.

Samples/s = training samples / time, for the trainer both over its training batches (what the ≤ 10% target is
about) and end to end, in wall-clock time and in CPU time of the process. The best of ``--repeats`` is compared
(the least disturbed by other processes) and the medians are printed too. On a shared machine the wall-clock
figures swing with the load; with ``--threads 1`` the CPU-time figures hardly do.

``--cli`` instead compares, end to end, ``optviz train`` in its own process with the training tab's worker
thread on the same config (they share one thread policy; the CLI was once 20–50× slower with torch's default).
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


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def bare_loop(config: TrainConfig, splits) -> dict[str, tuple[float, float]]:
    """(wall, CPU) samples/s of the plainest PyTorch training loop."""
    torch.manual_seed(config.seed)
    c, h, _ = splits.image_shape
    model = build_model(config, c, len(splits.classes), h)
    opt = torch.optim.Adam(model.parameters())
    loader = Loader(splits.train, splits.mean, splits.std, batch_size=config.batch_size, device=torch.device("cpu"),
                    shuffle=True, seed=config.seed)
    model.train()
    wall, cpu = _clocks()
    for _ in range(config.epochs):
        for x, y in loader:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
    end_wall, end_cpu = _clocks()
    samples = config.epochs * len(splits.train[1])
    return {"bare loop": (samples / (end_wall - wall), samples / (end_cpu - cpu))}


def trainer_run(config: TrainConfig, splits) -> dict[str, tuple[float, float]]:
    """(wall, CPU) samples/s of ``Trainer.run``: over its training batches, and end to end.

    A batch's time runs from the event before its BatchEvent to the BatchEvent: the control check, fetching the
    batch, the step with all its metrics and the event itself. The events are collected as the GUI's queue would.
    """
    events: list = []
    in_batches = [0.0, 0.0]
    last = list(_clocks())

    def on_event(event) -> None:
        now = _clocks()
        if isinstance(event, BatchEvent):
            in_batches[0] += now[0] - last[0]
            in_batches[1] += now[1] - last[1]
        events.append(event)
        last[:] = now

    wall, cpu = _clocks()
    Trainer(config, splits=splits).run(on_event)
    end_wall, end_cpu = _clocks()
    samples = config.epochs * len(splits.train[1])
    return {"trainer, batches": (samples / in_batches[0], samples / in_batches[1]),
            "trainer, end to end": (samples / (end_wall - wall), samples / (end_cpu - cpu))}


def cli_vs_worker(config: TrainConfig, n_train: int) -> None:
    """End-to-end samples/s of `optviz train` (its own process) and of the training tab's worker thread, on the same
    config: both apply the one thread policy (trainer.training_threads)."""
    import json
    import subprocess
    import sys

    from optviz.training.jobs import JobEnded, TrainingJob

    args = [sys.executable, "-m", "optviz", "train", "--json", "--model", config.model, "--epochs",
            str(config.epochs), "--batch-size", str(config.batch_size), "--device", "cpu"]
    report = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    job = TrainingJob(1, config)
    t = time.perf_counter()
    job.start()
    job.join(3600)
    worker_s = time.perf_counter() - t
    assert any(isinstance(e, JobEnded) and not e.error for e in job.drain())
    cli = n_train * config.epochs / report["seconds"]
    gui = n_train * config.epochs / worker_s
    print(f"end to end: optviz train (CLI process) {cli:,.0f} samples/s; training tab's worker {gui:,.0f} samples/s "
          f"(CLI/worker {cli / gui:.2f})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=MODELS, default="lenet")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    p.add_argument("--cli", action="store_true", help="only compare `optviz train` with the training tab's worker")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(model=args.model, epochs=args.epochs, batch_size=args.batch_size, device="cpu")
    splits = prepare(config)
    if args.cli:
        cli_vs_worker(config, len(splits.train[1]))
        return
    print(f"{args.model} on mnist5k: {len(splits.train[1])} training samples × {args.epochs} epochs, batch "
          f"{args.batch_size}; {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    bare_loop(dataclasses.replace(config, epochs=1), splits)  # warm up both paths
    trainer_run(dataclasses.replace(config, epochs=1), splits)
    results: dict[str, list[tuple[float, float]]] = {}
    for i in range(args.repeats):
        for fn in (bare_loop, trainer_run) if i % 2 == 0 else (trainer_run, bare_loop):
            for name, value in fn(config, splits).items():
                results.setdefault(name, []).append(value)
        print(f"  repeat {i + 1}: " + "; ".join(f"{n} {v[-1][0]:,.0f}" for n, v in results.items()) + " samples/s",
              flush=True)
    print(f"{'':20s} {'wall best':>10s} {'median':>8s} {'CPU best':>10s} {'median':>8s}  samples/s")
    table = {}
    for name, values in results.items():
        wall, cpu = [v[0] for v in values], [v[1] for v in values]
        table[name] = (max(wall), statistics.median(wall), max(cpu), statistics.median(cpu))
        print(f"{name:20s} {table[name][0]:10,.0f} {table[name][1]:8,.0f} {table[name][2]:10,.0f} "
              f"{table[name][3]:8,.0f}")
    bare = table["bare loop"]
    for name in ("trainer, batches", "trainer, end to end"):
        over = [1 - a / b for a, b in zip(table[name], bare)]
        print(f"overhead, {name.split(', ')[1]:10s}  wall {over[0]:6.1%} (best) {over[1]:6.1%} (median);  "
              f"CPU {over[2]:6.1%} (best) {over[3]:6.1%} (median)")
    print("target: ≤ 10% over the batches")


if __name__ == "__main__":
    main()
