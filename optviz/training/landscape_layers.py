"""Exact stand-ins for layers of a network evaluated at many points of a weight plane (used by ``landscape_eval``).

- :class:`_FirstLayer` stands in for the first conv or linear layer: it is linear in its weights, so its output at
  base + a·u + b·v is z(base) + a·z(u) + b·z(v), from three evaluations per probe batch.
- :class:`_PooledFirst` stands in for a whole first block of an ``nn.Sequential`` — conv → [BatchNorm2d] →
  [ReLU, Tanh or Sigmoid] → 2×2 max pooling — and returns the pooled activations. The three conv outputs are
  stored window-major, (image, window position, pooled pixel × channel), so that the 2×2 maximum is the maximum
  of contiguous halves, taken image block by image block while the block is in the cache, for several points of
  a grid row per block (:meth:`_PooledFirst.plan`: the stored outputs are read from memory once for all of
  them); a monotone activation commutes with the maximum, so it runs on a quarter of the numbers; an eval-mode
  BatchNorm is a per-channel affine map, folded into the three outputs when the plane leaves its parameters fixed
  (random directions zero them) and applied per point before the pooling otherwise. The output is channels-last
  (NHWC) in memory, the order oneDNN's next convolution is fastest on.
- :class:`MaxPool2x2` is ``nn.MaxPool2d(2)`` as the maximum of strided views (torch's CPU kernel, which also
  computes the indices, was ~5–10× slower), and :class:`_PoolThenAct` moves a monotone activation after such a
  pooling (the same values, a quarter of the work); :class:`_FlattenNHWC` flattens channels-last activations
  without a copy, in (H, W, C) order, for a linear layer whose weight columns the evaluator permutes to match.

Every rewrite gives the same numbers up to float32 rounding (the order of a few additions).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.func import functional_call

from optviz.training.pooling import MaxPool2x2, plain_pool, replace_pools

BLOCK_BYTES = 2 * 2**20  # a block of images pooled at once (_PooledFirst): about the size of the L2 cache
PLAN_BYTES = 64 * 2**20  # pooled outputs of the points of a grid row computed together (_PooledFirst.plan)
# activations that never decrease, so that act(max(x)) = max(act(x)); in-place forms for fresh tensors
MONOTONE: dict[type[nn.Module], Callable[[torch.Tensor], torch.Tensor]] = {
    nn.ReLU: torch.relu_, nn.Tanh: torch.tanh_, nn.Sigmoid: torch.sigmoid_}
Plane = dict[str, torch.Tensor]  # parameter name → its part of base, u or v


def _nhwc(x: torch.Tensor) -> torch.Tensor:
    """Images (4-D) in channels-last memory order; anything else as it is."""
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


class _PoolThenAct(nn.Module):
    """A monotone activation then 2×2 max pooling, computed the other way round (the same values)."""

    def __init__(self, act: nn.Module) -> None:
        super().__init__()
        self.pool = MaxPool2x2()
        self.act_ = MONOTONE[type(act)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act_(self.pool(x))


def act_after_pool(model: nn.Module) -> None:
    """In every ``nn.Sequential``, a monotone activation followed by a plain 2×2 max pooling becomes
    :class:`_PoolThenAct`, and every other plain 2×2 max pooling :class:`MaxPool2x2`."""
    for seq in [m for m in model.modules() if type(m) is nn.Sequential]:
        names = list(seq._modules)
        for first, second in zip(names, names[1:]):
            act, pool = seq._modules[first], seq._modules[second]
            if type(act) in MONOTONE and plain_pool(pool):
                seq._modules[first] = nn.Identity()
                seq._modules[second] = _PoolThenAct(act)
    replace_pools(model)


class _PlaneLayer(nn.Module):
    """A stand-in: buffers ``a`` and ``b`` (the point, set per point through ``functional_call``); ``batched``
    under ``vmap``, where a and b are batched and no Python scalars or reused buffers may be used."""

    def __init__(self, layer: nn.Module, name: str) -> None:
        super().__init__()
        self.register_buffer("a", torch.zeros(()))
        self.register_buffer("b", torch.zeros(()))
        self.batched = False
        self.layer, self.name = (layer,), name  # a tuple: not a submodule, its parameters come from the plane
        self.own = [f"{name}.{k}" for k, _ in layer.named_parameters()]
        self.handles = list(self.own)  # every parameter it takes from the plane (not given to functional_call)

    def outputs(self, x: torch.Tensor, planes: tuple[Plane, Plane, Plane]) -> tuple[torch.Tensor, ...]:
        """The layer's outputs on ``x`` at base, u and v."""
        layer, start = self.layer[0], len(self.name) + 1
        return tuple(functional_call(layer, {k[start:]: d[k] for k in self.own}, (x,)) for d in planes)


