"""The playground hands a new surface's freed heap back once (core.memory.trim), after the change has settled."""

from __future__ import annotations

from playground_helpers import TIMEOUT_MS, wait_computed

from optviz.ui.playground import compute


def _count_trims(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(compute.memory, "trim", lambda: calls.append(1) or True)
    return calls


def test_a_surface_change_trims_once_after_its_picture_and_points_are_in(qtbot, playground, monkeypatch):
    calls = _count_trims(monkeypatch)
    qtbot.wait(compute.TRIM_DELAY_MS + 200)  # the start-up surface's trim, if it was still waiting
    calls.clear()
    with qtbot.waitSignal(playground.computer.trimmed, timeout=TIMEOUT_MS):
        playground.model.set_surface("rastrigin")
    assert calls == [1]
    field = playground.model.field
    assert field.key[0] == "rastrigin" and len(field.minima) == 121  # everything arrived before the trim
    # hyperparameter changes and a moved start do not trim: nothing per-surface was freed
    playground.model.set_hyper(0, {"lr": 0.002})
    playground.model.move_start(0, 1.0, 1.0)
    wait_computed(qtbot, playground)
    qtbot.wait(compute.TRIM_DELAY_MS + 200)
    assert calls == [1]


def test_a_burst_of_parameter_changes_trims_once_after_the_last(qtbot, playground, monkeypatch):
    calls = _count_trims(monkeypatch)
    playground.model.set_surface("quadratic")
    wait_computed(qtbot, playground)
    qtbot.waitUntil(lambda: playground.computer._trim_state == "", timeout=TIMEOUT_MS)
    calls.clear()
    # the delay that follows each value: long enough that a busy machine (or a garbage collection on the GUI
    # thread) between two values cannot let it run out in the middle of the burst
    playground.computer._trim_timer.setInterval(10 * compute.TRIM_DELAY_MS)
    for kappa in (20.0, 40.0, 80.0, 160.0, 320.0):  # a slider dragged: each value recomputes the picture
        playground.model.set_surface_param("kappa", kappa)
        wait_computed(qtbot, playground)
        qtbot.wait(compute.TRIM_DELAY_MS // 5)
    assert calls == []
    with qtbot.waitSignal(playground.computer.trimmed, timeout=TIMEOUT_MS):
        pass
    assert calls == [1]
    assert playground.model.field.key == ("quadratic", (("kappa", 320.0),))


def test_a_trim_due_while_paths_keep_coming_waits_for_a_moment_between_them(qtbot, playground, monkeypatch):
    calls = _count_trims(monkeypatch)
    playground.model.set_surface("booth")
    wait_computed(qtbot, playground)
    computer = playground.computer
    qtbot.waitUntil(lambda: computer._trim_state == "", timeout=TIMEOUT_MS)  # booth's trim is done
    calls.clear()
    computer._trim_state = "due"  # as if the delay after another surface change were just ending
    playground.model.set_hyper(0, {"lr": 0.003})  # busy when the delay ends ...
    computer._on_trim_timer_timeout()
    assert calls == [] and computer._trim_state == "ready"
    wait_computed(qtbot, playground)  # ... so it trims as soon as that job is done
    qtbot.waitUntil(lambda: calls == [1], timeout=TIMEOUT_MS)
    assert computer._trim_state == ""
