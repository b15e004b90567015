"""Export one run of the runs list: its metrics as CSV, its model and optimizer as a checkpoint (the CLI's formats).

Both writers return "" on success or one line saying what went wrong, for the training panel.
"""

from __future__ import annotations

from optviz.core.files import OutputError
from optviz.training.checkpoint import save_checkpoint, write_metrics_csv
from optviz.training.records import RunRecord


def write_csv(record: RunRecord, path: str) -> str:
    """``optviz train --csv``'s format: one row per step, epoch metrics on the step that ended the epoch."""
    try:
        write_metrics_csv(path, [record.metrics])
    except OutputError as exc:
        return str(exc)
    return ""


def checkpoint_problem(record: RunRecord) -> str:
    """Why ``record`` cannot be exported as a checkpoint, or ""."""
    if record.running:
        return "The run is still running: export its checkpoint when it has ended"
    if record.started.fold is not None:
        return "Cross-validation folds keep no model: train the config without k-fold to export a checkpoint"
    if record.result is None:
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
    try:
        result = record.result
        save_checkpoint(path, result.config, result.runs, result.data)
    except OutputError as exc:  # torch.save's RuntimeError on a full disk included
        return str(exc)
    return ""
