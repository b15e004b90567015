"""The launch preview: the session's surface and paths, computed with numpy while torch (about 2 s) loads.

The app opens on the remembered session. Before torch is imported, this module samples its surface
(:mod:`optviz.core.dual`: values and gradients with numpy) and runs its optimizers with the engines' update rules
(:func:`optviz.core.rules.numpy_step`, multiply and add unfused: fast, at most one ulp from torch's fused
kernels), so the window shows the paths within about a second; the playground then replaces the picture with
the paths of the real engines (torch.optim's arithmetic to the last bit). The two agree to rounding: tested to
1e-9 against torch.optim on paths that do not amplify rounding.

What needs torch is not previewed: gradient noise (torch's random numbers) and learning-rate schedules (torch's
schedulers); :attr:`Preview.note` says so and the preview shows the surface alone. Nothing here imports torch
(a test checks).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from optviz.core import dual, rules
from optviz.core.clip import ClippedPath, clip_paths
from optviz.core.field import Field, sample
from optviz.core.optimizers import OptimizerChoice
from optviz.core.path_status import cut_after_divergence, far_limits, statuses
from optviz.core.session import Session

TOL, FAR = 1e-6, 10.0  # simulate's defaults: converged below this gradient norm, diverged this many boxes away


@dataclass(frozen=True)
class Preview:
    """What the starting window draws: the picture of the surface and every enabled optimizer's clipped paths."""

    session: Session
    title: str  # the surface's title
    field: Field
    entries: tuple[int, ...]  # indices of the enabled entries in session.optimizers, one per row of ``clipped``
    clipped: tuple[tuple[ClippedPath, ...], ...]  # per enabled optimizer, per start
    diverged: np.ndarray  # (optimizers, starts): step of divergence or −1
    note: str  # why there are no paths ("" when there are)
    seconds: float  # time to compute all of it


def unsupported(choice: OptimizerChoice) -> str:
    """Why the preview cannot run ``choice`` without torch ("" when it can)."""
    if choice.noise:
        return "gradient noise"
    if not choice.schedule.is_constant:
        return "a learning-rate schedule"
    if rules.KINDS[choice.name] not in rules.NUMPY_KINDS:
        return choice.spec.title
    return ""


def run(surface, choices: list[OptimizerChoice], starts: np.ndarray, steps: int, *, tol: float = TOL,
        far: float = FAR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (optimizers, starts, steps + 1, 2), NaN after a divergence, with the steps where each path
    converged and diverged (−1: never): :func:`optviz.core.simulate.simulate`'s result, computed with numpy."""
    starts = np.asarray(starts, dtype=np.float64).reshape(-1, 2)
    n_opt, n_starts = len(choices), len(starts)
    table = rules.hyper_table(choices)
    groups = np.repeat(np.arange(n_opt), n_starts)
    kinds = tuple(sorted({int(k) for k in table[:, rules.COL["kind"]]}))
    h = table[groups]
    state = rules.initial_state(table, groups)
    x = np.tile(starts, (n_opt, 1))
    rows = len(x)
    pos = np.empty((rows, steps + 1, 2))
    loss = np.empty((rows, steps + 1))
    gnorm = np.empty_like(loss)
    with np.errstate(all="ignore"):  # a diverging path overflows: it is marked below, as simulate marks it
        for k in range(steps + 1):
            values, g = dual.value_and_grad(surface, x)
            pos[:, k], loss[:, k], gnorm[:, k] = x, values, np.hypot(g[:, 0], g[:, 1])
            if k == steps:
                break
            sc = rules.step_scalars(table, k + 1)[groups]
            x, state = rules.numpy_step(x, g, state, h, k + 1, sc, kinds, fused=False)  # fast; ≤ 1 ulp apart
    shape = (n_opt, n_starts)
    pos, loss, gnorm = pos.reshape(*shape, steps + 1, 2), loss.reshape(*shape, -1), gnorm.reshape(*shape, -1)
    converged, diverged = statuses(pos, loss, gnorm, far_limits(surface, far), tol)
    cut_after_divergence(converged, diverged, pos)
    return pos, converged, diverged


def compute(session: Session) -> Preview:
    """The preview of ``session`` (ParamError for a session whose surface cannot be made, as the app reports)."""
    t0 = time.perf_counter()
    surface = session.make_surface()
    field = sample(surface, with_torch=False)
    entries = tuple(i for i, e in enumerate(session.optimizers) if e.enabled)
    choices = [session.optimizers[i].choice for i in entries]
    reasons = sorted({r for r in map(unsupported, choices) if r})
    note = f"Paths come once PyTorch has loaded ({', '.join(reasons)} need{'s' if len(reasons) == 1 else ''} it)" \
        if reasons else ""
    clipped: tuple[tuple[ClippedPath, ...], ...] = ()
    diverged = np.full((len(choices), len(session.starts)), -1)
    if not reasons and choices and session.starts:
        positions, _, diverged = run(surface, choices, np.array(session.starts), session.steps)
        clipped = tuple(tuple(clip_paths(row, surface.view)) for row in positions)
    return Preview(session, surface.title, field, entries if clipped else (), clipped, diverged, note,
                   time.perf_counter() - t0)
