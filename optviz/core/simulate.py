"""Run optimizers on a surface from many start points at once, on one of two engines.

``engine="eager"`` (the reference): all start points of one optimizer are one ``(n_starts, 2)`` parameter of one
torch.optim optimizer. Every update rule in the registry is element-wise, so each row follows exactly the path
that a separate one-point run would (the tests compare against such a loop to 1e-9); the loss that is
differentiated is the sum over rows, whose gradient with respect to each row is that row's own gradient. One
forward and backward pass serves all optimizers: their parameters are concatenated before the surface is
evaluated.

``engine="fast"``: the surface's compiled kernel (:mod:`optviz.core.engine`) runs every row and step in C with
the same operations in the same order (it equals the eager engine to the last bit on this machine's torch, and
the tests hold it to 1e-9); it waits for the kernel to be built and raises :class:`SimulationError` where it
cannot exist. ``engine="auto"`` (the default) takes the fast engine when it is ready and the eager one until
then. The fast engine runs on the CPU in float64; other devices and dtypes run eagerly. With ``device="auto"`` on a
machine with CUDA, each size (a power-of-two bucket of paths and of steps) is timed once on the CPU and on the GPU
and then runs on the faster.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from optviz.core import engine as fast_engine
from optviz.core.kernel import BuildError
from optviz.core.optimizers import OptimizerChoice
from optviz.core.surfaces import Surface

CUDA_MIN_PATHS = 4096  # "auto" uses CUDA only from this many paths: tiny tensors are faster on the CPU


class SimulationError(ValueError):
    """Bad arguments to simulate (not a diverging optimizer: that is a status)."""


@dataclass(frozen=True)
class Paths:
    """Result of :func:`simulate`. Arrays are numpy float64; index order is (optimizer, start, step)."""

    positions: np.ndarray  # (n_opt, n_starts, steps + 1, 2); NaN after a path's divergence step
    losses: np.ndarray  # (n_opt, n_starts, steps + 1)
    grad_norms: np.ndarray  # (n_opt, n_starts, steps + 1)
    converged_step: np.ndarray  # (n_opt, n_starts) int, step from which the grad norm stays < tol, or -1
    diverged_step: np.ndarray  # (n_opt, n_starts) int, first non-finite or far-out step, or -1
    labels: tuple[str, ...]
    device: str
    seconds: float
    engine: str = "eager"  # the engine that computed it: "eager" or "fast"

    @property
    def steps(self) -> int:
        return self.positions.shape[2] - 1

    def status(self, i: int, j: int, step: int | None = None) -> str:
        """'diverged', 'converged' or 'running' for optimizer i, start j, as of ``step`` (default: the last)."""
        step = self.steps if step is None else step
        d, c = int(self.diverged_step[i, j]), int(self.converged_step[i, j])
        if d >= 0 and step >= d:
            return "diverged"
        if c >= 0 and step >= c:
            return "converged"
        return "running"


def choose_device(device: str, n_paths: int) -> torch.device:
    """'auto' → CUDA for large batches when available, else CPU; 'cpu'/'cuda' force it. (simulate and the maps
    measure instead where CUDA is present: :func:`optviz.core.engine.pick`.)"""
    if device == "auto":
        use_cuda = torch.cuda.is_available() and n_paths >= CUDA_MIN_PATHS
        return torch.device("cuda" if use_cuda else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise SimulationError("Invalid device: cuda (no CUDA device is available here; allowed: auto, cpu)")
        return torch.device("cuda")
    raise SimulationError(f"Invalid device: {device!r} (allowed: auto, cpu, cuda)")


def far_limits(surface: Surface, factor: float) -> tuple[float, float, float, float]:
    (x0, x1), (y0, y1) = surface.view
    w, h = x1 - x0, y1 - y0
    return x0 - factor * w, x1 + factor * w, y0 - factor * h, y1 + factor * h


def simulate(
    surface: Surface,
    optimizers: Sequence[OptimizerChoice],
    starts: Sequence[Sequence[float]] | np.ndarray,
    steps: int,
    *,
    device: str = "auto",
    dtype: torch.dtype = torch.float64,
    tol: float = 1e-6,
    far: float = 10.0,
    engine: str | None = None,
) -> Paths:
    """Run every optimizer from every start point; diverged paths are marked, not raised.

    A path converges at the step from which its gradient norm stays below ``tol`` to the end of the run (it keeps
    stepping; a path that passes through a small gradient and moves on, as RMSProp does, has not converged) and
    diverges at
    the first step whose position or loss is non-finite or lies more than ``far`` view-box widths outside the
    view box; nothing after that step is reported. ``engine``: "auto", "eager" or "fast" (default:
    ``$OPTVIZ_ENGINE`` or "auto"); see the module docstring.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or not 0 <= steps <= 100_000:
        raise SimulationError(f"Invalid steps: {steps!r} (allowed: an integer in [0, 100000])")
    engine = fast_engine.default_engine() if engine is None else engine
    if engine not in fast_engine.ENGINES:
        raise SimulationError(f"Invalid engine: {engine!r} (allowed: {', '.join(fast_engine.ENGINES)})")
    start_arr = np.asarray(starts, dtype=np.float64).reshape(-1, 2) if len(starts) else np.zeros((0, 2))
    if not np.all(np.isfinite(start_arr)):
        raise SimulationError("Invalid start point: coordinates must be finite numbers")
    n_opt, n_starts = len(optimizers), len(start_arr)
    if device == "auto" and engine != "fast" and torch.cuda.is_available() and n_opt * n_starts:
        return _on_faster_device(surface, optimizers, start_arr, steps, dtype=dtype, tol=tol, far=far,
                                 engine=engine)
    dev = torch.device("cpu") if engine == "fast" and device == "auto" else choose_device(device, n_opt * n_starts)
    t0 = time.perf_counter()
    labels = tuple(c.label for c in optimizers)
    lib = _fast_library(surface, engine, dev, dtype)
    if n_opt == 0 or n_starts == 0:
        empty = np.zeros((n_opt, n_starts, steps + 1))
        none = np.full((n_opt, n_starts), -1)
        return Paths(np.zeros((n_opt, n_starts, steps + 1, 2)), empty, empty.copy(), none, none.copy(),
                     labels, str(dev), 0.0, "eager" if lib is None else "fast")
    limits = far_limits(surface, far)
    if lib is not None:  # the kernel applies _statuses' rules to the same numbers as it goes
        positions, losses, grad_norms, converged, diverged = _run_fast(lib, surface, optimizers, start_arr, steps,
                                                                       tol, limits)
    else:
        positions, losses, grad_norms = _run_eager(surface, optimizers, start_arr, steps, dev, dtype)
        converged, diverged = _statuses(positions, losses, grad_norms, limits, tol)
        if engine == "auto" and dev.type == "cpu" and dtype == torch.float64:
            fast_engine.note_eager_call(surface)
    for i, j in zip(*np.nonzero(diverged >= 0)):
        d = diverged[i, j]
        positions[i, j, d + 1:] = np.nan
        losses[i, j, d + 1:] = np.nan
        grad_norms[i, j, d + 1:] = np.nan
        if converged[i, j] > d:
            converged[i, j] = -1
    return Paths(positions, losses, grad_norms, converged, diverged, labels, str(dev), time.perf_counter() - t0,
                 "eager" if lib is None else "fast")


