"""Stability maps against single-path simulate runs with each cell's hyperparameters, on both engines; the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from test_basins import _decode_png

from optviz.cli import main
from optviz.core import batch, engine, rules
from optviz.core.optimizers import OptimizerChoice
from optviz.core.params import ParamError
from optviz.core.simulate import simulate
from optviz.core.surfaces import get_surface
from optviz.core.sweep import Axis, parse_axis, sweep


@pytest.fixture(scope="module", autouse=True)
def _engine_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPTVIZ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "optviz-cache"))  # one per session
        mp.delenv("OPTVIZ_ENGINE", raising=False)
        yield
    engine.wait_idle(60)


def check_cells(result, surface, picks) -> None:
    for i, j in picks:
        values = {**result.choice.values, result.x_name: float(result.x_values[j])}
        if result.y_name:
            values[result.y_name] = float(result.y_values[i])
        p = simulate(surface, [OptimizerChoice(result.choice.name, values)], [result.start], result.steps,
                     engine="eager")
        diverged = p.diverged_step[0, 0] >= 0
        assert result.diverged[i, j] == diverged, (i, j)
        if not diverged:
            assert result.final_loss[i, j] == pytest.approx(p.losses[0, 0, -1], rel=1e-9, abs=1e-12)
        else:
            assert np.isnan(result.final_loss[i, j])


@pytest.mark.parametrize("engine_name", ["fast", "eager"])
@pytest.mark.parametrize("name, x, y", [
    ("momentum", Axis("lr", 1e-5, 3e-3, log=True), Axis("momentum", 0.0, 0.99)),
    ("adam", Axis("lr", 1e-3, 1.0, log=True), Axis("beta2", 0.5, 0.999)),
    ("rmsprop", Axis("lr", 1e-4, 0.5, log=True), Axis("alpha", 0.5, 0.99)),
    ("adagrad", Axis("initial_accumulator_value", 0.0, 2.0), Axis("lr_decay", 0.0, 0.5)),
])
def test_cells_equal_single_runs_with_their_hyperparameters(engine_name, name, x, y):
    surface = get_surface("rosenbrock")
    result = sweep(surface, OptimizerChoice(name, {"lr": 0.1} if name == "adagrad" else {}), (-1.5, 2.0), x, y,
                   12, 200, engine=engine_name)
    assert result.engine == engine_name and result.final_loss.shape == (12, 12)
    np.testing.assert_allclose(result.x_values[[0, -1]], [x.low, x.high])
    rng = np.random.default_rng(0)
    picks = {tuple(ij) for ij in rng.integers(0, 12, size=(5, 2))} | {(0, 0), (11, 11), (0, 11)}
    picks |= {tuple(ij) for ij in np.argwhere(result.diverged)[:2]}
    check_cells(result, surface, picks)
    assert np.isnan(result.final_loss).sum() == result.diverged.sum()


def test_strip_over_the_learning_rate():
    surface = get_surface("himmelblau")
    result = sweep(surface, OptimizerChoice("sgd"), (1.5, -4.0), parse_axis("lr:1e-4:0.1"), None, 16, 100)
    assert result.final_loss.shape == (1, 16) and result.y_values.shape == (0,) and result.y_name == ""
    np.testing.assert_allclose(result.x_values, np.geomspace(1e-4, 0.1, 16))  # lr: a log axis unless told
    linear = sweep(surface, OptimizerChoice("sgd"), (1.5, -4.0), parse_axis("lr:1e-4:0.1:lin"), None, 4, 5)
    np.testing.assert_allclose(linear.x_values, np.linspace(1e-4, 0.1, 4))
    assert result.diverged[0, -1] and not result.diverged[0, 0]  # a large enough step leaves
    check_cells(result, surface, [(0, 0), (0, 7), (0, 15)])


def test_functional_rules_match_torch_optim_for_every_branch():
    from test_engine import BRANCHES

    surface = get_surface("himmelblau")
    starts = np.array([(0.3, -0.4), (-1.1, 0.7)])
    table = rules.hyper_table(BRANCHES)
    groups = np.repeat(np.arange(len(BRANCHES), dtype=np.int32), len(starts))
    run, used, _ = batch.track(surface, table, groups, np.tile(starts, (len(BRANCHES), 1)), 150, engine="eager")
    ref = simulate(surface, BRANCHES, starts, 150, engine="eager")
    assert used == "eager"
    np.testing.assert_allclose(run.position, ref.positions[:, :, -1].reshape(-1, 2), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(run.converged, ref.converged_step.ravel())


@pytest.mark.parametrize("text, message", [
    ("lr", "Malformed axis"), ("lr:1:x", "Malformed axis"), ("lr:1:2:cubic", "Malformed axis"),
])
def test_axis_syntax(text, message):
    with pytest.raises(ParamError, match=message):
        parse_axis(text)


@pytest.mark.parametrize("name, axis, message", [
    ("sgd", "momentum:0:0.5", "Unknown parameter 'momentum'"),
    ("nesterov", "momentum:0:0.5", "Invalid momentum"),
    ("adam", "amsgrad:0:1", "not a number"),
    ("sgd", "lr:0:1:log", "log axis"),
    ("sgd", "lr:0.1:0.1", "equal"),
    ("sgd", "lr:0.1:20", "Invalid learning rate"),
])
def test_axis_checks(name, axis, message):
    with pytest.raises(ParamError, match=message):
        sweep(get_surface("booth"), OptimizerChoice(name), (0.0, 0.0), parse_axis(axis), None, 4, 5)


def test_cli_writes_npz_and_png(tmp_path, capsys):
    out = tmp_path / "s.npz"
    assert main(["sweep", "--surface", "rosenbrock", "--start", "-1.5,2", "--optimizer", "momentum",
                 "--x", "lr:1e-5:1e-2:log", "--y", "momentum:0:0.99", "--resolution", "10", "--steps", "100",
                 "--out", str(out)]) == 0
    with np.load(out) as d:
        assert d["final_loss"].shape == (10, 10) and d["diverged"].dtype == bool
        assert str(d["x_name"]) == "lr" and str(d["y_name"]) == "momentum"
        assert d["x_values"].shape == d["y_values"].shape == (10,)
        assert np.array_equal(np.isnan(d["final_loss"]), d["diverged"])
    png = tmp_path / "s.png"
    assert main(["sweep", "--surface", "rosenbrock", "--start", "-1.5,2", "--optimizer", "adam",
                 "--x", "lr:1e-4:1:log", "--resolution", "16", "--steps", "50", "--out", str(png)]) == 0
    assert _decode_png(png.read_bytes()).shape[1] >= 256
    assert main(["sweep", "--surface", "rosenbrock", "--start", "-1.5", "--optimizer", "adam", "--x", "lr:1e-4:1",
                 "--out", str(tmp_path / "x.npz")]) == 2
    assert capsys.readouterr().err.count("Malformed start") == 1
