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
        self._like: dict[str, tuple[tuple, torch.Tensor]] = {}

    def get(self, name: str, shape: tuple, like: torch.Tensor, zero: bool = False) -> torch.Tensor:
        t = self._bufs.get(name)
        if t is None or t.shape != torch.Size(shape):
            t = self._bufs[name] = like.new_zeros(shape) if zero else like.new_empty(shape)
        elif zero:
            t.zero_()
        return t

    def like(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """A dense tensor of ``x``'s shape with its axes in memory in the order of ``x``'s (the same strides when
        ``x`` is dense; for a strided view, the dense tensor it would be)."""
        key = (x.shape, x.stride(), x.dtype, x.device)
        kept = self._like.get(name)
        if kept is None or kept[0] != key:
            order = sorted(range(x.dim()), key=lambda d: -x.stride(d))  # outermost first (stable for ties)
            t = x.new_empty([x.shape[d] for d in order]).permute(*sorted(range(x.dim()), key=order.__getitem__))
            kept = self._like[name] = (key, t)
        return kept[1]


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


def _grouped(t: torch.Tensor) -> torch.Tensor:
    """(N, B, C, H, W) as one channels-last image batch (B, N·C, H, W), copy k's channels at k·C: a view when
    ``t``'s memory is (B, H, W, N, C) (what :class:`_Pool` writes with ``out_grouped``), else a copy."""
    n, b, c, h, w = t.shape
    u = t.permute(1, 3, 4, 0, 2)
    if not u.is_contiguous():
        u = u.contiguous()
    return u.view(b, h, w, n * c).permute(0, 3, 1, 2)


class _Conv:
    """Conv2d (stride 1). First layer: on the shared batch (B, C, H, W), as one product for all copies, written
    (B, …, N, O): (B, 2, 2, H/2, W/2, N, O), grouped by pool window, when a pool follows; else (B, H, W, N, O),
    handed on as (N, B, O, H, W). Later layers: on
    (N, B, C, H, W) activations, all copies as ONE grouped convolution (N groups) on channels-last images
    (B, N·C, H, W) — oneDNN's forward and weight gradient, which read the previous pool's output and the next
    pool's gradient in place when those are laid out (B, H, W, N, C) — and the input gradient per copy
    (oneDNN's, on plain NCHW images: its grouped and channels-last forms measured slower). NNPACK's FFT-based
    weight gradient is not used: it turns exact zeros into noise that Adam makes into steps of lr."""

    def __init__(self, m: nn.Conv2d, p: _Params, first: bool) -> None:
        self.p, self.first = p, first
        self.k, self.pad = pair(m.kernel_size), pair(m.padding)
        self.o = m.out_channels
        self.bufs = _Buffers()
        self.grouped = False  # first layer feeding a 2×2 pool: output positions grouped by window (see _Pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.first:
            return self._forward_first(x)
        n, o = len(x), self.o
        w, bias = self.p.w, self.p.b
        self.x, self.xg = x, _grouped(x)
        self.wg = w.reshape(n * o, *w.shape[2:]).contiguous(memory_format=torch.channels_last)
        y = F.conv2d(self.xg, self.wg, None if bias is None else bias.reshape(n * o), padding=self.pad, groups=n)
        return y.unflatten(1, (n, o)).transpose(0, 1)  # (N, B, O, H, W), memory (B, H, W, N, O)

    def _forward_first(self, x: torch.Tensor) -> torch.Tensor:
        """im2col of the batch, once for all copies: (K, B·L) with K = (c, ki, kj) and a row of ones for the
        bias, then (B·L, K) @ (K, N·O) (the im2col read transposed): every output position a row of all copies'
        channels."""
        (kh, kw), (ph, pw), o = self.k, self.pad, self.o
        n = len(self.p.w)
        xp = F.pad(x, (pw, pw, ph, ph)) if (ph or pw) else x
        b, c, hp, wp = xp.shape
        oh, ow = hp - kh + 1, wp - kw + 1
        sb, sc, sh, sw = xp.stride()
        if self.grouped:  # rows (b, dy, dx, i, j) for output (2i + dy, 2j + dx): a pool window's four values in
            out = (b, 2, 2, oh // 2, ow // 2)  # four contiguous blocks
            patches = xp.as_strided((c, kh, kw, *out), (sc, sh, sw, sb, sh, sw, 2 * sh, 2 * sw))
        else:
            out = (b, oh, ow)
            patches = xp.as_strided((c, kh, kw, *out), (sc, sh, sw, sb, sh, sw))
        k = c * kh * kw
        bias = self.p.b is not None
        cols = self.bufs.get("cols", (k + bias, patches[0, 0, 0].numel()), x)
        cols[:k].view(patches.shape).copy_(patches)
        if bias:
            cols[k] = 1.0
        self.cols = cols
        # [weights | bias], a row per (copy, channel), and zero rows up to a multiple of 8: the product's rows
        # then start 32-byte aligned (84 columns, 14 copies of LeNet's 6 channels, measured ~25% slower than 88)
        w = self.bufs.get("w", (-(-n * o // 8) * 8, k + bias), x)
        w[:n * o, :k] = self.p.w.reshape(n * o, k)
        if bias:
            w[:n * o, k] = self.p.b.reshape(n * o)
        w[n * o:] = 0.0
        y = torch.mm(cols.t(), w.t(), out=self.bufs.get("y", (cols.shape[1], len(w)), x))[:, :n * o]
        if self.grouped:
            return y.view(*out, n, o)  # (B, 2, 2, H/2, W/2, N, O)
        return y.view(*out, n, o).permute(3, 0, 4, 1, 2)  # (N, B, O, H, W), memory (B, H, W, N, O)

    def backward(self, g: torch.Tensor) -> torch.Tensor | None:
        if self.first:
            n, o = len(self.p.w), self.o
            gm = (g if self.grouped else g.permute(1, 3, 4, 0, 2)).reshape(-1, n * o)
            k = self.p.gw[0, 0].numel()
            gw = torch.mm(self.cols, gm, out=self.bufs.get("gw", (len(self.cols), n * o), g))
            self.p.gw.copy_(gw[:k].t().view_as(self.p.gw))
            if self.p.gb is not None:
                self.p.gb.copy_(gw[k].view(n, o))
            return None
        x, w = self.x, self.p.w
        n, pad = len(x), list(self.pad)
        dw = aten.convolution_backward(_grouped(g), self.xg, self.wg, None, [1, 1], pad, [1, 1], False, [0, 0], n,
                                       [False, True, False])[1]
        self.p.gw.copy_(dw.unflatten(0, (n, self.o)))
        if self.p.gb is not None:
            self.p.gb.copy_(g.sum((1, 3, 4)))
        gc = g if g.is_contiguous() else self.bufs.get("g", g.shape, g).copy_(g)  # per copy, plain NCHW images
        shape = self.bufs.get("shape", x.shape[1:], x)  # the input's shape (its values are not read)
        dx = self.bufs.like("dx", x)  # the input's layout: the layers before read it in place
        for k in range(n):
            dx[k] = aten.convolution_backward(gc[k], shape, w[k], None, [1, 1], pad, [1, 1], False, [0, 0], 1,
                                              [True, False, False])[0]
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
        y = self.bufs.like("y", x)
        self.x = x
        if isinstance(self.m, nn.GELU):
            self.y = aten.gelu.out(x, approximate=self.m.approximate, out=y)
        elif isinstance(self.m, nn.ReLU):
            self.y = torch.clamp_min(x, 0, out=y)  # what torch.relu computes
        else:
            self.y = (torch.tanh if isinstance(self.m, nn.Tanh) else torch.sigmoid)(x, out=y)
        return self.y

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        dx = self.bufs.like("dx", g)
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

    The maximum of the window's four values (four views: the top pair's, the bottom pair's, then theirs), and the
    three comparisons that chose it as 0/1 floats: the bottom pair won, and in each pair the right value won
    (strictly larger: a tie goes to the earlier value, as in torch's kernel). The backward splits the gradient
    with them, bottom share g·below, top share g − g·below, and in each pair right = share·right, left = share −
    right: every value exactly g or 0. (Comparisons into bool tensors are several times slower on the CPU.)
    Any memory layout in; the work tensors and the input gradient follow the input's. ``grouped``: the input
    is (B, 2, 2, H/2, W/2, N, C), each window's four values at [b, dy, dx, i, j] (what the first conv writes when
    a pool follows), so the four are contiguous blocks, and the output is (N, B, C, H/2, W/2) with memory
    (B, H/2, W/2, N, C). ``out_grouped``: the output's memory is (B, H/2, W/2, N, C), the layout a later conv
    takes in place.
    """

    def __init__(self) -> None:
        self.grouped = False
        self.out_grouped = False
        self.bufs = _Buffers()

    def _out(self, a: torch.Tensor) -> torch.Tensor:
        """The output buffer for the windows' first values ``a`` (N, B, C, H/2, W/2): laid out as ``a`` is."""
        if self.out_grouped:
            n, b, c, h, w = a.shape
            return self.bufs.get("y", (b, h, w, n, c), a).permute(3, 0, 4, 1, 2)
        return self.bufs.like("y", a)

    def _quarters(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The windows' four values of ``t`` as four views, in torch's scan order."""
        if self.grouped:
            return t[:, 0, 0], t[:, 0, 1], t[:, 1, 0], t[:, 1, 1]
        h, w = t.shape[-2] // 2 * 2, t.shape[-1] // 2 * 2
        v = t[..., :h, :w]
        return v[..., 0::2, 0::2], v[..., 0::2, 1::2], v[..., 1::2, 0::2], v[..., 1::2, 1::2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.x = x
        a, b, c, d = self._quarters(x)
        like = self.bufs.like
        top = torch.maximum(a, b, out=like("top", a))
        bottom = torch.maximum(c, d, out=like("bottom", a))
        if self.grouped:  # (B, H/2, W/2, N, O): the output as (N, B, O, H/2, W/2), memory (B, H/2, W/2, N, O)
            y = torch.maximum(top, bottom, out=self.bufs.get("y", a.shape, x)).permute(3, 0, 4, 1, 2)
        else:
            y = torch.maximum(top, bottom, out=self._out(a))
        self.right_top = torch.gt(b, a, out=like("rt", a))
        self.right_bottom = torch.gt(d, c, out=like("rb", a))
        self.below = torch.gt(bottom, top, out=like("below", a))
        return y

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        dx = self.bufs.like("dx", self.x)
        if self.grouped:
            g = g.permute(1, 3, 4, 0, 2)  # (B, H/2, W/2, N, O)
            if not g.is_contiguous():
                g = self.bufs.get("g", g.shape, g).copy_(g)
        else:
            h, w = self.x.shape[-2:]
            if h % 2:
                dx[..., -1, :] = 0
            if w % 2:
                dx[..., -1] = 0
        d00, d01, d10, d11 = self._quarters(dx)
        bottom = torch.mul(g, self.below, out=self.bufs.like("gb", self.below))
        top = torch.sub(g, bottom, out=self.bufs.like("gt", self.below))
        torch.sub(top, torch.mul(top, self.right_top, out=d01), out=d00)
        torch.sub(bottom, torch.mul(bottom, self.right_bottom, out=d11), out=d10)
        return dx


class _Flatten:
    """(N, B, C, H, W) → (N, B, C·H·W), torch's order (a copy when the input is laid out otherwise; the gradient
    then goes back in the input's layout); (N, B, D) stays."""

    def __init__(self) -> None:
        self.bufs = _Buffers()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.x = x
        if x.dim() == 3 or x.is_contiguous():
            return x.reshape(*x.shape[:2], -1)
        y = self.bufs.get("y", (*x.shape[:2], x[0, 0].numel()), x)
        y.view(x.shape).copy_(x)
        return y

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        x = self.x
        if x.dim() == 3 or x.is_contiguous():
            return g.reshape(x.shape)
        return self.bufs.like("dx", x).copy_(g.view(x.shape))
