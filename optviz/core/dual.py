"""A surface's value and gradient with numpy alone: forward-mode derivatives (dual numbers) in x and y.

The surfaces (:mod:`optviz.core.surfaces`, typed formulas, penalties) are written with arithmetic and tensor
methods (``u.cos()``, ``u.exp()``), so the same function runs on torch tensors (autograd, the engines) and on a
:class:`Dual`, which carries ``∂/∂x`` and ``∂/∂y`` beside each value. The launch preview uses it to draw the first
paths while torch still loads; the derivatives are exact up to rounding (forward mode rounds differently from
torch's reverse mode: agreement to about 1e-15 relative per evaluation, tested).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _lift(a: Any) -> Dual:
    return a if isinstance(a, Dual) else Dual(np.asarray(a, dtype=np.float64), 0.0, 0.0)


class Dual:
    """``v`` with its partial derivatives ``dx``, ``dy`` (numpy arrays, or 0.0 for a constant)."""

    __slots__ = ("v", "dx", "dy")
    __array_ufunc__ = None  # numpy arrays and scalars on the left defer to Dual's reflected operators

    def __init__(self, v: Any, dx: Any, dy: Any) -> None:
        self.v, self.dx, self.dy = v, dx, dy

    def _chain(self, value: Any, slope: Any) -> Dual:
        return Dual(value, slope * self.dx, slope * self.dy)

    # ---- arithmetic ----------------------------------------------------------------------------------------------
    def __add__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            return Dual(self.v + other.v, self.dx + other.dx, self.dy + other.dy)
        return Dual(self.v + other, self.dx, self.dy)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            return Dual(self.v - other.v, self.dx - other.dx, self.dy - other.dy)
        return Dual(self.v - other, self.dx, self.dy)

    def __rsub__(self, other: Any) -> Dual:
        return Dual(other - self.v, -self.dx, -self.dy)

    def __neg__(self) -> Dual:
        return Dual(-self.v, -self.dx, -self.dy)

    def __pos__(self) -> Dual:
        return self

    def __mul__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            return Dual(self.v * other.v, self.dx * other.v + self.v * other.dx, self.dy * other.v + self.v * other.dy)
        return Dual(self.v * other, self.dx * other, self.dy * other)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            q = self.v / other.v
            return Dual(q, (self.dx - q * other.dx) / other.v, (self.dy - q * other.dy) / other.v)
        return Dual(self.v / other, self.dx / other, self.dy / other)

    def __rtruediv__(self, other: Any) -> Dual:
        q = other / self.v
        return self._chain(q, -q / self.v)

    def __pow__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            return (self.log() * other).exp()
        p = float(other)
        if p == 0.0:
            return Dual(np.ones_like(self.v), 0.0, 0.0)
        if p == 1.0:
            return Dual(self.v, self.dx, self.dy)
        if p == 2.0:
            return self._chain(self.v * self.v, 2.0 * self.v)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._chain(self.v ** p, p * self.v ** (p - 1.0))

    def __rpow__(self, other: Any) -> Dual:
        base = float(other)
        value = base ** self.v
        return self._chain(value, value * math.log(base)) if base > 0 else _lift(base) ** self

    # ---- the tensor methods the surfaces and formulas call -------------------------------------------------------
    def exp(self) -> Dual:
        e = np.exp(self.v)
        return self._chain(e, e)

    def log(self) -> Dual:
        return self._chain(np.log(self.v), 1.0 / self.v)

    def sqrt(self) -> Dual:
        r = np.sqrt(self.v)
        return self._chain(r, 0.5 / r)

    def sin(self) -> Dual:
        return self._chain(np.sin(self.v), np.cos(self.v))

    def cos(self) -> Dual:
        return self._chain(np.cos(self.v), -np.sin(self.v))

    def tan(self) -> Dual:
        t = np.tan(self.v)
        return self._chain(t, 1.0 + t * t)

    def tanh(self) -> Dual:
        t = np.tanh(self.v)
        return self._chain(t, 1.0 - t * t)

    def sigmoid(self) -> Dual:
        s = 0.5 * (1.0 + np.tanh(0.5 * self.v))
        return self._chain(s, s * (1.0 - s))

    def softplus(self) -> Dual:  # torch.nn.functional.softplus: x above 20, log1p(exp(x)) below
        v = self.v
        big = v > 20.0
        value = np.where(big, v, np.log1p(np.exp(np.minimum(v, 20.0))))
        slope = np.where(big, 1.0, 0.5 * (1.0 + np.tanh(0.5 * v)))
        return self._chain(value, slope)

    def abs(self) -> Dual:
        return self._chain(np.abs(self.v), np.sign(self.v))

    __abs__ = abs

    def clamp_min(self, low: float) -> Dual:
        return self._chain(np.maximum(self.v, low), (self.v >= low).astype(np.float64))

    def clamp_max(self, high: float) -> Dual:
        return self._chain(np.minimum(self.v, high), (self.v <= high).astype(np.float64))

    def maximum(self, other: Any) -> Dual:
        other = _lift(other)
        mine = self.v > other.v
        tie = 0.5 * (self.v == other.v)  # torch's maximum splits the gradient evenly at a tie
        w, u = mine + tie, (~mine & (self.v != other.v)) + tie
        return Dual(np.maximum(self.v, other.v), w * self.dx + u * other.dx, w * self.dy + u * other.dy)

    def minimum(self, other: Any) -> Dual:
        return -((-self).maximum(-_lift(other)))


class XY:
    """Stands for a (n, 2) tensor of points: ``xy[..., 0]`` is x and ``xy[..., 1]`` is y, each a :class:`Dual`
    seeded with its own derivative (∂x/∂x = 1), so a surface evaluated at ``XY`` returns value and gradient."""

    def __init__(self, points: np.ndarray, *, gradient: bool = True) -> None:
        p = np.asarray(points, dtype=np.float64)
        one = np.ones(p.shape[:-1]) if gradient else 0.0
        self.x = Dual(p[..., 0], one, 0.0)
        self.y = Dual(p[..., 1], 0.0, one)

    def __getitem__(self, key: Any) -> Dual:
        if key == (Ellipsis, 0):
            return self.x
        if key == (Ellipsis, 1):
            return self.y
        raise TypeError(f"XY supports xy[..., 0] and xy[..., 1] only, not {key!r}")


def value_and_grad(surface, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``surface``'s values (n,) and gradients (n, 2) at ``points`` (n, 2), with numpy alone."""
    out = _lift(surface(XY(points)))
    n = len(points)
    return (np.broadcast_to(out.v, (n,)).astype(np.float64),
            np.stack([np.broadcast_to(out.dx, (n,)), np.broadcast_to(out.dy, (n,))], axis=-1).astype(np.float64))


def values(surface, points: np.ndarray) -> np.ndarray:
    """``surface``'s values at ``points`` (..., 2), without derivatives."""
    out = _lift(surface(XY(points, gradient=False)))
    return np.broadcast_to(out.v, np.shape(points)[:-1]).astype(np.float64)
