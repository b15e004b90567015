"""The training tab's model: signals on real (tiny) runs, one metrics record per run, frozen results and exports."""

from __future__ import annotations

import csv
import dataclasses
import gc
import os
import weakref

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from optviz.core.optimizers import REGISTRY, OptimizerChoice  # noqa: E402
from optviz.training.checkpoint import load_checkpoint  # noqa: E402
from optviz.training.config import TrainConfig  # noqa: E402
from optviz.training.events import BatchEvent, EpochEvent, RunFinished, RunStarted  # noqa: E402
from optviz.training.records import run_color, shade  # noqa: E402
from optviz.training.results import TrainResult  # noqa: E402
from optviz.training.trainer import Trainer  # noqa: E402
from optviz.ui.training.model import TrainingModel  # noqa: E402

TIMEOUT_MS = 60_000
TINY = TrainConfig(dataset="shapes", subset=200, model="lenet", epochs=2, max_steps=8, batch_size=32, device="cpu")
SIGNALS = ("run_added", "runs_updated", "run_renamed", "run_removed", "selection_changed", "fold_finished",
           "crossval_finished", "job_started", "job_paused", "job_ended")


@pytest.fixture
def model(qtbot):
    m = TrainingModel()
    m.heard = []  # (signal name, arguments) in the order emitted
    for name in SIGNALS:
        getattr(m, name).connect(lambda *args, name=name: m.heard.append((name, args)))
    yield m
    m.shutdown()


def heard(model: TrainingModel, name: str) -> list[tuple]:
    return [args for n, args in model.heard if n == name]


class Recorded:
    """A runner over a real Trainer that also keeps its events, a weak reference to it and its models' outputs."""

    def __init__(self, config: TrainConfig) -> None:
        self.events: list = []
        self.x = torch.randn(4, 1, 28, 28)
        self.outputs: list[torch.Tensor] = []
        trainer = Trainer(config)
        self.trainer = weakref.ref(trainer)
        self._run = trainer.run

    def __call__(self, on_event, control) -> TrainResult:
        def tee(event) -> None:
            self.events.append(event)
            on_event(event)

        result = self._run(tee, control)
        trainer = self.trainer()
        with torch.no_grad():
            self.outputs = [r.model.eval()(self.x) for r in trainer.runs]
        self._run = None  # the job keeps no trainer alive
        return result


def train(qtbot, model: TrainingModel, config: TrainConfig, runner=None) -> None:
    with qtbot.waitSignal(model.job_ended, timeout=TIMEOUT_MS):
        model.start(config, runner)


def test_a_run_announces_itself_and_its_end(qtbot, model):
    runner = Recorded(TINY)
    train(qtbot, model, TINY, runner)
    [record] = list(model.runs)
    assert heard(model, "job_started") == [()] and heard(model, "job_ended") == [("",)]
    assert heard(model, "run_added") == [(record.id,)]
    assert all(ids == [record.id] for (ids,) in heard(model, "runs_updated")) and heard(model, "runs_updated")
    assert heard(model, "selection_changed") == [()]  # the new run joined the selection, once
    assert model.selected == [record.id] and model.current == record.id
    names = [n for n, _ in model.heard]
    assert names.index("run_added") < names.index("selection_changed") < names.index("job_ended")
    assert names[-1] == "job_ended" and not model.is_running()
    fraction, text = model.progress()
    assert fraction == 1.0 and text.startswith("done: 1 run in")
    assert record.status == "finished" and record.status_text() == "finished"


def test_the_record_holds_what_the_events_said(qtbot, model):
    runner = Recorded(TINY)
    train(qtbot, model, TINY, runner)
    [record] = list(model.runs)
    m = record.metrics
    batches = [e for e in runner.events if isinstance(e, BatchEvent)]
    assert m.steps.tolist() == [b.step for b in batches] == list(range(1, 9))
    assert m.batch_loss.tolist() == [b.loss for b in batches] and m.lr.tolist() == [b.lr for b in batches]
    np.testing.assert_array_equal(m.grad_norms, np.stack([b.grad_norms for b in batches]))
    assert m.epochs == [e for e in runner.events if isinstance(e, EpochEvent)]
    assert m.started is record.started is runner.events[0] and isinstance(m.started, RunStarted)
    assert m.finished is runner.events[-1] and isinstance(m.finished, RunFinished)
    assert record.result.runs[0].metrics is m  # one record per run: the result shares it
    assert m.summary()["step"] == 8 and m.summary()["status"] == "finished"


