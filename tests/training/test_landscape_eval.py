"""The landscape evaluator's exact shortcuts (first block pooled from three conv outputs, folded or per-point
BatchNorm, channels-last layout, NHWC flatten, grid-row reuse) against the load-weights loop, in float32."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import optviz.training.landscape_eval as landscape_eval
import optviz.training.landscape_layers as landscape_layers
from optviz.training.config import TrainConfig
from optviz.training.landscape import (SliceEvaluator, filter_normalised, pca_directions, slice_landscape,
                                       trainable)
from optviz.training.landscape_layers import _FirstLayer, _PooledFirst, _windows
from optviz.training.pooling import MaxPool2x2
from optviz.training.models import build_model
from optviz.training.trajectory import WeightPath

RTOL, ATOL = 2e-6, 1e-6  # float32: the shortcuts only reorder a few additions


pytestmark = pytest.mark.usefixtures("training_thread_policy")


def _odd_stack() -> nn.Sequential:
    """A LeNet-like stack on 15×15 images with odd feature maps (13×13: floor pooling drops a row and a column),
    BatchNorm without affine parameters, dropout and a sigmoid between the conv and the pooling."""
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4, affine=False), nn.Dropout(0.5), nn.Sigmoid(),
                         nn.MaxPool2d(2), nn.Conv2d(4, 5, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(5 * 2 * 2, 10))


MODELS = {
    "lenet": (lambda: build_model(TrainConfig(model="lenet"), 1, 10, 28), 28, _PooledFirst),
    "lenet-bn": (lambda: build_model(TrainConfig(model="lenet", batchnorm=True), 1, 10, 28), 28, _PooledFirst),
    "lenet-tanh": (lambda: build_model(TrainConfig(model="lenet", activation="tanh"), 1, 10, 28), 28, _PooledFirst),
    "lenet-gelu": (lambda: build_model(TrainConfig(model="lenet", activation="gelu"), 1, 10, 28), 28, _FirstLayer),
    "odd": (_odd_stack, 15, _PooledFirst),
    "mlp": (lambda: build_model(TrainConfig(model="mlp", width=2, batchnorm=True), 1, 10, 28), 28, _FirstLayer),
    "resnet8": (lambda: build_model(TrainConfig(model="resnet8", width=2, batchnorm=True), 1, 10, 28), 28,
                _FirstLayer),
}


def _model(key: str) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    build, side, _ = MODELS[key]
    torch.manual_seed(0)
    model = build()
    with torch.no_grad():  # running statistics and BatchNorm parameters away from their defaults
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                if m.affine:
                    m.weight.uniform_(-1.5, 1.5)  # negative scales too: they do not commute with max pooling
                    m.bias.uniform_(-0.5, 0.5)
    return model.eval(), torch.randn(20, 1, side, side), torch.randint(0, 10, (20,))


def _directions(model: nn.Module, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    named = trainable(model)
    g = torch.Generator().manual_seed(1)
    if kind == "filter":  # zero on biases and BatchNorm: the BatchNorm is folded into the first block
        return tuple(filter_normalised([p for _, p in named], g) for _ in range(2))
    center = torch.cat([p.reshape(-1) for _, p in named])
    walk = torch.cumsum(torch.randn(6, center.numel(), generator=g), 0)  # PCA of a wandering trajectory
    d1, d2 = pca_directions(center + 0.3 * (walk - walk[-1]) / center.numel() ** 0.5)
    return d1 * center.norm(), d2 * center.norm()  # as long as the weights, so that the slice goes somewhere


def _loop(model: nn.Module, x: torch.Tensor, y: torch.Tensor, center: torch.Tensor, d1: torch.Tensor,
          d2: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """The load-weights loop: every point's weights written into a copy of the model, then evaluated."""
    reference = copy.deepcopy(model).eval()
    params = [p for p in reference.parameters() if p.requires_grad]
    out = []
    with torch.no_grad():
        for ai, bi in zip(a, b):
            torch.nn.utils.vector_to_parameters(center + ai * d1 + bi * d2, params)
            out.append(float(F.cross_entropy(reference(x), y)))
    return np.array(out)


# a 3×3 grid row by row (rows share b), then points that change b every time
A = torch.tensor([-0.5, 0.0, 0.5, -0.5, 0.0, 0.5, -0.5, 0.0, 0.5, 0.3, -0.2, 0.8])
B = torch.tensor([-0.5, -0.5, -0.5, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.7, -0.6, 0.1])


