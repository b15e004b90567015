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

Evaluation: :class:`~optviz.training.landscape_eval.SliceEvaluator` (exact shortcuts for the CPU, ``vmap`` chunks
on CUDA; see that module). Models are evaluated in eval mode: BatchNorm uses the final running statistics at every
point (a note says so), Dropout is off.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from optviz.core.params import ParamError, Spec
from optviz.training.landscape_eval import (  # noqa: F401  (re-exported: callers import them from here)
    CUDA_BUDGET, PROBE_BATCH, Cancelled, Criterion, Progress, SliceEvaluator, trainable)
from optviz.training.trajectory import WeightPath

RESOLUTION = Spec("resolution", "int", 25, 2, 201, title="Resolution", doc="grid points per axis")
PROBE = Spec("probe", "int", 1000, 1, 100_000, step=250, title="Probe images",
             doc="training images the loss is averaged over (the first of the seeded training split)")
RANGE = Spec("range", "float", None, 0.0, 1000.0, low_open=True, optional=True, off_text="auto", title="Range",
             doc="half-width of the grid in direction units (auto: 1 for random directions, 1.25 × the path's "
                 "extent for PCA)")
DIRECTIONS = Spec("directions", "choice", "random", choices=("random", "pca"), title="Directions",
                  doc="random (filter-normalised) or pca (of the saved weight trajectory)")
DIRECTION_WORDS = {"random": "random filter-normalised directions", "pca": "PCA directions"}  # captions, titles
SEED = Spec("seed", "int", 0, 0, 2**31 - 1, title="Seed", doc="seeds the random directions")
LINE_POINTS = 61  # t = 0 and t = 1 fall on points 10 and 50
LINE_T = (-0.25, 1.25)  # the 1-D line runs a little past both ends


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
