"""The loss-landscape and learning-rate sweep windows, offscreen, on tiny real runs, and their hooks in the tab."""

from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from tick_labels import label_problems  # noqa: E402

from optviz.core.optimizers import OptimizerChoice  # noqa: E402
from optviz.training.config import TrainConfig  # noqa: E402
from optviz.training.trainer import Trainer  # noqa: E402
from optviz.ui.training.landscape_view import (LandscapePanel, LandscapeRun, LandscapeView, _Grid,  # noqa: E402
                                              colorbar_ticks, sample)
from optviz.ui.training.lr_sweep_view import LrSweepView  # noqa: E402
from optviz.ui.training.tab import TrainingTab  # noqa: E402

TIMEOUT_MS = 90_000
TINY = {"dataset": "shapes", "subset": 200, "model": "mlp", "width": 4, "epochs": 1, "batch_size": 32,
        "device": "cpu", "optimizers": ["adam:lr=0.003"]}


def training_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("optviz-training")]


@pytest.fixture(scope="module")
def pair():
    """ResNet-8 and PlainNet-8, narrow, trained for a few steps with the same settings."""
    import torch

    from optviz.training.trainer import training_threads as policy

    out, before = [], torch.get_num_threads()
    torch.set_num_threads(policy())  # as the GUI trains
    try:
        for model in ("resnet8", "plain8"):
            config = TrainConfig(dataset="shapes", subset=200, model=model, width=2, epochs=1, max_steps=6,
                                 device="cpu")
            out.append(LandscapeRun(model, Trainer(config).run()))
    finally:
        torch.set_num_threads(before)
    return out


def test_side_by_side_slices_draw_the_path_and_true_ticks(qtbot, pair):
    view = LandscapeView(pair)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    view.form.set_values({"resolution": 3, "probe": 20, "directions": "pca"})
    assert view.compute() and not view.compute_button.isEnabled() and view.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not view.busy(), timeout=TIMEOUT_MS)
    assert view.error == "" and view.progress.format().startswith("done")
    for panel, run in zip(view.panels, pair):
        result = panel.landscape
        assert result.loss.shape == (3, 3) and result.directions == "pca"
        x, y = panel.path.getData()
        np.testing.assert_allclose(np.c_[x, y], result.path)  # the drawn path is the projected trajectory
        assert len(x) == len(run.result.runs[0].trajectory.steps)
        start, end = panel.start.data[0], panel.end.data[0]
        np.testing.assert_allclose([start["x"], start["y"]], result.path[0])
        np.testing.assert_allclose([end["x"], end["y"]], [0, 0], atol=1e-6)
        assert panel.image.image.shape == (12, 12)  # drawn 4× finer than computed
        ticks = panel.colorbar.axis._tickLevels[0]
        labels = [label for _, label in ticks]
        assert len(labels) >= 2 and len(set(labels)) == len(labels)  # never one value written twice
        assert "% of the path's variance" in panel.title.text() and run.name in panel.title.text()
        assert panel.line.isVisible() and len(panel.line_curve.getData()[0]) == len(result.line_t)
        view3d = panel.ensure_3d()  # offscreen: a placeholder line, but the data are set all the same
        assert view3d.grid[2].shape == (12, 12) and view3d.paths[0][0].shape == (len(result.path), 3)
        np.testing.assert_allclose(view3d.paths[0][0][-1], [0, 0, result.loss[1, 1]], atol=1e-6)
    view.grab().save(os.path.join(os.environ.get("OPTVIZ_SHOTS", "/tmp"), "landscape-side-by-side.png"))
    view.shutdown()


@pytest.mark.parametrize("directions", ["random", "pca"])
def test_the_window_draws_each_map_square_with_whole_tick_labels(qtbot, pair, directions):
    """At 1400×900, both directions in one unit: each map's view box is square (a round basin looks round) and no
    tick label is cut or drawn over another (the map's top label was cut in half)."""
    view = LandscapeView(pair)
    qtbot.addWidget(view)
    view.resize(1400, 900)
    view.show()
    qtbot.waitExposed(view)
    view.form.set_values({"resolution": 3, "probe": 20, "directions": directions})
    assert view.compute()
    qtbot.waitUntil(lambda: not view.busy(), timeout=TIMEOUT_MS)
    for panel in view.panels:
        vb = panel.plot.getPlotItem().getViewBox()
        qtbot.waitUntil(lambda vb=vb: abs(vb.width() - vb.height()) <= 2, timeout=10_000)
        px_x, px_y = vb.viewPixelSize()
        assert panel.equal_aspect and px_x == pytest.approx(px_y, rel=0.01)
        (x0, x1), (y0, y1) = vb.viewRange()
        a = panel.landscape.alphas
        assert (x0, x1) == pytest.approx((a[0], a[-1]), rel=0.02) and (y0, y1) == pytest.approx((a[0], a[-1]), rel=0.02)
    assert label_problems(view) == []
    view.shutdown()


