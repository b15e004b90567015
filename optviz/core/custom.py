"""Surfaces made by the user: a typed formula f(x, y) over a view box, and the wells surface with edited wells.

Both are plain :class:`~optviz.core.surfaces.Surface` objects, so everything that takes a surface (simulate, the
fast engine, critical points, basins, sweeps, the playground) takes them. Their caches are keyed so that a new
formula or view box is a new surface, and an edited well is a new parameter value of one function:

* a formula surface's function is its :class:`~optviz.core.formula.Formula` (equal for equal text), so the fast
  engine builds one kernel per formula (kept on disk under the formula's canonical text), and its critical
  points are cached per formula and view box (:attr:`Surface.ident`);
* the edited wells are the parameters ``x1, y1, depth1, width1, x2, …`` of one function, so moving or deepening
  a well needs no new kernel (one per number of wells).
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
from optviz.core.lazy import torch

from optviz.core import dual
from optviz.core.formula import Formula, FormulaError, parse_formula
from optviz.core.params import ParamError, Spec, quote
from optviz.core.surfaces import SURFACES, Surface, get_surface

CUSTOM = "custom"  # the surface name of a formula
DEFAULT_FORMULA = "sin(3*x)*cos(3*y) + 0.1*(x**2 + y**2)"
DEFAULT_VIEW = (-3.0, 3.0, -3.0, 3.0)
VIEW_COORDINATE = Spec("view coordinate", "float", 0.0, -1e6, 1e6)
MIN_VIEW_SIZE = 1e-6
CHECK_GRID = 101  # samples per axis of the finiteness check (odd: the view's centre is one of them)

MAX_WELLS = 12
BOWL = 0.06  # the wells surface's bowl: BOWL·(x² + y²)
WELL_X = Spec("x", "float", 0.0, -8.0, 8.0, title="x", doc="centre of the well")
WELL_Y = Spec("y", "float", 0.0, -8.0, 8.0, title="y", doc="centre of the well")
WELL_DEPTH = Spec("depth", "float", 1.0, -5.0, 5.0, title="Depth", doc="depth of the well (negative: a hill)")
WELL_WIDTH = Spec("width", "float", 0.5, 0.1, 3.0, title="Width", doc="standard deviation of the Gaussian")
Well = tuple[float, float, float, float]  # x, y, depth, width


class FormulaSurfaceError(FormulaError):
    """A formula that parses but cannot be a surface on its view box (not finite there)."""


# ---- view boxes ------------------------------------------------------------------------------------------------

def check_view(values: object) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) from any sequence of four numbers, or ParamError saying what is allowed."""
    allowed = "four numbers xmin, xmax, ymin, ymax with xmin < xmax and ymin < ymax, each in [-1e+06, 1e+06]"
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) or len(values) != 4:
        raise ParamError(f"Invalid view box: {quote(values)} (allowed: {allowed})")
    try:
        box = tuple(VIEW_COORDINATE.validate(v) for v in values)
    except ParamError:
        raise ParamError(f"Invalid view box: {quote(list(values))} (allowed: {allowed})") from None
    x0, x1, y0, y1 = box
    if not (x1 - x0 >= MIN_VIEW_SIZE and y1 - y0 >= MIN_VIEW_SIZE):
        raise ParamError(f"Invalid view box: {quote(list(values))} (allowed: {allowed}, at least "
                         f"{MIN_VIEW_SIZE:g} wide)")
    return box


def parse_view(text: str) -> tuple[float, float, float, float]:
    """``"XMIN,XMAX,YMIN,YMAX"`` (the command line's --view) → a checked view box."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ParamError(f"Malformed view box {quote(text)} (expected XMIN,XMAX,YMIN,YMAX, e.g. -3,3,-2,2)") from None
    return check_view(numbers)


# ---- formula surfaces ------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def _parse(text: str) -> Formula:
    return parse_formula(text)


def formula_surface(text: str, view: Sequence[float] | None = None) -> Surface:
    """The surface f(x, y) = ``text`` over ``view`` (xmin, xmax, ymin, ymax; default DEFAULT_VIEW).

    FormulaError for a formula that is refused, or that is not finite somewhere on the view box (the message
    says where); ParamError for a bad view box.
    """
    formula = _parse(text.strip() if isinstance(text, str) else text)
    box = DEFAULT_VIEW if view is None else check_view(list(view))
    return _formula_surface(formula, box)


@functools.lru_cache(maxsize=64)
def _formula_surface(formula: Formula, box: tuple[float, float, float, float]) -> Surface:
    x0, x1, y0, y1 = box
    log_scale = _check_finite(formula, box)
    return Surface(CUSTOM, "Custom", formula.text, formula, ((x0, x1), (y0, y1)), log_scale=log_scale,
                   ident=(formula.canonical, box))


def _check_finite(formula: Formula, box: tuple[float, float, float, float]) -> bool:
    """FormulaSurfaceError naming the first point of a grid over ``box`` where f is not finite; else whether
    f's values span decades from 0 up (then colours go on a log scale, as on the built-in surfaces)."""
    x0, x1, y0, y1 = box
    xs, ys = np.linspace(x0, x1, CHECK_GRID), np.linspace(y0, y1, CHECK_GRID)
    with np.errstate(all="ignore"):  # numpy, not torch: a remembered formula surface opens before torch loads
        values = dual.values(formula, np.stack(np.meshgrid(xs, ys), axis=-1))
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        what = "NaN" if np.isnan(values[i, j]) else "infinite"
        raise FormulaSurfaceError(
            f"f is {what} at (x, y) = ({float(xs[j]):.4g}, {float(ys[i]):.4g}) in the view box (a log or sqrt of "
            f"a negative number, a division by zero or an overflow): change the formula or the view box")
    low, high = float(values.min()), float(values.max())
    return low >= 0 and high > 1e3 * max(float(np.median(values)), 1e-300)


