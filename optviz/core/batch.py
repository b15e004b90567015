"""Many paths without their records: where each row ends, when it converged, whether it diverged (for the maps).

A row is a start point with its own hyperparameters (a row of :func:`optviz.core.rules.hyper_table`). The fast
engine runs the rows in C (:func:`optviz.core.engine.run`); the eager engine runs :func:`rules.torch_step` on
torch tensors (any device, no compiler). Both apply :mod:`optviz.core.simulate`'s rules: a row converges at the
step from which its gradient norm stays below ``tol`` to the end, and diverges at its first step that is not
finite or lies more than ``far`` view-box sizes outside the view box.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from optviz.core import engine as fast_engine
from optviz.core import rules
from optviz.core.kernel import BuildError
from optviz.core.params import quote
from optviz.core.path_status import far_limits
from optviz.core.simulate import SimulationError, choose_device
from optviz.core.surfaces import Surface

Progress = Callable[[int, int], None]  # (rows done, rows)
# rows of one eager batch (memory: a few dozen tensors of this many rows); on a GPU, where each operation costs a
# launch whatever its size, up to 2^21 (a 512² map in one batch, ~0.2 GB)
EAGER_CHUNK = {"cpu": 65_536, "cuda": 1 << 21}
PROBE_ROWS, PROBE_STEPS = 8192, 30  # the work timed on each device to choose one for 'auto'



def track(surface: Surface, table: np.ndarray, groups: np.ndarray, starts: np.ndarray, steps: int, *,
          engine: str = "auto", device: str = "auto", tol: float = 1e-6, far: float = 10.0,
          progress: Progress | None = None) -> tuple[fast_engine.Run, str, str]:
    """(result, engine used, device used) for rows ``groups``/``starts`` run for ``steps`` steps.

    ``engine``: "fast" (SimulationError where it cannot exist), "eager", or "auto": the fast engine whenever it
    can exist here (a map is worth the second or so its build takes), else eager.
    """
    if engine not in fast_engine.ENGINES:
        raise SimulationError(f"Invalid engine: {quote(engine)} (allowed: {', '.join(fast_engine.ENGINES)})")
    if device == "auto" and engine != "fast" and torch.cuda.is_available() and len(starts):
        # Whichever device is faster for this size, timed once on a probe of the rows and steps.
        n = min(len(starts), PROBE_ROWS)

        def on(d: str, probe: bool) -> Callable[[], tuple]:
            rows = slice(0, n if probe else len(starts))
            return lambda: track(surface, table, groups[rows], starts[rows], min(steps, PROBE_STEPS) if probe else
                                 steps, engine=engine if d == "cpu" else "eager", device=d, tol=tol, far=far,
                                 progress=None if probe else progress)

        key = ("map", fast_engine.bucket(len(starts)), fast_engine.bucket(steps), engine)
        _warm_up(surface, engine)
        return fast_engine.pick(key, {d: on(d, False) for d in ("cpu", "cuda")},
                                {d: on(d, True) for d in ("cpu", "cuda")})[1]
    dev = torch.device("cpu") if engine == "fast" and device == "auto" else choose_device(device, len(starts))
    box = far_limits(surface, far)
    if engine != "eager" and dev.type == "cpu":
        try:
            lib = fast_engine.library(surface)
        except BuildError as exc:
            if engine == "fast":
                raise SimulationError(f"The fast engine is unavailable: {exc}") from None
        else:
            result = fast_engine.run(lib, surface, table, groups, starts, steps + 1, record=False, tol=tol, box=box,
                                     progress=progress)
            return result, "fast", "cpu"
    elif engine == "fast":
        raise SimulationError(f"Invalid engine: fast runs on the CPU (got device {dev.type})")
    return _eager(surface, table, groups, starts, steps, dev, tol, box, progress), "eager", str(dev)


def _warm_up(surface: Surface, engine: str) -> None:
    """Build the kernel and start CUDA before either is timed: neither belongs to the device's speed."""
    torch.zeros(1, device="cuda")
    if engine != "eager":
        try:
            fast_engine.library(surface)
        except BuildError:
            pass


def _eager(surface: Surface, table: np.ndarray, groups: np.ndarray, starts: np.ndarray, steps: int,
           dev: torch.device, tol: float, box: tuple[float, float, float, float], progress: Progress | None
           ) -> fast_engine.Run:
    rows = len(starts)
    out = fast_engine.Run(None, None, None, np.empty((rows, 2)), np.empty((rows, 2)), np.empty(rows, np.int64),
                          np.empty(rows, np.int64))
    chunk = EAGER_CHUNK.get(dev.type, EAGER_CHUNK["cpu"])
    for r0 in range(0, rows, chunk):
        r1 = min(rows, r0 + chunk)
        part = _eager_chunk(surface, table, groups[r0:r1], starts[r0:r1], steps, dev, tol, box)
        for name in ("position", "last", "converged", "diverged"):
            getattr(out, name)[r0:r1] = getattr(part, name)
        if progress:
            progress(r1, rows)
    return out


def _eager_chunk(surface: Surface, table: np.ndarray, groups: np.ndarray, starts: np.ndarray, steps: int,
                 dev: torch.device, tol: float, box: tuple[float, float, float, float]) -> fast_engine.Run:
    f64 = dict(dtype=torch.float64, device=dev)
    x = torch.as_tensor(starts, **f64).reshape(-1, 2).clone().requires_grad_(True)
    uniform = bool((groups == groups[0]).all())
    # 1. One optimizer for all rows (a basin map): torch.optim itself. Otherwise (a stability map, or Muon, whose
    #    rows would be one matrix to torch.optim) the rules.
    opt = rules.torch_optimizer(table[groups[0]], [x]) if uniform else None
    h = torch.as_tensor(table[groups], **f64)
    state = torch.as_tensor(rules.initial_state(table, groups), **f64)
    kinds = tuple(int(k) for k in np.unique(table[groups, rules.COL["kind"]]))
    rows = len(x)
    last_big = torch.full((rows,), -1, dtype=torch.int64, device=dev)
    diverged = torch.full((rows,), -1, dtype=torch.int64, device=dev)
    xmin, xmax, ymin, ymax = box
    for k in range(steps + 1):
        # 2. Value and gradient of every row; simulate's statuses as the steps go.
        x.grad = None
        values = surface(x)
        values.sum().backward()
        with torch.no_grad():
            p, g, f = x.detach(), x.grad, values.detach()
            gn = torch.linalg.vector_norm(g, dim=-1)
            last_big = torch.where(gn < tol, last_big, k)
            bad = ~(torch.isfinite(p).all(-1) & torch.isfinite(f) & torch.isfinite(gn))
            bad |= (p[:, 0] < xmin) | (p[:, 0] > xmax) | (p[:, 1] < ymin) | (p[:, 1] > ymax)
            diverged = torch.where((diverged < 0) & bad, k, diverged)
            if k == steps:
                break
            # 3. The step.
            if opt is not None:
                opt.step()
            else:
                sc = torch.as_tensor(rules.step_scalars(table, k + 1)[groups], **f64)
                new, state = rules.torch_step(p, g, state, h, k + 1, sc, kinds)
                x.copy_(new)
    converged = torch.where((diverged >= 0) | (last_big + 1 > steps), -1, last_big + 1)  # as the kernel's
    last = torch.stack((f, gn), -1)
    return fast_engine.Run(None, None, None, p.cpu().numpy().copy(), last.cpu().numpy(), converged.cpu().numpy(),
                           diverged.cpu().numpy())
