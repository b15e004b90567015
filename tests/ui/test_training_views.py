"""The training tab's views and panel, driven by a fake event source (no training: exact, instant curves)."""

from __future__ import annotations

import dataclasses

import math
import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from optviz.training.events import BatchEvent, EpochEvent, Pictures, RunFinished, RunStarted  # noqa: E402
from optviz.ui.training.tab import TrainingTab  # noqa: E402

TIMEOUT_MS = 10_000
LAYERS = ("conv1", "conv2", "fc1", "classifier")
CLASSES = tuple("abcd")


def fake_runner(train, val, *, n_batches=10, lr=None, status="finished", fail=""):
    """A runner emitting one run's events: per-epoch train/val losses as given, batch losses around train."""

    def run(on_event, control):
        epochs = len(train)
        on_event(RunStarted(0, "fake", "cpu", LAYERS, n_batches, epochs, 80, 10, 16, CLASSES, (0.5,), (0.25,),
                            (1, 8, 8)))
        rng = np.random.default_rng(0)
        step = 0
        for epoch in range(epochs):
            for batch in range(n_batches):
                step += 1
                rate = lr[step - 1] if lr is not None else 0.1
                norms = 10.0 ** -np.arange(len(LAYERS), 0, -1)  # input layers get the smallest gradients
                on_event(BatchEvent(0, step, epoch, batch, train[epoch] + 0.1 * rng.normal(), rate, norms, 1e4, 0.5))
            if fail and epoch == 0:
                raise RuntimeError(fail)
            on_event(EpochEvent(0, epoch, step, train[epoch], 0.5, val[epoch], 0.6, 1.0))
            images = rng.random((16, 1, 8, 8)).astype(np.float32)
            labels = np.arange(16) % 4
            on_event(Pictures(0, epoch, images, labels, (labels + (np.arange(16) < 3)) % 4,
                              rng.normal(size=(6, 1, 3, 3)).astype(np.float32)))
        confusion = np.diag([4, 4, 4, 4]).astype(np.int64)
        on_event(RunFinished(0, status, step, 0.4, 0.75, confusion, 2.0, "fake message"))
    return run


@pytest.fixture
def tab(qtbot):
    widget = TrainingTab()
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_config({"dataset": "shapes", "subset": 100, "epochs": 1, "device": "cpu"})
    yield widget
    widget.shutdown()


def run_fake(qtbot, tab, runner):
    tab.runner_factory = lambda config: runner
    with qtbot.waitSignal(tab.runs_finished, timeout=TIMEOUT_MS):
        assert tab.start()
    [record] = list(tab.model.runs)
    return record


def test_overfitting_is_marked_where_validation_turns(qtbot, tab):
    train = [2.0, 1.5, 1.0, 0.7, 0.5, 0.3]
    val = [2.1, 1.6, 1.2, 1.3, 1.5, 1.8]
    record = run_fake(qtbot, tab, fake_runner(train, val))
    assert tab.curves.overfit_marker_visible(record.id)
    marker = tab.curves._runs[record.id][1].marker
    assert marker.value() == record.epochs[2].step
    tab.curves.unit_combo.setCurrentText("epochs")
    assert marker.value() == 3.0
    x, _ = tab.curves.curve_data(record.id, "raw")
    assert x[-1] == pytest.approx(6.0)  # x in epochs


def test_no_marker_while_validation_improves(qtbot, tab):
    record = run_fake(qtbot, tab, fake_runner([2.0, 1.5, 1.0], [2.1, 1.6, 1.2]))
    assert not tab.curves.overfit_marker_visible(record.id)


