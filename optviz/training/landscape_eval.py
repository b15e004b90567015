"""The loss of one network at many points of a plane in weight space, base + a·u + b·v (for landscape slices).

:class:`SliceEvaluator` evaluates a model on a fixed probe of images at each point, the point's parameters built
as base + a·u + b·v and fed to ``torch.func.functional_call`` (no ``load_state_dict`` per point). On CUDA chunks of
grid points go through ``vmap`` at once; on the CPU one point at a time, because ``vmap`` turns the convs into
grouped convs that were 3× slower than a plain loop on the CPU (measured). Exact shortcuts (``landscape_layers``)
make the CPU fast: a 41×41 LeNet-5 slice on 1,000 images runs ~4× faster than loading each point's weights and
evaluating (``benchmarks/landscape.py``), and agrees with that loop to ~1e-6 (float32: only the order of a few
additions changes).

1. The first layer is linear in its weights: its output on the probe is z(base) + a·z(u) + b·z(v), from three
   evaluations per probe batch instead of one per point; points of a grid row (the same b) share
   z(base) + b·z(v).
2. Where that layer heads a LeNet-like block of an ``nn.Sequential`` (conv → [BatchNorm] → [ReLU, Tanh or
   Sigmoid] → 2×2 max pooling), the block is one stand-in: the three outputs are stored window-major, so that
   the pooling is the maximum of contiguous halves, taken image block by image block in the cache, for up to a
   dozen points of a grid row per pass over the stored outputs; the activation runs after the pooling, on a
   quarter of the numbers; a fixed eval-mode BatchNorm is folded into the stored outputs.
3. Images flow channels-last (NHWC) on the CPU: oneDNN's convolutions run ~2× faster on it than on NCHW, and the
   later 2×2 poolings are maxima of contiguous runs; a ``Flatten`` before a linear layer flattens in (H, W, C)
   order (a view, not a copy), the linear layer's weight columns permuted to match.
4. Other 2×2 max poolings are maxima of strided views (torch's CPU kernel, which also computes the indices, was
   ~5–10× slower), with a monotone activation before them moved after them.

Models are evaluated in eval mode: BatchNorm uses the final running statistics at every point, Dropout is off.
"""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap

from optviz.training.landscape_layers import _FirstLayer, _nhwc, _PlaneLayer, act_after_pool, first_block, flatten_nhwc
from optviz.training.pooling import is_nhwc, swap

PROBE_BATCH = 1000  # probe images evaluated at once
CUDA_BUDGET = 2 * 2**30  # bytes of activations a CUDA chunk of grid points may take

Progress = Callable[[int, int], None]  # (points done, points)
Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (outputs, targets) → summed loss


class Cancelled(Exception):
    """The caller's ``cancel()`` said stop."""


