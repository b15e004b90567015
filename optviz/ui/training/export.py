"""Export one run: its metrics as CSV, its model and optimizer as a checkpoint (the CLI's formats, no Qt).

Both return "" on success or one line saying what went wrong, for the panel.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from optviz.training.checkpoint import save_checkpoint, write_metrics_csv
from optviz.ui.training.store import RunRecord


def write_csv(record: RunRecord, path: str) -> str:
    """``optviz train --csv``'s format: one row per step, epoch metrics on the step that ended the epoch."""
    try:
        write_metrics_csv(path, [record.full_metrics()])
    except OSError as exc:
        return f"Cannot write {path}: {exc.strerror or exc}"
    return ""


def checkpoint_problem(record: RunRecord) -> str:
    """Why ``record`` cannot be exported as a checkpoint, or ""."""
    if record.running:
        return "The run is still running: export its checkpoint when it has ended"
    if record.started.fold is not None:
        return "Cross-validation folds keep no model: train the config without k-fold to export a checkpoint"
    if record.trainer is None:
        return "This run's model is not available (its training failed)"
    return ""


def write_checkpoint(record: RunRecord, path: str) -> str:
    """A one-run checkpoint (``load_checkpoint(path).model(0)``): weights, optimizer state, config, metrics.

    A run of a race is saved alone, with the race's config narrowed to its own optimizer. A diverged run holds the
    last weights whose loss was finite.
    """
    problem = checkpoint_problem(record)
    if problem:
        return problem
    trainer = record.trainer
    index = record.index
    config = dataclasses.replace(trainer.config, optimizers=(trainer.config.optimizers[index],))
    one = SimpleNamespace(config=config, splits=trainer.splits, runs=[trainer.runs[index]],
                          metrics=[record.full_metrics()])
    try:
        save_checkpoint(path, one)
    except OSError as exc:
        return f"Cannot write {path}: {exc.strerror or exc}"
    return ""
