"""The stacked engine of the learning-rate sweep: each copy is a single run at its lr (float rounding apart), its
pieces match torch's layers (ties in max pooling included), and models it cannot run fall back to the loop."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from optviz.core.optimizers import OptimizerChoice
from optviz.training.config import TrainConfig
from optviz.training.data import prepare
from optviz.training.lr_sweep import SweepStarted, SweepStep, sweep_lr
from optviz.training.models import build_model
from optviz.training.stacked import StackedCopies, StackedNet, unsupported
from optviz.training.stacked_layers import _Pool
from test_lr_sweep import LENET, STEPS, _single  # the single-run reference both sweep engines meet

pytestmark = pytest.mark.usefixtures("training_thread_policy")

CASES = {
    "lenet-adam": LENET,
    # 140 training images in batches of 32: step 5 has 12 (a short last batch), then a second epoch
    "lenet-momentum-7-steps": dataclasses.replace(LENET, batch_size=32, max_steps=7, epochs=2,
                                                        optimizers=(OptimizerChoice("momentum"),)),
    "lenet-gelu-adamw-decoupled-clip": dataclasses.replace(LENET, activation="gelu", weight_decay=1e-2,
                                                           decoupled=True, clip_grad=0.5,
                                                           optimizers=(OptimizerChoice("adamw"),)),
    "mlp-nesterov-wd-l1": TrainConfig(dataset="mnist5k", subset=200, model="mlp", width=4, batch_size=16,
                                      max_steps=STEPS, epochs=1, device="cpu", weight_decay=1e-3, l1=1e-4,
                                      optimizers=(OptimizerChoice("nesterov"),)),
}


def _initial_weights(config: TrainConfig) -> dict[str, torch.Tensor]:
    torch.manual_seed(config.seed)  # as the trainer and the sweep draw them
    splits = prepare(config)
    c, h, _ = splits.image_shape
    return build_model(config, c, len(splits.classes), h).state_dict()


@pytest.mark.parametrize("config", list(CASES.values()), ids=list(CASES))
def test_each_stacked_copy_equals_a_single_run_at_its_lr(config: TrainConfig) -> None:
    """float32; the batched products sum in another order than torch's convolutions, so: batch losses to 1e-5
    relative; each weight within 1e-6 + lr·steps/200 (an adaptive rule turns a rounding difference in a gradient
    near 0 into a step of up to lr) and each tensor within 1% of how far the single run moved it: a rounding
    difference can flip a ReLU whose input is ~1e-8 (we saw one in 13 steps of momentum at lr 1e-2: one sample's
    share of that step's gradient, 0.3% of conv1's path), and these tests must hold on every CPU's rounding."""
    lrs = [1e-3, 3e-3, 1e-2]
    events: list = []
    result = sweep_lr(config, lrs, events.append, engine="stacked")
    steps = config.max_steps
    assert result.engine == "stacked" and result.note == "" and isinstance(events[0], SweepStarted)
    assert [e.step for e in events[1:]] == list(range(1, steps + 1))
    assert all(isinstance(e, SweepStep) and e.losses.shape == (3,) for e in events[1:])
    assert result.steps == steps and not result.diverged.any()
    start = _initial_weights(config)
    for k, lr in enumerate(lrs):
        single = _single(config, lr)
        np.testing.assert_allclose(result.losses[:, k], single.metrics.batch_loss, rtol=1e-5)
        assert set(result.states[k]) == set(single.model_state)
        for name, value in single.model_state.items():
            diff = result.states[k][name] - value
            assert float(diff.abs().max()) <= 1e-6 + lr * steps / 200, name
            assert float(diff.norm()) <= 1e-2 * float((value - start[name]).norm()), (name, lr)
    assert not torch.equal(result.states[0]["classifier.weight"], result.states[2]["classifier.weight"])


def test_auto_is_stacked_on_the_cpu_and_other_models_fall_back_to_the_loop_with_the_reason() -> None:
    assert sweep_lr(LENET, [1e-3, 1e-2]).engine == "stacked"
    for change, words in (({"batchnorm": True}, "BatchNorm"), ({"dropout": 0.2}, "dropout"),
                          ({"model": "resnet8", "width": 2}, "skip connections")):
        config = dataclasses.replace(LENET, max_steps=2, **change)
        for engine in ("auto", "stacked"):
            result = sweep_lr(config, [1e-3, 1e-2], engine=engine)
            assert result.engine == "loop" and words in result.note, (change, result.note)
            assert result.report()["engine_note"] == result.note
            single = _single(config, 1e-2)  # the loop: bit for bit
            np.testing.assert_array_equal(result.losses[:, 1], single.metrics.batch_loss)