def test_the_frozen_result_outlives_the_trainer(qtbot, model, tmp_path):
    config = dataclasses.replace(TINY, optimizers=(OptimizerChoice("adam"), OptimizerChoice("adam", {"lr": 0.01})))
    runner = Recorded(config)
    train(qtbot, model, config, runner)
    gc.collect()
    assert runner.trainer() is None  # nothing in the model or the job holds the live trainer
    first, second = list(model.runs)
    assert first.color == REGISTRY["adam"].color and second.color == shade(REGISTRY["adam"].color, 1)
    for i, record in enumerate((first, second)):
        result = record.result
        assert isinstance(result, TrainResult) and result.config.optimizers == (config.optimizers[i],)
        with torch.no_grad():
            torch.testing.assert_close(result.model(0)(runner.x), runner.outputs[i])
        csv_path, pt_path = tmp_path / f"{i}.csv", tmp_path / f"{i}.pt"
        assert model.checkpoint_problem(record.id) == ""
        assert model.export_csv(record.id, str(csv_path)) == ""
        assert model.export_checkpoint(record.id, str(pt_path)) == ""
        with open(csv_path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [int(r["step"]) for r in rows] == record.metrics.steps.tolist()
        assert [float(r["batch_loss"]) for r in rows] == record.metrics.batch_loss.tolist()
        checkpoint = load_checkpoint(str(pt_path))
        assert checkpoint.config.optimizers == (config.optimizers[i],)
        assert checkpoint.runs[0]["label"] == record.started.label
        with torch.no_grad():
            torch.testing.assert_close(checkpoint.model(0)(runner.x), runner.outputs[i])
        assert checkpoint.metrics(0).summary() == record.metrics.summary()
    assert model.export_csv(first.id, str(tmp_path / "no" / "such" / "dir.csv")).startswith("cannot write")


def test_cross_validation_folds_and_summary(qtbot, model):
    config = dataclasses.replace(TINY, model="mlp", width=4, kfold=2, max_steps=None, epochs=1, subset=120)
    train(qtbot, model, config)
    folds = list(model.runs)
    assert [r.started.fold for r in folds] == [0, 1]
    assert heard(model, "fold_finished") == [(r.id,) for r in folds]
    assert [f.fold_result.fold for f in folds] == [0, 1]
    [(summary,)] = heard(model, "crossval_finished")
    assert summary.val_accuracies == tuple(f.fold_result.val_accuracy for f in folds)
    assert folds[1].color == shade(REGISTRY["adam"].color, 1)
    assert all(r.result is None for r in folds)
    assert "Cross-validation folds keep no model" in model.checkpoint_problem(folds[0].id)


def test_rename_remove_and_select(qtbot, model):
    def runner(on_event, control):
        on_event(RunStarted(0, "fake", "cpu", ("fc",), 2, 1, 8, 0, 0, ("a", "b")))
        on_event(BatchEvent(0, 1, 0, 0, 1.0, 0.1, np.ones(1), 1.0))
        on_event(RunFinished(0, "finished", 1, 0.5, 0.5, np.eye(2, dtype=np.int64), 0.1))

    train(qtbot, model, TINY, runner)
    train(qtbot, model, TINY, runner)
    a, b = list(model.runs)
    assert model.selected == [a.id, b.id] and model.current == b.id
    assert a.result is None and "not available" in model.checkpoint_problem(a.id)
    model.rename(a.id, "  baseline ")
    model.rename(a.id, "")  # refused
    assert a.name == "baseline" and heard(model, "run_renamed") == [(a.id,)]
    model.select([b.id, 999])
    assert model.selected == [b.id] and model.current_record() is b
    model.heard.clear()
    model.select([b.id])  # no change, no signal
    model.remove([b.id])
    assert [n for n, _ in model.heard] == ["run_removed", "selection_changed"]
    assert list(model.runs) == [a] and model.selected == [] and model.current is None


def test_run_colours_come_from_the_registry():
    for name, spec in REGISTRY.items():
        assert run_color(name) == spec.color  # the swatch of the optimizers list
    base = REGISTRY["sgd"].color
    used: set[str] = set()
    for _ in range(40):
        used.add(run_color("sgd", used))
    assert len(used) == 40 and base in used  # any number of repeats stay apart
    assert run_color("sgd", {base}) == shade(base, 1) == run_color("sgd", {base})  # deterministic
    assert run_color("sgd", {shade(base, 1)}) == base  # a free registry colour is taken first
