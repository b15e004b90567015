"""``optviz sweep-lr``: N copies of a model, one learning rate each on a log grid, trained together in one job."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from optviz.commands import RunError, UsageError, plural
from optviz.commands.train import _add_setting, _typed
from optviz.core.optimizers import parse_optimizer
from optviz.core.params import ParamError, quote
from optviz.training.config import TrainConfig, specs, training_choice

SETTINGS = ("dataset", "data_dir", "subset", "batch_size", "augment", "model", "width", "batchnorm", "dropout",
            "activation", "weight_decay", "decoupled", "l1", "clip_grad", "epochs", "max_steps", "seed", "device")


def add_parser(sub: Any) -> None:
    from optviz.training.lr_sweep import COPIES, ENGINES, FINAL_WINDOW

    p = sub.add_parser(
        "sweep-lr", help="train copies of a model at many learning rates at once and compare their losses",
        description="Train --copies copies of the model from identical initial weights and batch order, copy k "
                    "with the k-th learning rate of a log grid from LOW to HIGH, together in one job (the same "
                    "batches for all; see --engine). Prints each copy's final training loss (the mean batch loss "
                    f"of the last {FINAL_WINDOW} steps) and whether it diverged; --json prints {{\"lrs\", "
                    "\"final_train_loss\", \"diverged\", \"diverged_step\", \"steps\", \"best_lr\", \"device\", "
                    "\"engine\", \"engine_note\", \"seconds\"} (null for the loss of a diverged copy). A copy diverges when its loss is "
                    "not finite or above 10× the first step's.")
    p.add_argument("--optimizer", metavar="NAME[:k=v,…]", required=True,
                   type=_typed("optimizer", lambda text: training_choice(parse_optimizer(text))),
                   help="the optimizer and its other hyperparameters (its lr is swept), e.g. momentum:momentum=0.9")
    p.add_argument("--lr", metavar="LOW:HIGH", required=True,
                   help="the learning-rate range, LOW below HIGH (equal with --copies 1), e.g. 1e-4:1")
    p.add_argument("--copies", metavar="N", default=str(COPIES.default),
                   help=f"{COPIES.doc} ({COPIES.allowed()}; default {COPIES.default})")
    all_specs = specs()
    for name in SETTINGS:
        _add_setting(p, name, all_specs[name])
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="stacked: stacked weights, one hand-written batched step (plain layer stacks; else loop, "
                        "with the reason in \"engine_note\"); loop: the copies in turn on each batch (bit for bit "
                        "single runs); vmap: one batched network; auto: vmap on CUDA, stacked on the CPU (default)")
    p.add_argument("--json", action="store_true", help="print one JSON object with the results")


def parse_range(text: str) -> tuple[float, float]:
    """``LOW:HIGH`` with LOW not above HIGH (the grid runs from LOW up to HIGH; one copy takes LOW)."""
    low, sep, high = text.partition(":")
    try:
        if not sep:
            raise ValueError
        lo, hi = float(low), float(high)
    except ValueError:
        raise UsageError(f"Malformed --lr {quote(text)} (expected LOW:HIGH, e.g. 1e-4:1)") from None
    if lo > hi:
        raise UsageError(f"Invalid --lr {quote(text)}: LOW must be below HIGH (got {lo:g} and {hi:g}; "
                         f"e.g. {hi:g}:{lo:g})")
    return lo, hi


def run(args: argparse.Namespace) -> int:
    from optviz.training.lr_sweep import COPIES, lr_grid, sweep_lr
    from optviz.training.trainer import out_of_memory, use_training_threads

    d = {name: getattr(args, name) for name in SETTINGS if hasattr(args, name)}
    d["optimizers"] = [args.optimizer]
    config = TrainConfig.from_dict(d)
    low, high = parse_range(args.lr)
    try:
        for end in (low, high):  # the ends first: the registry's message names the value the user typed
            args.optimizer.spec.resolve({**args.optimizer.values, "lr": end})
        lrs = lr_grid(low, high, COPIES.parse(args.copies))
    except ParamError as exc:
        raise UsageError(str(exc)) from None
    use_training_threads(config)
    bar = _Bar()
    try:
        result = sweep_lr(config, lrs, None if args.json else bar, engine=args.engine)
    except (RuntimeError, MemoryError) as exc:
        message = out_of_memory(exc, config)
        if not message:
            raise
        raise RunError(message) from None
    finally:
        bar.close()
    report = result.report()
    if args.json:
        print(json.dumps(report), flush=True)
        return 0
    best = result.best()
    print(f"{'lr':>10}  {'final train loss':>16}  status")
    for k, (lr, loss, step) in enumerate(zip(result.lrs, result.final_train_loss, result.diverged_step)):
        status = f"diverged at step {step}" if step else ("best" if k == best else "")
        shown = "—" if step else f"{loss:.4g}"
        print(f"{lr:>10.3g}  {shown:>16}  {status}".rstrip(), flush=True)
    print(f"{plural(len(result.lrs), 'copy', 'copies')} of {config.model}, {result.steps} steps, device "
          f"{result.device}, engine {result.engine}, {result.seconds:.1f} s"
          + (f" ({result.note})" if result.note else ""), file=sys.stderr)
    return 0


class _Bar:
    """Step progress on stderr when it is a terminal."""

    def __init__(self) -> None:
        self.on, self.planned, self.shown = sys.stderr.isatty(), 1, -1

    def __call__(self, event: object) -> None:
        if type(event).__name__ == "SweepStarted":
            self.planned = max(1, event.planned_steps)
        elif self.on and type(event).__name__ == "SweepStep":
            percent = int(100 * event.step / self.planned)
            if percent != self.shown:
                self.shown = percent
                print(f"\rsweep-lr [{'#' * (percent // 4):<25}] {percent:3d}%", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.on and self.shown >= 0:
            print(file=sys.stderr)