def test_smoothing_slider_and_log_axes(qtbot, tab):
    lr = np.r_[np.linspace(0.1, 0.0, 20)]  # a schedule that ends on 0: not drawable on a log axis
    record = run_fake(qtbot, tab, fake_runner([2.0, 1.0], [2.1, 1.2], lr=lr))
    curves = tab.curves
    raw_x, raw_y = curves.curve_data(record.id, "raw")
    smooth_x, smooth_y = curves.curve_data(record.id, "smooth")
    assert smooth_x[-1] == raw_x[-1]  # the smoothed line ends on the newest batch
    assert np.std(np.diff(smooth_y)) < np.std(np.diff(raw_y))
    curves.smoothing_slider.setValue(0)
    assert curves.smoothing == 0 and curves.smoothing_label.text() == "off"
    assert not curves._runs[record.id][1].raw.isVisible()
    np.testing.assert_allclose(curves.curve_data(record.id, "smooth")[1], raw_y)
    curves.log_lr.setChecked(True)
    curves.log_loss.setChecked(True)
    x, y = curves.curve_data(record.id, "lr")
    assert len(x) == 19 and np.all(np.isfinite(y))  # the zero was left out
    np.testing.assert_allclose(10 ** y, lr[:19])
    assert curves.lr_plot.getAxis("left").logMode


def test_gradient_flow_shows_log_norms_per_layer(qtbot, tab):
    record = run_fake(qtbot, tab, fake_runner([2.0, 1.0], [2.1, 1.2]))
    image = tab.gradflow.image_data(0)
    assert image.shape == (20, len(LAYERS))
    np.testing.assert_allclose(image[0], [-4, -3, -2, -1])
    lo, hi = tab.gradflow.colorbar.levels()
    assert lo <= -3.5 and hi >= -1.5
    assert tab.gradflow.shown_ids() == [record.id]


def test_pictures_of_the_fake_run(qtbot, tab):
    run_fake(qtbot, tab, fake_runner([2.0], [2.1]))
    tiles = tab.pictures.predictions.tiles()
    assert len(tiles) == 16
    assert sum(bool(t.color) for t in tiles) == 3  # three mistakes highlighted
    assert tiles[0].caption.splitlines() == ["b", "true: a"]
    assert len(tab.pictures.filters.tiles()) == 6
    assert tab.pictures.confusion.matrix.trace() == 16


def test_diverged_run_from_the_events(qtbot, tab):
    record = run_fake(qtbot, tab, fake_runner([2.0], [2.1], status="diverged"))
    assert record.status_text() == "diverged at step 10"
    item = tab.runs.tree.topLevelItem(0)
    assert item.text(1) == "diverged at step 10" and item.toolTip(1) == "fake message"


def test_a_failing_trainer_is_reported_and_ends_the_job(qtbot, tab):
    # (an out-of-memory error is reworded with advice: tests/training/test_outputs.py)
    record = run_fake(qtbot, tab, fake_runner([2.0, 1.0], [2.1, 1.2], fail="the data loader crashed"))
    assert record.status == "failed" and record.error == "the data loader crashed"
    assert "the data loader crashed" in tab.panel.problems.text()
    # the bar points to the reason (a long one wrapped and was cut in the bar)
    assert tab.progress.format() == "failed: the reason is in red under the settings"
    assert not tab.job.alive
    tab.panel.set_config(dataclasses.replace(tab.panel.config(), val_fraction=0.6, test_fraction=0.5))
    assert not tab.start()  # refused: the fractions leave nothing to train on
    assert tab.progress.format() == "not started: the reason is in red under the settings"  # not the old failure
    assert "the data loader crashed" not in tab.panel.problems.text() and tab.panel.problems.text()


def test_progress_text_while_running(qtbot, tab):
    gate = threading.Event()
    inner = fake_runner([2.0, 1.0], [2.1, 1.2])

    def runner(on_event, control):
        def held(event):
            on_event(event)
            if isinstance(event, BatchEvent) and event.step == 13:
                gate.wait(TIMEOUT_MS / 1000)
        inner(held, control)

    tab.runner_factory = lambda config: runner
    assert tab.start()
    qtbot.waitUntil(lambda: "batch 3/10" in tab.progress.format(), timeout=TIMEOUT_MS)
    assert tab.progress.format().startswith("epoch 2/2 · batch 3/10")
    assert tab.progress.value() == 650
    assert tab.runs.tree.topLevelItem(0).text(1) == "running 65%"
    with qtbot.waitSignal(tab.runs_finished, timeout=TIMEOUT_MS):
        gate.set()
    assert tab.progress.format().startswith("done: 1 run in")


