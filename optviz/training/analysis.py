"""Curve analysis for the training tab, without Qt: loss smoothing and the epoch where overfitting starts.

Smoothing is TensorBoard's debiased exponential moving average::

    s_t = w·s_{t−1} + (1 − w)·x_t,   s_0 = 0,   shown as  s_t / (1 − w^t)

The debiasing keeps the start of the curve on the data instead of dragging it from zero, and because every
smoothed value includes its own point, the smoothed line always reaches the newest batch (it never lags behind
the raw curve's end). Non-finite values (a diverging run) are skipped: they neither move nor reset the average.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def ema(values: Sequence[float] | np.ndarray, weight: float) -> np.ndarray:
    """The debiased EMA of ``values`` with smoothing ``weight`` in [0, 1): 0 returns the values unchanged."""
    smoother = EmaSmoother(weight)
    return smoother.update(np.asarray(values, dtype=float))


class EmaSmoother:
    """An EMA over a growing series that only computes the new points: ``update(all_values_so_far)``.

    The series passed in must only grow (earlier values unchanged); pass a new smoother or call ``reset()``
    otherwise. A live plot calls ``update`` at every refresh with the whole curve and pays for the new points only.
    """

    def __init__(self, weight: float) -> None:
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"Invalid smoothing weight: {weight!r} (allowed: a number in [0, 1))")
        self.weight = float(weight)
        self.reset()

    def reset(self) -> None:
        self._out: list[float] = []
        self._acc = 0.0  # the biased average s_t
        self._count = 0  # finite values seen: the t of the debiasing term

    def update(self, values: np.ndarray) -> np.ndarray:
        """The smoothed series for ``values`` (same length); NaN where no finite value has been seen yet."""
        values = np.asarray(values, dtype=float)
        if len(values) < len(self._out):
            self.reset()
        if self.weight == 0.0:
            return values.copy()
        w, acc, count, out = self.weight, self._acc, self._count, self._out
        for x in values[len(out):].tolist():
            if math.isfinite(x):
                acc = w * acc + (1.0 - w) * x
                count += 1
            out.append(acc / (1.0 - w ** count) if count else math.nan)
        self._acc, self._count = acc, count
        return np.array(out, dtype=float)


def overfit_epoch(train_loss: Sequence[float], val_loss: Sequence[float], *, patience: int = 2,
                  tolerance: float = 1e-3) -> int | None:
    """The epoch where validation loss starts rising while training loss still falls, or None.

    That is the epoch ``e`` of the lowest validation loss so far, provided that (1) each of the ``patience`` or
    more epochs after it has a validation loss above it by more than ``tolerance`` (relative), and (2) training
    loss kept falling: its last value is below its value at ``e``. Epochs count from 0, as in EpochEvent.
    Non-finite values (no validation set, a diverged run) are ignored.
    """
    train = np.asarray(train_loss, dtype=float)
    val = np.asarray(val_loss, dtype=float)
    n = min(len(train), len(val))
    train, val = train[:n], val[:n]
    ok = np.isfinite(train) & np.isfinite(val)
    if ok.sum() < patience + 1:
        return None
    epochs = np.flatnonzero(ok)
    train, val = train[ok], val[ok]
    best = int(np.argmin(val))
    after = val[best + 1:]
    if len(after) < patience or not np.all(after > val[best] * (1.0 + tolerance) + 1e-12):
        return None
    if not train[-1] < train[best]:
        return None
    return int(epochs[best])


def thin(x: np.ndarray, y: np.ndarray, max_points: int = 1000, *, peaks: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """At most about ``max_points`` points of a long curve, for drawing: bin means, or with ``peaks`` each bin's
    minimum and maximum (noise keeps its envelope). The last point is always kept exactly: the newest batch shows."""
    n = len(y)
    if n <= max_points:
        return x, y
    bins = max(max_points // 2 if peaks else max_points, 1) - 1
    edges = np.linspace(0, n - 1, bins + 1).astype(int)  # the last point is left out of the bins
    starts, counts = edges[:-1], np.diff(edges)
    centres = (x[starts] + x[edges[1:] - 1]) / 2.0
    if peaks:
        lo, hi = np.minimum.reduceat(y[:-1], starts), np.maximum.reduceat(y[:-1], starts)
        xs, ys = np.repeat(centres, 2), np.column_stack([lo, hi]).ravel()
    else:
        xs, ys = centres, np.add.reduceat(y[:-1], starts) / counts
    return np.append(xs, x[-1]), np.append(ys, y[-1])
