"""The surface as pictures: a sampled grid, its colour values (log-scaled where values span decades) and contours.

Plain numpy/torch (no Qt): computed in a worker thread whenever the surface or its parameters change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optviz.core.surfaces import Surface

GRID = 400  # samples per axis
N_LEVELS = 14  # contour lines


@dataclass(frozen=True)
class Field:
    """A surface sampled on its view box, ready to draw."""

    key: tuple  # (surface name, sorted parameter items): what was sampled
    xs: np.ndarray  # (n,)
    ys: np.ndarray  # (n,)
    z: np.ndarray  # (n_y, n_x) raw values
    colour: np.ndarray  # (n_y, n_x) what the colours show: z, or log10(z) for log-scaled surfaces
    log: bool
    levels: tuple[float, float]  # colour range, in colour units
    contours: tuple[np.ndarray, np.ndarray]  # x, y of segment end points, in pairs


def sample(surface: Surface, n: int = GRID) -> Field:
    """Sample ``surface`` on an n×n grid with torch and derive colours and contour segments."""
    xs, ys, z = surface.grid(n)
    xs, ys, z = xs.numpy(), ys.numpy(), z.numpy()
    finite = z[np.isfinite(z)]
    log = surface.log_scale and finite.size > 0 and finite.min() >= 0
    if log:
        # Floor at 8 decades below the maximum: the minimum itself (0) has no logarithm.
        floor = max(float(finite.max()), 1e-300) * 1e-8
        colour = np.log10(np.maximum(np.nan_to_num(z, nan=floor), floor))
    else:
        colour = np.nan_to_num(z, nan=float(finite.min()) if finite.size else 0.0)
    lo, hi = float(np.percentile(colour, 0.2)), float(colour.max())
    if not hi > lo:
        hi = lo + 1.0
    levels = np.linspace(lo, hi, N_LEVELS + 2)[1:-1]
    key = (surface.name, tuple(sorted(surface.values.items())))
    return Field(key, xs, ys, z, colour, bool(log), (lo, hi), contour_segments(colour, xs, ys, levels))


def contour_segments(z: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                     levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Marching squares, vectorised: line segments (consecutive pairs of points) where ``z`` crosses each level.

    ``z[i, j]`` is the value at ``(xs[j], ys[i])``.
    """
    a, b, c, d = corners = (z[:-1, :-1], z[:-1, 1:], z[1:, 1:], z[1:, :-1])
    bounds = (np.minimum(np.minimum(a, b), np.minimum(c, d)), np.maximum(np.maximum(a, b), np.maximum(c, d)))
    out_x, out_y = [], []
    for level in levels:
        px, py = _level_segments(corners, bounds, xs, ys, float(level))
        out_x.append(px)
        out_y.append(py)
    if not out_x:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(out_x), np.concatenate(out_y)


def _level_segments(corners: tuple[np.ndarray, ...], bounds: tuple[np.ndarray, np.ndarray], xs: np.ndarray,
                    ys: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    # 1. Only the cells the level passes through; corners a (bottom-left), b (bottom-right), c (top-right),
    #    d (top-left), each (n_cells,).
    a, b, c, d = corners
    rows, cols = np.nonzero((bounds[0] < level) & (bounds[1] >= level))
    a, b, c, d = a[rows, cols], b[rows, cols], c[rows, cols], d[rows, cols]
    x0, x1, y0, y1 = xs[cols], xs[cols + 1], ys[rows], ys[rows + 1]
    # 2. Crossing point on each edge (bottom a→b, right b→c, top d→c, left a→d), where the sign changes.
    edges = ((a, b, x0, y0, x1, y0), (b, c, x1, y0, x1, y1), (d, c, x0, y1, x1, y1), (a, d, x0, y0, x0, y1))
    cross, px, py = [], [], []
    for p, q, xa, ya, xb, yb in edges:
        hit = (p >= level) != (q >= level)
        t = np.divide(level - p, q - p, out=np.zeros_like(p), where=hit)
        cross.append(hit)
        px.append(xa + t * (xb - xa))
        py.append(ya + t * (yb - ya))
    hit, px, py = np.stack(cross, -1), np.stack(px, -1), np.stack(py, -1)
    count = hit.sum(-1)
    # 3. Two crossings: one segment between them.
    two = count == 2
    m = hit[two]
    first, second = m.argmax(-1), 3 - m[:, ::-1].argmax(-1)
    r = np.arange(len(m))
    seg_x = [np.stack((px[two][r, first], px[two][r, second]), -1)]
    seg_y = [np.stack((py[two][r, first], py[two][r, second]), -1)]
    # 4. Four crossings (a saddle cell): the centre value decides which corners the two segments cut off:
    #    centre on a's side → cut off b and d (edges 0-1, 2-3), otherwise a and c (edges 3-0, 1-2).
    four = count == 4
    like_a = ((a + b + c + d)[four] / 4 >= level) == (a[four] >= level)
    fx, fy, r = px[four], py[four], np.arange(int(four.sum()))
    for (i, j), (k, n) in (((0, 1), (3, 0)), ((2, 3), (1, 2))):
        ii, jj = np.where(like_a, i, k), np.where(like_a, j, n)
        seg_x.append(np.stack((fx[r, ii], fx[r, jj]), -1))
        seg_y.append(np.stack((fy[r, ii], fy[r, jj]), -1))
    return np.concatenate(seg_x).ravel(), np.concatenate(seg_y).ravel()
