"""The training tab with the real trainer: tiny runs (shapes, a few hundred images, 1 epoch) through the GUI."""

from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from optviz.core.optimizers import REGISTRY  # noqa: E402
from optviz.training.checkpoint import load_checkpoint  # noqa: E402
from optviz.ui.training.tab import TrainingTab  # noqa: E402

TIMEOUT_MS = 60_000
TINY = {"dataset": "shapes", "subset": 300, "model": "lenet", "epochs": 1, "batch_size": 32, "device": "cpu",
        "optimizers": ["adam:lr=0.003"]}


def training_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("optviz-training")]


@pytest.fixture
def tab(qtbot):
    widget = TrainingTab()
    qtbot.addWidget(widget)
    widget.resize(1400, 850)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


def run_to_end(qtbot, tab: TrainingTab, config: dict) -> None:
    tab.set_config(config)
    with qtbot.waitSignal(tab.runs_finished, timeout=TIMEOUT_MS):
        qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)


def test_one_epoch_run_fills_the_plots_and_the_runs_list(qtbot, tab):
    run_to_end(qtbot, tab, TINY)
    [record] = list(tab.model.runs)
    assert record.status == "finished"
    assert tab.runs.tree.topLevelItemCount() == 1
    assert tab.runs.tree.topLevelItem(0).text(1) == "finished"
    assert not tab.job.alive and not tab.is_running()
    n = record.started.n_batches
    x, y = tab.curves.curve_data(record.id, "raw")
    assert len(x) == n and np.all(np.isfinite(y))
    sx, _ = tab.curves.curve_data(record.id, "smooth")
    assert sx[-1] == x[-1]  # the smoothed line reaches the newest batch
    assert len(tab.curves.curve_data(record.id, "val")[0]) == 1
    assert len(tab.curves.curve_data(record.id, "val_acc")[0]) == 1
    assert len(tab.curves.curve_data(record.id, "lr")[0]) == n
    assert tab.gradflow.image_data(0).shape == (n, len(record.started.layer_names))
    assert len(tab.pictures.predictions.tiles()) == 16
    assert len(tab.pictures.filters.tiles()) == 6  # LeNet's conv1
    assert tab.pictures.confusion.matrix.sum() == record.started.n_test
    assert tab.progress.value() == 1000


def test_stop_midway_ends_the_thread(qtbot, tab):
    tab.set_config({**TINY, "subset": 3000, "epochs": 20})
    assert tab.start()
    qtbot.waitUntil(lambda: tab.model.last_batch is not None and tab.model.last_batch.step >= 3,
                    timeout=TIMEOUT_MS)
    thread_name = training_threads()[0]
    with qtbot.waitSignal(tab.runs_finished, timeout=TIMEOUT_MS):
        qtbot.mouseClick(tab.stop_button, Qt.MouseButton.LeftButton)
    [record] = list(tab.model.runs)
    assert record.status == "stopped"
    assert record.status_text().startswith("stopped at step")
    assert thread_name not in training_threads()
    assert not tab.job.alive
    assert tab.start_button.isEnabled() and not tab.stop_button.isEnabled()


