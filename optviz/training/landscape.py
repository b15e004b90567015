"""Loss-landscape slices around a trained network's weights, with the optimizer's path (Li et al., 2018).

The loss is evaluated on the plane θ(α, β) = θ* + α·d₁ + β·d₂ through the final weights θ*, on an N×N grid:

- ``directions="random"``: two seeded Gaussian directions, **filter-normalised** — each filter (a slice along the
  first axis of a conv or linear weight) rescaled to the norm of the same filter of θ*; parameters of one
  dimension or less (biases, BatchNorm's weight and bias) get zero, as in the paper;
- ``directions="pca"``: the first two principal directions of the run's saved weight trajectory (centred rows),
  as unit vectors, so that the path lies as much as it can in the plane.

The trajectory's snapshots are projected onto the plane by least squares (exact for PCA's orthonormal
directions), so the path's last point is (0, 0) (the final weights) and its first the initial weights'
coordinates; ``explained`` is the share of the trajectory's variance each direction holds (PCA's explained
variance ratio; tiny for random directions, which says how little of the path such a plane shows). The 1-D
``line_loss`` is the loss along θ₀ + t·(θ* − θ₀), the straight line from the initial (t = 0) to the final weights
(t = 1).

Evaluation (:class:`SliceEvaluator`): on a fixed probe of training images, every grid point's parameters built as
base + a·u + b·v and fed to ``torch.func.functional_call`` (no ``load_state_dict`` per point); on CUDA chunks of
grid points go through ``vmap`` at once, on the CPU one point at a time, because ``vmap`` turns the convs into
grouped convs that were 3× slower than a plain loop on the CPU (measured). Exact shortcuts make the CPU fast: the
first layer is linear in its weights, so its output on the probe is z(base) + a·z(u) + b·z(v) from three evaluations
per probe batch instead of one per point (written into one reused buffer); 2×2 max pooling is taken as the maximum
of four strided views (torch's CPU kernel, which also computes indices, was ~10× slower); and a ReLU followed by
such a pooling is applied after it (ReLU is monotone: the same values, a quarter of the work). Models are evaluated
in eval mode: BatchNorm uses the final running statistics at every point (a note says so), Dropout is off.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap

from optviz.core.params import ParamError, Spec
from optviz.training.trajectory import WeightPath

RESOLUTION = Spec("resolution", "int", 25, 2, 201, title="Resolution", doc="grid points per axis")
PROBE = Spec("probe", "int", 1000, 1, 100_000, step=250, title="Probe images",
             doc="training images the loss is averaged over (the first of the seeded training split)")
RANGE = Spec("range", "float", None, 0.0, 1000.0, low_open=True, optional=True, off_text="auto", title="Range",
             doc="half-width of the grid in direction units (auto: 1 for random directions, 1.25 × the path's "
                 "extent for PCA)")
DIRECTIONS = Spec("directions", "choice", "random", choices=("random", "pca"), title="Directions",
                  doc="random (filter-normalised) or pca (of the saved weight trajectory)")
SEED = Spec("seed", "int", 0, 0, 2**31 - 1, title="Seed", doc="seeds the random directions")
LINE_POINTS = 61  # t = 0 and t = 1 fall on points 10 and 50
LINE_T = (-0.25, 1.25)  # the 1-D line runs a little past both ends
PROBE_BATCH = 1000  # probe images evaluated at once
CUDA_BUDGET = 2 * 2**30  # bytes of activations a CUDA chunk of grid points may take

Progress = Callable[[int, int], None]  # (points done, points)
Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (outputs, targets) → summed loss


class Cancelled(Exception):
    """The caller's ``cancel()`` said stop."""


