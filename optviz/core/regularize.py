"""L1 and L2 penalties on a surface: the regularised surface, its moved minima and the constraint region.

``regularize(surface, Penalty("l1", α))`` is the surface f + α·(|x| + |y|); ``Penalty("l2", α)`` is f + (α/2)·(x² + y²),
whose gradient adds α·x: the same as torch's ``weight_decay=α`` ("L2 in the gradient"). The result is a Surface
like any other (the fast engine, the maps and the critical-point search take it); α is its parameter named after
the kind (``l1`` or ``l2``, :func:`strength_name`), so changing α does not rebuild the fast engine, the surface's
values (and so its ``key``/``field_key``) tell L1 from L2, and its ``identity`` (the view's zoom) stays the
surface's. Edit the penalty through ``Session.penalty``, not through the surface's parameters.

Critical points: f + α‖·‖² is smooth and goes through the usual Newton search. f + α‖·‖₁ has kinks on the axes,
where the gradient jumps by 2α and Newton's method cannot land; its minima there are where 0 lies in the
subdifferential. So for L1 the search is (1) Newton's method as usual (critical points off the axes, where the
surface is smooth), (2) on each axis, Newton's method for the 1D function along it, keeping the points whose
gradient across the axis (the smooth part's: torch's |·|' is 0 at 0) is smaller than α in size, and (3) the origin
when both components are. Those points have a coordinate exactly 0.0, because they are searched on the axis.

:func:`geometry` gives what the playground draws: the moved global minimum and the constraint region through it
(the diamond |x| + |y| = r for L1, the circle x² + y² = r² for L2: the regularised minimum is the unregularised
surface's minimum over that region).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from optviz.core.lazy import torch

from optviz.core.params import ParamError, Spec, parse_named, quote
from optviz.core.surfaces import Point, Surface

KINDS = ("none", "l1", "l2")
KIND = Spec("kind", "choice", "none", choices=KINDS, label="penalty", title="Penalty",
            doc="L1: α·(|x| + |y|) (the minimum can land exactly on an axis); L2: (α/2)·(x² + y²) (it only shrinks)")
STRENGTH = Spec("strength", "float", 0.0, 0.0, 1000.0, label="penalty strength", title="Strength α", step=0.1,
                doc="α of the penalty added to the surface")
PENALTY_KIND = KIND
TITLES = {"none": "None", "l1": "L1: α·(|x| + |y|)", "l2": "L2: (α/2)·(x² + y²)"}
AXIS_STARTS = 241  # 1D Newton starts per axis
DEMO = {"surface": "booth", "strength": 20.0}  # L1 puts the minimum on the y axis (0, 1.8); L2 only shrinks it


@dataclass(frozen=True)
class Penalty:
    """A penalty added to the surface: kind (none, l1, l2) and strength α."""

    kind: str = "none"
    strength: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", KIND.validate(self.kind))
        object.__setattr__(self, "strength", STRENGTH.validate(self.strength))

    @property
    def active(self) -> bool:
        return self.kind != "none" and self.strength > 0

    @property
    def text(self) -> str:
        """The added term, as a formula: ``0.5·(|x| + |y|)``."""
        if self.kind == "l1":
            return f"{self.strength:g}·(|x| + |y|)"
        return f"({self.strength:g}/2)·(x² + y²)" if self.kind == "l2" else "0"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "strength": self.strength}


NO_PENALTY = Penalty()


def penalty_from_dict(item: Any) -> Penalty:
    """A penalty from ``{"kind": "l1", "strength": 0.5}``; ParamError names a bad key or value."""
    if not isinstance(item, Mapping):
        raise ParamError('penalty must be an object like {"kind": "l1", "strength": 0.5}')
    unknown = [k for k in item if k not in ("kind", "strength")]
    if unknown:
        raise ParamError(f"unknown penalty key {quote(unknown[0])} (allowed: kind, strength)")
    return Penalty(item.get("kind", "none"), item.get("strength", 0.0))


def parse_penalty(text: str) -> Penalty:
    """``l1:0.5``, ``l2:2`` or ``none`` (the CLI syntax)."""
    name, options = parse_named(text.replace(":", ":strength=", 1) if ":" in text and "=" not in text else text,
                                "penalty")
    unknown = [k for k in options if k != "strength"]
    if unknown:
        raise ParamError(f"Malformed penalty {quote(text)} (expected l1:STRENGTH, l2:STRENGTH or none)")
    return Penalty(KIND.parse(name), STRENGTH.parse(options.get("strength", "0" if name == "none" else "1")))


@functools.lru_cache(maxsize=128)
def _penalised(base: Callable, kind: str) -> Callable:
    """f + penalty as one function of (t, penalty=α, **base params); one function object per (base, kind), so that
    the fast engine's kernel and the critical-point cache are shared by every α."""
    if kind == "l1":
        def fn(t: torch.Tensor, l1: float = 0.0, **params: float) -> torch.Tensor:
            return base(t, **params) + l1 * (t[..., 0].abs() + t[..., 1].abs())
    else:
        def fn(t: torch.Tensor, l2: float = 0.0, **params: float) -> torch.Tensor:
            return base(t, **params) + 0.5 * l2 * (t[..., 0] ** 2 + t[..., 1] ** 2)
    fn.find_critical_points = functools.partial(_critical_points, kind)  # type: ignore[attr-defined]
    fn.__qualname__ = f"{getattr(base, '__qualname__', 'surface')}+{kind}"
    return fn


