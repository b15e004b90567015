"""Models: the registry, output shapes for 1- and 3-channel inputs, layer naming, skips, switches, feature maps."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from optviz.training.config import TrainConfig
from optviz.training.models import FAMILY_TITLES, MODELS, build_model, depths, feature_maps, find_model, layer_names


def test_the_registry_names_each_model_once_by_family_and_depth() -> None:
    assert list(MODELS) == ["mlp", "lenet", "resnet8", "resnet14", "resnet20", "plain8", "plain14", "plain20"]
    for name, spec in MODELS.items():
        assert spec.name == name and spec.title and spec.doc and spec.family in FAMILY_TITLES
        assert find_model(spec.family, spec.depth) is spec
    assert depths("resnet") == depths("plain") == (8, 14, 20) and depths("lenet") == ()
    assert find_model("lenet", 14) is MODELS["lenet"] and find_model("resnet", 9) is None
    assert [m.name for m in MODELS.values() if not m.uses_width] == ["lenet"]


def test_build_model_dispatches_through_the_registry(monkeypatch) -> None:
    calls = []
    toy = dataclasses.replace(MODELS["mlp"], name="toy", build=lambda *a: calls.append(a) or nn.Identity())
    monkeypatch.setitem(MODELS, "toy", toy)
    config = TrainConfig(model="toy")
    assert isinstance(build_model(config, 3, 7, 32), nn.Identity) and calls == [(config, 3, 7, 32)]
    with pytest.raises(ValueError, match="Unknown model 'vgg'"):
        build_model(TrainConfig(model="vgg"), 1, 10)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("channels, size", [(1, 28), (3, 32)])
def test_every_model_classifies_both_image_kinds(name: str, channels: int, size: int) -> None:
    torch.manual_seed(0)
    model = build_model(TrainConfig(model=name, width=4, batchnorm=True, dropout=0.2), channels, 7, size)
    out = model(torch.randn(3, channels, size, size))
    assert out.shape == (3, 7)
    names = layer_names(model)
    assert names[-1] == "classifier" and len(names) == len(set(names))


def test_resnet_depths_and_plainnet_has_no_skips() -> None:
    def convs(name: str) -> int:
        return sum(isinstance(m, nn.Conv2d) for m in build_model(TrainConfig(model=name, width=4), 1, 10).modules())

    # 6n + 2 weighted layers: stem, 6n block convs, the classifier (+ 2 projection shortcuts in a ResNet)
    assert [convs(find_model("plain", d).name) for d in (8, 14, 20)] == [7, 13, 19]
    assert [convs(find_model("resnet", d).name) for d in (8, 14, 20)] == [9, 15, 21]
    assert "stage2.0.shortcut.0" in layer_names(build_model(TrainConfig(model="resnet8", width=4), 1, 10))


def test_lenet_layers_and_switches() -> None:
    plain = build_model(TrainConfig(model="lenet"), 1, 10)
    assert layer_names(plain) == ("conv1", "conv2", "fc1", "fc2", "classifier")
    assert [p.numel() for p in plain.conv1.parameters()] == [6 * 25, 6]
    assert plain.fc1.in_features == 16 * 5 * 5
    switched = build_model(TrainConfig(model="lenet", batchnorm=True, dropout=0.3, activation="tanh"), 1, 10)
    kinds = {type(m) for m in switched.modules()}
    assert {nn.BatchNorm2d, nn.BatchNorm1d, nn.Dropout, nn.Tanh} <= kinds and nn.ReLU not in kinds
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.Dropout)) for m in plain.modules())


def test_mlp_width() -> None:
    model = build_model(TrainConfig(model="mlp", width=8), 1, 10)
    assert model.fc1.out_features == 64 and model.fc1.in_features == 784


def test_feature_maps_from_a_state_dict_snapshot() -> None:
    config = TrainConfig(model="resnet8", width=4)
    torch.manual_seed(1)
    model = build_model(config, 1, 10).eval()
    weights = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    image = np.random.default_rng(0).random((1, 28, 28)).astype(np.float32)
    maps = feature_maps(config, weights, image, mean=(0.1,), std=(0.3,))
    assert [name for name, _ in maps] == [n for n in layer_names(model) if n != "classifier"]
    assert maps[0][1].shape == (4, 28, 28) and maps[-1][1].shape == (16, 7, 7)
    expected = model.conv1(torch.from_numpy((image - 0.1) / 0.3)[None])[0]
    np.testing.assert_allclose(maps[0][1], expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    mlp = dataclasses.replace(config, model="mlp")
    mlp_weights = {k: v.numpy() for k, v in build_model(mlp, 1, 10).state_dict().items()}
    assert feature_maps(mlp, mlp_weights, image[0], mean=(0.1,), std=(0.3,)) == []