def test_cancel_and_pca_refused_without_a_trajectory(qtbot, pair):
    import dataclasses

    bare = dataclasses.replace(pair[0].result, runs=(dataclasses.replace(pair[0].result.runs[0], trajectory=None),))
    view = LandscapeView([LandscapeRun("bare", bare)])
    qtbot.addWidget(view)
    assert "trajectory" in view.form.editor("directions").itemData(1, Qt.ItemDataRole.ToolTipRole) or \
        not view.form.editor("directions").model().item(1).isEnabled()
    view.form.set_values({"resolution": 40, "probe": 200})
    assert view.compute()
    view.cancel()
    qtbot.waitUntil(lambda: not view.busy(), timeout=TIMEOUT_MS)
    assert view.progress.format() == "cancelled" and view.error == ""
    assert not training_threads()
    view.shutdown()


def test_colorbar_ticks_on_a_narrow_span() -> None:
    z = np.linspace(2.2905, 2.2985, 50).reshape(5, 10)
    colour = (z - z.min()) / (z.max() - z.min())
    ticks = colorbar_ticks(colour, z)
    assert [label for _, label in ticks] == ["2.292", "2.294", "2.296", "2.298"]
    np.testing.assert_allclose([p for p, _ in ticks], (np.array([2.292, 2.294, 2.296, 2.298]) - 2.2905) / 0.008)


def test_lr_sweep_window_plots_every_copy_and_a_click_asks_for_a_run(qtbot):
    config = TrainConfig(dataset="shapes", subset=200, model="mlp", width=4, epochs=1, max_steps=5, device="cpu",
                         optimizers=(OptimizerChoice("sgd"),))
    view = LrSweepView(config)
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    view.form.set_values({"lr_low": 1e-3, "lr_high": 1.0, "copies": 4})
    assert view.start()
    qtbot.waitUntil(lambda: not view.busy(), timeout=TIMEOUT_MS)
    assert view.error == "" and view.result is not None and view.result.steps == 5
    np.testing.assert_allclose(view.lrs, [1e-3, 1e-2, 1e-1, 1.0])
    assert len(view._lines) == 4
    diverged = set(np.flatnonzero(view.result.diverged))
    assert len(view.points.data) + len(view.crosses.data) == 4 and len(view.crosses.data) == len(diverged)
    # the points sit at log10(lr), log10(loss) (the plot is log-log)
    now = view.current_losses()
    kept = ~view.result.diverged  # the plot at the end shows the sweep's final losses (the CLI's, the caption's)
    np.testing.assert_allclose(now[kept], view.result.final_train_loss[kept], rtol=1e-6)
    for spot in view.points.data:
        k = spot["data"]
        assert spot["x"] == pytest.approx(np.log10(view.lrs[k])) and spot["y"] == pytest.approx(np.log10(now[k]))
    with qtbot.waitSignal(view.run_requested, timeout=1000) as got:
        view.request_run(1)
    assert got.args == [pytest.approx(1e-2)]  # copy 1 of 1e-3, 1e-2, 1e-1, 1
    assert view.progress.format().startswith("done: 5 steps")
    assert view.by_lr.getPlotItem().getAxis("left").labelText == "loss (mean of the last 5 steps)"  # not "50"
    view.form.set_values({"lr_low": 1.0, "lr_high": 0.1})
    assert not view.start() and "LOW below HIGH" in view.progress.format()
    view.shutdown()


@pytest.fixture
def tab(qtbot):
    widget = TrainingTab()
    qtbot.addWidget(widget)
    widget.resize(1400, 850)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


def test_tab_hooks_open_the_windows_and_start_a_run_at_the_clicked_lr(qtbot, tab):
    tab.set_config(TINY)
    with qtbot.waitSignal(tab.runs_finished, timeout=TIMEOUT_MS):
        assert tab.start()
    [record] = list(tab.model.runs)
    tab.runs.select([record.id])
    assert tab.runs.landscape_button.isEnabled()
    with qtbot.waitSignal(tab.runs.landscape_requested, timeout=1000) as asked:
        qtbot.mouseClick(tab.runs.landscape_button, Qt.MouseButton.LeftButton)
    assert asked.args == [[record.id]]
    window = tab.windows[-1]
    assert isinstance(window, LandscapeView) and window.isVisible() and window.runs[0].name == record.name
    window.form.set_values({"resolution": 3, "probe": 10})
    window.compute()
    qtbot.waitUntil(lambda: not window.busy(), timeout=TIMEOUT_MS)
    assert window.panels[0].landscape is not None
    qtbot.mouseClick(tab.sweep_button, Qt.MouseButton.LeftButton)
    sweep = tab.windows[-1]
    assert isinstance(sweep, LrSweepView) and sweep.config.model == "mlp"
    sweep.lrs = np.array([1e-3, 0.02])
    with qtbot.waitSignal(tab.runs_finished, timeout=TIMEOUT_MS):
        sweep.request_run(1)
    runs = list(tab.model.runs)
    assert len(runs) == 2 and runs[1].config.optimizers[0].values["lr"] == pytest.approx(0.02)
    assert tab.panel.config().optimizers[0].values["lr"] == pytest.approx(0.02)