def strength_name(kind: str) -> str:
    """The name of α among a regularised surface's parameters: the kind itself (``l1``, ``l2``)."""
    return kind


def regularize(surface: Surface, penalty: Penalty) -> Surface:
    """``surface`` with ``penalty`` added (``surface`` itself when the penalty is off)."""
    if not penalty.active:
        return surface
    spec = dataclasses.replace(STRENGTH, name=strength_name(penalty.kind), default=penalty.strength)
    return dataclasses.replace(
        surface, fn=_penalised(surface.fn, penalty.kind), title=f"{surface.title} + {penalty.kind.upper()}",
        formula=f"{surface.formula} + {'α·(|x| + |y|)' if penalty.kind == 'l1' else '(α/2)·(x² + y²)'}",
        params=tuple(surface.params) + (spec,), values={**surface.values, spec.name: penalty.strength})


_CACHE: dict[tuple, tuple[tuple[Point, ...], tuple[Point, ...]]] = {}
_LOCK = threading.Lock()  # the views ask from worker threads
CACHE_SIZE = 64


def _critical_points(kind: str, surface: Surface, seeds: Sequence[tuple[float, float]] = ()
                     ) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """The regularised surface's critical points, cached per function, parameters (α included) and view."""
    from optviz.core import critical

    key = (kind, surface.fn, tuple(sorted(surface.param_values().items())), surface.view, tuple(seeds))
    with _LOCK:
        found = _CACHE.get(key)
    if found is None:  # two threads may both compute it: the same result, kept once
        minima, saddles = critical.search(surface, seeds)
        if kind == "l1":
            on_axes = _axis_points(surface)
            minima, saddles = _merge(surface, minima + on_axes[0], saddles + on_axes[1])
        with _LOCK:
            found = _CACHE.setdefault(key, (minima, saddles))
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
    return found


def _axis_points(surface: Surface) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """L1's kinked critical points: on the axes (and the origin), where 0 is in the subdifferential."""
    from optviz.core.critical import derivatives

    alpha = surface.param_values()["l1"]
    minima: list[Point] = []
    saddles: list[Point] = []
    (x0, x1), (y0, y1) = surface.view
    for along, (lo, hi) in ((1, (y0, y1)), (0, (x0, x1))):  # the y axis (x = 0), then the x axis
        across = 1 - along
        s = _newton_1d(surface, along, torch.linspace(lo, hi, AXIS_STARTS, dtype=torch.float64) + 1e-3 * (hi - lo))
        s = s[torch.isfinite(s) & (s != 0) & (s >= lo) & (s <= hi)]
        if len(s) == 0:
            continue
        pts = torch.zeros((len(s), 2), dtype=torch.float64)
        pts[:, along] = s
        values, g, h = derivatives(surface, pts)
        curv = h[:, along, along]
        scale = curv.abs().clamp_min(1.0)
        ok = (g[:, along].abs() < 1e-9 * scale) & (g[:, across].abs() < alpha)
        for value, p, c in zip(values[ok].tolist(), pts[ok].tolist(), curv[ok].tolist()):
            (minima if c > 0 else saddles).append(Point(p[0], p[1], value))
    origin = torch.zeros((1, 2), dtype=torch.float64)
    value, g, _ = derivatives(surface, origin)
    if bool((g.abs() < alpha).all()):
        minima.append(Point(0.0, 0.0, float(value[0])))
    return tuple(minima), tuple(saddles)


def _newton_1d(surface: Surface, along: int, s: torch.Tensor, iterations: int = 60) -> torch.Tensor:
    """Damped Newton's method for the surface along an axis (the other coordinate exactly 0) from every ``s``."""
    from optviz.core.critical import MAX_STEP, derivatives

    (x0, x1), (y0, y1) = surface.view
    limit = MAX_STEP * max(x1 - x0, y1 - y0)
    for _ in range(iterations):
        pts = torch.zeros((len(s), 2), dtype=torch.float64)
        pts[:, along] = s
        _, g, h = derivatives(surface, pts)
        step = torch.nan_to_num(g[:, along] / h[:, along, along], nan=0.0, posinf=0.0, neginf=0.0)
        step = step.clamp(-limit, limit)
        s = s - step
        if float(step.abs().max()) < 1e-15 * limit:
            break
    return s


