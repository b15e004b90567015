"""The learning-rate sweep: copy k is a single run at lr k, divergence is marked, and ``optviz sweep-lr``."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from optviz.cli import main
from optviz.core.optimizers import OptimizerChoice
from optviz.core.params import ParamError
from optviz.training.config import ConfigError, TrainConfig
from optviz.training.lr_sweep import SweepStarted, SweepStep, lr_grid, sweep_lr
from optviz.training.trainer import Control, Trainer


pytestmark = pytest.mark.usefixtures("training_thread_policy")

STEPS = 4


def _single(config: TrainConfig, lr: float):
    choice = config.optimizers[0]
    one = dataclasses.replace(config, optimizers=(dataclasses.replace(choice, values={**choice.values, "lr": lr}),))
    return Trainer(one).run().runs[0]


LENET = TrainConfig(dataset="mnist5k", subset=200, model="lenet", batch_size=16, max_steps=STEPS, epochs=1,
                    device="cpu", optimizers=(OptimizerChoice("adam"),))
MLP_BN = TrainConfig(dataset="mnist5k", subset=200, model="mlp", width=4, batchnorm=True, batch_size=16,
                     max_steps=STEPS, epochs=1, device="cpu", weight_decay=1e-3,
                     optimizers=(OptimizerChoice("nesterov"),))


def test_the_loop_engine_is_bit_for_bit_single_runs_dropout_and_l1_included() -> None:
    config = dataclasses.replace(MLP_BN, dropout=0.3, l1=1e-4, optimizers=(OptimizerChoice("rmsprop"),))
    lrs = [1e-3, 1e-2]
    result = sweep_lr(config, lrs, engine="loop")
    assert result.engine == "loop"
    for k, lr in enumerate(lrs):
        single = _single(config, lr)
        np.testing.assert_array_equal(result.losses[:, k], single.metrics.batch_loss)
        for name, value in single.model_state.items():
            assert torch.equal(result.states[k][name], value), name


@pytest.mark.parametrize("config", [LENET, MLP_BN], ids=["lenet-adam", "mlp-bn-nesterov-wd"])
def test_each_vmap_copy_equals_a_single_run_at_its_lr(config: TrainConfig) -> None:
    """float32; the batched convs sum in another order, so: batch losses to 1e-5 relative; weights to 1e-6 for
    99.9% of the elements and all within 1e-6 + lr·steps/200 (Adam turns a rounding difference in a gradient near
    0 into a step of up to lr: we saw 2e-5 on one element of 48,000 at lr 1e-2)."""
    lrs = [1e-3, 3e-3, 1e-2]
    events: list = []
    result = sweep_lr(config, lrs, events.append, engine="vmap")
    assert result.engine == "vmap" and isinstance(events[0], SweepStarted)
    assert [e.step for e in events[1:]] == list(range(1, STEPS + 1))
    assert all(isinstance(e, SweepStep) and e.losses.shape == (3,) for e in events[1:])
    assert result.steps == STEPS and result.losses.shape == (STEPS, 3) and not result.diverged.any()
    for k, lr in enumerate(lrs):
        single = _single(config, lr)
        np.testing.assert_allclose(result.losses[:, k], single.metrics.batch_loss, rtol=1e-5)
        for name, value in single.model_state.items():
            diff = (result.states[k][name] - value).abs()
            assert float(diff.max()) <= 1e-6 + lr * STEPS / 200, name
            assert int((diff > 1e-6).sum()) <= value.numel() // 1000, name
    # the copies differ: each really had its own lr
    assert not torch.equal(result.states[0]["classifier.weight"], result.states[2]["classifier.weight"])


@pytest.mark.parametrize("engine", ["vmap", "loop"])
def test_divergence_is_marked_and_the_rest_go_on(engine: str) -> None:
    config = TrainConfig(dataset="mnist5k", subset=200, model="mlp", width=4, batch_size=16, max_steps=8, epochs=1,
                         device="cpu", optimizers=(OptimizerChoice("sgd"),))
    result = sweep_lr(config, [1e-2, 10.0], engine=engine)
    assert result.diverged.tolist() == [False, True] and result.diverged_step[1] >= 2
    s = result.diverged_step[1]
    assert np.isnan(result.losses[s - 1:, 1]).all() and np.isfinite(result.losses[:, 0]).all()
    assert np.isnan(result.final_train_loss[1]) and result.best() == 0
    assert all(torch.isfinite(v).all() for v in result.states[1].values())  # the last acceptable weights
    report = result.report()
    assert report["diverged"] == [False, True] and report["final_train_loss"][1] is None
    assert report["steps"] == 8 and report["best_lr"] == 1e-2


def test_stop_grid_and_refusals() -> None:
    np.testing.assert_allclose(lr_grid(1e-4, 1, 5), [1e-4, 1e-3, 1e-2, 1e-1, 1])
    with pytest.raises(ParamError, match="Invalid copies: 33"):
        lr_grid(1e-4, 1, 33)
    with pytest.raises(ParamError, match="LOW below HIGH"):
        lr_grid(1, 1e-4, 4)
    config = TrainConfig(dataset="mnist5k", subset=200, model="mlp", width=4, epochs=1, device="cpu",
                         optimizers=(OptimizerChoice("sgd"),))
    with pytest.raises(ParamError, match="Invalid learning rate: 20"):
        sweep_lr(config, [1e-3, 20.0])
    with pytest.raises(ConfigError, match="one optimizer"):
        sweep_lr(dataclasses.replace(config, optimizers=(OptimizerChoice("sgd"), OptimizerChoice("adam"))), [0.1])
    control = Control()
    control.stop()
    stopped = sweep_lr(config, [1e-3, 1e-2], control=control)
    assert stopped.stopped and stopped.steps == 0 and stopped.losses.shape == (0, 2)


def test_cli_json_and_errors(capsys) -> None:
    args = ["sweep-lr", "--model", "mlp", "--width", "4", "--optimizer", "sgd:lr=0.1", "--lr", "1e-3:10",
            "--copies", "3", "--epochs", "1", "--max-steps", "5", "--subset", "200", "--device", "cpu"]
    assert main([*args, "--json", "--engine", "vmap"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["engine"] == "vmap"
    assert set(report) >= {"lrs", "final_train_loss", "diverged", "steps"} and report["steps"] == 5
    np.testing.assert_allclose(report["lrs"], [1e-3, 0.1, 10])
    assert len(report["final_train_loss"]) == len(report["diverged"]) == 3
    assert main(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["lr", "final", "train", "loss", "status"] and len(table) == 4
    for extra, words in ((["--lr", "1e-3"], "Malformed --lr '1e-3' (expected LOW:HIGH"),
                         (["--lr", "1e-3:100"], "Invalid learning rate: 100 (allowed: a number in [0, 10])"),
                         (["--copies", "40"], "Invalid copies: 40 (allowed: an integer in [1, 32])"),
                         (["--optimizer", "sgd:momentum=0.9"], "Unknown parameter 'momentum' for optimizer sgd")):
        flag, value = extra
        changed = list(args)
        changed[changed.index(flag) + 1] = value  # a flag given twice is refused on its own
        assert main(changed) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
