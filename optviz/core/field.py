"""The surface as pictures: a sampled grid, its colour indices, colour-bar ticks and contour segments.

Plain numpy/torch (no Qt): the playground computes a Field in a worker thread whenever the surface or its
parameters change, and draws it as it is.

Colours. A colour index in [0, 1] is what the colour map shows. It is

    index = (1 − w)·base + w·rank

where ``base`` is f (or log10 f on surfaces whose values span decades) scaled linearly to [0, 1], and ``rank``
is the fraction of the picture with a smaller value (histogram equalisation: every colour covers about the same
area). ``w`` is the smallest of 0, ¼, ½, ¾, 1 for which the picture uses most of the colour map (its 5th–95th
percentile of indices spans at least SPREAD): a plain linear or log picture where one is informative, equalised
where most of the surface would otherwise be one colour (the six-hump camel's humps, Matyas' valley). The map
from f to index is monotone, so contours of the index are contours of f, and the colour bar's ticks show true
values of f at their index.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from optviz.core import dual
from optviz.core.surfaces import Point, Surface

GRID = 400  # samples per axis
N_LEVELS = 14  # contour lines
SPREAD = 0.65  # wanted 5th–95th percentile span of the colour indices (0.6 is the promise; a margin)
LOG_DECADES = 8  # a log picture starts this many decades below its maximum (the minimum, 0, has no log)
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # of the rank in the colour index, the first that spreads the colours wins
MIN_TICK_GAP = 0.06  # colour-bar ticks at least this far apart, in index units
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Field:
    """A surface sampled on its view box, ready to draw."""

    key: tuple  # (surface name, sorted parameter items): what was sampled
    xs: np.ndarray  # (n,)
    ys: np.ndarray  # (n,)
    z: np.ndarray  # (n_y, n_x) raw values
    colour: np.ndarray  # (n_y, n_x) colour indices in [0, 1]
    scale: str  # "linear" | "log", with " + rank" or as "rank" when equalised: see the module docstring
    ticks: tuple[tuple[float, str], ...]  # colour-bar ticks: (index, true value of f as text)
    contours: tuple[np.ndarray, np.ndarray]  # x, y of segment end points, in pairs
    minima: tuple[Point, ...] | None = None  # None until the critical points are computed
    saddles: tuple[Point, ...] | None = None

    levels = (0.0, 1.0)  # the colour range, in index units

    @property
    def log(self) -> bool:
        return self.scale.startswith("log")


def field_key(name: str, params: dict) -> tuple:
    """The key of a Field sampled for surface ``name`` with explicit parameters ``params``."""
    return name, tuple(sorted(params.items()))


def sample(surface: Surface, n: int = GRID, *, with_torch: bool = True) -> Field:
    """Sample ``surface`` on an n×n grid with torch (or numpy: the launch preview, before torch has loaded) and
    derive colour indices, ticks and contour segments.

    The critical points are not computed here (they can take seconds): see :func:`with_points`.
    """
    if with_torch:
        xs, ys, z = (a.numpy() for a in surface.grid(n))
    else:
        (x0, x1), (y0, y1) = surface.view
        xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
        z = dual.values(surface, np.stack(np.meshgrid(xs, ys), axis=-1))
    finite = z[np.isfinite(z)]
    top = float(finite.max()) if finite.size else 0.0
    clean = np.nan_to_num(z, nan=top, posinf=top, neginf=float(finite.min()) if finite.size else 0.0)
    log = surface.log_scale and finite.size > 0 and float(finite.min()) >= 0
    base_map = _log_map(clean) if log else _linear_map(clean)
    ordered = np.sort(clean.ravel())
    rank_map = _rank_map(ordered)
    base, rank = base_map(clean), rank_map(clean)
    for w in WEIGHTS:
        colour = (1 - w) * base + w * rank
        low, high = np.percentile(colour, (5, 95))
        if high - low >= SPREAD:
            break
    name = "log" if log else "linear"
    scale = name if w == 0 else ("rank" if w == 1 else f"{name} + {w:g} rank")

    def index(values: np.ndarray) -> np.ndarray:
        return (1 - w) * base_map(values) + w * rank_map(values)

    ticks = _ticks(index, ordered, "decades" if log and w < 1 else "steps" if w == 0 else "indices")
    levels = np.linspace(0.0, 1.0, N_LEVELS + 2)[1:-1]
    key = surface.field_key  # field_key(name, values); a formula's name is made unique by its text and view box
    return Field(key, xs, ys, z, colour, scale, ticks, contour_segments(colour, xs, ys, levels))


def with_points(field: Field, minima: tuple[Point, ...], saddles: tuple[Point, ...]) -> Field:
    """``field`` with the surface's critical points (``surface.minima`` can take seconds: ask off the GUI thread)."""
    return dataclasses.replace(field, minima=tuple(minima), saddles=tuple(saddles))


