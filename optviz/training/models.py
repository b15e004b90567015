"""The networks of the training lab: MLP, LeNet-5, CIFAR-style ResNet-8/14/20 and PlainNet (the same without skips).

Every model names its layers readably (``conv1``, ``stage2.0.conv1``, ``classifier``); :func:`layer_names` lists
the conv and linear layers input → output, the layers whose gradient norms the trainer reports. Weights keep
PyTorch's default initialisation, so PlainNet shows the vanishing gradients the skips of ResNet avoid.
:data:`MODELS` is the registry (name → :class:`ModelSpec`) that the config, the CLI and the panel read;
:func:`build_model` dispatches through it.
:func:`feature_maps` rebuilds a model from a CPU state-dict snapshot and returns every conv layer's output.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np
import torch
from torch import nn

from optviz.core.params import quote

if TYPE_CHECKING:
    from optviz.training.config import TrainConfig

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}
ACTIVATIONS = tuple(_ACTIVATIONS)


def activation(name: str) -> nn.Module:
    return _ACTIVATIONS[name]()


def _norm2d(config: TrainConfig, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if config.batchnorm else nn.Identity()


def _norm1d(config: TrainConfig, features: int) -> nn.Module:
    return nn.BatchNorm1d(features) if config.batchnorm else nn.Identity()


def _dense(config: TrainConfig, name: str, n_in: int, n_out: int) -> list[tuple[str, nn.Module]]:
    """linear → [BatchNorm] → activation → [Dropout], named ``name``, ``name_bn``, …"""
    layers = [(name, nn.Linear(n_in, n_out)), (f"{name}_bn", _norm1d(config, n_out)),
              (f"{name}_act", activation(config.activation))]
    if config.dropout > 0:
        layers.append((f"{name}_drop", nn.Dropout(config.dropout)))
    return layers


def mlp(config: TrainConfig, in_channels: int, n_classes: int, image_size: int) -> nn.Sequential:
    """flatten → two hidden layers of 8 × width units → classifier."""
    hidden = 8 * config.width
    return nn.Sequential(OrderedDict([
        ("flatten", nn.Flatten()),
        *_dense(config, "fc1", in_channels * image_size * image_size, hidden),
        *_dense(config, "fc2", hidden, hidden),
        ("classifier", nn.Linear(hidden, n_classes)),
    ]))


def lenet(config: TrainConfig, in_channels: int, n_classes: int, image_size: int) -> nn.Sequential:
    """LeNet-5: conv(6, 5×5) – pool – conv(16, 5×5) – pool – fc 120 – fc 84 – classifier (max pooling).

    28×28 inputs are padded by 2, as LeNet-5 was drawn for 32×32.
    """
    pad = 2 if image_size < 32 else 0
    side = ((image_size + 2 * pad - 4) // 2 - 4) // 2

    def conv(name: str, n_in: int, n_out: int, padding: int) -> list[tuple[str, nn.Module]]:
        return [(name, nn.Conv2d(n_in, n_out, 5, padding=padding)), (f"{name}_bn", _norm2d(config, n_out)),
                (f"{name}_act", activation(config.activation)), (f"{name}_pool", nn.MaxPool2d(2))]

    return nn.Sequential(OrderedDict([
        *conv("conv1", in_channels, 6, pad),
        *conv("conv2", 6, 16, 0),
        ("flatten", nn.Flatten()),
        *_dense(config, "fc1", 16 * side * side, 120),
        *_dense(config, "fc2", 120, 84),
        ("classifier", nn.Linear(84, n_classes)),
    ]))


class Block(nn.Module):
    """Two 3×3 convs; with ``skip`` their output is added to the input (projected by a 1×1 conv when needed)."""

    def __init__(self, config: TrainConfig, n_in: int, n_out: int, stride: int, skip: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(n_in, n_out, 3, stride=stride, padding=1, bias=not config.batchnorm)
        self.bn1 = _norm2d(config, n_out)
        self.act1 = activation(config.activation)
        self.conv2 = nn.Conv2d(n_out, n_out, 3, padding=1, bias=not config.batchnorm)
        self.bn2 = _norm2d(config, n_out)
        self.act2 = activation(config.activation)
        self.skip = skip
        if skip and (stride != 1 or n_in != n_out):
            self.shortcut = nn.Sequential(nn.Conv2d(n_in, n_out, 1, stride=stride, bias=not config.batchnorm),
                                          _norm2d(config, n_out))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        if self.skip:
            out = out + self.shortcut(x)
        return self.act2(out)


class ResNet(nn.Module):
    """CIFAR-style ResNet (He et al. 2016, §4.2): depth 6n + 2, stages of width w, 2w, 4w; ``skip=False`` is PlainNet."""

    def __init__(self, config: TrainConfig, depth: int, skip: bool, in_channels: int, n_classes: int) -> None:
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"ResNet depth must be 6n + 2, got {depth}")
        n, w = (depth - 2) // 6, config.width
        self.conv1 = nn.Conv2d(in_channels, w, 3, padding=1, bias=not config.batchnorm)
        self.bn1 = _norm2d(config, w)
        self.act1 = activation(config.activation)
        widths = (w, 2 * w, 4 * w)
        n_in = w
        for i, width in enumerate(widths):
            blocks = [Block(config, n_in if j == 0 else width, width, 2 if (i > 0 and j == 0) else 1, skip)
                      for j in range(n)]
            self.add_module(f"stage{i + 1}", nn.Sequential(*blocks))
            n_in = width
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(4 * w, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.stage3(self.stage2(self.stage1(x)))
        return self.classifier(self.drop(torch.flatten(self.pool(x), 1)))


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: a name, the title a form shows, its family and depth, and the builder."""

    name: str
    title: str
    family: str  # "mlp", "lenet", "resnet" or "plain": the panel's model type
    depth: int | None  # weighted layers, for the families that come in several depths
    uses_width: bool  # whether TrainConfig.width changes the network
    build: Callable[[TrainConfig, int, int, int], nn.Module]  # (config, in_channels, n_classes, image_size)
    doc: str = ""