def test_divergence_on_the_stacked_engine_keeps_the_last_finite_weights() -> None:
    config = TrainConfig(dataset="mnist5k", subset=200, model="lenet", batch_size=16, max_steps=8, epochs=1,
                         device="cpu", optimizers=(OptimizerChoice("sgd"),))
    result = sweep_lr(config, [1e-2, 10.0], engine="stacked")
    assert result.diverged.tolist() == [False, True] and result.diverged_step[1] >= 2
    s = result.diverged_step[1]
    assert np.isnan(result.losses[s - 1:, 1]).all() and np.isfinite(result.losses[:, 0]).all()
    assert all(torch.isfinite(v).all() for v in result.states[1].values())
    single = _single(config, 1e-2)  # the survivor is untouched by its diverging neighbour
    np.testing.assert_allclose(result.losses[:, 0], single.metrics.batch_loss, rtol=1e-5)


def test_diverged_copies_stop_costing_and_the_others_go_on_as_single_runs(monkeypatch) -> None:
    """A copy that diverges leaves the stacked computation (the net runs the others only), keeps its last finite
    weights, and the survivors on either side of it — Adam, whose state moves with them — still equal single
    runs."""
    config = dataclasses.replace(LENET, max_steps=6)
    sizes = []
    losses = StackedNet.losses
    monkeypatch.setattr(StackedNet, "losses", lambda self, x, y: (sizes.append(len(self.flat)), losses(self, x, y))[1])
    lrs = [1e-3, 10.0, 3e-3]
    result = sweep_lr(config, lrs, engine="stacked")
    s = int(result.diverged_step[1])
    assert result.diverged.tolist() == [False, True, False] and 2 <= s < 6
    assert sizes == [3] * s + [2] * (6 - s)  # from the step after it diverged, two copies are computed
    assert all(torch.isfinite(v).all() for v in result.states[1].values())
    assert np.isnan(result.losses[s - 1:, 1]).all()
    start = _initial_weights(config)
    for k in (0, 2):
        single = _single(config, lrs[k])
        np.testing.assert_allclose(result.losses[:, k], single.metrics.batch_loss, rtol=1e-5)
        for name, value in single.model_state.items():
            diff = result.states[k][name] - value
            assert float(diff.abs().max()) <= 1e-6 + lrs[k] * 6 / 200, name
            assert float(diff.norm()) <= 1e-2 * float((value - start[name]).norm()), (name, k)


