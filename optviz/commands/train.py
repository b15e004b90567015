"""``optviz train``: train a model headless — one optimizer, a race of several, or k-fold cross-validation."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Callable, TextIO

from optviz.commands import RunError, UsageError, output_file, write_or_keep
from optviz.core.files import OutputError
from optviz.core.optimizers import parse_optimizer, unique_choices
from optviz.core.params import ParamError, Spec, fmt, parse_named
from optviz.training.config import TrainConfig, allowed, check, specs, training_choice, validate
from optviz.training.schedules import SCHEDULES

_METAVARS = {"data_dir": "DIR", "dropout": "P", "weight_decay": "W", "l1": "A", "clip_grad": "NORM", "kfold": "K",
             "seed": "S", "warmup_epochs": "EPOCHS"}


def _typed(name: str, parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type``: ``parse`` with its ParamError shown verbatim after the option's name."""
    def typed(text: str) -> Any:
        try:
            return parse(text)
        except ParamError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    typed.__name__ = name
    return typed


def _help(name: str, spec: Spec) -> str:
    default = spec.off_text if spec.default is None else fmt(spec.default)
    text = spec.doc if spec.kind == "bool" else f"{spec.doc} ({allowed(name)}; default {default})"
    return text.replace("%", "%%")


def _add_setting(p: argparse.ArgumentParser, name: str, spec: Spec) -> None:
    """One option per TrainConfig field, from its spec; absent from the namespace unless given."""
    if spec.kind == "bool":
        p.add_argument(spec.option, dest=name, action="store_true", default=argparse.SUPPRESS,
                       help=_help(name, spec))
        return
    metavar = _METAVARS.get(name) or ("|".join(spec.choices) if spec.kind == "choice" else
                                      {"int": "N", "float": "X"}.get(spec.kind, "TEXT"))
    p.add_argument(spec.option, dest=name, metavar=metavar, default=argparse.SUPPRESS, help=_help(name, spec),
                   type=_typed(name, lambda text: check(name, text, text=True)))


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="train a CNN/ResNet headless and print its metrics",
                       description="Train a model on an offline dataset; several --optimizer race from identical "
                                   "weights and batch order.")
    for name, spec in specs().items():
        if name == "schedule":
            schedules = ", ".join(f"{s.name} ({', '.join(h.name for h in s.params)})" if s.params else s.name
                                  for s in SCHEDULES.values())
            p.add_argument("--schedule", metavar="NAME[:k=v,…]", type=_typed("schedule", parse_schedule),
                           help=f"{schedules}; warmup=E adds a warm-up of E epochs; e.g. step:step_size=2,gamma=0.5 "
                                "or cosine:warmup=1 (default none)")
        else:
            _add_setting(p, name, spec)
    p.add_argument("--optimizer", action="append", metavar="NAME[:k=v,…]",
                   type=_typed("optimizer", lambda text: training_choice(parse_optimizer(text))),
                   help="e.g. adam or momentum:lr=0.1,momentum=0.9; repeat for a race (default adam); weight decay is "
                        "--weight-decay, for every optimizer")
    p.add_argument("--save", metavar="FILE", help="save a checkpoint (weights, optimizer, config, metrics)")
    p.add_argument("--csv", metavar="FILE", help="write the per-step metrics as CSV")
    p.add_argument("--json", action="store_true", help="print one JSON object with the results")


def parse_schedule(text: str) -> tuple[str, dict[str, Any], float | None]:
    """``NAME[:k=v,…]`` → (name, the parameters given, warm-up epochs or None); ``warmup`` is ``warmup_epochs``."""
    name, values = parse_named(text, "schedule")
    name = check("schedule", name, text=True)
    warmup = values.pop("warmup", None)
    resolved = SCHEDULES[name].resolve(values, text=True)
    warmup_epochs = None if warmup is None else check("warmup_epochs", warmup, text=True)
    return name, {k: resolved[k] for k in values}, warmup_epochs


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig the arguments describe (each option already checked by its spec), validated as a whole."""

    d: dict[str, Any] = {name: getattr(args, name) for name in specs() if name != "schedule" and hasattr(args, name)}
    if args.optimizer:
        d["optimizers"] = unique_choices(args.optimizer)  # labels: adam, adam#2 … where a name repeats
    if args.schedule is not None:
        d["schedule"], d["schedule_params"], warmup = args.schedule
        if warmup is not None and "warmup_epochs" in d:
            raise UsageError("The warm-up is given twice (--warmup-epochs and the schedule's warmup=): give it once")
        if warmup is not None:
            d["warmup_epochs"] = warmup
    if args.save and d.get("kfold"):
        raise UsageError("--save stores the runs of one training; it does not apply to --kfold")
    return validate(TrainConfig.from_dict(d))


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
    # Before any work: a bad path costs no training.
    save = None if args.save is None else output_file(args.save, "--save")
    csv = None if args.csv is None else output_file(args.csv, "--csv", others={"--save": args.save})
    from optviz.training.trainer import Trainer, use_training_threads  # torch: once the arguments are good

    use_training_threads(config)

    on_event = None if args.json else _Printer(config)
    t0 = time.perf_counter()
    if config.kfold:
        from optviz.training.crossval import cross_validate

        result = _out_of_memory_said(config, lambda: cross_validate(config, on_event))
        s = result.summary
        report: dict[str, Any] = {
            "folds": [{"fold": i, **m.summary()} for i, m in enumerate(result.folds)],
            "mean_accuracy": _num(s.mean_accuracy), "std_accuracy": _num(s.std_accuracy),
            "mean_loss": _num(s.mean_loss), "std_loss": _num(s.std_loss), "device": result.device,
        }
        metrics: list = list(result.folds)
        trained = None
    else:
        trained = _out_of_memory_said(config, lambda: Trainer(config).run(on_event))
        metrics = trained.metrics
        runs = [m.summary() for m in metrics]
        report = dict(runs[0]) if len(runs) == 1 else {"runs": runs, "device": runs[0]["device"]}
    report["seconds"] = time.perf_counter() - t0
    report["config"] = config.to_dict()
    if args.json:  # first: a file that then fails to write does not cost the result
        print(json.dumps(report), flush=True)
    from optviz.training.checkpoint import save_checkpoint, write_metrics_csv

    failed: list[str] = []  # each file is tried, whatever became of the other
    if save is not None and trained is not None:
        _write(save, lambda p: save_checkpoint(str(p), trained.config, trained.runs, trained.data), failed)
    if csv is not None:
        _write(csv, lambda p: write_metrics_csv(str(p), metrics), failed)
    if failed:
        raise OutputError("; ".join(failed))
    return 0


def _out_of_memory_said(config: TrainConfig, work: Callable[[], Any]) -> Any:
    """``work()``; out of memory becomes one line saying what to try (RunError, status 1)."""
    from optviz.training.trainer import out_of_memory

    try:
        return work()
    except (RuntimeError, MemoryError) as exc:
        message = out_of_memory(exc, config)
        if not message:
            raise
        raise RunError(message) from None


def _write(path: Any, write: Callable[[Any], None], failed: list[str]) -> None:
    try:
        write_or_keep(path, write)
    except OutputError as exc:
        failed.append(str(exc))