def _on_faster_device(surface: Surface, optimizers: Sequence[OptimizerChoice], start_arr: np.ndarray, steps: int,
                      **kw) -> Paths:
    """'auto' where CUDA is present: the faster device for this size, timed on both the first time."""
    key = ("paths", fast_engine.bucket(len(optimizers) * len(start_arr)), fast_engine.bucket(steps + 1),
           str(kw["dtype"]), kw["engine"], fast_engine.ready_library(surface) is not None)

    def on(device: str):
        engine = kw["engine"] if device == "cpu" else "eager"
        return lambda: simulate(surface, optimizers, start_arr, steps, device=device, **{**kw, "engine": engine})

    torch.zeros(1, device="cuda")  # start CUDA before it is timed
    return fast_engine.pick(key, {"cpu": on("cpu"), "cuda": on("cuda")})[1]


def _fast_library(surface: Surface, engine: str, dev: torch.device, dtype: torch.dtype):
    """The fast engine's kernel if this call should use it, else None; SimulationError for an impossible "fast"."""
    if engine == "eager":
        return None
    if engine == "fast":
        if dev.type != "cpu":
            raise SimulationError(f"Invalid engine: fast runs on the CPU (got device {dev.type}; use engine "
                                  "'auto' or 'eager' there)")
        if dtype != torch.float64:
            raise SimulationError(f"Invalid engine: fast computes in float64 (got {dtype})")
        try:
            return fast_engine.library(surface)
        except BuildError as exc:
            raise SimulationError(f"The fast engine is unavailable: {exc}") from None
    if dev.type != "cpu" or dtype != torch.float64:
        return None
    lib = fast_engine.ready_library(surface)
    if lib is None and fast_engine.try_cached(surface):
        lib = fast_engine.ready_library(surface)
    return lib