def _merge(surface: Surface, minima: Sequence[Point], saddles: Sequence[Point]
           ) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """Deduplicated, sorted by value then position, the lowest minima called global (as critical.py does)."""
    (x0, x1), (y0, y1) = surface.view
    tol = 1e-7 * max(x1 - x0, y1 - y0)

    def unique(points: Sequence[Point]) -> list[Point]:
        kept: list[Point] = []
        for p in sorted(points, key=lambda q: (q.value, q.x, q.y)):
            if all(abs(p.x - q.x) > tol or abs(p.y - q.y) > tol for q in kept):
                kept.append(p)
        return kept

    mins = unique(minima)
    best = mins[0].value if mins else 0.0
    atol = 1e-9 * max(1.0, abs(best))
    return (tuple(Point(p.x, p.y, p.value, "global" if p.value <= best + atol else "local") for p in mins),
            tuple(Point(p.x, p.y, p.value, "saddle") for p in unique(saddles)))


@dataclass(frozen=True)
class Geometry:
    """What the playground draws for a penalty: the moved minimum and the constraint region through it."""

    penalty: Penalty
    minimum: Point | None  # the regularised surface's global minimum (the first, where several tie)
    base_minimum: Point | None  # the surface's own global minimum nearest to it
    radius: float  # |x| + |y| (L1) or √(x² + y²) (L2) of the moved minimum
    outline: np.ndarray  # (n, 2) closed polyline: the diamond or the circle of that radius


def geometry(surface: Surface, penalty: Penalty, n: int = 256) -> Geometry:
    """The moved minimum of ``surface`` (the BASE surface, without the penalty) under ``penalty`` and the
    constraint region through it (an empty outline when the penalty is off or the regularised surface has no
    minimum in the view). It may run the critical-point search (cached): call it off the GUI thread."""
    moved = regularize(surface, penalty)
    minimum = next((m for m in moved.minima if m.kind == "global"), None)
    base = [m for m in surface.minima if m.kind == "global"]
    if minimum is None or not penalty.active:
        return Geometry(penalty, minimum, base[0] if base else None, 0.0, np.zeros((0, 2)))
    nearest = min(base, key=lambda m: (m.x - minimum.x) ** 2 + (m.y - minimum.y) ** 2) if base else None
    u = np.linspace(0.0, 2 * np.pi, n + 1)
    if penalty.kind == "l1":
        r = abs(minimum.x) + abs(minimum.y)
        outline = r * np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 0.0]])
    else:
        r = float(np.hypot(minimum.x, minimum.y))
        outline = r * np.column_stack((np.cos(u), np.sin(u)))
    return Geometry(penalty, minimum, nearest, r, outline)


# ---- weight decay: in the gradient, or decoupled ---------------------------------------------------------------

WEIGHT_DECAY_NOTE = (
    "torch.optim's weight_decay λ: SGD, Adam, RMSProp, … add it to the gradient, g ← g + λ·x (the gradient of the "
    "L2 penalty (λ/2)·‖x‖², so an L2 penalty of strength α equals weight_decay α); AdamW (and Muon, and NAdam/RAdam "
    "with decoupled_weight_decay) decay the weights directly, x ← x − lr·λ·x, before the step. For SGD the two are "
    "the same update; for Adam they differ, because Adam divides the gradient, decay included, by √v̂.")
DECOUPLED = {"adam": "adamw"}  # an optimizer with weight decay in the gradient → its decoupled twin in torch.optim


def weight_decay_pair(name: str, values: Mapping[str, Any], weight_decay: float):
    """Two choices to compare side by side: ``name`` with ``weight_decay`` in the gradient (label "… L2"), and its
    decoupled twin (:data:`DECOUPLED`, label "… decoupled") with the same settings; ParamError for an optimizer
    without a twin."""
    from optviz.core.optimizers import OptimizerChoice, get_optimizer

    spec = get_optimizer(name)
    if spec.name not in DECOUPLED:
        raise ParamError(f"Invalid optimizer for a weight-decay pair: {spec.name} (allowed: {', '.join(DECOUPLED)})")
    settings = {**values, "weight_decay": weight_decay}
    return (OptimizerChoice(spec.name, settings, f"{spec.name} L2"),
            OptimizerChoice(DECOUPLED[spec.name], settings, f"{DECOUPLED[spec.name]} decoupled"))
