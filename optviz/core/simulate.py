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
cannot exist. ``engine="auto"`` (the default) takes the fast engine when it is ready; until then it runs eagerly
with the fast engine's rules on torch tensors (:func:`_run_batched`: every row of every optimizer in one batch,
equal to torch.optim to the last bit here and held to 1e-9 by the tests), which spares a launch the import of
torch._dynamo that torch.optim's first optimizer costs (1.6 s). The fast engine runs on the CPU in float64; other
devices and dtypes run on the eager engine. With ``device="auto"`` on a
machine with CUDA, each size (a power-of-two bucket of paths and of steps) is timed once on the CPU and on the GPU
and then runs on the faster.

A choice's gradient noise (:mod:`optviz.core.noise`, drawn up front) and learning-rate schedule
(:mod:`optviz.core.schedules`: torch's own scheduler in the eager engine, its per-step learning rates in the fast
one) apply on both engines. Muon's parameter is a matrix, so the eager engine gives each of its paths a 1×2
parameter of its own. ``internals`` records what happens inside every step (:mod:`optviz.core.internals`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from optviz.core import engine as fast_engine
from optviz.core import rules
from optviz.core.internals import Internals, from_records
from optviz.core.kernel import BuildError
from optviz.core.noise import draw
from optviz.core.optimizers import OptimizerChoice
from optviz.core.params import quote
from optviz.core.path_status import cut_after_divergence, far_limits, statuses
from optviz.core.schedules import lr_table
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
    internals: Internals | None = None  # with simulate(..., internals=…)

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
    raise SimulationError(f"Invalid device: {quote(device)} (allowed: auto, cpu, cuda)")


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
    internals: bool | Sequence[int] = False,
) -> Paths:
    """Run every optimizer from every start point; diverged paths are marked, not raised.

    A path converges at the step from which its gradient norm stays below ``tol`` to the end of the run (it keeps
    stepping; a path that passes through a small gradient and moves on, as RMSProp does, has not converged) and
    diverges at
    the first step whose position or loss is non-finite or lies more than ``far`` view-box widths outside the
    view box; nothing after that step is reported. ``engine``: "auto", "eager" or "fast" (default:
    ``$OPTVIZ_ENGINE`` or "auto"); see the module docstring. ``internals``: True (every start) or the start
    indices whose steps' internals ``Paths.internals`` holds (memory: 80 bytes per optimizer, start and step).
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or not 0 <= steps <= 100_000:
        raise SimulationError(f"Invalid steps: {quote(steps)} (allowed: an integer in [0, 100000])")
    engine = fast_engine.default_engine() if engine is None else engine
    if engine not in fast_engine.ENGINES:
        raise SimulationError(f"Invalid engine: {quote(engine)} (allowed: {', '.join(fast_engine.ENGINES)})")
    start_arr = np.asarray(starts, dtype=np.float64).reshape(-1, 2) if len(starts) else np.zeros((0, 2))
    if not np.all(np.isfinite(start_arr)):
        raise SimulationError("Invalid start point: coordinates must be finite numbers")
    n_opt, n_starts = len(optimizers), len(start_arr)
    recorded = _recorded(internals, n_starts)
    if device == "auto" and engine != "fast" and torch.cuda.is_available() and n_opt * n_starts:
        return _on_faster_device(surface, optimizers, start_arr, steps, dtype=dtype, tol=tol, far=far,
                                 engine=engine, internals=internals)
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
    noise = [draw(c, n_starts, steps) for c in optimizers]
    lrs = _lr_tables(optimizers, steps)
    if lib is not None:  # the kernel applies _statuses' rules to the same numbers as it goes
        positions, losses, grad_norms, converged, diverged, records = _run_fast(
            lib, surface, optimizers, start_arr, steps, tol, limits, noise, lrs, recorded)
    else:
        batched = engine == "auto" and dev.type == "cpu" and dtype == torch.float64
        run = _run_batched if batched else _run_eager
        positions, losses, grad_norms, records = run(surface, optimizers, start_arr, steps, dev, dtype, noise,
                                                     lrs, recorded)
        converged, diverged = statuses(positions, losses, grad_norms, limits, tol)
        if batched:
            fast_engine.note_eager_call(surface)
    cut_after_divergence(converged, diverged, positions, losses, grad_norms)
    if records is not None:
        for i, j in zip(*np.nonzero(diverged[:, list(recorded)] >= 0)):
            records[i, j, diverged[i, recorded[j]]:] = np.nan
    inside = None
    if records is not None:
        table = rules.hyper_table(optimizers)
        kinds = tuple(int(k) for k in table[:, rules.COL["kind"]])
        lr = np.stack([lrs[i] if lrs is not None else np.full(steps, table[i, rules.COL["lr"]])
                       for i in range(n_opt)]) if n_opt else np.zeros((0, steps))
        groups = np.repeat(np.arange(n_opt), len(recorded))
        initial = rules.initial_state(table, groups, None if lrs is None or not steps else lrs[:, 0])
        initial = initial.reshape(4, n_opt, len(recorded), 2).transpose(1, 2, 0, 3)
        inside = from_records(kinds, table, lr, recorded, positions[:, list(recorded)], records, initial)
    return Paths(positions, losses, grad_norms, converged, diverged, labels, str(dev), time.perf_counter() - t0,
                 "eager" if lib is None else "fast", inside)


def _recorded(internals: bool | Sequence[int], n_starts: int) -> tuple[int, ...]:
    """The start indices whose internals are recorded (SimulationError for an index that is not a start)."""
    if internals is True:
        return tuple(range(n_starts))
    if internals is False or internals is None:
        return ()
    out = tuple(sorted({int(j) for j in internals}))
    if out and not (0 <= out[0] and out[-1] < n_starts):
        raise SimulationError(f"Invalid internals: start indices must be in [0, {n_starts - 1}], got {list(out)}")
    return out


def _lr_tables(optimizers: Sequence[OptimizerChoice], steps: int) -> np.ndarray | None:
    """(n_opt, steps) each optimizer's learning rate at every step when one has a schedule, else None."""
    if all(c.schedule.is_constant for c in optimizers) or steps == 0:
        return None
    dummy = torch.zeros((1, 2), dtype=torch.float64, requires_grad=True)
    return np.stack([lr_table(c.build([dummy]), c.schedule, steps) for c in optimizers])


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
              tol: float, limits: tuple[float, float, float, float], noise: list[np.ndarray | None],
              lrs: np.ndarray | None, recorded: tuple[int, ...]) -> tuple:
    n_opt, n_starts, n = len(optimizers), len(start_arr), steps + 1
    groups = np.repeat(np.arange(n_opt, dtype=np.int32), n_starts)
    all_noise = None
    if any(z is not None for z in noise):
        all_noise = np.concatenate([np.zeros((n_starts, steps, 2)) if z is None else z for z in noise])
    mask = None
    if recorded:
        mask = np.zeros((n_opt, n_starts), dtype=bool)
        mask[:, list(recorded)] = True
    run = fast_engine.run(lib, surface, rules.hyper_table(optimizers), groups, np.tile(start_arr, (n_opt, 1)), n,
                          record=True, tol=tol, box=limits, noise=all_noise, lrs=lrs,
                          internals=None if mask is None else mask.reshape(-1))
    records = None if mask is None else run.internals.reshape(n_opt, len(recorded), steps, 10)
    return (run.positions.reshape(n_opt, n_starts, n, 2), run.losses.reshape(n_opt, n_starts, n),
            run.grad_norms.reshape(n_opt, n_starts, n), run.converged.reshape(n_opt, n_starts),
            run.diverged.reshape(n_opt, n_starts), records)


