"""numpy's operations for the optimizer rules (:func:`optviz.core.rules.numpy_step`), as torch computes them on
the CPU: ATen's kernels, which torch/optim's code calls. No torch here: the launch preview runs before it loads.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

_SPLIT = 134217729.0  # 2²⁷ + 1: Dekker's split of a double into two halves whose products are exact


def fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a·b + c rounded once, as a fused multiply-add (ATen fuses addcmul and lerp; the C kernel calls fma()), from
    float64 operations: Dekker's exact product p + e = a·b, Knuth's exact sum s + r = c + p, then s + RO(r + e)
    with the low parts added rounding to odd (Boldo & Melquiond 2008: then the last rounding is the only one).
    Products beyond the float range either way are scaled by powers of two; inf and NaN come out as the instruction
    gives them."""
    with np.errstate(all="ignore"):
        return _fma(np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(c, np.float64))


def _fma_exact(a, b, c, odd=False):  # fma() where a·b and its low part are normal numbers, c finite
    p = a * b
    ca, cb = _SPLIT * a, _SPLIT * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = c + p
    z = s - c
    r = (c - (s - z)) + (p - z)
    v = r + e
    w = v - r
    v = _to_odd(v, (r - (v - w)) + (e - w))  # r + e = v + low exactly
    out = s + v
    if odd:
        w = out - s
        out = _to_odd(out, (s - (out - w)) + (v - w))
    # an exact 0: its sign as the instruction gives it (−0 from −0 + −0)
    return out if out.all() else np.where(out == 0, p + c, out)


def _to_odd(v, low):
    # v + low (exact, v its rounding to nearest) rounded to odd: an inexact sum goes to its neighbour with odd bits
    even = (low != 0) & ((np.asarray(v).view(np.int64) & 1) == 0)
    return np.where(even, np.nextafter(v, np.copysign(np.inf, low)), v)


def _fma(a, b, c):  # fma() without its errstate: numpy_step sets it once
    out = _fma_exact(a, b, c)
    tiny = np.abs(a * b) < _TINY
    if np.isfinite(out).all() and not tiny.any():
        return out
    edge = ~np.isfinite(out) | (tiny & (a != 0) & (b != 0))
    return np.where(edge, _fma_edges(a, b, c), out) if edge.any() else out


_SCALE, _TINY = 2.0 ** 540, 2.0 ** -960


def _fma_edges(a, b, c):
    # Where _fma_exact cannot: a·b (or the split) beyond the float range, a·b's low part below it, inf and NaN.
    # Large products: the larger factor and c scaled down by 2⁵⁴⁰, tiny ones: the smaller factor and c scaled up
    # (exact, but for a c so small or so large beside a·b that its bits are lost where they cannot change it).
    plain = a * b + c
    tiny = np.abs(a * b) < _TINY
    finite = np.isfinite(a) & np.isfinite(b)
    big = np.abs(a) >= np.abs(b)
    hi, lo = np.where(big, a, b), np.where(big, b, a)
    k = np.where(tiny, _SCALE, 1.0 / _SCALE)
    args = np.where(finite, np.where(tiny, lo, hi), 1.0) * k, np.where(tiny, hi, lo), c * k
    scaled = _fma_exact(*args) / k
    # a subnormal result is rounded twice, by the scaling too: rounded to odd first, that is as if rounded once
    # (where it has two bits fewer than a normal number, below 2⁻¹⁰²³; between that and 2⁻¹⁰²² it may be 1 ulp off)
    sub = tiny & (np.abs(scaled) < 2.0 ** -1022)
    scaled = np.where(sub, _fma_exact(*args, odd=True) / k, scaled) if sub.any() else scaled
    scaled = np.where(np.isfinite(scaled), scaled, plain)  # a·b far beyond the range, or c far beyond a·b
    # a·b + 0 is a·b rounded once (its sign too where it underflows), but for an exact 0 (+0 + −0 is +0)
    scaled = np.where(c == 0, np.where((a == 0) | (b == 0), plain, a * b), scaled)
    return np.where(finite & ~np.isinf(c), scaled, np.where(finite, c, plain))  # finite a·b + inf is inf


def _np_lerp(start, end, weight, fma=None):
    # ATen's lerp: start + w·(end − start) for |w| < 0.5, else end − (end − start)·(1 − w), each one fused operation
    small = np.abs(weight) < 0.5
    return (fma or _fma)(np.where(small, weight, weight - 1.0), end - start, np.where(small, start, end))


def _unfused(a, b, c):
    return a * b + c


def _np_sign(a):
    # ATen's sign: (0 < a) − (a < 0), so NaN and −0 give +0 (numpy's sign keeps them)
    return (a > 0).astype(a.dtype) - (a < 0)


def _np_bf16(a):
    # c10's float → bfloat16, round to nearest even on the float32 bits (NaN stays NaN), then exactly back
    a = np.asarray(a, np.float32)
    bits = a.view(np.uint32)
    bits = (bits + (np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)))) & np.uint32(0xFFFF0000)
    return np.where(np.isnan(a), a, bits.view(np.float32))


NUMPY_OPS = SimpleNamespace(
    where=np.where, addcmul=lambda a, b, c: _fma(b, c, a), lerp=_np_lerp, sqrt=np.sqrt, maximum=np.maximum,
    minimum=np.minimum, sign=_np_sign, isnan=np.isnan, reciprocal=lambda a: 1.0 / a, abs=np.abs, stack=np.stack,
    unbind=tuple, expand=lambda a, like: np.broadcast_to(a, np.shape(like)), to32=lambda a: np.asarray(a, np.float32),
    to64=lambda a: np.asarray(a, np.float64),
    like=lambda a, ref: np.asarray(a, ref.dtype), bf16=_np_bf16, const32=np.float32)
"""The operations the rules use, numpy's, rounding as torch's CPU kernels do (float64, and float32 where torch keeps
float32: NAdam's μ product, Muon's bfloat16 Newton–Schulz)."""
UNFUSED_NUMPY_OPS = SimpleNamespace(**{**vars(NUMPY_OPS), "addcmul": lambda a, b, c: b * c + a,
                                       "lerp": lambda s, e, w: _np_lerp(s, e, w, _unfused)})
"""NUMPY_OPS with addcmul and lerp rounded twice (a multiply, then an add), for the launch preview: the exact
fused emulation costs ~20× a plain multiply-add per operation (50 µs against 2.6 µs on a 42×2 array, measured);
each result is at most one ulp from torch's fused one."""