def a_slice(loss: np.ndarray, a: np.ndarray, explained=(np.nan, np.nan), path=np.zeros((0, 2))):
    """A Landscape of ``loss`` over α = β = ``a`` on random directions, for the panel's drawing alone."""
    from optviz.training.landscape import Landscape

    return Landscape(loss, a, a, path, np.zeros(0), np.array(explained, dtype=float), "random", np.zeros(0),
                     np.zeros(0), d1=np.zeros(1, np.float32), d2=np.zeros(1, np.float32))


def test_a_log_coloured_slice_reads_decades_on_its_colour_bar(qtbot) -> None:
    """A slice whose loss spans 1.5 to 1270 is coloured on a log scale: its bar reads 10, 100, 1000 where the
    colours of those losses are, not two round linear values crowded at the top."""
    n = 21
    a = np.linspace(-1, 1, n)
    loss = 1.5 * 10.0 ** (2.93 * (a[None, :] ** 2 + a[:, None] ** 2) / 2)  # 1.5 … 1270
    result = a_slice(loss, a)
    panel = LandscapePanel("run", with_3d=False)
    qtbot.addWidget(panel)
    panel.show_landscape(result)
    ticks = panel.colorbar.axis._tickLevels[0]
    assert [label for _, label in ticks] == ["10", "100", "1000"]
    positions = [p for p, _ in ticks]
    assert positions == sorted(positions) and positions[0] > 0.1 and positions[-1] < 1.0
    gaps = np.diff(positions)
    assert gaps.min() > 0.5 * gaps.max()  # decades about evenly spaced, as on a log bar
    assert panel.colorbar.getAxis("left").labelText == "loss (log scale)"


def test_a_log_slice_of_two_decades_reads_round_values_all_along_its_bar(qtbot) -> None:
    """Loss 2.16 … 335 (only 10 and 100 inside): the bar read "100, 200, 300" crowded in its top quarter and
    nothing below; it reads 5, 10, 20, 50, 100, 200 where those losses' colours are."""
    n = 41
    a = np.linspace(-1, 1, n)
    loss = 2.16 * (335 / 2.16) ** ((a[None, :] ** 2 + a[:, None] ** 2) / 2)
    result = a_slice(loss, a)
    panel = LandscapePanel("run", with_3d=False)
    qtbot.addWidget(panel)
    panel.show_landscape(result)
    ticks = panel.colorbar.axis._tickLevels[0]
    assert [label for _, label in ticks] == ["5", "10", "20", "50", "100", "200"]
    # each label sits where the picture's colour map puts its loss (the picture's own index of that value)
    field = sample(_Grid(result))
    for position, label in ticks:
        value = float(label)
        near = np.abs(field.z - value) <= 0.02 * value
        assert near.any() and np.median(field.colour[near]) == pytest.approx(position, abs=0.03)


def test_an_equalised_slice_says_so_on_its_colour_bar(qtbot) -> None:
    """A slice that is flat but for one spike is coloured partly by area (equalised): its bar's ticks are not
    evenly spaced, and its title says so, as the playground's does ("loss" alone read as a linear bar)."""
    a = np.linspace(-1, 1, 41)
    loss = 2.0 + 0.05 * a[None, :] + 40.0 * np.exp(-(a[None, :] ** 2 + a[:, None] ** 2) / 0.01)
    result = a_slice(loss, a)
    panel = LandscapePanel("run", with_3d=False)
    qtbot.addWidget(panel)
    panel.show_landscape(result)
    assert "rank" in sample(_Grid(result)).scale
    assert panel.colorbar.getAxis("left").labelText.endswith("equalised)")


def test_a_random_plane_says_why_the_path_is_short() -> None:
    """On random directions the projected path holds ~0% of its variance: the start dot sat on the end star,
    and a reader took it for where training started on this map."""
    from optviz.ui.training.landscape_view import describe

    a = np.linspace(-1, 1, 5)
    loss = 1.0 + a[None, :] ** 2 + a[:, None] ** 2
    for explained, short in (([0.004, 0.001], True), ([0.7, 0.2], False)):
        result = a_slice(loss, a, explained=explained, path=np.zeros((2, 2)))
        assert ("start near its end" in describe(result)) == short