@pytest.mark.parametrize("layout", ["plain", "grouped-memory", "grouped"])
@pytest.mark.parametrize("size", [(6, 6), (7, 5)])
def test_pooling_matches_max_pool2d_ties_included(layout: str, size: tuple[int, int]) -> None:
    """Values and gradients equal nn.MaxPool2d's exactly, with many ties (small integers) routed to the first
    maximum of each window as torch's kernel does; odd sizes drop the last row/column (their gradient is 0).
    Plain: (N, B, C, H, W) in and out; grouped-memory: the same with memory (B, H, W, N, C), what a later conv
    writes (the output and gradient keep that order); grouped: the first conv's (B, 2, 2, H/2, W/2, N, C) in,
    (N, B, C, H/2, W/2) out."""
    if layout == "grouped" and (size[0] % 2 or size[1] % 2):
        pytest.skip("the grouped layout comes from a conv that computes only the pooled window positions")
    gen = torch.Generator().manual_seed(0)
    n, o, b, (h, w) = 2, 3, 4, size
    x = torch.randint(0, 3, (n, b, o, h, w), generator=gen).float().requires_grad_()
    ref = F.max_pool2d(x.view(-1, 1, h, w), 2).view(n, b, o, h // 2, w // 2)
    g = torch.randn(ref.shape, generator=gen)
    ref.backward(g)
    pool = _Pool()
    pool.grouped = layout == "grouped"
    if layout == "grouped":
        inp = x.detach().view(n, b, o, h // 2, 2, w // 2, 2).permute(1, 4, 6, 3, 5, 0, 2).contiguous()
        assert torch.equal(pool.forward(inp), ref.detach())
        dx = pool.backward(g.clone()).permute(5, 0, 6, 3, 1, 4, 2).reshape(n, b, o, h, w)
    else:
        inp = x.detach()
        if layout == "grouped-memory":
            inp = inp.permute(1, 3, 4, 0, 2).contiguous().permute(3, 0, 4, 1, 2)
        out = pool.forward(inp)
        assert torch.equal(out, ref.detach())
        dx = pool.backward(g.clone())
        assert dx.stride() == inp.stride()
    assert torch.equal(dx, x.grad)


@pytest.mark.parametrize("kw", [{"model": "lenet"}, {"model": "lenet", "activation": "sigmoid"},
                                {"model": "lenet", "activation": "tanh"},
                                {"model": "mlp", "width": 2, "activation": "gelu"}], ids=str)
def test_the_stacked_gradient_is_each_copys_autograd_gradient(kw: dict) -> None:
    """One batch; tanh and sigmoid are applied after the pools (the same values): where float rounding makes two
    saturated values of a window equal, torch's pool may pick another one, with a gradient of almost 0 (so tanh is
    left out of the multi-step comparison above)."""
    config = TrainConfig(optimizers=(OptimizerChoice("adam"),), **kw)
    torch.manual_seed(0)
    model = build_model(config, 1, 10, 28)
    net = StackedNet(model, 3, l1=1e-3)
    net.flat += 0.01 * torch.randn_like(net.flat)  # three different copies
    x, y = torch.randn(20, 1, 28, 28), torch.randint(0, 10, (20,))
    losses = net.losses(x, y)
    for k in range(3):
        one = build_model(config, 1, 10, 28)
        one.load_state_dict(dict(net.tensors(net.flat, k)))
        loss = F.cross_entropy(one(x), y) + 1e-3 * sum(p.abs().sum() for p in one.parameters())
        loss.backward()
        assert float(losses[k]) == pytest.approx(loss.item(), rel=1e-6)
        for (name, g), p in zip(net.tensors(net.grad, k), one.parameters()):
            torch.testing.assert_close(g, p.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_other_stacks_padding_no_bias_odd_pool_and_a_first_conv_without_pool() -> None:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 5, 3, padding=1, bias=False),
                          nn.GELU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(5 * 4 * 3, 7))
    assert unsupported(model) == ""
    net = StackedNet(model, 2)
    net.flat += 0.05 * torch.randn_like(net.flat)
    x, y = torch.randn(6, 2, 9, 7), torch.randint(0, 7, (6,))
    losses = net.losses(x, y)
    for k in range(2):
        one = copy.deepcopy(model)
        one.load_state_dict(dict(net.tensors(net.flat, k)))
        loss = F.cross_entropy(one(x), y)
        loss.backward()
        assert float(losses[k]) == pytest.approx(loss.item(), rel=1e-6)
        for (name, g), p in zip(net.tensors(net.grad, k), one.parameters()):
            torch.testing.assert_close(g, p.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_what_the_stacked_engine_takes() -> None:
    config = TrainConfig(optimizers=(OptimizerChoice("adam"),), model="lenet")
    assert unsupported(build_model(config, 1, 10, 28)) == ""
    assert "BatchNorm" in unsupported(build_model(dataclasses.replace(config, batchnorm=True), 1, 10, 28))
    assert "strided" in unsupported(nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.Flatten(), nn.Linear(2, 2)))
    assert "2×2" in unsupported(nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(3), nn.Flatten(), nn.Linear(2, 2)))
    assert "LayerNorm" in unsupported(nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2)))
    # elementwise rules get one flat tensor per copy; any other rule the copy's tensors one by one
    model = build_model(config, 1, 10, 28)
    flat = StackedCopies(model, 2, 0.0, torch.optim.Adam)
    assert [len(t) for t in flat.trainable] == [1, 1] and flat.trainable[0][0].numel() == 61706
    per_tensor = StackedCopies(model, 2, 0.0, torch.optim.LBFGS)
    assert [p.shape for p in per_tensor.trainable[1]] == [p.shape for p in model.parameters()]
    assert all(p.grad is not None and p.grad.shape == p.shape for p in per_tensor.trainable[1])


def test_lenet_layers_hand_on_their_layout_without_copies() -> None:
    """The first conv writes every position's row of all copies' channels, so the first pool's output is one
    channels-last batch (B, 14, 14, N·6) that the second conv reads in place as a grouped convolution; 14 copies
    (84 channels) get a product padded to 88 columns, and the gradients stay each copy's own."""
    config = TrainConfig(optimizers=(OptimizerChoice("adam"),), model="lenet")
    torch.manual_seed(0)
    model = build_model(config, 1, 10, 28)
    net = StackedNet(model, 14)
    net.flat += 0.01 * torch.randn_like(net.flat)
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    net.losses(x, y)
    conv1, pool1, conv2 = net.layers[0], net.layers[1], net.layers[3]
    assert pool1.grouped and pool1.x.shape == (8, 2, 2, 14, 14, 14, 6)
    assert conv1.bufs.get("y", (8 * 28 * 28, 88), x).data_ptr() == pool1.x.data_ptr()
    assert conv2.xg.shape == (8, 14 * 6, 14, 14) and conv2.xg.is_contiguous(memory_format=torch.channels_last)
    assert conv2.xg.data_ptr() == net.layers[2].y.data_ptr()  # the ReLU's output, read in place
    for k in (0, 13):
        one = build_model(config, 1, 10, 28)
        one.load_state_dict(dict(net.tensors(net.flat, k)))
        F.cross_entropy(one(x), y).backward()
        for (name, g), p in zip(net.tensors(net.grad, k), one.parameters()):
            torch.testing.assert_close(g, p.grad, rtol=1e-4, atol=1e-6, msg=name)
