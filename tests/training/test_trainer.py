"""The trainer: events and their contents, determinism, races, divergence, control from another thread."""

from __future__ import annotations

import copy
import dataclasses
import math
import queue
import threading

import numpy as np
import pytest
import torch

from optviz.core.optimizers import OptimizerChoice
from optviz.training.config import ConfigError, TrainConfig
from optviz.training.data import Loader
from optviz.training.events import BatchEvent, EpochEvent, Pictures, RunFinished, RunStarted
from optviz.training.metrics import RunMetrics
from optviz.training.results import TrainResult
from optviz.training.trainer import Control, Trainer, run_labels


def collect(config: TrainConfig, control: Control | None = None) -> tuple[TrainResult, list]:
    events: list = []
    result = Trainer(config).run(events.append, control)
    return result, events


def test_events_carry_what_the_tab_plots(tiny: TrainConfig) -> None:
    result, events = collect(dataclasses.replace(tiny, epochs=2, model="lenet"))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
    started: RunStarted = events[0]
    assert started.device == "cpu" and started.layer_names == ("conv1", "conv2", "fc1", "fc2", "classifier")
    assert (started.n_train, started.n_val, started.n_test) == (280, 40, 80) and started.n_batches == 9
    assert started.classes == tuple("0123456789") and started.image_shape == (1, 28, 28) and len(started.mean) == 1
    batches = [e for e in events if isinstance(e, BatchEvent)]
    assert [b.step for b in batches] == list(range(1, 19)) and batches[9].epoch == 1 and batches[9].batch == 0
    for b in batches:
        assert isinstance(b.loss, float) and math.isfinite(b.loss) and b.lr == 1e-3 and b.samples_per_s > 0
        assert b.grad_norms.dtype == np.float64 and b.grad_norms.shape == (5,) and (b.grad_norms > 0).all()
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert [e.epoch for e in epochs] == [0, 1] and epochs[1].step == 18
    assert epochs[0].train_loss == pytest.approx(np.mean([b.loss for b in batches[:9]]))
    assert 0 <= epochs[1].val_accuracy <= 1 and math.isfinite(epochs[1].val_loss)
    pictures = [e for e in events if isinstance(e, Pictures)]
    assert len(pictures) == 3  # two epochs and the end of the run
    p = pictures[-1]
    assert p.images.shape == (16, 1, 28, 28) and p.images.dtype == np.float32 and 0 <= p.images.min() <= p.images.max() <= 1
    assert p.filters.shape == (6, 1, 5, 5) and p.predictions.shape == p.labels.shape == (16,)
    np.testing.assert_array_equal(p.weights["conv1.weight"], p.filters)
    done: RunFinished = events[-1]
    assert done.status == "finished" and done.step == 18 and done.confusion.sum() == 80
    assert done.test_accuracy == pytest.approx(np.trace(done.confusion) / 80)
    for e in events:  # plain data only: nothing that keeps the model alive across threads
        assert not any(isinstance(v, (torch.Tensor, torch.nn.Module)) for v in vars(e).values())
    assert result.runs[0].metrics.finished is done and len(result.runs[0].metrics.batch_loss) == 18


def test_same_seed_same_metrics(tiny: TrainConfig) -> None:
    config = dataclasses.replace(tiny, model="lenet", dropout=0.2, augment=True)
    a, b = (collect(config)[0].metrics[0] for _ in range(2))
    assert np.array_equal(a.batch_loss, b.batch_loss)
    assert [e.val_loss for e in a.epochs] == [e.val_loss for e in b.epochs]
    assert np.array_equal(a.grad_norms, b.grad_norms)
    assert a.finished.test_loss == b.finished.test_loss
    c = collect(dataclasses.replace(config, seed=1))[0].metrics[0]
    assert not np.array_equal(c.batch_loss, a.batch_loss)


