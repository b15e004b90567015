"""Checkpoints round-trip model, optimizer, config and metrics; metrics export as CSV; k-fold cross-validation."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from optviz.core.optimizers import OptimizerChoice
from optviz.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, write_metrics_csv
from optviz.training.config import TrainConfig
from optviz.training.crossval import cross_validate
from optviz.training.events import CrossValFinished, FoldFinished, RunStarted
from optviz.training.trainer import Trainer


def test_checkpoint_round_trip(tiny: TrainConfig, tmp_path: Path) -> None:
    config = dataclasses.replace(tiny, optimizers=(OptimizerChoice("adam"), OptimizerChoice("momentum")))
    trainer = Trainer(config)
    result = trainer.run()
    path = tmp_path / "run.pt"
    save_checkpoint(str(path), result.config, result.runs, result.data)
    ck = load_checkpoint(str(path))
    assert ck.config == trainer.config and ck.classes == tuple("0123456789") and ck.image_shape == (1, 28, 28)
    assert [r["label"] for r in ck.runs] == ["adam", "momentum"]
    x = torch.randn(5, 1, 28, 28)
    for i, run in enumerate(trainer.runs):
        run.model.eval()
        torch.testing.assert_close(ck.model(i)(x), run.model(x))
        model = ck.model(i)
        opt = ck.optimizer(model, i)
        assert type(opt) is type(run.optimizer)
        assert opt.state_dict()["state"].keys() == run.optimizer.state_dict()["state"].keys()
    metrics = ck.metrics(1)
    np.testing.assert_array_equal(metrics.batch_loss, result.metrics[1].batch_loss)
    np.testing.assert_array_equal(metrics.grad_norms, result.metrics[1].grad_norms)
    np.testing.assert_array_equal(metrics.finished.confusion, result.metrics[1].finished.confusion)
    assert metrics.epochs == result.metrics[1].epochs and metrics.summary() == result.metrics[1].summary()


def test_one_run_of_a_race_saved_alone(tiny: TrainConfig, tmp_path: Path) -> None:
    config = dataclasses.replace(tiny, optimizers=(OptimizerChoice("adam"), OptimizerChoice("momentum")))
    result = Trainer(config).run()
    alone = result.alone(1)
    save_checkpoint(str(tmp_path / "one.pt"), alone.config, alone.runs, alone.data)
    ck = load_checkpoint(str(tmp_path / "one.pt"))
    assert ck.config.optimizers == (OptimizerChoice("momentum"),) and [r["label"] for r in ck.runs] == ["momentum"]
    x = torch.randn(3, 1, 28, 28)
    torch.testing.assert_close(ck.model(0)(x), result.model(1)(x))
    with pytest.raises(ValueError, match="2 run"):
        save_checkpoint(str(tmp_path / "bad.pt"), alone.config, result.runs, result.data)


def test_a_checkpoint_of_the_old_metrics_layout_still_loads(tiny: TrainConfig, tmp_path: Path) -> None:
    result = Trainer(tiny).run()
    path = tmp_path / "old.pt"
    save_checkpoint(str(path), result.config, result.runs, result.data)
    data = torch.load(path, weights_only=True)
    del data["runs"][0]["metrics"]["batch_accuracy"]  # files from before batch accuracies were recorded
    torch.save(data, path)
    metrics = load_checkpoint(str(path)).metrics(0)
    assert len(metrics.batch_accuracy) == len(metrics.steps) and np.isnan(metrics.batch_accuracy).all()
    np.testing.assert_array_equal(metrics.steps, result.metrics[0].steps)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"hello")
    for path, words in ((bad, "not an optviz checkpoint"), (tmp_path / "none.pt", "file not found")):
        with pytest.raises(CheckpointError, match=words):
            load_checkpoint(str(path))
    good = tmp_path / "good.pt"
    torch.save({"weights": torch.zeros(1000)}, good)
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "cut.pt").write_bytes(good.read_bytes()[:1000])
    (tmp_path / "folder.pt").mkdir()
    torch.save({"f": Path("x")}, tmp_path / "code.pt")  # an object: refused by weights_only loading
    for name, why in (("bad.pt", "not a file written by torch.save"), ("empty.pt", "the file is empty"),
                      ("cut.pt", "the file is damaged or incomplete"), ("folder.pt", "a folder, not a file"),
                      ("code.pt", "objects other than tensors")):
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(str(tmp_path / name))
        assert str(info.value).startswith(f"{tmp_path / name}: not an optviz checkpoint (") and why in str(info.value)
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="no 'optviz-checkpoint' marker"):
        load_checkpoint(str(tmp_path / "other.pt"))


def test_metrics_csv(tiny: TrainConfig, tmp_path: Path) -> None:
    metrics = Trainer(dataclasses.replace(tiny, epochs=2)).run().metrics
    path = tmp_path / "m.csv"
    write_metrics_csv(str(path), metrics)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    m = metrics[0]
    assert len(rows) == 18 and [int(r["step"]) for r in rows] == m.steps.tolist()
    assert [int(r["epoch"]) for r in rows] == [0] * 9 + [1] * 9
    assert [float(r["batch_loss"]) for r in rows] == m.batch_loss.tolist()
    assert [float(r["batch_accuracy"]) for r in rows] == m.batch_accuracy.tolist()
    assert [r["val_loss"] != "" for r in rows].count(True) == 2
    assert float(rows[8]["val_accuracy"]) == m.epochs[0].val_accuracy
    assert float(rows[0]["grad_norm:fc1"]) == m.grad_norms[0][0]


def test_kfold_reports_every_fold_with_mean_and_std() -> None:
    config = TrainConfig(subset=300, epochs=1, model="mlp", width=4, kfold=3, device="cpu")
    events: list = []
    result = cross_validate(config, events.append)
    folds = [e for e in events if isinstance(e, FoldFinished)]
    assert [f.fold for f in folds] == [0, 1, 2]
    assert [e.fold for e in events if isinstance(e, RunStarted)] == [0, 1, 2]
    assert [e.n_val for e in events if isinstance(e, RunStarted)] == [80, 80, 80]
    summary = events[-1]
    assert isinstance(summary, CrossValFinished) and summary is result.summary
    accs = [f.val_accuracy for f in folds]
    assert summary.val_accuracies == tuple(accs)
    assert summary.mean_accuracy == pytest.approx(np.mean(accs)) and summary.std_accuracy == pytest.approx(np.std(accs))
    assert summary.mean_loss == pytest.approx(np.mean([f.val_loss for f in folds]))
    assert len(result.folds) == 3 and all(math.isfinite(m.finished.test_loss) for m in result.folds)