class _FirstLayer(_PlaneLayer):
    """The first layer's output at base + a·u + b·v. Not under ``vmap``, z(base) + b·z(v) is kept while b stays
    (a grid row), so a point costs one add, into one reused buffer (no fresh pages per point)."""

    def set_plane(self, x: torch.Tensor, planes: tuple[Plane, Plane, Plane],
                  layout: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.z = tuple(layout(z) for z in self.outputs(x, planes))
        self._row_b: float | None = None
        self._row, self._out = torch.empty_like(self.z[0]), torch.empty_like(self.z[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z0, zu, zv = self.z
        if self.batched:
            return torch.addcmul(torch.addcmul(z0, zu, self.a), zv, self.b)
        b = float(self.b)
        if b != self._row_b:
            torch.add(z0, zv, alpha=b, out=self._row)
            self._row_b = b
        return torch.add(self._row, zu, alpha=float(self.a), out=self._out)


def _windows(z: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) → (N, 4, H/2 · W/2 · C), contiguous: the four positions of each 2×2 window apart, every
    pooled pixel channels-last (the last odd row or column dropped, as floor-mode pooling does)."""
    n, c, h, w = z.shape
    h2, w2 = h // 2, w // 2
    z = z[..., :2 * h2, :2 * w2].permute(0, 2, 3, 1).reshape(n, h2, 2, w2, 2, c)
    return z.permute(0, 2, 4, 1, 3, 5).reshape(n, 4, h2 * w2 * c).contiguous()


class _PooledFirst(_PlaneLayer):
    """conv → [BatchNorm2d, eval] → [monotone activation] → 2×2 max pooling at base + a·u + b·v (see the module
    docstring).

    ``bn`` is (its name, the module) or None; the modules after the conv are replaced by ``nn.Identity``.
    """

    def __init__(self, conv: nn.Conv2d, name: str, bn: tuple[str, nn.BatchNorm2d] | None,
                 act: nn.Module | None) -> None:
        super().__init__(conv, name)
        self.bn, self.act_type = bn, type(act) if act is not None else None
        if bn is not None:
            self.handles += [f"{bn[0]}.{k}" for k, p in bn[1].named_parameters() if p.requires_grad]

    def set_plane(self, x: torch.Tensor, planes: tuple[Plane, Plane, Plane],
                  layout: Callable[[torch.Tensor], torch.Tensor]) -> None:
        zs = self.outputs(x, planes)
        self.scale = None  # per point: the BatchNorm's (weight, bias) on base, u and v, and its 1/σ and mean
        if self.bn is not None:
            bn_name, bn = self.bn
            fixed = {k: getattr(bn, k).detach() if getattr(bn, k) is not None else None for k in ("weight", "bias")}
            parts = [[d.get(f"{bn_name}.{k}", fixed[k] if j == 0 else None) for k in ("weight", "bias")]
                     for j, d in enumerate(planes)]  # frozen parameters: the module's, fixed on the plane
            inv = torch.rsqrt(bn.running_var + bn.eps)
            if all(p is None or not p.any() for d in parts[1:] for p in d):  # fixed on the plane: fold it in
                weight, bias = parts[0]
                s = inv if weight is None else weight * inv
                t = -bn.running_mean * s + (0 if bias is None else bias)
                zs = (zs[0] * s.view(-1, 1, 1) + t.view(-1, 1, 1), *(z * s.view(-1, 1, 1) for z in zs[1:]))
            else:
                self.scale = (parts, inv, bn.running_mean)
        self.z = tuple(_windows(z) for z in zs)
        n, _, h, w = zs[0].shape
        self.shape = (n, h // 2, w // 2, zs[0].shape[1])
        self.block = max(1, BLOCK_BYTES // (self.z[0][0].numel() * 4))
        self.plan_size = max(1, min(32, PLAN_BYTES // (self.z[0][:, 0].numel() * 4)))
        self._row_b: float | None = None
        self._ready: dict[float, torch.Tensor] = {}  # a → the pooled output at (a, self._row_b), planned
        self._row = torch.empty_like(self.z[0])
        self._outs = [self.z[0].new_empty(n, self.z[0].shape[2]) for _ in range(self.plan_size + 1)]
        self._quad = self.z[0].new_empty(min(n, self.block), 4, self.z[0].shape[2])
        self._pair = self.z[0].new_empty(min(n, self.block), 2, self.z[0].shape[2])

    def plan(self, alphas: list[float], b: float) -> None:
        """Pool the points (a, b) for every a of ``alphas`` (at most ``plan_size``, a run of one grid row)
        together, image block by image block: each block of z(base) + b·z(v) and z(u) is read from memory once
        for all of them. ``forward`` then returns them."""
        self._ready = dict(zip(alphas, self._pool(alphas, b, self._outs[1:])))

    def _pool(self, alphas: list[float], b: float, outs: list[torch.Tensor]) -> list[torch.Tensor]:
        """The pooled (and activated) outputs at (a, b) for every a of ``alphas``, written into ``outs``."""
        z0, zu, zv = self.z
        if b != self._row_b:  # a grid row shares z(base) + b·z(v)
            torch.add(z0, zv, alpha=b, out=self._row)
            self._row_b, self._ready = b, {}
        affines = [self._affine(a, b) if self.scale is not None else None for a in alphas]
        n = self.shape[0]
        for i in range(0, n, self.block):  # the block stays in the cache from the add to the maximum
            k = min(self.block, n - i)
            quad, pair, row, zu_i = self._quad[:k], self._pair[:k], self._row[i:i + k], zu[i:i + k]
            for a, affine, out in zip(alphas, affines, outs):
                torch.add(row, zu_i, alpha=a, out=quad)
                if affine is not None:
                    torch.addcmul(affine[1], quad, affine[0], out=quad)
                torch.maximum(quad[:, :2], quad[:, 2:], out=pair)
                torch.maximum(pair[:, 0], pair[:, 1], out=out[i:i + k])
        if self.act_type is not None:
            for out in outs[:len(alphas)]:
                MONOTONE[self.act_type](out)
        return outs[:len(alphas)]

    def _affine(self, a, b) -> tuple[torch.Tensor, torch.Tensor]:
        """The BatchNorm at the point as x·s + t, s and t repeated for every pooled pixel (channels last)."""
        (w0, b0), (wu, bu), (wv, bv) = self.scale[0]
        inv, mean = self.scale[1], self.scale[2]
        weight = w0 if w0 is None or wu is None else w0 + a * wu + b * wv
        bias = b0 if b0 is None or bu is None else b0 + a * bu + b * bv
        s = inv if weight is None else weight * inv
        t = -mean * s + (0 if bias is None else bias)
        pixels = self.shape[1] * self.shape[2]
        return s.repeat(pixels), t.repeat(pixels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z0, zu, zv = self.z
        n, h, w, c = self.shape
        if self.batched:
            z = torch.addcmul(torch.addcmul(z0, zu, self.a), zv, self.b)
            if self.scale is not None:
                s, t = self._affine(self.a, self.b)
                z = z * s + t
            out = z.amax(1)
            if self.act_type is not None:
                out = MONOTONE[self.act_type](out)
            return out.view(n, h, w, c).permute(0, 3, 1, 2)
        a, b = float(self.a), float(self.b)
        out = self._ready.get(a) if b == self._row_b else None
        if out is None:
            out = self._pool([a], b, self._outs[:1])[0]
        return out.view(n, h, w, c).permute(0, 3, 1, 2)


def first_block(model: nn.Module, name: str, conv: nn.Module) -> _PooledFirst | None:
    """Replace ``conv`` and the modules after it in its ``nn.Sequential`` by a :class:`_PooledFirst` when they
    are conv → [BatchNorm2d with running statistics] → [ReLU, Tanh or Sigmoid] → plain 2×2 max pooling
    (``nn.Identity`` and dropout, the identity in eval mode, anywhere between); None (nothing changed) otherwise."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    if type(parent) is not nn.Sequential or type(conv) is not nn.Conv2d:
        return None
    keys = list(parent._modules)
    bn = act = None
    for i, key in enumerate(keys[keys.index(child) + 1:], keys.index(child) + 1):
        m = parent._modules[key]
        if isinstance(m, (nn.Identity, nn.modules.dropout._DropoutNd)):
            continue
        if type(m) is nn.BatchNorm2d and bn is None and act is None and m.running_mean is not None:
            bn = (f"{parent_name}.{key}" if parent_name else key, m)
        elif type(m) in MONOTONE and act is None:
            act = m
        elif plain_pool(m):
            block = _PooledFirst(conv, name, bn, act)
            parent._modules[child] = block
            for k in keys[keys.index(child) + 1:i + 1]:
                parent._modules[k] = nn.Identity()
            return block
        else:
            return None
    return None


class _FlattenNHWC(nn.Module):
    """``nn.Flatten`` of (N, C, H, W) in (H, W, C) order: a view of channels-last activations (flattening them in
    NCHW order is a copy); the next linear layer's weight columns are permuted to match (:func:`flatten_nhwc`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)


def flatten_nhwc(model: nn.Module, inputs: dict[str, tuple[int, ...] | None],
                 names: set[str]) -> dict[str, tuple[int, int, int]]:
    """Swap every ``nn.Flatten`` of an ``nn.Sequential`` whose input was channels-last (N, C, H, W) (``inputs``:
    module name → that shape, None when not channels-last) and whose next layer is an ``nn.Linear`` with its
    weight in ``names`` (taken from the plane) for a :class:`_FlattenNHWC`; returns {that linear layer's weight
    name: (C, H, W)}, the weights whose columns the caller permutes from (C, H, W) to (H, W, C) order."""
    permuted = {}
    for seq_name, seq in list(model.named_modules()):
        if type(seq) is not nn.Sequential:
            continue
        keys = list(seq._modules)
        prefix = f"{seq_name}." if seq_name else ""
        for key, after in zip(keys, keys[1:]):
            flat, linear = seq._modules[key], seq._modules[after]
            shape, weight = inputs.get(prefix + key), f"{prefix}{after}.weight"
            if (type(flat) is nn.Flatten and (flat.start_dim, flat.end_dim) == (1, -1) and shape is not None
                    and type(linear) is nn.Linear and weight in names
                    and linear.in_features == shape[1] * shape[2] * shape[3]):
                seq._modules[key] = _FlattenNHWC()
                permuted[weight] = tuple(shape[1:])
    return permuted
