""""Shapes": a procedural 28×28 image dataset — no files, any size, the same images for the same seed.

Each image is one white shape on black at a random position, size and rotation, with a random brightness and
Gaussian noise. The shapes are chosen to stay distinct under any rotation (no diamond next to the square).
"""

from __future__ import annotations

import numpy as np

SHAPE_CLASSES = ("circle", "ring", "square", "triangle", "cross", "star")
SIZE = 28
_SUPERSAMPLE = 3  # sub-pixels per pixel along each axis, for anti-aliased edges
_CHUNK = 512  # images rasterised at once (bounds the memory of the sub-pixel grids)


def _inside(kind: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether shape-frame points (u, v), scaled so the shape's outer radius is 1, are inside shape ``kind``."""
    r = np.hypot(u, v)
    name = SHAPE_CLASSES[kind]
    if name == "circle":
        return r <= 1.0
    if name == "ring":
        return (r <= 1.0) & (r >= 0.55)
    if name == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.75
    if name == "triangle":  # equilateral, circumradius 1 → inradius 0.5
        inside = np.ones(u.shape, bool)
        for angle in (np.pi / 2, np.pi * 7 / 6, np.pi * 11 / 6):
            inside &= u * np.cos(angle) + v * np.sin(angle) <= 0.5
        return inside
    if name == "cross":
        au, av = np.abs(u), np.abs(v)
        return ((au <= 0.28) & (av <= 1.0)) | ((av <= 0.28) & (au <= 1.0))
    # star: five rounded points
    phi = np.arctan2(v, u)
    return r <= 0.6 + 0.4 * np.cos(5 * phi)


def _rasterise(kind: int, cx: np.ndarray, cy: np.ndarray, radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Coverage in [0, 1] of shape ``kind`` for each (centre, radius, angle), shape (n, 28, 28)."""
    n = len(cx)
    s = _SUPERSAMPLE
    grid = (np.arange(SIZE * s) + 0.5) / s  # sub-pixel centres in pixel units
    x = grid[None, None, :] - cx[:, None, None]
    y = grid[None, :, None] - cy[:, None, None]
    c, si = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    r = radius[:, None, None]
    u, v = (c * x + si * y) / r, (-si * x + c * y) / r  # rotate into the shape's own frame
    covered = _inside(kind, u, v).astype(np.float32)
    return covered.reshape(n, SIZE, s, SIZE, s).mean(axis=(2, 4))


def make_shapes(n: int, seed: int = 0, *, noise: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (n, 28, 28) uint8 and labels (n,) int64, balanced over the classes, shuffled by ``seed``."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES)).astype(np.int64)
    radius = rng.uniform(6.0, 11.5, n)
    cx = rng.uniform(radius + 1, SIZE - radius - 1)
    cy = rng.uniform(radius + 1, SIZE - radius - 1)
    angle = rng.uniform(0, 2 * np.pi, n)
    brightness = rng.uniform(0.6, 1.0, n).astype(np.float32)
    images = np.zeros((n, SIZE, SIZE), np.float32)
    for kind in range(len(SHAPE_CLASSES)):
        idx = np.flatnonzero(labels == kind)
        for start in range(0, len(idx), _CHUNK):
            part = idx[start:start + _CHUNK]
            images[part] = _rasterise(kind, cx[part], cy[part], radius[part], angle[part])
    images *= brightness[:, None, None]
    images += rng.normal(0.0, noise, images.shape).astype(np.float32)
    return (np.clip(images, 0.0, 1.0) * 255).round().astype(np.uint8), labels