@dataclass(frozen=True, eq=False)
class Landscape:
    """A slice: ``loss[i, j]`` at (``alphas[j]``, ``betas[i]``), i.e. rows are β, as on the map's y axis."""

    loss: np.ndarray  # (N, N) float64, the mean loss over the probe
    alphas: np.ndarray  # (N,) coordinates along d1
    betas: np.ndarray  # (N,) coordinates along d2
    path: np.ndarray  # (K, 2) the trajectory projected on the plane; empty (0, 2) without a trajectory
    path_steps: np.ndarray  # (K,) the training step of each path point
    explained: np.ndarray  # (2,) share of the trajectory's variance along d1 and d2 (NaN without a trajectory)
    directions: str  # "random" or "pca"
    line_t: np.ndarray  # (M,) positions on the line θ0 + t (θ* − θ0); empty without a trajectory
    line_loss: np.ndarray  # (M,)
    d1: np.ndarray = field(repr=False)  # (P,) float32, the directions, flattened in named_parameters() order
    d2: np.ndarray = field(repr=False)
    probe: int = 0
    notes: tuple[str, ...] = ()
    device: str = "cpu"
    seconds: float = 0.0

    def arrays(self) -> dict[str, np.ndarray]:
        """What ``optviz landscape --out FILE.npz`` writes."""
        return {"loss": self.loss, "alphas": self.alphas, "betas": self.betas, "path": self.path,
                "path_steps": self.path_steps, "explained": self.explained, "directions": np.array(self.directions),
                "line_t": self.line_t, "line_loss": self.line_loss, "notes": np.array("\n".join(self.notes))}


# ---- directions ----------------------------------------------------------------------------------------------

