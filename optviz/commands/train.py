"""``optviz train``: train a model headless — one optimizer, a race of several, or k-fold cross-validation."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from typing import Any, TextIO

from optviz.core.optimizers import parse_optimizer
from optviz.training.config import (ACTIVATIONS, DATASETS, DEVICES, MODELS, SCHEDULES, ConfigError, TrainConfig,
                                    validate)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="train a CNN/ResNet headless and print its metrics",
                       description="Train a model on an offline dataset; several --optimizer race from identical "
                                   "weights and batch order.")
    p.add_argument("--dataset", choices=DATASETS, default="mnist5k", help="(default mnist5k)")
    p.add_argument("--data-dir", metavar="DIR", help="folder with the dataset files (mnist, cifar10; fashion-mnist "
                   "defaults to /usr/share/datasets/fashion-mnist)")
    p.add_argument("--model", choices=MODELS, default="lenet", help="(default lenet)")
    p.add_argument("--width", type=int, default=16, help="ResNet/PlainNet base channels; MLP hidden = 8×width")
    p.add_argument("--batchnorm", action="store_true", help="BatchNorm after every conv/linear layer")
    p.add_argument("--dropout", type=float, default=0.0, metavar="P")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    p.add_argument("--optimizer", action="append", metavar="NAME[:k=v,…]",
                   help="e.g. adam or sgd:lr=0.1,momentum=0.9; repeat for a race (default adam)")
    p.add_argument("--weight-decay", type=float, default=0.0, metavar="W")
    p.add_argument("--decoupled", action="store_true", help="decoupled (AdamW-style) weight decay instead of L2")
    p.add_argument("--l1", type=float, default=0.0, metavar="A", help="add A·Σ|w| to the loss")
    p.add_argument("--schedule", default="none", metavar="NAME[:k=v,…]",
                   help=f"{', '.join(SCHEDULES)}; e.g. step:step_size=2,gamma=0.5 or cosine:warmup=1 (epochs)")
    p.add_argument("--clip-grad", type=float, metavar="NORM", help="clip the total gradient norm")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-steps", type=int, metavar="N", help="end the run after N steps (e.g. 100 for gradient flow)")
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--subset", type=int, metavar="N", help="use only N samples of the dataset")
    p.add_argument("--val-fraction", type=float, default=TrainConfig.val_fraction)
    p.add_argument("--test-fraction", type=float, default=TrainConfig.test_fraction)
    p.add_argument("--augment", action="store_true", help="random shifts of up to 2 pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kfold", type=int, default=0, metavar="K", help="K-fold cross-validation")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--save", metavar="FILE", help="save a checkpoint (weights, optimizer, config, metrics)")
    p.add_argument("--csv", metavar="FILE", help="write the per-step metrics as CSV")
    p.add_argument("--json", action="store_true", help="print one JSON object with the results")


def parse_schedule(text: str) -> tuple[str, dict[str, str], str | None]:
    """``NAME[:k=v,…]`` → (name, params, warmup); ``warmup`` (epochs) is taken out of the params."""
    from optviz.cli import UsageError

    name, _, rest = text.partition(":")
    params: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"Malformed schedule option {item!r} in {text!r} (expected key=value)")
        params[key.strip()] = value.strip()
    return name.strip().lower(), params, params.pop("warmup", None)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig the arguments describe, validated; a bad value is named by its option."""
    from optviz.cli import UsageError

    specs = args.optimizer or ["adam"]
    choices = [parse_optimizer(s) for s in specs]  # HyperparameterError: the registry's own message
    if len(specs) > 1:  # a race is labelled with the text given, so two adams stay apart
        choices = [dataclasses.replace(c, label=s) for c, s in zip(choices, specs)]
    name, params, warmup = parse_schedule(args.schedule)
    d = {
        "dataset": args.dataset, "data_dir": args.data_dir, "model": args.model, "width": args.width,
        "batchnorm": args.batchnorm, "dropout": args.dropout, "activation": args.activation,
        "optimizers": choices, "weight_decay": args.weight_decay, "decoupled": args.decoupled, "l1": args.l1,
        "schedule": name, "schedule_params": params, "clip_grad": args.clip_grad, "epochs": args.epochs,
        "max_steps": args.max_steps,
        "batch_size": args.batch_size, "subset": args.subset, "val_fraction": args.val_fraction,
        "test_fraction": args.test_fraction, "augment": args.augment, "seed": args.seed, "kfold": args.kfold,
        "device": args.device,
    }
    if warmup is not None:
        d["warmup_epochs"] = warmup
    if args.save and args.kfold:
        raise UsageError("--save stores the runs of one training; it does not apply to --kfold")
    try:
        return validate(TrainConfig.from_dict(d))
    except ConfigError as exc:
        raise ConfigError(_option_names(str(exc))) from None


