"""Plain 2×2 max pooling as the maximum of strided views, for the landscape evaluator and the lr sweep.

torch's CPU kernel for ``nn.MaxPool2d(2)`` also computes the indices and was ~5–10× slower at LeNet's sizes;
:class:`MaxPool2x2` gives the same values (and, through autograd, sends each gradient to the first maximum of its
window, as torch does).
"""

from __future__ import annotations

import torch
from torch import nn


def pair(v: object) -> tuple:
    """A layer's size argument as a pair: ``2`` → ``(2, 2)``."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def plain_pool(m: nn.Module) -> bool:
    """``m`` is ``nn.MaxPool2d(2)``: 2×2 windows, stride 2, no padding or dilation, floor mode, no indices."""
    if not isinstance(m, nn.MaxPool2d):
        return False
    stride = m.stride if m.stride is not None else m.kernel_size
    return (pair(m.kernel_size) == (2, 2) and pair(stride) == (2, 2) and pair(m.padding) == (0, 0)
            and pair(m.dilation) == (1, 1) and not m.ceil_mode and not m.return_indices)


def is_nhwc(x: torch.Tensor) -> bool:
    """``x`` (N, C, H, W) is channels-last and dense (strides, not ``is_contiguous``: that one fails under vmap)."""
    _, c, h, w = x.shape
    return x.stride() == (h * w * c, 1, w * c, c)


def swap(model: nn.Module, name: str, new: nn.Module) -> None:
    """Put ``new`` where the submodule ``name`` is."""
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


class MaxPool2x2(nn.Module):
    """``nn.MaxPool2d(2)`` (floor mode) as the maximum of strided views: rows first, then columns; on a
    channels-last tensor of even size both halves are contiguous runs (a row pair's two rows, then a column
    pair's two channel vectors)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
        if x.dim() == 4 and (h, w) == tuple(x.shape[-2:]) and is_nhwc(x):
            n, c = x.shape[:2]
            pairs = x.permute(0, 2, 3, 1).reshape(n, h // 2, 2 * w * c)  # a view: NHWC memory
            rows = torch.maximum(pairs[..., :w * c], pairs[..., w * c:]).view(n, h // 2, w // 2, 2 * c)
            return torch.maximum(rows[..., :c], rows[..., c:]).permute(0, 3, 1, 2)
        x = x[..., :h, :w]
        rows = torch.maximum(x[..., 0::2, :], x[..., 1::2, :])
        return torch.maximum(rows[..., 0::2], rows[..., 1::2])


def replace_pools(model: nn.Module) -> None:
    """Every plain 2×2 max pooling of ``model`` becomes :class:`MaxPool2x2`."""
    for name, module in list(model.named_modules()):
        if plain_pool(module):
            swap(model, name, MaxPool2x2())