def trainable(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [(n, p.detach()) for n, p in model.named_parameters() if p.requires_grad]


class _Stop(Exception):
    pass


def _default_criterion(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out, y, reduction="sum")


class SliceEvaluator:
    """Mean probe loss of ``model`` at parameters base + a·u + b·v for many (a, b) (see the module docstring).

    ``base``, ``u`` and ``v`` are flat float32 vectors over the trainable parameters in ``named_parameters()``
    order; buffers (BatchNorm statistics) stay the model's. ``chunk``: grid points per ``vmap`` call (default: 1
    on the CPU, from a memory budget on CUDA); ``first_layer=False`` turns the first-layer shortcuts off.
    """

    def __init__(self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, *,
                 criterion: Criterion | None = None, device: str | torch.device = "cpu", chunk: int | None = None,
                 first_layer: bool = True) -> None:
        self.device = torch.device(device)
        self.model = copy.deepcopy(model).to(self.device).eval()
        self.criterion = criterion or _default_criterion
        named = trainable(self.model)
        self.names = [n for n, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        # channels-last on the CPU only: under vmap (CUDA) convs become grouped convs, measured in NCHW
        self.layout = _nhwc if self.device.type == "cpu" else (lambda x: x)
        self.batches = [(self.layout(inputs[i:i + PROBE_BATCH].to(self.device)),
                         targets[i:i + PROBE_BATCH].to(self.device)) for i in range(0, len(targets), PROBE_BATCH)]
        self.n = len(targets)
        self.first: _PlaneLayer | None = None
        self.first_inputs: list[torch.Tensor] = []
        if first_layer:
            self._first_layer()
        act_after_pool(self.model)
        self.buffers = {n: b for n, b in self.model.named_buffers()}
        self.permuted: dict[str, tuple[int, int, int]] = {}  # linear weights whose columns are in (H, W, C) order
        per_point, flat_inputs = self._dry_run()
        if self.device.type == "cpu":
            self.permuted = flatten_nhwc(self.model, flat_inputs, set(self.names))
        self.chunk = chunk or (1 if self.device.type == "cpu" else max(1, min(64, CUDA_BUDGET // per_point)))

    def _first_layer(self) -> None:
        """A stand-in for the first layer with parameters when it is a conv or linear layer whose input does not
        depend on any parameter (with its pooled block where it heads one, :func:`first_block`)."""
        first = next(((n, m) for n, m in self.model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))), None)
        if first is None:
            return
        name, module = first
        own = [f"{name}.{k}" for k, _ in module.named_parameters()]
        if self.names[:len(own)] != own:  # a parameter is used before it: the input is not fixed
            return

        def grab(_m: nn.Module, args: tuple) -> None:
            self.first_inputs.append(args[0].detach())
            raise _Stop

        hook = module.register_forward_pre_hook(grab)
        try:
            for x, _ in self.batches:
                try:
                    with torch.no_grad():
                        self.model(x)
                except _Stop:
                    pass
        finally:
            hook.remove()
        self.first = first_block(self.model, name, module)
        if self.first is None:
            self.first = _FirstLayer(module, name)
            swap(self.model, name, self.first)
        self.first.to(self.device)

    def _dry_run(self) -> tuple[int, dict[str, tuple[int, ...] | None]]:
        """One point on two images: (the bytes of activations a point takes on a probe batch, {name of each
        ``nn.Flatten``: its input's shape when that is channels-last, else None})."""
        sizes: list[int] = []
        flat_inputs: dict[str, tuple[int, ...] | None] = {}

        def flat_input(name: str) -> Callable:
            def hook(_m: nn.Module, args: tuple) -> None:
                x = args[0]
                flat_inputs[name] = tuple(x.shape) if x.dim() == 4 and is_nhwc(x) else None
            return hook

        hooks = [m.register_forward_hook(lambda _m, _i, o: sizes.append(o.numel() if torch.is_tensor(o) else 0))
                 for m in self.model.modules() if not list(m.children())]
        hooks += [m.register_forward_pre_hook(flat_input(n)) for n, m in self.model.named_modules()
                  if type(m) is nn.Flatten]
        x, y = self.batches[0]
        k = min(2, len(y))
        try:
            params = {n: torch.zeros(s, device=self.device) for n, s in zip(self.names, self.shapes)}
            with torch.no_grad():
                if self.first is not None:
                    self.first.set_plane(self.first_inputs[0][:k], (params, params, params), self.layout)
                self._loss_at(self._params(params, params, params, 0.0, 0.0), x[:k], y[:k])
        finally:
            for h in hooks:
                h.remove()
        return max(1, sum(sizes) * 4 * 3 * len(y) // k), flat_inputs

    def _split(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = torch.split(flat.to(self.device, torch.float32), self.sizes)
        out = {n: p.view(s) for n, p, s in zip(self.names, parts, self.shapes)}
        for n, (c, h, w) in self.permuted.items():
            out[n] = out[n].view(-1, c, h, w).permute(0, 2, 3, 1).reshape(out[n].shape[0], -1)
        return out

    def _prepare(self, batch: int, base: dict, u: dict, v: dict) -> None:
        """The first layer's outputs at base, u and v for probe batch ``batch``."""
        if self.first is not None:
            with torch.no_grad():
                self.first.set_plane(self.first_inputs[batch], (base, u, v), self.layout)

    def _params(self, base: dict, u: dict, v: dict, a, b) -> dict[str, torch.Tensor]:
        """The parameters at base + a·u + b·v, but for the first layer's: it gets the point (a, b)."""
        skip = set(self.first.handles) if self.first else set()
        out = {n: base[n] + a * u[n] + b * v[n] for n in self.names if n not in skip}
        if self.first:
            out[f"{self.first.name}.a"] = torch.as_tensor(a, dtype=torch.float32, device=self.device)
            out[f"{self.first.name}.b"] = torch.as_tensor(b, dtype=torch.float32, device=self.device)
        return out

    def _loss_at(self, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.criterion(functional_call(self.model, {**self.buffers, **params}, (x,)), y)

    def losses(self, base: torch.Tensor, u: torch.Tensor, v: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *,
               progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> np.ndarray:
        """Mean probe loss at base + a[k]·u + b[k]·v for every k (float64 numpy)."""
        base_d, u_d, v_d = self._split(base), self._split(u), self._split(v)
        a, b = a.to(self.device, torch.float32), b.to(self.device, torch.float32)
        total = torch.zeros(len(a), dtype=torch.float64, device=self.device)
        steps, done = len(self.batches) * len(a), 0
        batched = vmap(self._loss_at, in_dims=(0, None, None), randomness="same")
        planner = getattr(self.first, "plan", None) if self.chunk == 1 else None
        with torch.no_grad():
            for i, (x, y) in enumerate(self.batches):
                self._prepare(i, base_d, u_d, v_d)
                planned = 0
                for start in range(0, len(a), self.chunk):
                    if cancel is not None and cancel():
                        raise Cancelled()
                    stop = min(len(a), start + self.chunk)
                    if self.first:
                        self.first.batched = stop - start > 1
                    if planner is not None and start >= planned:  # the next points of this grid row
                        planned = _row_run(b, start, self.first.plan_size)
                        planner(a[start:planned].tolist(), float(b[start]))
                    if stop - start == 1:
                        total[start] += self._loss_at(self._params(base_d, u_d, v_d, a[start], b[start]), x, y)
                    else:
                        ca, cb = a[start:stop], b[start:stop]
                        params = {n: base_d[n] + _col(ca, u_d[n]) * u_d[n] + _col(cb, u_d[n]) * v_d[n]
                                  for n in self.names if not self.first or n not in self.first.handles}
                        if self.first:
                            params[f"{self.first.name}.a"], params[f"{self.first.name}.b"] = ca, cb
                        total[start:stop] += batched(params, x, y)
                    done += stop - start
                    if progress is not None:
                        progress(done, steps)
        return (total / self.n).cpu().numpy()


def _row_run(b: torch.Tensor, start: int, most: int) -> int:
    """The end of the run of points from ``start`` that share b (at most ``most`` of them)."""
    stop = start + 1
    while stop < len(b) and stop - start < most and b[stop] == b[start]:
        stop += 1
    return stop


def _col(c: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``c`` (C,) shaped to broadcast against ``like`` with a leading chunk axis."""
    return c.view(-1, *[1] * like.dim())
