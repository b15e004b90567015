"""Built-in 2D loss surfaces: torch functions of a ``(..., 2)`` tensor, with view boxes and known critical points.

Each surface follows the standard textbook definition (see the formula strings). Critical points were located
with Newton's method in float64 from the literature values and are listed to about 1e-10; the tests check every
one (gradient ≈ 0, Hessian definite or indefinite as claimed, value as listed).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
from dataclasses import dataclass, field
from typing import Callable, Mapping

from optviz.core.lazy import torch

from optviz.core.params import ParamError, Spec, defaults, find, quote

Tensor = "torch.Tensor"  # annotations only: the surfaces also take optviz.core.dual.XY (the launch preview)


SurfaceError = ParamError  # an unknown surface name or a bad surface parameter


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    kind: str = "global"  # "global" | "local" for minima, "saddle" for saddles


@dataclass(frozen=True)
class Surface:
    """A loss surface f(x, y). ``fn(xy, **params)`` takes a (..., 2) tensor and returns a (...) tensor."""

    name: str
    title: str
    formula: str
    fn: Callable[..., Tensor]
    view: tuple[tuple[float, float], tuple[float, float]]
    known_minima: tuple[Point, ...] = ()  # the literature's points, for the default parameters
    known_saddles: tuple[Point, ...] = ()
    params: tuple[Spec, ...] = ()
    log_scale: bool = False  # values span decades: colour on a log scale
    values: Mapping[str, float] = field(default_factory=dict)  # current parameter values (defaults if empty)
    ident: tuple = ()  # what else identifies a surface made by the user (a formula's text and view box)

    def param_values(self) -> dict[str, float]:
        return {**defaults(self.params), **self.values}

    def __call__(self, xy: Tensor) -> Tensor:
        return self.fn(xy, **self.param_values())

    def with_params(self, **values: float) -> Surface:
        """A copy with some parameters changed (each checked against its spec); cheap: nothing is solved here."""
        owner = f"surface {self.name}"
        merged = {**self.values, **{k: find(self.params, k, owner).parse(v) for k, v in values.items()}}
        return dataclasses.replace(self, values=merged)

    @property
    def key(self) -> tuple:
        """What identifies the function: name and parameter values (for caches), and ``ident`` where set."""
        key = self.name, tuple(sorted(self.param_values().items()))
        return key + (self.ident,) if self.ident else key

    @property
    def identity(self) -> str:
        """The name, made unique for a formula surface (its canonical text and view box)."""
        return f"{self.name}:{self.ident!r}" if self.ident else self.name

    @property
    def field_key(self) -> tuple:
        """The key of this surface's picture (:class:`optviz.core.field.Field`): identity and explicit values."""
        return self.identity, tuple(sorted(self.values.items()))

    @property
    def minima(self) -> tuple[Point, ...]:
        """Minima for the current parameters (computed on first use, then cached)."""
        return critical_points(self)[0]

    @property
    def saddles(self) -> tuple[Point, ...]:
        return critical_points(self)[1]

    def grid(self, n: int = 400, *, device: str | torch.device = "cpu",
             dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Sample the view box on an n×n grid: returns xs (n,), ys (n,), z (n_y, n_x); float64 by default."""
        (x0, x1), (y0, y1) = self.view
        dtype = torch.float64 if dtype is None else dtype
        xs = torch.linspace(x0, x1, n, device=device, dtype=dtype)
        ys = torch.linspace(y0, y1, n, device=device, dtype=dtype)
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        with torch.no_grad():
            z = self(torch.stack((xx, yy), dim=-1))
        return xs, ys, z

    def to_json(self) -> dict:
        """The description printed by ``optviz surfaces --json``."""
        return {
            "name": self.name,
            "title": self.title,
            "formula": self.formula,
            "view": [list(self.view[0]), list(self.view[1])],
            "params": {p.name: {"default": p.default, "low": p.low, "high": p.high, "value": self.param_values()[p.name]}
                       for p in self.params},
            "minima": [{"x": m.x, "y": m.y, "value": m.value, "kind": m.kind} for m in self.minima],
            "saddles": [{"x": s.x, "y": s.y, "value": s.value} for s in self.saddles],
        }


def critical_points(surface: Surface) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """(minima, saddles) inside the view box for the current parameters (plus the literature's points wherever
    they moved); computed on first use (0.1–1 s: views ask off the GUI thread), then cached."""
    builtin = SURFACES.get(surface.name)
    if builtin is not None and builtin.fn is surface.fn:
        return _critical_points(*surface.key)
    key = (surface.fn, surface.view, surface.key)  # a surface made by the user (formula, edited wells)
    with _custom_lock:
        found = _custom_points.get(key)
    if found is None:
        found = _critical_points_of(surface)
        with _custom_lock:
            _custom_points[key] = found
            while len(_custom_points) > 64:
                _custom_points.pop(next(iter(_custom_points)))
    return found


_custom_lock = threading.Lock()
_custom_points: dict[tuple, tuple[tuple[Point, ...], tuple[Point, ...]]] = {}


@functools.lru_cache(maxsize=64)
def _critical_points(name: str, values: tuple) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    return _critical_points_of(dataclasses.replace(SURFACES[name], values=dict(values)))


def _critical_points_of(surface: Surface) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    from optviz.core.critical import find_critical_points

    seeds = [(p.x, p.y) for p in surface.known_minima + surface.known_saddles]
    return find_critical_points(surface, seeds)


def _xy(t: Tensor) -> tuple[Tensor, Tensor]:
    return t[..., 0], t[..., 1]


def rosenbrock(t: Tensor, a: float = 1.0, b: float = 100.0) -> Tensor:
    x, y = _xy(t)
    return (a - x) ** 2 + b * (y - x**2) ** 2


def himmelblau(t: Tensor) -> Tensor:
    x, y = _xy(t)
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def rastrigin(t: Tensor, A: float = 10.0) -> Tensor:
    x, y = _xy(t)
    return 2 * A + x**2 - A * (2 * math.pi * x).cos() + y**2 - A * (2 * math.pi * y).cos()


def ackley(t: Tensor) -> Tensor:
    x, y = _xy(t)
    # The cone term has a cusp at the origin, where autograd would give 0/0; a 1e-300 floor keeps the gradient
    # there at exactly 0 and changes no value by more than 1e-150.
    r = (0.5 * (x**2 + y**2) + 1e-300).sqrt()
    return (-20 * (-0.2 * r).exp() - (0.5 * ((2 * math.pi * x).cos() + (2 * math.pi * y).cos())).exp()
            + math.e + 20)


def beale(t: Tensor) -> Tensor:
    x, y = _xy(t)
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def booth(t: Tensor) -> Tensor:
    x, y = _xy(t)
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def goldstein_price(t: Tensor) -> Tensor:
    x, y = _xy(t)
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


def six_hump_camel(t: Tensor) -> Tensor:
    x, y = _xy(t)
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def styblinski_tang(t: Tensor) -> Tensor:
    x, y = _xy(t)
    return 0.5 * (x**4 - 16 * x**2 + 5 * x + y**4 - 16 * y**2 + 5 * y)


def saddle(t: Tensor) -> Tensor:
    x, y = _xy(t)
    return x**2 - y**2


def quadratic(t: Tensor, kappa: float = 10.0) -> Tensor:
    x, y = _xy(t)
    return 0.5 * (x**2 + kappa * y**2)


def matyas(t: Tensor) -> Tensor:
    x, y = _xy(t)
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


# (x, y, depth, width) of the Gaussian wells: a shallow well on the way, a deeper one beyond, a side well.
WELLS = ((-1.0, 1.0, 0.8, 0.5), (1.8, -1.2, 2.0, 0.9), (-1.5, -2.3, 1.0, 0.6))


def wells(t: Tensor) -> Tensor:
    x, y = _xy(t)
    z = 0.06 * (x**2 + y**2)
    for cx, cy, depth, width in WELLS:
        z = z - depth * (-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2)).exp()
    return z


def _pts(kind: str, *rows: tuple[float, float, float]) -> tuple[Point, ...]:
    return tuple(Point(x, y, v, kind) for x, y, v in rows)


_HIMMELBLAU_MIN = _pts("global", (3.0, 2.0, 0.0), (-2.805118086953, 3.131312518251, 0.0),
                       (-3.779310253378, -3.283185991286, 0.0), (3.584428340330, -1.848126526964, 0.0))
_HIMMELBLAU_SADDLE = _pts("saddle", (0.086677504555, 2.884254701175, 67.7191500875),
                          (3.385154183607, 0.073851879838, 13.3119262704),
                          (-3.073025750764, -0.081353044288, 104.015162918),
                          (-0.127961346731, -1.953714980245, 178.337239202))
_R1, _RV = 0.994958637652, 0.994959057093  # Rastrigin's nearest local minima: coordinate and value per axis
_CAMEL = (0.089842013100, 0.712656403021, -1.03162845349)
_ST_MIN, _ST_LOC, _ST_MID = -2.903534027771, 2.746802770991, 0.156731256780  # 1D critical points of Styblinski–Tang


SURFACES: dict[str, Surface] = {s.name: s for s in (
    Surface("rosenbrock", "Rosenbrock", "(a − x)² + b·(y − x²)²", rosenbrock, ((-2.0, 2.0), (-1.0, 3.0)),
            known_minima=_pts("global", (1.0, 1.0, 0.0)), log_scale=True,
            params=(Spec("a", "float", 1.0, 0.1, 3.0, title="Valley end (a)", doc="the minimum sits at (a, a²)"),
                    Spec("b", "float", 100.0, 1.0, 1000.0, log=True, title="Valley steepness (b)",
                         doc="how steep the valley's walls are"))),
    Surface("himmelblau", "Himmelblau", "(x² + y − 11)² + (x + y² − 7)²", himmelblau, ((-5.0, 5.0), (-5.0, 5.0)),
            known_minima=_HIMMELBLAU_MIN, known_saddles=_HIMMELBLAU_SADDLE, log_scale=True),
    Surface("rastrigin", "Rastrigin", "2A + Σ (xᵢ² − A·cos 2πxᵢ)", rastrigin, ((-5.12, 5.12), (-5.12, 5.12)),
            known_minima=_pts("global", (0.0, 0.0, 0.0)) + _pts(
                "local", (_R1, 0.0, _RV), (-_R1, 0.0, _RV), (0.0, _R1, _RV), (0.0, -_R1, _RV),
                (_R1, _R1, 1.98991811419), (-_R1, -_R1, 1.98991811419)),
            known_saddles=_pts("saddle", (0.502546036555, 0.0, 20.251272991), (0.0, 0.502546036555, 20.251272991)),
            params=(Spec("A", "float", 10.0, 0.0, 50.0, title="Amplitude of the ripples (A)",
                         doc="0 leaves a plain bowl; larger A, deeper local minima"),)),
    Surface("ackley", "Ackley", "−20·exp(−0.2·√(½(x²+y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20", ackley,
            ((-5.0, 5.0), (-5.0, 5.0)),
            known_minima=_pts("global", (0.0, 0.0, 0.0)) + _pts(
                "local", (0.952166545950, 0.0, 2.57992755703), (-0.952166545950, 0.0, 2.57992755703),
                (0.0, 0.952166545950, 2.57992755703), (0.968477658708, 0.968477658708, 3.57445187726))),
    Surface("beale", "Beale", "(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²", beale,
            ((-4.5, 4.5), (-4.5, 4.5)), known_minima=_pts("global", (3.0, 0.5, 0.0)),
            known_saddles=_pts("saddle", (0.0, 1.0, 14.203125)), log_scale=True),
    Surface("booth", "Booth", "(x + 2y − 7)² + (2x + y − 5)²", booth, ((-10.0, 10.0), (-10.0, 10.0)),
            known_minima=_pts("global", (1.0, 3.0, 0.0)), log_scale=True),
    Surface("goldstein_price", "Goldstein–Price",
            "[1 + (x+y+1)²(19 − 14x + 3x² − 14y + 6xy + 3y²)]·[30 + (2x−3y)²(18 − 32x + 12x² + 48y − 36xy + 27y²)]",
            goldstein_price, ((-2.0, 2.0), (-2.0, 2.0)), log_scale=True,
            known_minima=_pts("global", (0.0, -1.0, 3.0)) + _pts("local", (-0.6, -0.4, 30.0), (1.8, 0.2, 84.0),
                                                          (1.2, 0.8, 840.0))),
    Surface("six_hump_camel", "Six-hump camel", "(4 − 2.1x² + x⁴/3)·x² + xy + (−4 + 4y²)·y²", six_hump_camel,
            ((-3.0, 3.0), (-2.0, 2.0)),
            known_minima=_pts("global", (_CAMEL[0], -_CAMEL[1], _CAMEL[2]), (-_CAMEL[0], _CAMEL[1], _CAMEL[2])) + _pts(
                "local", (-1.703606714970, 0.796083568673, -0.215463824384),
                (1.703606714970, -0.796083568673, -0.215463824384),
                (-1.607104752920, -0.568651454884, 2.10425031031), (1.607104752920, 0.568651454884, 2.10425031031)),
            known_saddles=_pts("saddle", (0.0, 0.0, 0.0), (1.296070267167, 0.605084388039, 2.22947081803),
                         (-1.296070267167, -0.605084388039, 2.22947081803),
                         (1.109205336805, -0.768268092510, 0.543718600978),
                         (-1.109205336805, 0.768268092510, 0.543718600978))),
    Surface("styblinski_tang", "Styblinski–Tang", "½ Σ (xᵢ⁴ − 16xᵢ² + 5xᵢ)", styblinski_tang,
            ((-5.0, 5.0), (-5.0, 5.0)),
            known_minima=_pts("global", (_ST_MIN, _ST_MIN, -78.3323314075)) + _pts(
                "local", (_ST_LOC, _ST_MIN, -64.1956123591), (_ST_MIN, _ST_LOC, -64.1956123591),
                (_ST_LOC, _ST_LOC, -50.0588933106)),
            known_saddles=_pts("saddle", (_ST_MID, _ST_MIN, -38.9705533447), (_ST_MIN, _ST_MID, -38.9705533447),
                         (_ST_MID, _ST_LOC, -24.8338342962), (_ST_LOC, _ST_MID, -24.8338342962))),
    Surface("saddle", "Saddle", "x² − y²", saddle, ((-2.0, 2.0), (-2.0, 2.0)),
            known_saddles=_pts("saddle", (0.0, 0.0, 0.0))),
    Surface("quadratic", "Ill-conditioned quadratic", "½(x² + κ·y²)", quadratic, ((-3.0, 3.0), (-3.0, 3.0)),
            known_minima=_pts("global", (0.0, 0.0, 0.0)),
            params=(Spec("kappa", "float", 10.0, 1.0, 1000.0, log=True, title="Condition number (κ)",
                         doc="ratio of the curvatures along y and x"),)),
    Surface("wells", "Wells", "0.06·(x² + y²) − Σ dᵢ·exp(−|p − cᵢ|² / 2wᵢ²)", wells, ((-4.0, 4.0), (-4.0, 4.0)),
            known_minima=_pts("global", (1.716073079488, -1.144049040882, -1.73225336238)) + _pts(
                "local", (-0.962626545892, 0.962850439454, -0.685347856691),
                (-1.434357690371, -2.202246776778, -0.568179194646)),
            known_saddles=_pts("saddle", (-0.087583534778, 0.214423269123, -0.10533748281),
                         (-0.469809982779, -1.510766650610, -0.0245606292567))),
    Surface("matyas", "Matyas", "0.26(x² + y²) − 0.48xy", matyas, ((-10.0, 10.0), (-10.0, 10.0)),
            known_minima=_pts("global", (0.0, 0.0, 0.0))),
)}


def get_surface(name: str, **params: float) -> Surface:
    """The built-in surface called ``name`` with ``params`` applied, or SurfaceError listing the names."""
    try:
        surface = SURFACES[name.strip().lower().replace("-", "_")]
    except KeyError:
        raise SurfaceError(f"Unknown surface {quote(name)} (allowed: {', '.join(SURFACES)})") from None
    return surface.with_params(**params) if params else surface