@pytest.mark.parametrize("directions", ["filter", "pca"])
@pytest.mark.parametrize("key", list(MODELS))
def test_the_evaluator_equals_the_load_weights_loop(key: str, directions: str) -> None:
    model, x, y = _model(key)
    center = torch.cat([p.reshape(-1) for _, p in trainable(model)])
    d1, d2 = _directions(model, directions)
    expected = _loop(model, x, y, center, d1, d2, A, B)
    assert np.ptp(expected) > 0.01  # the points differ: a shortcut that ignored a or b would show
    for chunk in (1, 4):  # one point at a time (the CPU's way) and vmap chunks (CUDA's way)
        evaluator = SliceEvaluator(model, x, y, chunk=chunk)
        assert type(evaluator.first) is MODELS[key][2]
        np.testing.assert_allclose(evaluator.losses(center, d1, d2, A, B), expected, rtol=RTOL, atol=ATOL)
    plain = SliceEvaluator(model, x, y, first_layer=False)  # no first-layer shortcut: layout and pooling only
    np.testing.assert_allclose(plain.losses(center, d1, d2, A, B), expected, rtol=RTOL, atol=ATOL)


def test_the_batchnorm_is_folded_only_where_the_plane_leaves_it_fixed() -> None:
    model, x, y = _model("lenet-bn")
    center = torch.cat([p.reshape(-1) for _, p in trainable(model)])
    for directions, per_point in (("filter", False), ("pca", True)):
        evaluator = SliceEvaluator(model, x, y)
        evaluator.losses(center, *_directions(model, directions), A[:1], B[:1])
        assert (evaluator.first.scale is not None) == per_point
    assert set(evaluator.first.handles) == {"conv1.weight", "conv1.bias", "conv1_bn.weight", "conv1_bn.bias"}
    assert evaluator.permuted == {"fc1.weight": (16, 5, 5)}  # flattened channels-last, fc1's columns to match


@pytest.mark.parametrize("key", ["lenet", "lenet-bn"])
def test_probe_batches_image_blocks_and_row_plans_with_short_ends(key: str, monkeypatch) -> None:
    monkeypatch.setattr(landscape_eval, "PROBE_BATCH", 7)  # 20 images: probe batches of 7, 7 and 6
    monkeypatch.setattr(landscape_layers, "BLOCK_BYTES", 3 * 4 * 4 * 6 * 14 * 14)  # pooled in blocks of 3 images
    monkeypatch.setattr(landscape_layers, "PLAN_BYTES", 2 * 7 * 6 * 14 * 14 * 4)  # rows planned 2 points at a time
    model, x, y = _model(key)
    center = torch.cat([p.reshape(-1) for _, p in trainable(model)])
    d1, d2 = _directions(model, "pca")
    evaluator = SliceEvaluator(model, x, y)
    assert [len(t) for _, t in evaluator.batches] == [7, 7, 6]
    np.testing.assert_allclose(evaluator.losses(center, d1, d2, A, B), _loop(model, x, y, center, d1, d2, A, B),
                               rtol=RTOL, atol=ATOL)
    assert evaluator.first.block == 3 and evaluator.first.plan_size in (2, 3)  # 3 for the short last batch


@pytest.mark.parametrize("shape", [(3, 6, 28, 28), (2, 16, 10, 10), (2, 3, 7, 9), (1, 1, 2, 2)])
def test_strided_max_pooling_equals_torch_bit_for_bit(shape: tuple[int, ...]) -> None:
    x = torch.randn(shape)
    expected = F.max_pool2d(x, 2)
    for layout in (torch.contiguous_format, torch.channels_last):
        assert torch.equal(MaxPool2x2()(x.contiguous(memory_format=layout)), expected)
    # the window-major layout of the pooled first block: the maximum over its 4 rows is the pooling
    pooled = _windows(x).amax(1).view(shape[0], shape[2] // 2, shape[3] // 2, shape[1]).permute(0, 3, 1, 2)
    assert torch.equal(pooled, expected)


def test_a_lenet_slice_with_its_path_equals_the_loop_point_by_point() -> None:
    """slice_landscape end to end (PCA plane, grid rows planned together, the line from the initial weights)."""
    model, x, y = _model("lenet-bn")
    named = trainable(model)
    center = torch.cat([p.reshape(-1) for _, p in named])
    g = torch.Generator().manual_seed(2)
    walk = torch.cumsum(torch.randn(5, center.numel(), generator=g), 0) * 0.02
    path = WeightPath((0, 10, 20, 30, 40), center + walk - walk[-1], tuple(n for n, _ in named),
                      tuple(tuple(p.shape) for _, p in named))
    result = slice_landscape(model, x, y, trajectory=path, directions="pca", resolution=4, line_points=5,
                             device="cpu")
    aa, bb = np.meshgrid(result.alphas, result.betas)  # loss[i, j] is at (alphas[j], betas[i])
    d1, d2 = torch.from_numpy(result.d1), torch.from_numpy(result.d2)
    expected = _loop(model, x, y, center, d1, d2, torch.from_numpy(aa.ravel()).float(),
                     torch.from_numpy(bb.ravel()).float())
    np.testing.assert_allclose(result.loss.ravel(), expected, rtol=RTOL, atol=ATOL)
    start = path.weights[0]
    line = _loop(model, x, y, start, center - start, torch.zeros_like(center), torch.from_numpy(result.line_t).float(),
                 torch.zeros(5))
    np.testing.assert_allclose(result.line_loss, line, rtol=RTOL, atol=ATOL)
