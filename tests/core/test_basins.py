"""Basin maps against single-path simulate runs, on both engines; the race statistics; `optviz basins`."""

from __future__ import annotations

import struct
import threading
import zlib

import numpy as np
import pytest
import torch

from optviz.cli import main
from optviz.core import engine, kernel
from optviz.core.basins import basins, grid, race
from optviz.core.image import png_bytes
from optviz.core.optimizers import OptimizerChoice
from optviz.core.simulate import SimulationError, simulate
from optviz.core.surfaces import get_surface

HIMMELBLAU = [OptimizerChoice("sgd", {"lr": 0.01}), OptimizerChoice("momentum", {"lr": 0.01}),
              OptimizerChoice("adam", {"lr": 0.05}), OptimizerChoice("rmsprop", {"lr": 0.3})]


@pytest.fixture(scope="module", autouse=True)
def _engine_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPTVIZ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "optviz-cache"))  # one per session
        mp.delenv("OPTVIZ_ENGINE", raising=False)
        yield
    engine.wait_idle(60)


@pytest.fixture(scope="module")
def himmelblau_map():
    return basins(get_surface("himmelblau"), HIMMELBLAU, 16, 300, engine="fast")


def expected_label(surface, choice, start, steps, tol, radius) -> tuple[int, int]:
    """(label, steps) of one start by the documented criterion, from the eager engine's single path."""
    p = simulate(surface, [choice], [start], steps, engine="eager", tol=tol)
    if p.diverged_step[0, 0] >= 0:
        return -2, -1
    c = int(p.converged_step[0, 0])
    if c < 0:
        return -1, -1
    (x0, x1), (y0, y1) = surface.view
    minima = np.array([(m.x, m.y) for m in surface.minima])
    d = np.linalg.norm(minima - p.positions[0, 0, -1], axis=1)
    k = int(d.argmin())
    return (k, c) if d[k] <= radius * np.hypot(x1 - x0, y1 - y0) else (-1, -1)


def test_sampled_labels_equal_single_path_runs(himmelblau_map):
    result, surface = himmelblau_map, get_surface("himmelblau")
    rng = np.random.default_rng(1)
    seen = set()
    for m in result.maps:
        picks = {tuple(ij) for ij in rng.integers(0, 16, size=(6, 2))}
        for label in (-2, -1):  # the rare labels too
            picks |= {tuple(ij) for ij in np.argwhere(m.labels == label)[:2]}
        for i, j in picks:
            label, steps = expected_label(surface, m.choice, (result.xs[j], result.ys[i]), result.budget, result.tol,
                                          result.radius)
            assert (m.labels[i, j], m.steps[i, j]) == (label, steps), (m.label, i, j)
            seen.add(label)
    assert {-2, -1, 0, 1, 2, 3} <= seen  # every kind of label was checked


def test_both_engines_draw_the_same_maps(himmelblau_map):
    eager = basins(get_surface("himmelblau"), HIMMELBLAU, 16, 300, engine="eager")
    assert (himmelblau_map.engine, eager.engine) == ("fast", "eager")
    for fast_map, eager_map in zip(himmelblau_map.maps, eager.maps):
        np.testing.assert_array_equal(fast_map.labels, eager_map.labels)
        np.testing.assert_array_equal(fast_map.steps, eager_map.steps)


def test_all_maps_in_one_batch_of_the_rules_draw_the_same_maps(himmelblau_map, monkeypatch):
    """Without the fast engine, "auto" runs every optimizer's rows as one batch through the update rules on torch
    tensors: what a GPU runs (one launch per operation for all maps). The same labels and steps as the fast
    engine's, and so as torch.optim's one optimizer at a time (the test above)."""
    monkeypatch.setenv("OPTVIZ_ENGINE", "eager")  # the kernel turned off: "auto" takes the rules on tensors
    calls = []
    batched = basins(get_surface("himmelblau"), HIMMELBLAU, 16, 300, engine="auto", device="cpu",
                     progress=lambda done, total: calls.append((done, total)))
    assert batched.engine == "eager" and calls[-1] == (4 * 256, 4 * 256)
    for fast_map, map_ in zip(himmelblau_map.maps, batched.maps):
        assert map_.label == fast_map.label
        np.testing.assert_array_equal(fast_map.labels, map_.labels)
        np.testing.assert_array_equal(fast_map.steps, map_.steps)


@pytest.mark.parametrize("threads", [1, 2])
def test_one_batch_of_all_maps_reports_progress_in_parts_and_stops_when_the_callback_raises(threads, monkeypatch):
    """All maps are one batch of rows now: the fast engine still reports progress in parts (on one thread too), so
    the GUI's progress bar moves and its Cancel, which raises from the callback, stops the job early."""
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    calls = []
    basins(get_surface("himmelblau"), HIMMELBLAU, 64, 20, engine="fast", progress=lambda *a: calls.append(a))
    total = 4 * 64 * 64
    assert len(calls) >= 8 and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and calls[0][0] < total // 4

    class Stop(Exception):
        pass

    cancelled = threading.Event()

    def cancel(done: int, total: int) -> None:
        seen.append(done)
        cancelled.set()
        raise Stop

    seen: list[int] = []
    ran = []
    run = kernel.Library.run

    def slow_run(self, r0, r1, *a, **k):  # parts after the first wait for the cancel: a long job, deterministically
        ran.append(r0)
        if len(ran) > 1:
            cancelled.wait(10)
        return run(self, r0, r1, *a, **k)

    monkeypatch.setattr(kernel.Library, "run", slow_run)
    with pytest.raises(Stop):
        basins(get_surface("himmelblau"), HIMMELBLAU, 64, 20, engine="fast", progress=cancel)
    assert seen == [seen[0]] and seen[0] < total // 4
    assert len(ran) <= 1 + threads  # of 16 parts: the ones not yet started never ran


