"""The layers of the ``stacked`` engine (:mod:`optviz.training.stacked`): each a hand-written forward and backward
for N copies at once, on activations shaped ``(N, B, …)``, with weights and gradients that are views of the
stacked buffers (:class:`_Params`) and work tensors kept from step to step (:class:`_Buffers`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from optviz.training.pooling import pair

aten = torch.ops.aten


class _Buffers:
    """Work tensors kept from step to step: fresh large tensors cost page faults on every step."""

    def __init__(self) -> None:
        self._bufs: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: tuple, like: torch.Tensor, zero: bool = False) -> torch.Tensor:
        t = self._bufs.get(name)
        if t is None or t.shape != torch.Size(shape):
            t = self._bufs[name] = like.new_zeros(shape) if zero else like.new_empty(shape)
        elif zero:
            t.zero_()
        return t


class _Params:
    """A layer's weight and bias views into the stacked parameter and gradient buffers."""

    def __init__(self, module: nn.Module, slots: dict[int, tuple[int, torch.Size]], flat: torch.Tensor,
                 grad: torch.Tensor) -> None:
        def view(t: torch.Tensor | None, p: nn.Parameter | None) -> torch.Tensor | None:
            if p is None:
                return None
            off, shape = slots[id(p)]
            return t[:, off:off + p.numel()].view(len(t), *shape)

        self.w, self.gw = view(flat, module.weight), view(grad, module.weight)
        self.b, self.gb = view(flat, module.bias), view(grad, module.bias)


_NNPACK: list[bool] = []  # NNPACK works here (found at the first use)


def _nnpack() -> bool:
    if not _NNPACK:  # private torch functions: a torch without them runs F.conv2d
        available = getattr(torch, "_nnpack_available", None)
        try:
            ok = bool(available()) if available else False  # also initialises NNPACK: without it every call fails
        except Exception:
            ok = False
        _NNPACK.append(ok and hasattr(torch, "_nnpack_spatial_convolution"))
    return _NNPACK[0]


def _conv(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, pad: tuple[int, int]) -> torch.Tensor:
    """``F.conv2d`` (stride 1); on the CPU by NNPACK where it runs: ~1.6× faster than oneDNN's kernel at LeNet's
    sizes (one image batch per call), to float rounding (FFT-based: ~1e-6 relative)."""
    if x.device.type == "cpu" and _nnpack():
        try:
            return torch._nnpack_spatial_convolution(x, w, b, list(pad))
        except RuntimeError:  # a shape NNPACK does not take: torch's own choice from now on
            _NNPACK[0] = False
    return F.conv2d(x, w, b, padding=pad)


GROUP = 4  # copies per grouped call of the conv weight gradient


def _channels_last_groups(t: torch.Tensor) -> list[torch.Tensor]:
    """(N, B, C, H, W) as channels-last (B, G·C, H, W) images of up to GROUP copies each (for a grouped conv)."""
    out = []
    for s in range(0, len(t), GROUP):
        part = t[s:s + GROUP]  # (G, B, C, H, W) → memory (B, H, W, G, C)
        g, b, c, h, w = part.shape
        out.append(part.permute(1, 3, 4, 0, 2).contiguous().view(b, h, w, g * c).permute(0, 3, 1, 2))
    return out


