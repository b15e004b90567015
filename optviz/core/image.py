"""Bare pictures of the maps as PNG, with numpy and zlib only (no Qt, no plotting library): what the map commands
write where Qt cannot start (their figures, with titles, axes and legends, are drawn by ``optviz.ui.figures``), and
the PNG encoder those figures' pixels go through.

``basins_picture``: one panel per optimizer, side by side; each minimum has a colour (its basin), darker where
the start took longer to converge; not converged is grey, diverged black; minima are white dots.
``sweep_picture``: log10 of the final loss on a viridis-like scale (low: dark blue, high: yellow), diverged cells
red; y grows upwards in both, as on the surface view.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from optviz.core.basins import Basins
from optviz.core.sweep import Sweep

BASIN_COLOURS = np.array([(228, 26, 28), (55, 126, 184), (77, 175, 74), (152, 78, 163), (255, 127, 0),
                          (255, 255, 51), (166, 86, 40), (247, 129, 191), (102, 194, 165), (141, 160, 203)])
NOT_CONVERGED, DIVERGED, BACKGROUND = (128, 128, 128), (0, 0, 0), (255, 255, 255)
VIRIDIS = np.array([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)], dtype=float)
MIN_SIDE = 256  # small maps are enlarged (whole pixels) to at least this many pixels a side


def png_bytes(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB image (H, W, 3) as PNG bytes."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def _enlarge(img: np.ndarray) -> np.ndarray:
    """Whole-pixel enlargement to about MIN_SIDE on the longer side, and at least 32 pixels high (strips)."""
    k = max(1, -(-MIN_SIDE // max(img.shape[:2])))
    img = np.repeat(np.repeat(img, k, axis=0), k, axis=1)
    return np.repeat(img, max(1, -(-32 // img.shape[0])), axis=0)


def viridis(t: np.ndarray) -> np.ndarray:
    """Colours (…, 3) for values in [0, 1]."""
    pos = np.clip(t, 0, 1) * (len(VIRIDIS) - 1)
    i = np.minimum(pos.astype(int), len(VIRIDIS) - 2)
    frac = (pos - i)[..., None]
    return VIRIDIS[i] * (1 - frac) + VIRIDIS[i + 1] * frac


def basins_panel(result: Basins, index: int) -> np.ndarray:
    """One optimizer's map as RGB (N, N, 3), rows from the top (largest y) down."""
    m = result.maps[index]
    labels, steps = m.labels, m.steps
    img = np.empty(labels.shape + (3,))
    img[:] = NOT_CONVERGED
    img[labels == -2] = DIVERGED
    shade = 1.0 - 0.55 * np.clip(steps / max(1, result.budget), 0, 1)  # slower: darker
    for k in range(len(result.minima)):
        where = labels == k
        img[where] = BASIN_COLOURS[k % len(BASIN_COLOURS)] * shade[where][:, None]
    (x0, x1), (y0, y1) = (result.xs[0], result.xs[-1]), (result.ys[0], result.ys[-1])
    n = len(result.xs)
    for mx, my in result.minima:  # a white 3×3 dot on each minimum inside the box
        j, i = round((mx - x0) / (x1 - x0) * (n - 1)), round((my - y0) / (y1 - y0) * (n - 1))
        if 0 <= i < n and 0 <= j < n:
            img[max(0, i - 1):i + 2, max(0, j - 1):j + 2] = BACKGROUND
    return img[::-1].astype(np.uint8)


def basins_picture(result: Basins) -> np.ndarray:
    panels = [_enlarge(basins_panel(result, i)) for i in range(len(result.maps))]
    gap = np.full((panels[0].shape[0], 8, 3), 255, np.uint8)
    parts = [p for panel in panels for p in (panel, gap)][:-1]
    return np.concatenate(parts, axis=1)


def sweep_picture(result: Sweep) -> np.ndarray:
    loss = result.final_loss
    finite = np.isfinite(loss)
    img = np.empty(loss.shape + (3,))
    img[:] = (220, 30, 30)
    if finite.any():
        v = np.log10(np.maximum(loss[finite] - min(0.0, float(loss[finite].min())), 0) + 1e-12)
        lo, hi = float(v.min()), float(v.max())
        img[finite] = viridis((v - lo) / (hi - lo) if hi > lo else np.zeros_like(v))
    return _enlarge(img[::-1].astype(np.uint8))