def _option_names(message: str) -> str:
    """``Invalid batch_size: 0 …`` → ``Invalid --batch-size: 0 …`` (the CLI user typed the option)."""
    return re.sub(r"^Invalid (\w+):", lambda m: f"Invalid --{m.group(1).replace('_', '-')}:", message)


class _Printer:
    """Per-epoch lines on stdout; a progress bar on stderr when it is a terminal."""

    def __init__(self, config: TrainConfig, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.config, self.out, self.err = config, out or sys.stdout, err or sys.stderr
        self.bar = self.err.isatty()
        self.labels: dict[int, str] = {}
        self.bar_run = 0
        self.n_batches = 1
        self.race = len(config.optimizers) > 1

    def __call__(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "RunStarted":
            self.labels[event.run], self.n_batches = event.label, event.n_batches
            if event.run == 0 or event.fold is not None:
                self.bar_run = event.run  # the bar follows the first run of a race, and each fold in turn
                fold = f" fold {event.fold + 1}/{self.config.kfold}" if event.fold is not None else ""
                self._line(f"{self.config.label()}{fold} on {event.device}: {event.n_train} train, {event.n_val} "
                           f"validation, {event.n_test} test samples, {event.n_batches} batches per epoch")
        elif kind == "BatchEvent" and self.bar and event.run == self.bar_run:
            done = (event.batch + 1) / self.n_batches
            fill = int(done * 30)
            self.err.write(f"\repoch {event.epoch + 1}/{self.config.epochs} [{'#' * fill}{'.' * (30 - fill)}] "
                           f"{done:4.0%}  loss {event.loss:.4f}  {event.samples_per_s:,.0f} samples/s ")
            self.err.flush()
        elif kind == "EpochEvent":
            self._line(f"{self._who(event.run)}epoch {event.epoch + 1}/{self.config.epochs}  train loss "
                       f"{event.train_loss:.4f} acc {event.train_accuracy:.2%}  val loss {event.val_loss:.4f} acc "
                       f"{event.val_accuracy:.2%}  {event.seconds:.1f} s")
        elif kind == "RunFinished":
            detail = (f"test loss {event.test_loss:.4f} acc {event.test_accuracy:.2%}" if event.status == "finished"
                      else event.message or event.status)
            self._line(f"{self._who(event.run)}{event.status} at step {event.step}: {detail}  ({event.seconds:.1f} s)")
        elif kind == "FoldFinished":
            self._line(f"fold {event.fold + 1}: val loss {event.val_loss:.4f} acc {event.val_accuracy:.2%}")
        elif kind == "CrossValFinished":
            self._line(f"{len(event.val_accuracies)}-fold cross-validation: val accuracy {event.mean_accuracy:.2%} ± "
                       f"{event.std_accuracy:.2%}, val loss {event.mean_loss:.4f} ± {event.std_loss:.4f}")

    def _who(self, run: int) -> str:
        return f"[{self.labels.get(run, run)}] " if self.race else ""

    def _line(self, text: str) -> None:
        if self.bar:
            self.err.write("\r\033[K")
            self.err.flush()
        print(text, file=self.out, flush=True)


def _num(x: float) -> float | None:
    return None if x != x else float(x)  # NaN → null


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    from optviz.training.trainer import Trainer  # torch loads only once the arguments are good

    on_event = None if args.json else _Printer(config)
    t0 = time.perf_counter()
    if config.kfold:
        from optviz.training.crossval import cross_validate

        result = cross_validate(config, on_event)
        s = result.summary
        report: dict[str, Any] = {
            "folds": [{"fold": i, **m.summary()} for i, m in enumerate(result.folds)],
            "mean_accuracy": _num(s.mean_accuracy), "std_accuracy": _num(s.std_accuracy),
            "mean_loss": _num(s.mean_loss), "std_loss": _num(s.std_loss), "device": result.device,
        }
        metrics: list = list(result.folds)
        trainer = None
    else:
        trainer = Trainer(config)
        metrics = trainer.run(on_event)
        runs = [m.summary() for m in metrics]
        report = dict(runs[0]) if len(runs) == 1 else {"runs": runs, "device": runs[0]["device"]}
    report["seconds"] = time.perf_counter() - t0
    report["config"] = config.to_dict()
    if args.save and trainer is not None:
        from optviz.training.checkpoint import save_checkpoint

        save_checkpoint(args.save, trainer)
    if args.csv:
        from optviz.training.checkpoint import write_metrics_csv

        write_metrics_csv(args.csv, metrics)
    if args.json:
        print(json.dumps(report))
    return 0