class _Conv:
    """Conv2d (stride 1). First layer: on the shared batch (B, C, H, W), as one product for all copies, written
    (N, O, B, …) (grouped by pool window when a pool follows; else turned to (N, B, O, H, W)). Later layers: on
    (N, B, C, H, W) activations, one convolution per copy — NNPACK's forward where it runs, oneDNN's backward
    (faster on the CPU than the batched forms we measured: grouped convolutions, im2col + bmm + col2im; NNPACK's
    FFT-based weight gradient is not used: it turns exact zeros into noise that Adam makes into steps of lr)."""

    def __init__(self, m: nn.Conv2d, p: _Params, first: bool) -> None:
        self.p, self.first = p, first
        self.k, self.pad = pair(m.kernel_size), pair(m.padding)
        self.o = m.out_channels
        self.bufs = _Buffers()
        self.grouped = False  # first layer feeding a 2×2 pool: output positions grouped by window (see _Pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.first:
            return self._forward_first(x)
        self.x = x
        n = len(x)
        w, bias = self.p.w, self.p.b
        y = None
        for k in range(n):
            out = _conv(x[k], w[k], None if bias is None else bias[k], self.pad)
            if y is None:
                y = self.bufs.get("y", (n, *out.shape), x)
            y[k] = out
        return y

    def _forward_first(self, x: torch.Tensor) -> torch.Tensor:
        """im2col of the batch, once for all copies: (K, B·L) with K = (c, ki, kj), then (N·O, K) @ (K, B·L)."""
        (kh, kw), (ph, pw), o = self.k, self.pad, self.o
        w = self.p.w.reshape(len(self.p.w) * o, -1)
        n = len(self.p.w)
        xp = F.pad(x, (pw, pw, ph, ph)) if (ph or pw) else x
        b, c, hp, wp = xp.shape
        oh, ow = hp - kh + 1, wp - kw + 1
        sb, sc, sh, sw = xp.stride()
        if self.grouped:  # columns (b, dy, dx, i, j) for output (2i + dy, 2j + dx): a pool window's four
            out = (b, 2, 2, oh // 2, ow // 2)  # values in four contiguous blocks
            patches = xp.as_strided((c, kh, kw, *out), (sc, sh, sw, sb, sh, sw, 2 * sh, 2 * sw))
        else:
            out = (b, oh, ow)
            patches = xp.as_strided((c, kh, kw, *out), (sc, sh, sw, sb, sh, sw))
        cols = self.bufs.get("cols", patches.shape, x)
        cols.copy_(patches)
        self.cols = cols.view(c * kh * kw, -1)
        y = self.bufs.get("y", (n * o, self.cols.shape[1]), x)
        if self.p.b is None:
            torch.mm(w, self.cols, out=y)
        else:
            torch.addmm(self.p.b.reshape(n * o, 1), w, self.cols, out=y)
        if self.grouped:
            return y.view(n, o, *out)
        return y.view(n, o, *out).transpose(1, 2).contiguous()  # (N, B, O, H, W)

    def backward(self, g: torch.Tensor) -> torch.Tensor | None:
        if self.first:
            n, o = len(self.p.w), self.o
            gm = (g if self.grouped else g.transpose(1, 2)).reshape(n * o, -1)
            self.p.gw.copy_(torch.mm(gm, self.cols.t()).view_as(self.p.gw))
            if self.p.gb is not None:
                self.p.gb.copy_(gm.sum(1).view(n, o))
            return None
        x, w = self.x, self.p.w
        n, pad = len(x), list(self.pad)
        dx = self.bufs.get("dx", x.shape, x)
        for k in range(n):
            dx[k] = aten.convolution_backward(g[k], x[k], w[k], None, [1, 1], pad, [1, 1], False, [0, 0], 1,
                                              [True, False, False])[0]
        # the weight gradient: oneDNN's channels-last kernel, GROUP copies per grouped call (~2× faster than
        # per-copy calls on contiguous images)
        xg, gg = _channels_last_groups(x), _channels_last_groups(g)
        for s, (xs, gs) in zip(range(0, n, GROUP), zip(xg, gg)):
            e = min(n, s + GROUP)
            ws = w[s:e].reshape((e - s) * self.o, *w.shape[2:]).contiguous(memory_format=torch.channels_last)
            dw = aten.convolution_backward(gs, xs, ws, None, [1, 1], pad, [1, 1], False, [0, 0], e - s,
                                           [False, True, False])[1]
            self.p.gw[s:e] = dw.view(e - s, *w.shape[1:])
        if self.p.gb is not None:
            self.p.gb.copy_(g.sum((1, 3, 4)))
        return dx


class _Linear:
    """Linear on (N, B, D) activations, or on the shared batch (B, D) when first."""

    def __init__(self, m: nn.Linear, p: _Params, first: bool) -> None:
        self.p, self.first = p, first
        self.bufs = _Buffers()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.x = x
        w = self.p.w  # (N, O, D)
        n, o = w.shape[:2]
        if self.first:
            y = x @ w.reshape(n * o, -1).t()  # (B, N·O)
            y = y.view(len(x), n, o).transpose(0, 1)
            return (y + self.p.b.unsqueeze(1) if self.p.b is not None else y).contiguous()
        y = self.bufs.get("y", (n, x.shape[1], o), x)
        if self.p.b is None:
            return torch.bmm(x, w.transpose(1, 2), out=y)
        return torch.baddbmm(self.p.b.unsqueeze(1), x, w.transpose(1, 2), out=y)

    def backward(self, g: torch.Tensor) -> torch.Tensor | None:
        if self.p.gb is not None:
            self.p.gb.copy_(g.sum(1))
        if self.first:
            n, b, o = g.shape
            self.p.gw.copy_((g.permute(0, 2, 1).reshape(n * o, b) @ self.x).view_as(self.p.gw))
            return None
        self.p.gw.copy_(torch.bmm(g.transpose(1, 2), self.x))
        return torch.bmm(g, self.p.w, out=self.bufs.get("dx", self.x.shape, g))


class _Act:
    """ReLU, tanh, sigmoid or GELU, written into kept buffers."""

    def __init__(self, m: nn.Module) -> None:
        self.m = m
        self.bufs = _Buffers()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bufs.get("y", x.shape, x)
        self.x = x
        if isinstance(self.m, nn.GELU):
            self.y = aten.gelu.out(x, approximate=self.m.approximate, out=y)
        elif isinstance(self.m, nn.ReLU):
            self.y = torch.clamp_min(x, 0, out=y)  # what torch.relu computes
        else:
            self.y = (torch.tanh if isinstance(self.m, nn.Tanh) else torch.sigmoid)(x, out=y)
        return self.y

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        dx = self.bufs.get("dx", g.shape, g)
        if isinstance(self.m, nn.GELU):
            return aten.gelu_backward.grad_input(g, self.x, approximate=self.m.approximate, grad_input=dx)
        if isinstance(self.m, nn.ReLU):
            return aten.threshold_backward.grad_input(g, self.y, 0, grad_input=dx)
        if isinstance(self.m, nn.Tanh):
            return aten.tanh_backward.grad_input(g, self.y, grad_input=dx)
        return aten.sigmoid_backward.grad_input(g, self.y, grad_input=dx)


class _Pool:
    """2×2 max pooling over the last two axes, with torch's choice among equal values (the first in the order
    (0,0), (0,1), (1,0), (1,1) of the window), so the gradient goes where ``nn.MaxPool2d`` sends it.

    Comparisons are written into float tensors (1.0/0.0): into bool tensors they are several times slower on the
    CPU. Plain layout: the forward keeps the winners' indices and the backward is torch's own
    ``max_pool2d_with_indices_backward``. ``grouped``: the input is (…, 2, 2, H/2, W/2), each window's four values
    at [..., dy, dx, i, j] (a conv that feeds the pool writes that layout), so the four are contiguous blocks; the
    forward keeps a 0/1 mask of the winners and the backward is one product of it with the gradient.
    """

    def __init__(self) -> None:
        self.grouped = False
        self.bufs = _Buffers()
        self.bases: dict[tuple, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if self.grouped:
            a, b, c, d = x[..., 0, 0, :, :], x[..., 0, 1, :, :], x[..., 1, 0, :, :], x[..., 1, 1, :, :]
        else:
            v = x[..., :h // 2 * 2, :w // 2 * 2].unflatten(-1, (w // 2, 2)).unflatten(-3, (h // 2, 2))
            a, b, c, d = v[..., :, 0, :, 0], v[..., :, 0, :, 1], v[..., :, 1, :, 0], v[..., :, 1, :, 1]
        shape, buf = a.shape, self.bufs.get
        top = torch.maximum(a, b, out=buf("top", shape, x))
        bottom = torch.maximum(c, d, out=buf("bottom", shape, x))
        if self.grouped:  # (N, O, B, …) in, (N, B, O, H/2, W/2) out: the later layers' layout
            y = buf("y", (shape[0], shape[2], shape[1], *shape[3:]), x)
            torch.maximum(top, bottom, out=y.transpose(1, 2))
        else:
            y = torch.maximum(top, bottom, out=buf("y", shape, x))
        # 1.0 where the later value wins (strictly larger: a tie goes to the earlier one, as in torch's kernel)
        right_top = torch.gt(b, a, out=buf("rt", shape, x))
        right_bottom = torch.gt(d, c, out=buf("rb", shape, x))
        below = torch.gt(bottom, top, out=buf("below", shape, x))
        self.x = x
        if self.grouped:
            self.mask = m = buf("mask", x.shape, x)
            above = torch.le(bottom, top, out=buf("above", shape, x))
            torch.sub(above, torch.mul(right_top, above, out=m[..., 0, 1, :, :]), out=m[..., 0, 0, :, :])
            torch.sub(below, torch.mul(right_bottom, below, out=m[..., 1, 1, :, :]), out=m[..., 1, 0, :, :])
        else:  # the winner's index in its (H, W) plane: 2i·W + 2j + W·below + right
            right = torch.sub(right_bottom, right_top, out=buf("right", shape, x)).mul_(below).add_(right_top)
            right.add_(below, alpha=w).add_(self._base(h, w, x))
            self.idx = buf("idx", shape, x.new_empty((), dtype=torch.int64))
            self.idx.copy_(right)
        return y

    def _base(self, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
        key = (h, w, like.device)
        if key not in self.bases:
            rows = torch.arange(h // 2, device=like.device, dtype=like.dtype) * 2 * w
            self.bases[key] = rows[:, None] + torch.arange(w // 2, device=like.device, dtype=like.dtype) * 2
        return self.bases[key]

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        dx = self.bufs.get("dx", self.x.shape, g)
        if self.grouped:
            return torch.mul(self.mask, g.transpose(1, 2).unsqueeze(-3).unsqueeze(-3), out=dx)
        h, w = self.x.shape[-2:]
        planes = (1, -1, h // 2, w // 2)
        aten.max_pool2d_with_indices_backward.grad_input(
            g.reshape(planes), self.x.reshape(1, -1, h, w), [2, 2], [2, 2], [0, 0], [1, 1], False,
            self.idx.reshape(planes), grad_input=dx.view(1, -1, h, w))
        return dx


class _Flatten:
    """(N, B, C, H, W) → (N, B, C·H·W), torch's order; (N, B, D) stays."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.shape = x.shape
        return x.reshape(*x.shape[:2], -1)

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        return g.reshape(self.shape)