def test_pause_and_resume(qtbot, tab):
    tab.set_config({**TINY, "subset": 3000, "epochs": 20})
    assert tab.start()
    qtbot.waitUntil(lambda: tab.model.last_batch is not None, timeout=TIMEOUT_MS)
    qtbot.mouseClick(tab.pause_button, Qt.MouseButton.LeftButton)
    assert tab.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: tab.progress.format().startswith("paused"), timeout=5_000)
    qtbot.wait(1200)  # events queued before the pause, and the batch in flight, may still arrive
    held = tab.model.last_batch.step
    qtbot.wait(600)
    assert tab.model.last_batch.step == held
    qtbot.mouseClick(tab.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.model.last_batch.step > held, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(tab.runs_finished, timeout=TIMEOUT_MS):
        tab.stop()


def test_closing_the_window_during_a_run_leaves_no_thread(qtbot):
    from optviz.ui.main_window import MainWindow

    window = MainWindow(remember=False, autoplay=False)
    qtbot.addWidget(window)
    window.show()
    window.show_tab("training")
    window.training.set_config({**TINY, "subset": 3000, "epochs": 20})
    assert window.training.start()
    qtbot.waitUntil(lambda: window.training.model.last_batch is not None, timeout=TIMEOUT_MS)
    assert training_threads()
    window.close()
    assert not training_threads()
    assert not window.training.is_running() and not window.training.job.alive
    assert list(window.training.model.runs)[0].status == "stopped"


def test_invalid_folder_shows_the_error_and_starts_nothing(qtbot, tab):
    tab.set_config({**TINY, "dataset": "mnist", "data_dir": "/nonexistent/mnist-files"})
    assert "Data folder for mnist not found" in tab.panel.problems.text()
    assert not tab.start_button.isEnabled()
    assert "not found" in tab.start_button.toolTip()
    with qtbot.waitSignal(tab.runs_finished, timeout=1_000):  # nothing to wait for
        assert tab.start() is False
    assert tab.job is None and not training_threads() and len(tab.model.runs) == 0


def test_a_folder_without_the_files_reports_the_reader_error(qtbot, tab, tmp_path):
    run_to_end(qtbot, tab, {**TINY, "dataset": "mnist", "data_dir": str(tmp_path)})
    assert len(tab.model.runs) == 0  # nothing reached the runs list
    assert "file not found" in tab.panel.problems.text()
    assert tab.job.error and not tab.job.alive


def test_race_overlays_every_optimizer_in_its_own_colour(qtbot, tab):
    run_to_end(qtbot, tab, {**TINY, "optimizers": ["sgd:lr=0.05", "momentum:lr=0.01", "adam"]})
    records = list(tab.model.runs)
    assert [r.started.label for r in records] == ["sgd", "momentum", "adam"]
    assert [r.color for r in records] == [REGISTRY[name].color for name in ("sgd", "momentum", "adam")]
    assert tab.curves.shown_ids() == [r.id for r in records]
    assert tab.gradflow.shown_ids() == [r.id for r in records]
    steps = [tab.curves.curve_data(r.id, "raw")[0] for r in records]
    assert all(np.array_equal(steps[0], s) for s in steps)  # the curves grew together, batch by batch
    losses = [r.metrics.batch_loss[0] for r in records]
    assert losses[0] == pytest.approx(losses[1]) == pytest.approx(losses[2])  # same initial weights and batch


def test_diverging_run_is_marked_with_its_step(qtbot, tab):
    run_to_end(qtbot, tab, {**TINY, "model": "mlp", "optimizers": ["sgd:lr=10", "adam"], "subset": 600})
    bad, good = list(tab.model.runs)
    assert bad.status == "diverged", bad.status_text()
    assert bad.status_text() == f"diverged at step {bad.finished.step}"
    assert tab.runs.tree.topLevelItem(0).text(1).startswith("diverged at step")
    assert np.all(np.isfinite(bad.metrics.batch_loss)) and bad.pictures is not None  # last finite state kept
    assert good.status == "finished"


def test_cross_validation_table_and_bars(qtbot, tab):
    run_to_end(qtbot, tab, {**TINY, "model": "mlp", "kfold": 3, "subset": 240})
    folds = list(tab.model.runs)
    assert [r.started.fold for r in folds] == [0, 1, 2]
    view = tab.crossval
    assert view.table.rowCount() == 4
    assert view.table.item(3, 0).text() == "mean ± std"
    assert len(view.bars.opts["height"]) == 3
    assert view.mean_line.isVisible()
    assert tab.pictures.currentWidget() is view
    assert view.result.mean_accuracy == pytest.approx(np.mean([f.val_accuracy for f in view.folds]))
    tab.runs.select([folds[1].id])
    assert tab.runs.export_csv.isEnabled()
    assert not tab.runs.export_checkpoint.isEnabled()
    assert "Cross-validation folds keep no model" in tab.runs.export_checkpoint.toolTip()


def test_runs_list_actions(qtbot, tab, tmp_path, monkeypatch):
    run_to_end(qtbot, tab, TINY)
    [record] = list(tab.model.runs)
    tab.runs.select([record.id])
    assert tab.runs.export_checkpoint.isEnabled()
    tab.runs.rename(record.id, "baseline")
    assert record.name == "baseline"
    assert tab.curves.legend_entries() == [("baseline", record.color)] and "baseline" in tab.curves.legend.text()
    tab.panel.set_config(tab.panel.config().__class__())
    with qtbot.waitSignal(tab.runs.same_but_requested):
        qtbot.mouseClick(tab.runs.same_but, Qt.MouseButton.LeftButton)
    assert tab.panel.config() == record.config
    csv_path, pt_path = tmp_path / "m.csv", tmp_path / "m.pt"
    assert tab.model.export_csv(record.id, str(csv_path)) == ""
    lines = csv_path.read_text().splitlines()
    assert len(lines) == 1 + record.started.n_batches and lines[0].startswith("run,label,step")
    assert tab.model.export_checkpoint(record.id, str(pt_path)) == ""
    checkpoint = load_checkpoint(str(pt_path))
    assert checkpoint.config.optimizers == record.config.optimizers
    assert checkpoint.model(0) is not None
    (tmp_path / "taken.pt").mkdir()  # a target the export cannot replace: a message box, the old file intact
    monkeypatch.setattr("optviz.ui.training.tab.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "taken.pt"), ""))
    tab._on_runs_export_checkpoint_requested(record.id)
    assert tab.last_message is not None and tab.last_message.isVisible()
    assert tab.last_message.text().startswith(f"cannot write {str(tmp_path / 'taken.pt')!r}: ")
    tab.last_message.close()
    tab.runs.select([record.id])
    qtbot.mouseClick(tab.runs.delete_button, Qt.MouseButton.LeftButton)
    assert len(tab.model.runs) == 0 and tab.runs.tree.topLevelItemCount() == 0 and tab.curves.shown_ids() == []


def test_feature_maps_of_a_picked_image(qtbot, tab):
    run_to_end(qtbot, tab, TINY)
    with qtbot.waitSignal(tab.pictures.feature_maps_ready, timeout=TIMEOUT_MS):
        tab.pictures.pick(3)
    titles = tab.pictures.maps.titles()
    assert titles[0] == "input" and titles[1].startswith("conv1: 6 maps") and titles[2].startswith("conv2: 16 maps")
    assert tab.pictures.predictions.picked == 3


def test_resnet_and_plainnet_gradient_flow_side_by_side(qtbot, tab):
    small = {**TINY, "subset": 120, "width": 4}
    run_to_end(qtbot, tab, {**small, "model": "resnet8"})
    run_to_end(qtbot, tab, {**small, "model": "plain8"})
    resnet, plain = list(tab.model.runs)
    assert tab.gradflow.shown_ids() == [resnet.id, plain.id]  # new runs join the selection
    assert tab.gradflow.image_data(0).shape[1] == len(resnet.started.layer_names)
    assert tab.gradflow.image_data(1).shape[1] == len(plain.started.layer_names)


def test_max_steps_typed_in_the_panel_end_the_run_there(qtbot, tab):
    tab.set_config({**TINY, "epochs": 3})
    editor = tab.panel.editor("max_steps")
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, "10")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert tab.config().max_steps == 10
    with qtbot.waitSignal(tab.runs_finished, timeout=TIMEOUT_MS):
        qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    [record] = list(tab.model.runs)
    assert record.status_text() == "finished" and record.metrics.step == 10
    assert record.planned_steps == 10 < record.started.epochs * record.started.n_batches
    assert tab.runs.tree.topLevelItem(0).text(1) == "finished" and tab.progress.value() == 1000
    (_, x1), _ = tab.curves.loss_plot.getViewBox().viewRange()
    assert x1 == pytest.approx(10, rel=0.05)  # the axis ends where the run was planned to end
    (_, g1), _ = tab.gradflow.heatmap(0)[0].getViewBox().viewRange()
    assert g1 == pytest.approx(10.5, rel=0.02)  # and the heatmap's with the last step's column, centred on 10
    assert tab.gradflow.image_data(0).shape[0] == 10


def test_copy_as_pytorch_in_the_training_tab_carries_its_weight_decay_and_schedule(qtbot, tab):
    from dataclasses import replace

    from PySide6.QtWidgets import QApplication

    from optviz.core.optimizers import OptimizerChoice
    from optviz.training.data import batches_per_epoch, prepare

    panel = tab.panel
    config = replace(panel.config(), dataset="mnist5k", subset=1000, val_fraction=0.2, batch_size=100,
                     optimizers=(OptimizerChoice("adam", {"lr": 0.01}),), weight_decay=0.001, decoupled=False,
                     schedule="step", schedule_params={"step_size": 2, "gamma": 0.5}, warmup_epochs=0)
    panel.set_config(config)
    splits = prepare(panel.config())
    assert batches_per_epoch(panel.config()) == 6 == -(-len(splits.train[1]) // 100)  # 600 images, as trained
    qtbot.mouseClick(panel.optimizers.copy_button, Qt.MouseButton.LeftButton)
    text = QApplication.clipboard().text()
    assert "torch.optim.Adam(params, lr=0.01" in text and "weight_decay=0.001" in text
    assert "StepLR(optimizer, step_size=12, gamma=0.5)" in text  # 2 epochs of 6 batches: stepped once per batch
    panel.set_config(replace(config, dataset="fashion-mnist"))  # a folder: its size is unknown until it is read
    qtbot.mouseClick(panel.optimizers.copy_button, Qt.MouseButton.LeftButton)
    text = QApplication.clipboard().text()
    assert "StepLR" not in text and "# schedule 'step'" in text and "weight_decay=0.001" in text
