"""Where a path converged and where it diverged: the rules every engine applies to its positions (plain numpy).

A path converges at the step from which its gradient norm stays below ``tol`` to the end of the run and diverges
at the first step whose position, loss or gradient is non-finite or lies outside :func:`far_limits`.
"""

from __future__ import annotations

import numpy as np


def far_limits(surface, factor: float) -> tuple[float, float, float, float]:
    (x0, x1), (y0, y1) = surface.view
    w, h = x1 - x0, y1 - y0
    return x0 - factor * w, x1 + factor * w, y0 - factor * h, y1 + factor * h


def first(mask: np.ndarray) -> np.ndarray:
    """Index of the first True along the last axis, or -1."""
    any_ = mask.any(axis=-1)
    return np.where(any_, mask.argmax(axis=-1), -1)


def statuses(positions: np.ndarray, losses: np.ndarray, grad_norms: np.ndarray,
              limits: tuple[float, float, float, float], tol: float) -> tuple[np.ndarray, np.ndarray]:
    x, y = positions[..., 0], positions[..., 1]
    xmin, xmax, ymin, ymax = limits
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(x) | ~np.isfinite(y) | ~np.isfinite(losses) | ~np.isfinite(grad_norms)
        bad |= (x < xmin) | (x > xmax) | (y < ymin) | (y > ymax)
        small = grad_norms < tol
    stays_small = np.flip(np.logical_and.accumulate(np.flip(small, -1), axis=-1), -1)
    return first(stays_small), first(bad)


def cut_after_divergence(converged: np.ndarray, diverged: np.ndarray, *per_step: np.ndarray) -> None:
    """In place: NaN after each path's divergence step in every ``per_step`` array (optimizer, start, step, …),
    and no convergence step after a divergence."""
    for i, j in zip(*np.nonzero(diverged >= 0)):
        d = diverged[i, j]
        for values in per_step:
            values[i, j, d + 1:] = np.nan
        if converged[i, j] > d:
            converged[i, j] = -1