def spread(colour: np.ndarray) -> float:
    """The 5th–95th percentile span of colour indices (the share of the colour map the picture really uses)."""
    low, high = np.percentile(np.clip(colour, 0.0, 1.0), (5, 95))
    return float(high - low)


def _linear_map(z: np.ndarray):
    lo, hi = float(z.min()), float(z.max())
    span = hi - lo if hi > lo else 1.0
    return lambda v: np.clip((np.asarray(v, dtype=float) - lo) / span, 0.0, 1.0)


def _log_map(z: np.ndarray):
    hi = max(float(z.max()), 1e-300)
    floor = hi * 10.0**-LOG_DECADES
    # The darkest colour from the 0.2th percentile down: the few pixels around a minimum of 0 would otherwise
    # claim the decades below everything else.
    lo = math.log10(max(float(np.percentile(z, 0.2)), floor))
    span = math.log10(hi) - lo if math.log10(hi) > lo else 1.0
    return lambda v: np.clip((np.log10(np.maximum(np.asarray(v, dtype=float), floor)) - lo) / span, 0.0, 1.0)


def _rank_map(ordered: np.ndarray):
    """f → the fraction of samples below f (linear between samples): the picture's cumulative distribution."""
    q = np.linspace(0.0, 1.0, ordered.size)
    return lambda v: np.interp(np.asarray(v, dtype=float), ordered, q)


def _ticks(index, ordered: np.ndarray, kind: str) -> tuple[tuple[float, str], ...]:
    """Ticks at round values of f, spread over the bar: "decades" (log pictures), "steps" of 1, 2 or 5 × 10ⁿ
    (linear pictures), or the values at 9 evenly spaced "indices" rounded to two significant digits."""
    lo, hi = float(ordered[0]), float(ordered[-1])
    if kind == "decades":  # where fewer than 3 decades lie in range, 2× and 5× too (after the decades)
        top = math.floor(math.log10(max(hi, 1e-300)))
        candidates = [10.0**k for k in range(top - LOG_DECADES - 1, top + 1)]
        if sum(lo <= v <= hi for v in candidates) < 3:
            candidates += [float(f"{m * v:.12g}") for m in (2, 5) for v in candidates]
    elif kind == "steps":
        raw = (hi - lo) / 6 if hi > lo else 1.0
        unit = 10.0 ** math.floor(math.log10(raw))
        step = next(m * unit for m in (1, 2, 5, 10) if m * unit >= raw)
        candidates = [float(f"{k * step:.12g}") for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]
    else:
        at = index(ordered)
        candidates = [_round(float(np.interp(t, at, ordered))) for t in np.linspace(0.0, 1.0, 9)]
        candidates += [_round(lo, up=True), _round(hi, up=False)]
    out: list[tuple[float, str]] = []
    # In order of preference: ascending, but on a log bar every decade before the 2× and 5× values.
    for value in dict.fromkeys(candidates) if kind == "decades" else sorted(set(candidates)):
        position = float(index(np.array([value]))[0])
        inside = lo <= value <= hi and (position > 0.0 or kind == "steps")
        if inside and all(abs(position - p) >= MIN_TICK_GAP for p, _ in out):
            out.append((position, format_value(value)))
    return tuple(sorted(out))


def _round(value: float, up: bool | None = None) -> float:
    """Two significant digits; ``up`` True/False rounds towards +∞/−∞ (to stay inside a range)."""
    if value == 0 or not math.isfinite(value):
        return 0.0
    unit = 10.0 ** (math.floor(math.log10(abs(value))) - 1)
    scaled = value / unit
    rounded = math.ceil(scaled) if up else math.floor(scaled) if up is False else round(scaled)
    return float(f"{rounded * unit:.12g}")


def scale_label(scale: str, name: str = "f") -> str:
    """A colour bar's title for a Field's ``scale``: "f (log scale)", "loss (log scale, equalised)", "f"."""
    words = ("log scale" if scale.startswith("log") else "", "equalised" if "rank" in scale else "")
    inside = ", ".join(w for w in words if w)
    return f"{name} ({inside})" if inside else name


def format_value(value: float) -> str:
    """A true value for a tick or a table: 3 significant digits, powers of ten as 10ⁿ, a real minus sign."""
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)) + 1e-9)
    if abs(value - 10.0**exponent) <= 1e-9 * abs(value) and not 0 <= exponent <= 3:
        return f"10{str(exponent).translate(SUPERSCRIPT)}"
    if -4 <= exponent <= 5:
        text = f"{value:.3g}"
        if "e" in text:  # 1e+03 → 1000
            text = f"{float(text):f}".rstrip("0").rstrip(".")
        return text.replace("-", "−")
    mantissa = value / 10.0**exponent
    return f"{mantissa:.3g}×10{str(exponent).translate(SUPERSCRIPT)}".replace("-", "−", 1)


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