def test_race_starts_from_identical_weights_and_batches(tiny: TrainConfig) -> None:
    choices = (OptimizerChoice("adam"), OptimizerChoice("sgd", {"lr": 0.05}), OptimizerChoice("rmsprop"))
    config = dataclasses.replace(tiny, optimizers=choices, dropout=0.3)
    initial: list = []

    def on_event(event) -> None:
        if isinstance(event, RunStarted):  # the models are built, not yet trained
            initial.append({k: v.clone() for k, v in trainer.runs[event.run].model.state_dict().items()})
        events.append(event)

    events: list = []
    trainer = Trainer(config)
    result = trainer.run(on_event)
    assert all(torch.equal(initial[0][k], other[k]) for other in initial[1:] for k in initial[0])
    first = [e for e in events if isinstance(e, BatchEvent) and e.step == 1]
    assert [e.run for e in first] == [0, 1, 2] and first[0].loss == first[1].loss == first[2].loss
    # interleaved batch by batch: the runs' step numbers grow together
    assert [e.run for e in events if isinstance(e, BatchEvent)][:6] == [0, 1, 2, 0, 1, 2]
    # a race of one optimizer alone gives that optimizer's numbers
    alone = collect(dataclasses.replace(config, optimizers=choices[1:2]))[0].metrics[0]
    assert np.array_equal(alone.batch_loss, result.metrics[1].batch_loss)
    assert [m.label for m in result.metrics] == ["adam", "sgd", "rmsprop"]


def test_duplicate_labels_are_told_apart() -> None:
    config = TrainConfig(optimizers=(OptimizerChoice("adam"), OptimizerChoice("adam", {"lr": 0.01})))
    assert run_labels(config) == ["adam", "adam:lr=0.01"]


def test_huge_learning_rate_diverges_and_keeps_finite_weights(tiny: TrainConfig) -> None:
    choices = (OptimizerChoice("sgd", {"lr": 10.0}), OptimizerChoice("adam"))
    result, events = collect(dataclasses.replace(tiny, width=16, optimizers=choices, epochs=2))
    diverged = next(e for e in events if isinstance(e, RunFinished) and e.run == 0)
    assert diverged.status == "diverged" and diverged.step > 1 and math.isnan(diverged.test_loss)
    assert f"at step {diverged.step}" in diverged.message
    assert max(e.step for e in events if isinstance(e, BatchEvent) and e.run == 0) == diverged.step - 1
    assert result.runs[0].status == "diverged" and result.runs[0].step == diverged.step
    assert all(torch.isfinite(p).all() for p in result.model(0).parameters())
    x = torch.randn(4, 1, 28, 28)
    assert torch.isfinite(torch.nn.functional.cross_entropy(result.model(0)(x), torch.zeros(4).long()))
    other = [e for e in events if isinstance(e, RunFinished) and e.run == 1]
    assert other[0].status == "finished" and other[0].step == 2 * 9  # the race went on


def test_l1_adds_alpha_times_sum_of_absolute_weights(tiny: TrainConfig) -> None:
    alpha = 1e-3
    first: dict = {}

    def run(config: TrainConfig) -> float:
        trainer = Trainer(config)

        def on_event(event) -> None:
            if isinstance(event, RunStarted):
                first["l1"] = sum(float(p.detach().abs().sum()) for p in trainer.runs[0].model.parameters())
            elif isinstance(event, BatchEvent) and event.step == 1:
                first["loss"] = event.loss

        trainer.run(on_event)
        return first["loss"]

    plain = run(tiny)
    penalised = run(dataclasses.replace(tiny, l1=alpha))
    assert penalised - plain == pytest.approx(alpha * first["l1"], rel=1e-5)