# ---- the panel -----------------------------------------------------------------------------------------------


def test_invalid_combinations_are_disabled_with_a_reason(qtbot, tab):
    panel = tab.panel
    tab.set_config({"model": "lenet"})
    assert not panel.depth.isEnabled() and "fixed depth" in panel.depth.toolTip()
    assert not panel.width.isEnabled() and "LeNet-5 has fixed widths" in panel.width.toolTip()
    tab.set_config({"model": "resnet20"})
    assert panel.depth.isEnabled() and panel.width.isEnabled()
    assert not panel.folder.isEnabled() and "needs no folder" in panel.folder.toolTip()
    assert not panel.decoupled.isEnabled() and "weight decay" in panel.decoupled.toolTip()
    tab.set_config({"weight_decay": 0.01})
    assert panel.decoupled.isEnabled()
    tab.set_config({"optimizers": ["sgd", "adam"]})
    assert not panel.kfold.isEnabled() and "one optimizer" in panel.kfold.toolTip()
    tab.set_config({"kfold": 3})
    assert not panel.optimizers.add_button.isEnabled() and "k-fold" in panel.optimizers.add_button.toolTip()
    cuda = panel.device.model().item(panel.device.findData("cuda"))
    import torch

    assert cuda.isEnabled() == torch.cuda.is_available()


def test_set_config_rejects_bad_settings_in_one_line(tab):
    with pytest.raises(ValueError) as info:
        tab.set_config({"model": "vgg16"})
    assert "\n" not in str(info.value) and "vgg16" in str(info.value)
    with pytest.raises(ValueError):
        tab.set_config({"no_such_setting": 1})


def test_config_round_trip_through_the_panel(tab):
    data = {"dataset": "mnist5k", "subset": 1000, "model": "plain14", "width": 8, "batchnorm": True, "dropout": 0.2,
            "activation": "tanh", "optimizers": ["sgd:lr=0.05", "nesterov:momentum=0.8"], "weight_decay": 0.001,
            "decoupled": True, "l1": 1e-5, "schedule": "step", "schedule_params": {"step_size": 2.0, "gamma": 0.3},
            "warmup_epochs": 0.5, "clip_grad": 1.0, "epochs": 4, "seed": 7, "batch_size": 128, "augment": True}
    tab.set_config(data)
    out = tab.config_dict()
    from optviz.training.config import TrainConfig

    assert TrainConfig.from_dict(out) == TrainConfig.from_dict(data)
    tab.set_config(TrainConfig())  # a session's typed training settings load as they are
    tab.set_config(TrainConfig.from_dict(data))
    assert tab.config() == TrainConfig.from_dict(data)
    assert set(tab.panel.schedule.params()) == {"step_size", "gamma"}


def test_editing_an_optimizer_in_the_panel(qtbot, tab):
    box = tab.panel.optimizers
    with qtbot.waitSignal(tab.panel.changed):
        box.race_button.click()
    assert [c.name for c in box.choices()] == ["sgd", "momentum", "adam"]
    assert "Race: 3 optimizers" in box.mode.text()
    box.list.setCurrentRow(2)
    with qtbot.waitSignal(tab.panel.changed):
        box.hypers.editor("lr").setValue(0.005)
    assert tab.panel.config().optimizers[2].values["lr"] == pytest.approx(0.005)
    assert not box.hypers.editor("weight_decay").isEnabled()  # set once, under Regularisation
    with qtbot.waitSignal(tab.panel.changed):
        box.remove_button.click()
    assert len(tab.panel.config().optimizers) == 2
    assert len(box.findChildren(type(box.hypers))) == 1  # the old editors are gone, not stacked


def test_nan_helpers_never_warn(qtbot, tab):
    train = [2.0, math.nan]
    record = run_fake(qtbot, tab, fake_runner(train, [math.nan, math.nan]))
    tab.curves.log_loss.setChecked(True)
    tab.curves.unit_combo.setCurrentText("epochs")
    assert len(tab.curves.curve_data(record.id, "val")[0]) == 0
