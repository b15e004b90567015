"""Learning-rate sweep: 16 LeNet copies trained together against 16 sequential runs, measured in the same run.

    python benchmarks/lr_sweep.py [--copies 16] [--steps 200] [--optimizer adam] [--device cpu|cuda]
                                  [--engines stacked,loop,vmap] [--repeat 1] [--fused-baseline]

Both sides train LeNet-5 on MNIST 5k (batch 32) from the same initial weights and batches, copy k at the k-th lr
of a log grid from 1e-4 to 1e-1, for ``--steps`` steps. The baseline is the plain way: one model and one
``torch.optim`` optimizer per lr, trained one after the other with a minimal loop (forward, backward, step; no
evaluation), with the registry's optimizer as the trainer builds it (``--fused-baseline``: torch's fused kernel
where the rule has one, as the sweep's stacked and vmap engines take it: the fastest plain single runs). Both use
the trainer's thread policy (``training_threads``). Prints, for each engine of the sweep
(``stacked``: stacked weights, one batched hand-written forward and backward; ``loop``: the copies in turn on
each batch; ``vmap``: one batched network), the wall seconds of each side, the ratio, the CPU seconds (steadier
than wall time on a shared machine: with one thread they are the work done) and the largest difference between
the copies' last batch losses and the runs'. ``--repeat R`` measures the baseline and each engine R times,
interleaved, and prints every ratio and their range.
"""

from __future__ import annotations

import argparse
import copy
import platform
import time

import numpy as np
import torch
import torch.nn.functional as F

from optviz.core.optimizers import OptimizerChoice
from optviz.training.config import TrainConfig
from optviz.training.data import Loader, prepare
from optviz.training.lr_sweep import _optimizer, lr_grid, sweep_lr
from optviz.training.models import build_model
from optviz.training.trainer import training_threads


def sequential(config: TrainConfig, lrs: np.ndarray, device: torch.device,
               fused: bool = False) -> tuple[np.ndarray, float]:
    """One plain run per lr, one after the other; (each run's last batch loss, seconds). ``fused``: the optimizer's
    fused kernel where torch has one (as the sweep takes it)."""
    t0 = time.perf_counter()
    torch.manual_seed(config.seed)
    splits = prepare(config)
    c, h, _ = splits.image_shape
    base = build_model(config, c, len(splits.classes), h).to(device)
    last = []
    for lr in lrs:
        loader = Loader(splits.train, splits.mean, splits.std, batch_size=config.batch_size, device=device,
                        shuffle=True, seed=config.seed)
        model = copy.deepcopy(base).train()
        choice = OptimizerChoice(config.optimizers[0].name, {**config.optimizers[0].values, "lr": float(lr)})
        opt = _optimizer(choice, list(model.parameters()), config, fused=fused)
        step, loss = 0, torch.zeros(())
        while step < config.max_steps:
            for x, y in loader:
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                step += 1
                if step >= config.max_steps:
                    break
        last.append(float(loss.detach()))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return np.array(last), time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--copies", type=int, default=16)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None)
    p.add_argument("--engines", default="stacked,loop,vmap", help="comma-separated sweep engines to time")
    p.add_argument("--repeat", type=int, default=1, help="measure everything this many times (interleaved)")
    p.add_argument("--fused-baseline", action="store_true",
                   help="the sequential runs with the optimizer's fused kernel where torch has one (as the sweep)")
    args = p.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    torch.set_num_threads(training_threads())
    lrs = lr_grid(1e-4, 1e-1, args.copies)
    devices = [args.device] if args.device else (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    print(f"LeNet-5, MNIST 5k, batch 32, {args.optimizer}, {args.copies} copies × {args.steps} steps, "
          f"{torch.get_num_threads()} thread(s); {platform.machine()}, torch {torch.__version__}; sequential runs "
          f"with {'fused optimizers' if args.fused_baseline else 'optimizers as the trainer builds them'}")
    for name in devices:
        config = TrainConfig(model="lenet", optimizers=(OptimizerChoice(args.optimizer),), epochs=10_000,
                             max_steps=args.steps, device=name)
        ratios: dict[str, list[tuple[float, float]]] = {e: [] for e in engines}
        for _ in range(args.repeat):
            c0 = time.process_time()
            last, base = sequential(config, lrs, torch.device(name), args.fused_baseline)
            base_cpu = time.process_time() - c0
            for engine in engines:
                c0, t0 = time.process_time(), time.perf_counter()
                result = sweep_lr(config, lrs, engine=engine)
                if name == "cuda":
                    torch.cuda.synchronize()
                ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
                ratios[engine].append((base / ours, base_cpu / ours_cpu))
                finite = ~result.diverged
                diff = float(np.abs(result.losses[-1][finite] - last[finite]).max()) if finite.any() else float("nan")
                cpu = f"; CPU time {ours_cpu:.1f} s vs {base_cpu:.1f} s → {base_cpu / ours_cpu:.2f}×" \
                    if name == "cpu" else ""
                # what each side computed: the sweep stops a diverged copy (stacked: not computed any more); the
                # sequential runs train every run to the end, as a plain loop does
                done = int(np.where(result.diverged, result.diverged_step, result.steps).sum())
                print(f"{name} {result.engine}: one job {ours:.1f} s, {args.copies} sequential runs {base:.1f} s → "
                      f"{base / ours:.2f}× (wall){cpu}; {int(result.diverged.sum())} copies diverged "
                      f"(copy-steps: sweep {done}, sequential {args.copies * args.steps}); largest difference of "
                      f"the last batch losses {diff:.1e}", flush=True)
        if args.repeat > 1:
            for engine, r in ratios.items():
                wall, cpu = [w for w, _ in r], [c for _, c in r]
                print(f"{name} {engine} over {args.repeat} repeats: wall {min(wall):.2f}–{max(wall):.2f}×, "
                      f"CPU time {min(cpu):.2f}–{max(cpu):.2f}×")

if __name__ == "__main__":
    main()