def trainable(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [(n, p.detach()) for n, p in model.named_parameters() if p.requires_grad]


def filter_normalised(params: Sequence[torch.Tensor], generator: torch.Generator) -> torch.Tensor:
    """A random direction (flat, float32): Gaussian, each filter scaled to the norm of the same filter of
    ``params``; zero for parameters of one dimension or less (biases, BatchNorm)."""
    parts = []
    for p in params:
        if p.dim() <= 1:
            parts.append(torch.zeros(p.numel()))
            continue
        d = torch.randn(p.shape, generator=generator)
        scale = p.float().cpu().flatten(1).norm(dim=1) / (d.flatten(1).norm(dim=1) + 1e-10)
        parts.append((d * scale.view(-1, *[1] * (p.dim() - 1))).reshape(-1))
    return torch.cat(parts)


def pca_directions(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first two principal directions (unit, float32) of the rows of ``weights`` (K, P), centred; signed so
    that the first row lies at negative coordinates (the path comes from the lower left)."""
    if len(weights) < 3:
        raise ParamError(f"PCA directions need a weight trajectory of at least 3 snapshots (this run has "
                         f"{len(weights)}); use random directions")
    w = weights.double()
    centred = w - w.mean(0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    d = vh[:2].clone()
    for k in range(2):
        if float((w[0] - w[-1]) @ d[k]) > 0:
            d[k] = -d[k]
    return d[0].float(), d[1].float()


def project(weights: torch.Tensor, center: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor) -> np.ndarray:
    """(K, 2) least-squares coordinates of each row of ``weights`` − ``center`` in the basis (d1, d2)."""
    d = torch.stack([d1, d2]).double()
    gram = d @ d.T
    rhs = d @ (weights.double() - center.double()).T  # (2, K)
    return torch.linalg.solve(gram, rhs).T.numpy()


def explained_share(weights: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor) -> np.ndarray:
    """(2,) share of the centred rows' total variance along d1 and along d2 ⊥ d1 (Gram–Schmidt)."""
    centred = weights.double() - weights.double().mean(0)
    total = float((centred ** 2).sum())
    if total == 0.0:
        return np.full(2, np.nan)
    q, _ = torch.linalg.qr(torch.stack([d1, d2]).double().T)
    return ((centred @ q) ** 2).sum(0).numpy() / total


# ---- evaluation ----------------------------------------------------------------------------------------------

class _MaxPool2x2(nn.Module):
    """``nn.MaxPool2d(2)`` (floor mode) as the maximum of four strided views: the same values, far faster on the
    CPU than torch's kernel, which also computes the indices."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
        x = x[..., :h, :w]
        rows = torch.maximum(x[..., 0::2, :], x[..., 1::2, :])
        return torch.maximum(rows[..., 0::2], rows[..., 1::2])


class _PoolThenReLU(nn.Module):
    """ReLU then 2×2 max pooling, computed the other way round (the same values: ReLU is monotone), so that the
    ReLU sees a quarter of the numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = _MaxPool2x2()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu_(self.pool(x))


def _relu_after_pool(model: nn.Module) -> None:
    """In every ``nn.Sequential``, a ReLU followed by a plain 2×2 max pooling becomes :class:`_PoolThenReLU`."""
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for first, second in zip(names, names[1:]):
            act, pool = seq._modules[first], seq._modules[second]
            if type(act) is nn.ReLU and isinstance(pool, nn.MaxPool2d) and _plain_pool(pool):
                seq._modules[first] = nn.Identity()
                seq._modules[second] = _PoolThenReLU()


class _FirstLayer(nn.Module):
    """Stands in for the first layer: its output at base + a·u + b·v, from the outputs at base, u and v."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("a", torch.zeros(()))
        self.register_buffer("b", torch.zeros(()))
        self.z: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self.batched = False  # under vmap a and b are batched: no Python scalars, no reused buffer
        self._out: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z0, zu, zv = self.z
        if self.batched:
            return torch.addcmul(torch.addcmul(z0, zu, self.a), zv, self.b)
        if self._out is None or self._out.shape != z0.shape:
            self._out = torch.empty_like(z0)
        torch.add(z0, zu, alpha=float(self.a), out=self._out)  # one buffer for every point: no fresh pages
        return self._out.add_(zv, alpha=float(self.b))


class _Stop(Exception):
    pass


def _swap(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


def _default_criterion(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out, y, reduction="sum")


class SliceEvaluator:
    """Mean probe loss of ``model`` at parameters base + a·u + b·v for many (a, b) (see the module docstring).

    ``base``, ``u`` and ``v`` are flat float32 vectors over the trainable parameters in ``named_parameters()``
    order; buffers (BatchNorm statistics) stay the model's. ``chunk``: grid points per ``vmap`` call (default: 1
    on the CPU, from a memory budget on CUDA); ``first_layer=False`` turns the first-layer shortcut off.
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
        self.buffers = {n: b for n, b in self.model.named_buffers()}
        _relu_after_pool(self.model)
        for name, module in list(self.model.named_modules()):
            if isinstance(module, nn.MaxPool2d) and _plain_pool(module):
                _swap(self.model, name, _MaxPool2x2())
        self.batches = [(inputs[i:i + PROBE_BATCH].to(self.device), targets[i:i + PROBE_BATCH].to(self.device))
                        for i in range(0, len(targets), PROBE_BATCH)]
        self.n = len(targets)
        self.first = self._first_layer() if first_layer else None
        per_point = self._activation_bytes()
        self.chunk = chunk or (1 if self.device.type == "cpu" else max(1, min(64, CUDA_BUDGET // per_point)))

    def _first_layer(self) -> tuple[str, nn.Module, list[torch.Tensor], list[str]] | None:
        """(name, module, its input for each probe batch, its parameter names) when the first layer with
        parameters is a conv or linear layer whose input does not depend on any parameter."""
        first = next(((n, m) for n, m in self.model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))), None)
        if first is None:
            return None
        name, module = first
        own = [f"{name}.{k}" for k, _ in module.named_parameters()]
        if self.names[:len(own)] != own:  # a parameter is used before it: the input is not fixed
            return None
        inputs: list[torch.Tensor] = []

        def grab(_m: nn.Module, args: tuple) -> None:
            inputs.append(args[0].detach())
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
        stand_in = _FirstLayer().to(self.device)
        _swap(self.model, name, stand_in)
        return name, module, inputs, own

    def _activation_bytes(self) -> int:
        sizes: list[int] = []
        hooks = [m.register_forward_hook(lambda _m, _i, o: sizes.append(o.numel() if torch.is_tensor(o) else 0))
                 for m in self.model.modules() if not list(m.children())]
        try:
            x, y = self.batches[0]
            params = {n: torch.zeros(s, device=self.device) for n, s in zip(self.names, self.shapes)}
            self._prepare(0, params, params, params)
            with torch.no_grad():
                self._loss_at(self._params(params, params, params, 0.0, 0.0), x, y)
        finally:
            for h in hooks:
                h.remove()
        return max(1, sum(sizes) * 4 * 3)

    def _split(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = torch.split(flat.to(self.device, torch.float32), self.sizes)
        return {n: p.view(s) for n, p, s in zip(self.names, parts, self.shapes)}

    def _prepare(self, batch: int, base: dict, u: dict, v: dict) -> None:
        """The first layer's outputs at base, u and v for probe batch ``batch``."""
        if self.first is None:
            return
        name, module, inputs, own = self.first
        x = inputs[batch]
        with torch.no_grad():
            zs = tuple(functional_call(module, {k[len(name) + 1:]: d[k] for k in own}, (x,)) for d in (base, u, v))
        self.model.get_submodule(name).z = zs

    def _params(self, base: dict, u: dict, v: dict, a, b) -> dict[str, torch.Tensor]:
        skip = set(self.first[3]) if self.first else set()
        out = {n: base[n] + a * u[n] + b * v[n] for n in self.names if n not in skip}
        if self.first:
            out[f"{self.first[0]}.a"] = torch.as_tensor(a, dtype=torch.float32, device=self.device)
            out[f"{self.first[0]}.b"] = torch.as_tensor(b, dtype=torch.float32, device=self.device)
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
        with torch.no_grad():
            for i, (x, y) in enumerate(self.batches):
                self._prepare(i, base_d, u_d, v_d)
                for start in range(0, len(a), self.chunk):
                    if cancel is not None and cancel():
                        raise Cancelled()
                    stop = min(len(a), start + self.chunk)
                    if self.first:
                        self.model.get_submodule(self.first[0]).batched = stop - start > 1
                    if stop - start == 1:
                        total[start] += self._loss_at(self._params(base_d, u_d, v_d, a[start], b[start]), x, y)
                    else:
                        ca, cb = a[start:stop], b[start:stop]
                        params = {n: base_d[n] + _col(ca, u_d[n]) * u_d[n] + _col(cb, u_d[n]) * v_d[n]
                                  for n in self.names if not self.first or n not in self.first[3]}
                        if self.first:
                            params[f"{self.first[0]}.a"], params[f"{self.first[0]}.b"] = a[start:stop], b[start:stop]
                        total[start:stop] += batched(params, x, y)
                    done += stop - start
                    if progress is not None:
                        progress(done, steps)
        return (total / self.n).cpu().numpy()


def _col(c: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``c`` (C,) shaped to broadcast against ``like`` with a leading chunk axis."""
    return c.view(-1, *[1] * like.dim())


def _plain_pool(m: nn.MaxPool2d) -> bool:
    def pair(v: object) -> tuple:
        return tuple(v) if isinstance(v, (tuple, list)) else (v, v)

    stride = m.stride if m.stride is not None else m.kernel_size
    return (pair(m.kernel_size) == (2, 2) and pair(stride) == (2, 2) and pair(m.padding) == (0, 0)
            and pair(m.dilation) == (1, 1) and not m.ceil_mode and not m.return_indices)


# ---- the slice -----------------------------------------------------------------------------------------------

def slice_landscape(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, *,
                    trajectory: WeightPath | None = None, directions: str = "random", resolution: int = 25,
                    range_: float | None = None, seed: int = 0, line_points: int = LINE_POINTS,
                    criterion: Criterion | None = None, device: str = "auto", chunk: int | None = None,
                    progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> Landscape:
    """The loss around ``model``'s weights (its final weights) on the probe ``inputs``/``targets``.

    ParamError for a bad setting or for PCA without a trajectory of at least 3 snapshots; Cancelled when
    ``cancel()`` turns true (checked between chunks of grid points).
    """
    t0 = time.perf_counter()
    directions = DIRECTIONS.validate(directions)
    resolution = RESOLUTION.validate(resolution)
    range_ = RANGE.validate(range_)
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                       "cpu" if device == "auto" else device)
    named = trainable(model)
    center = torch.cat([p.reshape(-1).float().cpu() for _, p in named])
    if trajectory is not None:
        try:
            trajectory.check_fits(model)
        except ValueError as exc:
            raise ParamError(str(exc)) from None
    notes = []
    if directions == "pca":
        if trajectory is None:
            raise ParamError("PCA directions need the run's weight trajectory (train with this optviz and save "
                             "the checkpoint); use random directions")
        d1, d2 = pca_directions(trajectory.weights)
    else:
        gen = torch.Generator().manual_seed(seed)
        d1, d2 = (filter_normalised([p for _, p in named], gen) for _ in range(2))
        notes.append("random directions: filter-normalised; biases and BatchNorm parameters zeroed")
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        notes.append("BatchNorm evaluated in eval mode: the final running statistics at every point")
    path, steps, explained = np.zeros((0, 2)), np.zeros(0, np.int64), np.full(2, np.nan)
    if trajectory is not None:
        path = project(trajectory.weights, center, d1, d2)
        steps, explained = np.asarray(trajectory.steps, np.int64), explained_share(trajectory.weights, d1, d2)
    else:
        notes.append("no weight trajectory saved: no path and no line from the initial weights")
    if range_ is None:
        extent = float(np.abs(path).max()) if directions == "pca" and len(path) else 0.0
        range_ = 1.25 * extent if extent > 0 else 1.0
    axis = np.linspace(-range_, range_, resolution)
    evaluator = SliceEvaluator(model, inputs, targets, criterion=criterion, device=dev, chunk=chunk)
    n_line = line_points if trajectory is not None else 0
    total = resolution * resolution + n_line
    report = None if progress is None else (lambda done, _n: progress(done, total))
    aa, bb = np.meshgrid(axis, axis)  # aa[i, j] = axis[j] (alpha), bb[i, j] = axis[i] (beta)
    grid = evaluator.losses(center, d1, d2, torch.from_numpy(aa.ravel()).float(),
                            torch.from_numpy(bb.ravel()).float(), progress=report, cancel=cancel)
    line_t, line_loss = np.zeros(0), np.zeros(0)
    if n_line:
        line_t = np.linspace(*LINE_T, n_line)
        start = trajectory.weights[0]
        done = resolution * resolution
        line_report = None if progress is None else (lambda d, _n: progress(done + d, total))
        line_loss = evaluator.losses(start, center - start, torch.zeros_like(center),
                                     torch.from_numpy(line_t).float(), torch.zeros(n_line), progress=line_report,
                                     cancel=cancel)
    return Landscape(grid.reshape(resolution, resolution), axis, axis.copy(), path, steps, explained, directions,
                     line_t, line_loss, d1.numpy(), d2.numpy(), len(targets), tuple(notes), str(dev),
                     time.perf_counter() - t0)


def probe_data(config, data, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` images of ``config``'s training split (seeded, as the training had it), normalised with the
    run's statistics ``data`` (a ``DataStats``); fewer when the split is smaller."""
    from optviz.training.data import prepare

    n = PROBE.validate(n)
    splits = prepare(config)
    images, labels = splits.train[0][:n], splits.train[1][:n]
    x = torch.from_numpy(np.ascontiguousarray(images)).float()
    mean = torch.tensor(data.mean, dtype=torch.float32).view(1, -1, 1, 1) * 255.0
    std = torch.tensor(data.std, dtype=torch.float32).view(1, -1, 1, 1) * 255.0
    return (x - mean) / std, torch.from_numpy(np.ascontiguousarray(labels)).long()


def run_landscape(config, data, model_state: Mapping[str, torch.Tensor], trajectory: WeightPath | None, *,
                  probe: int = PROBE.default, **kwargs) -> Landscape:
    """:func:`slice_landscape` for one trained run (a ``TrainResult``'s or a checkpoint's): its network rebuilt
    from ``config`` and ``data`` with ``model_state``, the probe from its training split."""
    from optviz.training.results import load_model

    model = load_model(config, data, model_state)
    inputs, targets = probe_data(config, data, probe)
    return slice_landscape(model, inputs, targets, trajectory=trajectory, **kwargs)