def test_decoupled_weight_decay_in_the_trainer_is_adamw(tiny: TrainConfig) -> None:
    config = dataclasses.replace(tiny, weight_decay=0.1, decoupled=True, optimizers=(OptimizerChoice("adam", {"lr": 0.01}),))
    trainer = Trainer(config)
    start: dict = {}
    result = trainer.run(lambda e: start.setdefault("model", copy.deepcopy(trainer.runs[0].model))
                         if isinstance(e, RunStarted) else None)
    model = start["model"]
    s = trainer.splits
    loader = Loader(s.train, s.mean, s.std, batch_size=config.batch_size, device=torch.device("cpu"), shuffle=True,
                    seed=config.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1)
    model.train()
    for x, y in loader:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    for a, b in zip(result.model(0).parameters(), model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_gradient_clipping_reports_norms_before_clipping(tiny: TrainConfig) -> None:
    plain = collect(tiny)[0].metrics[0]
    clipped = collect(dataclasses.replace(tiny, clip_grad=1e-3))[0].metrics[0]
    np.testing.assert_array_equal(plain.grad_norms[0], clipped.grad_norms[0])  # same weights at step 1
    assert plain.batch_loss[1] != clipped.batch_loss[1]


def test_schedule_in_the_trainer(tiny: TrainConfig) -> None:
    m = collect(dataclasses.replace(tiny, schedule="time", schedule_params={"k": 1.0}, epochs=2))[0].metrics[0]
    n = 9
    assert m.lr.tolist() == pytest.approx([1e-3 / (1 + s / n) for s in range(2 * n)])


def test_stop_and_pause_from_another_thread(tiny: TrainConfig) -> None:
    config = dataclasses.replace(tiny, epochs=50)
    control = Control()
    events: queue.Queue = queue.Queue()
    result: list = []
    worker = threading.Thread(target=lambda: result.append(Trainer(config).run(events.put, control)))
    worker.start()
    try:
        while not (isinstance(e := events.get(timeout=10), BatchEvent) and e.step >= 3):
            pass
        control.pause()
        assert control.paused
        drained = []
        with pytest.raises(queue.Empty):
            while True:
                drained.append(events.get(timeout=0.3))
        assert len(drained) <= 2  # at most the batch in flight (and its epoch's events)
        control.resume()
        while not isinstance(e := events.get(timeout=10), BatchEvent):
            pass
        control.stop()
    finally:
        control.stop()
        worker.join(timeout=10)
    assert not worker.is_alive()
    done = result[0].runs[0].metrics.finished
    assert done.status == "stopped" and math.isnan(done.test_loss) and done.step < 50 * 9


def test_invalid_config_is_refused_up_front() -> None:
    with pytest.raises(ConfigError, match="needs a data folder"):
        Trainer(TrainConfig(dataset="cifar10"))


def test_max_steps_ends_the_run_as_finished(tiny: TrainConfig) -> None:
    result, events = collect(dataclasses.replace(tiny, epochs=3, max_steps=12))
    done = events[-1]
    assert done.status == "finished" and done.step == 12 and math.isfinite(done.test_accuracy)
    assert [e.step for e in events if isinstance(e, EpochEvent)] == [9, 12]  # the partial epoch is reported too
    summary = result.metrics[0].summary()
    assert list(summary["grad_norms"]) == ["fc1", "fc2", "classifier"]
    assert summary["grad_norms"]["fc1"] == result.metrics[0].grad_norms[-1][0]
    assert summary["step"] == 12 and summary["status"] == "finished"


def test_three_channel_cifar_files_train_a_resnet(cifar_dir) -> None:
    config = TrainConfig(dataset="cifar10", data_dir=str(cifar_dir), model="resnet8", width=2, epochs=1,
                         batchnorm=True, augment=True, device="cpu")
    _, events = collect(config)
    started = events[0]
    assert started.image_shape == (3, 32, 32) and len(started.mean) == 3 and started.classes[0] == "airplane"
    pictures = [e for e in events if isinstance(e, Pictures)][-1]
    assert pictures.filters.shape == (2, 3, 3, 3) and pictures.images.shape == (16, 3, 32, 32)
    assert events[-1].status == "finished" and events[-1].confusion.sum() == 20


# ---- what run() hands back ---------------------------------------------------------------------------------------


def test_metrics_record_what_the_events_said(tiny: TrainConfig) -> None:
    config = dataclasses.replace(tiny, epochs=2, optimizers=(OptimizerChoice("adam"), OptimizerChoice("sgd")))
    result, events = collect(config)
    for run, m in enumerate(result.metrics):
        mine = [e for e in events if getattr(e, "run", None) == run]
        batches = [e for e in mine if isinstance(e, BatchEvent)]
        assert m.steps.dtype == np.int64 and m.steps.tolist() == [b.step for b in batches]
        assert m.batch_loss.tolist() == [b.loss for b in batches] and m.lr.tolist() == [b.lr for b in batches]
        assert m.batch_accuracy.tolist() == [b.accuracy for b in batches]
        np.testing.assert_array_equal(m.grad_norms, np.stack([b.grad_norms for b in batches]))
        assert m.epochs == [e for e in mine if isinstance(e, EpochEvent)]
        assert m.finished is mine[-1] and m.step == batches[-1].step
        assert m.started is mine[0] and m.label == mine[0].label and m.layer_names == mine[0].layer_names
        assert m.epoch_of_steps().tolist() == [b.epoch for b in batches]
        np.testing.assert_array_equal(m.epoch_values("val_loss"), [e.val_loss for e in m.epochs])
        again = RunMetrics()
        for e in mine:
            again.add(e)
        assert again.summary() == m.summary()
        back = RunMetrics.from_dict(m.to_dict())
        assert back.summary() == m.summary() and back.to_dict() == m.to_dict()


def test_metrics_grow_past_their_first_allocation() -> None:
    m = RunMetrics(RunStarted(0, "x", "cpu", ("a", "b"), 10, 1, 1, 1, 1, ("0",)))
    for step in range(1, 1001):
        m.add(BatchEvent(0, step, 0, step - 1, 1.0 / step, 0.1, np.array([step, 2.0 * step]), 1.0))
    assert len(m) == 1000 and m.steps[-1] == 1000 and m.batch_loss[999] == pytest.approx(1e-3)
    np.testing.assert_array_equal(m.grad_norms[:, 1], 2.0 * np.arange(1, 1001))
    assert math.isnan(m.batch_accuracy[0])  # BatchEvent's default
    empty = RunMetrics()
    assert empty.grad_norms.shape == (0, 0) and empty.summary()["grad_norms"] == {} and empty.step == 0


def test_the_result_is_frozen_on_the_cpu_and_reloads(tiny: TrainConfig) -> None:
    config = dataclasses.replace(tiny, optimizers=(OptimizerChoice("adam"), OptimizerChoice("momentum")))
    trainer = Trainer(config)
    result = trainer.run()
    assert result.config == trainer.config and result.device == "cpu" and result.seconds > 0
    assert result.data.classes == tuple("0123456789") and result.data.image_shape == (1, 28, 28)
    assert [r.label for r in result.runs] == ["adam", "momentum"]
    assert [r.status for r in result.runs] == ["finished", "finished"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.runs[0].status = "stopped"
    x = torch.randn(5, 1, 28, 28)
    for i, run in enumerate(trainer.runs):
        state = result.runs[i].model_state
        assert all(t.device.type == "cpu" for t in state.values())
        run.model.eval()
        before = result.model(i)(x)
        torch.testing.assert_close(before, run.model(x))
        with torch.no_grad():  # a copy: the live model moving on leaves the result as it was
            next(run.model.parameters()).add_(1.0)
        torch.testing.assert_close(result.model(i)(x), before)
        assert not torch.allclose(run.model(x), before)
    assert result.runs[1].optimizer_state["state"]  # momentum buffers, per parameter
    alone = result.alone(1)
    assert alone.config.optimizers == (OptimizerChoice("momentum"),) and alone.runs[0] is result.runs[1]
    torch.testing.assert_close(alone.model(0)(x), result.model(1)(x))