# ---- the wells surface with edited wells -----------------------------------------------------------------------

def edited_wells(t: torch.Tensor, **params: float) -> torch.Tensor:
    """BOWL·(x² + y²) − Σᵢ depthᵢ·exp(−((x − xᵢ)² + (y − yᵢ)²) / (2·widthᵢ²)) for the wells in ``params``."""
    x, y = t[..., 0], t[..., 1]
    z = BOWL * (x**2 + y**2)
    for i in range(1, len(params) // 4 + 1):
        cx, cy, depth, width = (params[f"{k}{i}"] for k in ("x", "y", "depth", "width"))
        z = z - depth * (-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2)).exp()
    return z


def well_specs(count: int) -> tuple[Spec, ...]:
    """The parameters of ``count`` wells: x1, y1, depth1, width1, x2, …"""
    return tuple(Spec(f"{s.name}{i}", "float", s.default, s.low, s.high, title=f"Well {i}: {s.title}", doc=s.doc)
                 for i in range(1, count + 1) for s in (WELL_X, WELL_Y, WELL_DEPTH, WELL_WIDTH))


def builtin_wells() -> tuple[Well, ...]:
    from optviz.core.surfaces import WELLS

    return tuple((float(x), float(y), float(d), float(w)) for x, y, d, w in WELLS)


def check_wells(wells: object) -> tuple[Well, ...]:
    """The wells as a tuple of (x, y, depth, width), each checked; ParamError naming the bad one."""
    if isinstance(wells, (str, bytes)) or not isinstance(wells, (list, tuple)) or len(wells) > MAX_WELLS:
        raise ParamError(f"Invalid wells: {quote(wells)} (allowed: a list of at most {MAX_WELLS} [x, y, depth, "
                         "width] lists)")
    out = []
    for i, well in enumerate(wells):
        if isinstance(well, (str, bytes)) or not isinstance(well, (list, tuple)) or len(well) != 4:
            raise ParamError(f"Invalid well {i + 1}: {quote(well)} (allowed: [x, y, depth, width])")
        out.append(tuple(float(spec.validate(v)) for spec, v in zip((WELL_X, WELL_Y, WELL_DEPTH, WELL_WIDTH), well)))
    return tuple(out)  # type: ignore[return-value]


def wells_surface(wells: Sequence[Sequence[float]]) -> Surface:
    """The wells surface with these wells (a blank bowl for none)."""
    checked = check_wells(list(wells))
    base = SURFACES["wells"]
    values = {f"{k}{i}": v for i, well in enumerate(checked, 1) for k, v in zip(("x", "y", "depth", "width"), well)}
    title = "Wells (edited)" if checked else "Wells (blank bowl)"
    formula = f"{BOWL:g}·(x² + y²) − Σ dᵢ·exp(−|p − cᵢ|² / 2wᵢ²) over {len(checked)} well" + \
        ("" if len(checked) == 1 else "s")
    return Surface("wells", title, formula, edited_wells, base.view, params=well_specs(len(checked)), values=values)


def wells_of(surface: Surface) -> tuple[Well, ...]:
    """The wells of a wells surface, built-in or edited."""
    if surface.fn is edited_wells:
        v = surface.param_values()
        return tuple((v[f"x{i}"], v[f"y{i}"], v[f"depth{i}"], v[f"width{i}"]) for i in range(1, len(v) // 4 + 1))
    return builtin_wells()


# ---- one door for sessions and commands ------------------------------------------------------------------------

def make_surface(name: str, params: dict | None = None, *, formula: str = "", view: Sequence[float] | None = None,
                 wells: Sequence[Sequence[float]] | None = None) -> Surface:
    """A built-in surface (with parameters), a formula surface (``formula`` given), or the wells surface with
    edited ``wells``."""
    if formula:
        return formula_surface(formula, view)
    if wells is not None:
        return _wells_surface(tuple(tuple(float(v) for v in w) if isinstance(w, (list, tuple)) else w
                                    for w in wells) if isinstance(wells, (list, tuple)) else wells)
    return get_surface(name, **(params or {}))


@functools.lru_cache(maxsize=64)
def _wells_surface(wells) -> Surface:  # views ask for the session's surface often: one object per wells tuple
    return wells_surface(wells)