def _run_batched(surface: Surface, optimizers: Sequence[OptimizerChoice], start_arr: np.ndarray, steps: int,
                 dev: torch.device, dtype: torch.dtype, noise: list[np.ndarray | None], lrs: np.ndarray | None,
                 recorded: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The fast engine's rows stepped by :func:`rules.torch_step` on torch tensors: what "auto" runs until the
    kernel is ready. The same arithmetic as torch.optim, row by row (tested to 1e-9), without building torch.optim
    optimizers, whose first construction in a process imports torch._dynamo (1.6 s on a 2-core CPU): a launch's
    first paths and a one-shot command do not wait for it. All optimizers are one batch of rows."""
    n_opt, n_starts = len(optimizers), len(start_arr)
    table = rules.hyper_table(optimizers)
    groups = np.repeat(np.arange(n_opt), n_starts)
    kinds = tuple(sorted({int(k) for k in table[:, rules.COL["kind"]]}))
    f64 = dict(dtype=dtype, device=dev)
    h = torch.as_tensor(table[groups], **f64)
    state = torch.as_tensor(rules.initial_state(table, groups, None if lrs is None or not steps else lrs[:, 0]), **f64)
    x = torch.as_tensor(np.tile(start_arr, (n_opt, 1)), **f64)
    shocks = None
    if any(z is not None for z in noise):
        shocks = torch.as_tensor(np.concatenate([np.zeros((n_starts, steps, 2)) if z is None else z for z in noise]),
                                 **f64)
    rows = len(x)
    pos = torch.empty((rows, steps + 1, 2), **f64)
    loss = torch.empty((rows, steps + 1), **f64)
    gnorm = torch.empty_like(loss)
    picked = (np.arange(n_opt)[:, None] * n_starts + np.array(recorded, dtype=int)[None, :]).reshape(-1)
    rec = torch.zeros((len(picked), steps, 10), **f64) if recorded else None
    for k in range(steps + 1):
        x.requires_grad_(True)
        values = surface(x)
        (g,) = torch.autograd.grad(values.sum(), x)
        x = x.detach()
        pos[:, k], loss[:, k] = x, values.detach()
        gnorm[:, k] = torch.linalg.vector_norm(g, dim=-1)
        if k == steps:
            break
        if shocks is not None:
            g = g + shocks[:, k]
        step_table = table
        if lrs is not None:
            step_table = table.copy()
            step_table[:, rules.COL["lr"]] = lrs[:, k]
            h = torch.as_tensor(step_table[groups], **f64)
        sc = torch.as_tensor(rules.step_scalars(step_table, k + 1)[groups], **f64)
        x, state = rules.torch_step(x, g, state, h, k + 1, sc, kinds)
        if rec is not None:
            rec[:, k, :2] = g[picked]
            rec[:, k, 2:] = state[:, picked].transpose(0, 1).reshape(len(picked), 8)
    shape = (n_opt, n_starts)
    return (pos.reshape(*shape, steps + 1, 2).cpu().numpy(), loss.reshape(*shape, steps + 1).cpu().numpy(),
            gnorm.reshape(*shape, steps + 1).cpu().numpy(),
            None if rec is None else rec.reshape(n_opt, len(recorded), steps, 10).cpu().numpy())


def _run_eager(surface: Surface, optimizers: Sequence[OptimizerChoice], start_arr: np.ndarray, steps: int,
               dev: torch.device, dtype: torch.dtype, noise: list[np.ndarray | None], lrs: np.ndarray | None,
               recorded: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    n_opt, n_starts = len(optimizers), len(start_arr)
    # 1. One leaf tensor and one torch.optim optimizer per registry choice, all rows starting at the start points
    #    (Muon, whose parameter is a matrix: one 1×2 leaf per start), and the choice's scheduler.
    init = torch.as_tensor(start_arr, dtype=dtype, device=dev)
    leaves = [[init[j:j + 1].clone().requires_grad_(True) for j in range(n_starts)]
              if rules.KINDS[c.name] in rules.PER_ROW_KINDS else [init.clone().requires_grad_(True)]
              for c in optimizers]
    opts = [choice.build(ps) for choice, ps in zip(optimizers, leaves)]
    scheds = [choice.schedule.build(opt, steps) for choice, opt in zip(optimizers, opts)]
    shocks = [None if z is None else torch.as_tensor(z, dtype=dtype, device=dev) for z in noise]

    # 2. Record on the device; copy to the host once at the end.
    pos = torch.empty((n_opt, n_starts, steps + 1, 2), dtype=dtype, device=dev)
    loss = torch.empty((n_opt, n_starts, steps + 1), dtype=dtype, device=dev)
    gnorm = torch.empty_like(loss)
    rec = torch.zeros((n_opt, len(recorded), steps, 10), dtype=torch.float64, device=dev) if recorded else None

    for k in range(steps + 1):
        # 3. One forward/backward for all optimizers: concatenate, evaluate, differentiate the sum.
        for ps in leaves:
            for p in ps:
                p.grad = None
        stacked = torch.stack([torch.cat(ps) if len(ps) > 1 else ps[0] for ps in leaves])
        values = surface(stacked)
        values.sum().backward()
        with torch.no_grad():
            pos[:, :, k] = stacked
            loss[:, :, k] = values
            gnorm[:, :, k] = torch.linalg.vector_norm(_grads(leaves), dim=-1)
        if k == steps:
            break
        # 4. The step: noise into the gradients it uses, torch.optim, the scheduler.
        with torch.no_grad():
            for ps, shock in zip(leaves, shocks):
                if shock is not None:
                    for j, p in enumerate(ps):
                        p.grad += shock[:, k] if len(ps) == 1 else shock[j:j + 1, k]
            if rec is not None:
                rec[:, :, k, :2] = _grads(leaves)[:, list(recorded)]
        for opt, sched in zip(opts, scheds):
            opt.step()
            if sched is not None:
                sched.step()
        if rec is not None:
            with torch.no_grad():
                for i, (choice, opt, ps) in enumerate(zip(optimizers, opts, leaves)):
                    rec[i, :, k, 2:] = _state_slots(choice, opt, ps, dtype)[list(recorded)]
    return pos.cpu().numpy(), loss.cpu().numpy(), gnorm.cpu().numpy(), None if rec is None else rec.cpu().numpy()


def _grads(leaves: list[list[torch.Tensor]]) -> torch.Tensor:
    return torch.stack([torch.cat([p.grad for p in ps]) if len(ps) > 1 else ps[0].grad for ps in leaves])


def _state_slots(choice: OptimizerChoice, opt: torch.optim.Optimizer, ps: list[torch.Tensor],
                 dtype: torch.dtype) -> torch.Tensor:
    """(n_starts, 8): torch.optim's state of every row in the four slots of rules.STATE (0 where it keeps none)."""
    rows = sum(len(p) for p in ps)
    out = torch.zeros((rows, 4, 2), dtype=torch.float64, device=ps[0].device)
    for slot, key in rules.STATE_KEYS[rules.KINDS[choice.name]].items():
        values = [opt.state[p].get(key) for p in ps]
        if any(v is None for v in values):
            continue
        k = rules.STATE.index(slot)
        out[:, k] = torch.cat([v.to(torch.float64).expand(len(p), 2) for v, p in zip(values, ps)])
    return out.reshape(rows, 8)