FAMILY_TITLES = {"mlp": "MLP", "lenet": "LeNet-5", "resnet": "ResNet", "plain": "PlainNet (ResNet without skips)"}


def _resnet(depth: int, skip: bool) -> ModelSpec:
    family = "resnet" if skip else "plain"

    def build(config: TrainConfig, in_channels: int, n_classes: int, image_size: int) -> nn.Module:
        return ResNet(config, depth, skip, in_channels, n_classes)

    doc = (f"{depth} weighted layers: a stem conv, three stages of {(depth - 2) // 6} two-conv blocks"
           + (" with skips" if skip else ", no skips") + ", the classifier; base width channels")
    return ModelSpec(f"{family}{depth}", f"{'ResNet' if skip else 'PlainNet'}-{depth}", family, depth, True, build,
                     doc)


MODELS: dict[str, ModelSpec] = {m.name: m for m in (
    ModelSpec("mlp", "MLP", "mlp", None, True, mlp, doc="two hidden layers of 8 × width units"),
    ModelSpec("lenet", "LeNet-5", "lenet", None, False, lenet,
              doc="conv(6, 5×5) – pool – conv(16, 5×5) – pool – fc 120 – fc 84 – classifier"),
    *(_resnet(d, skip) for skip in (True, False) for d in (8, 14, 20)),
)}


def find_model(family: str, depth: int | None = None) -> ModelSpec | None:
    """The registry entry of ``family`` (at ``depth``, for the families with several depths), or None."""
    return next((m for m in MODELS.values() if m.family == family and (m.depth is None or m.depth == depth)), None)


def depths(family: str) -> tuple[int, ...]:
    """The depths the registry has for ``family`` (empty for a family of one fixed depth)."""
    return tuple(sorted(m.depth for m in MODELS.values() if m.family == family and m.depth is not None))


def build_model(config: TrainConfig, in_channels: int, n_classes: int, image_size: int = 28) -> nn.Module:
    """The network ``config.model`` names, for ``in_channels``-channel square images of ``image_size`` pixels."""
    spec = MODELS.get(config.model)
    if spec is None:
        raise ValueError(f"Unknown model {quote(config.model)} (allowed: {', '.join(MODELS)})")
    return spec.build(config, in_channels, n_classes, image_size)


def layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The conv and linear layers of ``model`` with their names, in registration order (input → output)."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def layer_names(model: nn.Module) -> tuple[str, ...]:
    return tuple(name for name, _ in layers(model))


def first_conv(model: nn.Module) -> nn.Conv2d | None:
    return next((m for _, m in layers(model) if isinstance(m, nn.Conv2d)), None)


def feature_maps(config: TrainConfig, weights: Mapping[str, np.ndarray | torch.Tensor], image: np.ndarray, *,
                 mean: tuple[float, ...], std: tuple[float, ...]) -> list[tuple[str, np.ndarray]]:
    """The output of every conv layer (before BatchNorm and activation) for one image, as (name, (C, h, w)) pairs.

    ``weights`` is a CPU state-dict snapshot (``Pictures.weights``); ``image`` is (C, H, W) or (H, W) in [0, 1]
    (``Pictures.images[i]``); ``mean``/``std`` are the run's normalisation (``RunStarted.mean``/``.std``).
    Runs on the CPU in the calling thread: call it from a worker.
    """
    x = torch.as_tensor(np.asarray(image, np.float32))
    x = x[None] if x.dim() == 2 else x
    tensors = {k: torch.as_tensor(np.asarray(v)) for k, v in weights.items()}
    n_classes = tensors["classifier.weight"].shape[0]
    model = build_model(config, x.shape[0], n_classes, x.shape[-1])
    model.load_state_dict(tensors)
    model.eval()
    out: list[tuple[str, np.ndarray]] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o, name=name: out.append((name, o[0].numpy().copy())))
             for name, m in layers(model) if isinstance(m, nn.Conv2d)]
    m_ = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
    s_ = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
    try:
        with torch.no_grad():
            model(((x - m_) / s_)[None])
    finally:
        for h in hooks:
            h.remove()
    return out