def test_grid_orientation_labels_i_j_belong_to_xs_j_ys_i():
    surface = get_surface("himmelblau")
    result = basins(surface, [OptimizerChoice("sgd", {"lr": 0.01})], 21, 200)
    xs, ys, starts = grid(surface, 21)
    assert np.array_equal(starts[21 * 3 + 5], [xs[5], ys[3]])
    for k, m in enumerate(surface.minima):  # the start nearest each minimum ends in it
        i, j = np.abs(ys - m.y).argmin(), np.abs(xs - m.x).argmin()
        assert result.maps[0].labels[i, j] == k
    assert np.array_equal(result.minima, [(m.x, m.y) for m in surface.minima])


def test_race_statistics_summarise_the_labels():
    surface = get_surface("wells")
    result = basins(surface, [OptimizerChoice("sgd", {"lr": 0.1}), OptimizerChoice("momentum", {"lr": 0.1})], 20, 300,
                    tol=1e-3)
    glob = [k for k, m in enumerate(surface.minima) if m.kind == "global"]
    assert len(glob) == 1 and len(surface.minima) == 3
    for stats, m in zip(race(result), result.maps):
        labels, steps = m.labels.ravel(), m.steps.ravel()
        assert stats.global_share == pytest.approx(np.isin(labels, glob).mean())
        assert stats.any_share == pytest.approx((labels >= 0).mean())
        assert stats.diverged_share == pytest.approx((labels == -2).mean())
        assert stats.median_steps == pytest.approx(np.median(steps[labels >= 0]))
        assert stats.p90_steps == pytest.approx(np.percentile(steps[labels >= 0], 90))
        assert np.all((steps >= 0) == (labels >= 0))
    sgd, momentum = race(result)
    assert sgd.any_share > sgd.global_share  # SGD stops in the local wells from part of the grid


def test_no_minimum_and_all_diverging():
    saddle = basins(get_surface("saddle"), [OptimizerChoice("sgd", {"lr": 0.1})], 8, 100)
    assert saddle.minima.shape == (0, 2) and set(np.unique(saddle.maps[0].labels)) <= {-1, -2}
    booth = basins(get_surface("booth"), [OptimizerChoice("sgd", {"lr": 5.0})], 8, 50)
    assert (booth.maps[0].labels == -2).all() and race(booth)[0].diverged_share == 1.0
    with pytest.raises(SimulationError, match="none given"):
        basins(get_surface("booth"), [], 8, 10)


def _decode_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        (n,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        idat += data[pos + 8:pos + 8 + n] if kind == b"IDAT" else b""
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + 3 * w)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(h, w, 3)


def test_png_writer_round_trip():
    img = np.random.default_rng(0).integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(_decode_png(png_bytes(img)), img)


def test_cli_writes_npz_and_png(tmp_path, capsys):
    out = tmp_path / "b.npz"
    assert main(["basins", "--surface", "himmelblau", "--optimizer", "sgd:lr=0.01", "--optimizer", "adam:lr=0.05",
                 "--resolution", "12", "--steps", "150", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "sgd" in text and "adam" in text and "global" in text
    with np.load(out) as d:
        assert list(d["optimizers"]) == ["sgd", "adam"]
        assert d["sgd/labels"].shape == (12, 12) and d["adam/steps"].shape == (12, 12)
        assert d["minima"].shape == (4, 2) and d["xs"].shape == d["ys"].shape == (12,)
        direct = basins(get_surface("himmelblau"), [OptimizerChoice("sgd", {"lr": 0.01})], 12, 150)
        np.testing.assert_array_equal(d["sgd/labels"], direct.maps[0].labels)
    png = tmp_path / "b.png"
    assert main(["basins", "--surface", "himmelblau", "--optimizer", "sgd:lr=0.01", "--resolution", "8",
                 "--steps", "50", "--out", str(png)]) == 0
    img = _decode_png(png.read_bytes())
    assert img.shape[0] >= 256 and img.shape[2] == 3


@pytest.mark.parametrize("args, message", [
    (["--surface", "nope", "--optimizer", "sgd"], "Unknown surface"),
    (["--surface", "booth", "--optimizer", "sgd:lr=-1"], "Invalid learning rate"),
    (["--surface", "booth", "--optimizer", "sgd", "--resolution", "513"], "Invalid resolution"),
    (["--surface", "booth", "--optimizer", "sgd", "--steps", "0"], "Invalid steps"),
    (["--surface", "booth", "--optimizer", "sgd", "--tol", "0"], "Invalid tol"),
])
def test_cli_bad_input_is_one_line_and_status_2(tmp_path, capsys, args, message):
    assert main(["basins", *args, "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "x.npz").exists()


def test_cli_refuses_other_suffixes(tmp_path, capsys):
    assert main(["basins", "--surface", "booth", "--optimizer", "sgd", "--out", str(tmp_path / "x.csv")]) == 2
    assert ".npz or .png" in capsys.readouterr().err


def test_shares_read_0_and_100_only_when_exact():
    """3 diverged starts of 65,536 read "<0.1", not "0.0"; 99.95% reaching the global minimum reads ">99.9", not
    "100.0" (the race table said every start of Momentum's grid made it when some did not)."""
    from optviz.core.basins import share_text

    assert [share_text(v) for v in (0.0, 3 / 65536, 0.281, 0.9995, 1.0, float("nan"))] == \
        ["0", "<0.1", "28.1", ">99.9", "100", "—"]

