"""Computation off the GUI thread: stale results dropped, bursts coalesced, bad entries never reach the core."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from playground_helpers import TIMEOUT_MS, wait_computed
from PySide6.QtCore import Qt

import optviz.ui.playground.compute as compute
from optviz.core.optimizers import OptimizerChoice
from optviz.ui.workers import LatestRunner


def test_runner_delivers_only_the_latest_request(qtbot):
    gate = threading.Event()
    calls = []

    def job(n):
        calls.append(n)
        gate.wait(10)
        return n

    runner = LatestRunner(job, delay_ms=0)
    delivered = []
    runner.finished.connect(delivered.append)
    runner.request(1, immediate=True)
    qtbot.waitUntil(lambda: calls == [1], timeout=TIMEOUT_MS)
    for n in range(2, 30):  # a burst while job 1 runs: one job for the newest, the rest coalesced away
        runner.request(n)
    gate.set()
    qtbot.waitUntil(lambda: delivered == [29] and not runner.is_busy(), timeout=TIMEOUT_MS)
    assert calls == [1, 29]  # job 1's result was stale when it arrived: dropped
    assert runner.shutdown(10)


def test_runner_reports_failures_in_one_line(qtbot):
    def job():
        raise ValueError("Invalid device: cuda\n(details)")

    runner = LatestRunner(job, delay_ms=0)
    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT_MS) as blocker:
        runner.request()
    assert blocker.args == ["Invalid device: cuda"]
    assert runner.shutdown(10)


def test_bad_entries_never_reach_the_core(qtbot, playground, monkeypatch):
    seen: list[list[OptimizerChoice]] = []
    real = compute.simulate

    def spy(surface, choices, *args, **kwargs):
        seen.append(list(choices))
        return real(surface, choices, *args, **kwargs)

    monkeypatch.setattr(compute, "simulate", spy)
    lr = playground.side_panel.sections[0].panel.editor("lr")
    for text in ("abc", "-1", "50", "1e9", "nan", "0.3"):
        lr.lineEdit().selectAll()
        qtbot.keyClicks(lr.lineEdit(), text)
        qtbot.keyClick(lr.lineEdit(), Qt.Key.Key_Return)
        assert 0 <= playground.model.entries[0].choice.values["lr"] <= 10
    wait_computed(qtbot, playground)
    assert playground.model.entries[0].choice.values["lr"] == pytest.approx(0.3)
    assert seen, "the valid entry was computed"
    for choices in seen:
        for choice in choices:
            assert choice.spec.resolve(choice.values) == dict(choice.values)
    steps = playground.side_panel.steps_box
    steps.lineEdit().selectAll()
    qtbot.keyClicks(steps.lineEdit(), "99999")
    qtbot.keyClick(steps.lineEdit(), Qt.Key.Key_Return)
    assert playground.model.session.steps <= 5000


def test_sgd_lr_1_on_rosenbrock_diverges_and_the_app_stays_responsive(qtbot, playground):
    model, panel = playground.model, playground.side_panel
    panel.surface_combo.setCurrentIndex(panel.surface_combo.findData("rosenbrock"))
    assert model.session.surface == "rosenbrock"
    panel.sections[0].panel.editor("lr").setValue(1.0)
    assert model.entries[0].choice.values["lr"] == 1.0
    wait_computed(qtbot, playground)
    model.set_step(model.last_step)
    sgd_row = playground.status_table.row_texts()[0]
    state, place = sgd_row[1].split("\n")
    assert sgd_row[0] == "SGD" and state.startswith("diverged at step ") and place == "left the view"
    k = int(state.rsplit(" ", 1)[1])
    assert k == model.result.paths.diverged_step[0, 0] >= 1
    assert np.isnan(model.result.paths.positions[0, 0, -1]).all()
    model.set_step(0)  # before the divergence step the status is "still moving"
    assert playground.status_table.row_texts()[0][1].startswith("still moving\nat (")
    playground.animation_bar.slider.setValue(k + 1)  # still responding
    assert playground.status_table.row_texts()[0][1].startswith(f"diverged at step {k}\n")
    sgd = playground.surface_view.path_items.rows[0]
    hx, _ = sgd.heads.getData()
    ax, ay = sgd.exits.getData()
    assert len(hx) == 0 and len(ax) == 1  # no head any more: an arrow where it left the view
    (x0, x1), (y0, y1) = model.surface.view
    assert x0 <= ax[0] <= x1 and y0 <= ay[0] <= y1


def test_drag_previews_are_short_and_release_computes_everything(qtbot, playground, monkeypatch):
    model = playground.model
    model.set_steps(800)
    wait_computed(qtbot, playground)
    monkeypatch.setattr(compute, "PREVIEW_SECONDS", 0.0)  # force the shortest preview
    model.move_start(0, -3.0, 2.0, dragging=True)
    qtbot.waitUntil(lambda: model.result.session.starts[0] == (-3.0, 2.0), timeout=TIMEOUT_MS)
    assert model.result.preview and model.result.paths.steps == compute.MIN_PREVIEW_STEPS
    assert not model.is_up_to_date()
    model.move_start(0, -3.0, 2.0, dragging=False)
    wait_computed(qtbot, playground)
    assert not model.result.preview and model.result.paths.steps == 800