def _run_fast(lib, surface: Surface, optimizers: Sequence[OptimizerChoice], start_arr: np.ndarray, steps: int,
              tol: float, limits: tuple[float, float, float, float]) -> tuple[np.ndarray, ...]:
    from optviz.core import rules

    n_opt, n_starts, n = len(optimizers), len(start_arr), steps + 1
    groups = np.repeat(np.arange(n_opt, dtype=np.int32), n_starts)
    run = fast_engine.run(lib, surface, rules.hyper_table(optimizers), groups, np.tile(start_arr, (n_opt, 1)), n,
                          record=True, tol=tol, box=limits)
    return (run.positions.reshape(n_opt, n_starts, n, 2), run.losses.reshape(n_opt, n_starts, n),
            run.grad_norms.reshape(n_opt, n_starts, n), run.converged.reshape(n_opt, n_starts),
            run.diverged.reshape(n_opt, n_starts))


def _run_eager(surface: Surface, optimizers: Sequence[OptimizerChoice], start_arr: np.ndarray, steps: int,
               dev: torch.device, dtype: torch.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_opt, n_starts = len(optimizers), len(start_arr)
    # 1. One leaf tensor and one torch.optim optimizer per registry choice, all rows starting at the start points.
    init = torch.as_tensor(start_arr, dtype=dtype, device=dev)
    params = [init.clone().requires_grad_(True) for _ in optimizers]
    opts = [choice.build([p]) for choice, p in zip(optimizers, params)]

    # 2. Record on the device; copy to the host once at the end.
    pos = torch.empty((n_opt, n_starts, steps + 1, 2), dtype=dtype, device=dev)
    loss = torch.empty((n_opt, n_starts, steps + 1), dtype=dtype, device=dev)
    gnorm = torch.empty_like(loss)

    for k in range(steps + 1):
        # 3. One forward/backward for all optimizers: concatenate, evaluate, differentiate the sum.
        for p in params:
            p.grad = None
        stacked = torch.stack(params)
        values = surface(stacked)
        values.sum().backward()
        with torch.no_grad():
            pos[:, :, k] = stacked
            loss[:, :, k] = values
            gnorm[:, :, k] = torch.linalg.vector_norm(torch.stack([p.grad for p in params]), dim=-1)
        if k < steps:
            for opt in opts:
                opt.step()
    return pos.cpu().numpy(), loss.cpu().numpy(), gnorm.cpu().numpy()


def _first(mask: np.ndarray) -> np.ndarray:
    """Index of the first True along the last axis, or -1."""
    any_ = mask.any(axis=-1)
    return np.where(any_, mask.argmax(axis=-1), -1)


def _statuses(positions: np.ndarray, losses: np.ndarray, grad_norms: np.ndarray,
              limits: tuple[float, float, float, float], tol: float) -> tuple[np.ndarray, np.ndarray]:
    x, y = positions[..., 0], positions[..., 1]
    xmin, xmax, ymin, ymax = limits
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(x) | ~np.isfinite(y) | ~np.isfinite(losses) | ~np.isfinite(grad_norms)
        bad |= (x < xmin) | (x > xmax) | (y < ymin) | (y > ymax)
        small = grad_norms < tol
    stays_small = np.flip(np.logical_and.accumulate(np.flip(small, -1), axis=-1), -1)
    return _first(stays_small), _first(bad)
