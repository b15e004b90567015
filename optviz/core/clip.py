"""Paths clipped to the view box, as the playground draws them: never a line to a point far outside.

Plain numpy (no torch, no Qt): the playground clips in its worker thread, and the launch preview before torch has
loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class ClippedPath:
    """One path as drawn: the parts of its segments inside the box, and where it left the box.

    ``points[:upto[s]]`` is the trail up to and including step s (NaN rows break the line where the path is
    outside). ``last_exit[s]`` is the last segment k < s that left the box (−1: none); the path left at
    ``exit_points[k]`` heading ``exit_angles[k]`` degrees (NaN where it jumped to a non-finite point).
    """

    points: np.ndarray  # (M, 2)
    upto: np.ndarray  # (L,) int
    inside: np.ndarray  # (L,) bool: step s lies in the box
    last_exit: np.ndarray  # (L,) int
    exit_points: np.ndarray  # (L - 1, 2)
    exit_angles: np.ndarray  # (L - 1,)


def clip_paths(paths: np.ndarray, box: Box) -> list[ClippedPath]:
    """Clip each path (n, L, 2) to ``box`` ((x0, x1), (y0, y1)), step by step (Liang–Barsky, vectorised)."""
    p = np.where(np.isfinite(paths), paths, np.nan)
    a, b = p[:, :-1], p[:, 1:]
    t0, t1 = np.zeros(a.shape[:2]), np.ones(a.shape[:2])
    with np.errstate(all="ignore"):  # huge, infinite and NaN coordinates sort themselves out below
        d = b - a
        for axis, (lo, hi) in enumerate(box):
            pa, da = a[..., axis], d[..., axis]
            within = (pa >= lo) & (pa <= hi)
            tl, th = (lo - pa) / da, (hi - pa) / da
            t0 = np.maximum(t0, np.where(da == 0, np.where(within, -np.inf, np.inf), np.minimum(tl, th)))
            t1 = np.minimum(t1, np.where(da == 0, np.where(within, np.inf, -np.inf), np.maximum(tl, th)))
        inside = np.isfinite(p).all(-1)
        for axis, (lo, hi) in enumerate(box):
            inside &= (p[..., axis] >= lo) & (p[..., axis] <= hi)
        # A segment between two points outside is not drawn even where it crosses the box: the path is away
        # (a diverging path's jumps between points 10⁴ apart would cross the whole view).
        finite = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
        visible = finite & (t0 <= t1) & (inside[:, :-1] | inside[:, 1:])
        enter = a + t0[..., None] * d
        leave = np.where((t1 == 1)[..., None], b, a + t1[..., None] * d)
        # A finite point inside followed by a non-finite one: the path left from there, direction unknown.
        jump = inside[:, :-1] & ~np.isfinite(b).all(-1)
        exits = (visible & (t1 < 1)) | jump
        exit_points = np.where(jump[..., None], a, leave)
        angles = np.where(jump, np.nan, np.degrees(np.arctan2(d[..., 1], d[..., 0])))
    # Per segment up to three points: where it enters (if it starts outside), where it ends or leaves, a break.
    slots = np.stack((enter, leave, np.full_like(enter, np.nan)), axis=2)
    mask = np.stack((visible & (t0 > 0), visible, visible & (t1 < 1)), axis=2)
    first = inside[:, 0].astype(int)
    upto = first[:, None] + np.concatenate((np.zeros((len(p), 1), int), np.cumsum(mask.sum(-1), axis=1)), axis=1)
    flat = slots[mask]  # every start's points, start after start
    ends = np.cumsum(upto[:, -1] - first)
    steps = np.arange(d.shape[1])
    last = np.maximum.accumulate(np.where(exits, steps, -1), axis=1) if len(steps) else np.zeros((len(p), 0), int)
    last = np.concatenate((np.full((len(p), 1), -1), last), axis=1)
    out = []
    for j in range(len(p)):
        points = flat[ends[j] - (upto[j, -1] - first[j]): ends[j]]
        if first[j]:
            points = np.concatenate((p[j, :1], points))
        out.append(ClippedPath(points, upto[j], inside[j], last[j], exit_points[j], angles[j]))
    return out
