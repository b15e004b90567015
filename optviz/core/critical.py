"""Every minimum and saddle point of a surface inside its view box, found numerically.

1. Start Newton's method on ∇f = 0 from a grid over the (slightly enlarged) view box and from the literature's
   points, all at once in float64 (``torch.func``: the gradient and Hessian of every start in one batch).
2. Keep the starts that converged (‖∇f‖ tiny against the Hessian's scale) inside the view box.
3. Merge duplicates, classify by the Hessian's eigenvalues (both > 0: minimum; opposite signs: saddle; maxima and
   degenerate points are not listed), and name the lowest minima "global".

Newton's method converges to critical points of every kind, each from a basin around it; the grid is fine enough
that every basin on the built-in surfaces holds several starts (tests/core/test_critical.py checks the result
against an independent search). About 0.1–0.5 s per surface on a laptop CPU: the views ask for it off the GUI
thread, and the result is cached per surface and parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import torch

if TYPE_CHECKING:
    from optviz.core.surfaces import Point, Surface

GRID = 120  # starts per axis
ITERATIONS = 60
MAX_STEP = 0.05  # of the view box's larger side: a Newton step never jumps across several basins


def derivatives(surface: Surface, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(values (n,), gradients (n, 2), Hessians (n, 2, 2)) at every row of ``points``, in one batch.

    Each row's value depends on that row alone, so the gradient of the sum is every row's own gradient (and the
    same for each gradient component, giving the Hessian's rows).
    """
    p = points.detach().requires_grad_(True)
    with torch.enable_grad():
        values = surface(p)
        g = _grad(values.sum(), p, create_graph=True)  # a plane's gradient is constant, a constant's is 0:
        hx = _grad(g[:, 0].sum(), p, retain_graph=True)  # neither has a graph to differentiate
        hy = _grad(g[:, 1].sum(), p)
    return values.detach(), g.detach(), torch.stack((hx, hy), dim=1)


def _grad(output: torch.Tensor, inputs: torch.Tensor, **kwargs) -> torch.Tensor:
    """d output / d inputs; zeros where ``output`` does not depend on ``inputs`` (x + y's Hessian, 1's gradient)."""
    if not output.requires_grad:
        return torch.zeros_like(inputs)
    (out,) = torch.autograd.grad(output, inputs, allow_unused=True, materialize_grads=True, **kwargs)
    return out


def _starts(surface: Surface, extra: Sequence[tuple[float, float]]) -> torch.Tensor:
    (x0, x1), (y0, y1) = surface.view
    pad_x, pad_y = 0.02 * (x1 - x0), 0.02 * (y1 - y0)
    xs = torch.linspace(x0 - pad_x, x1 + pad_x, GRID, dtype=torch.float64)
    ys = torch.linspace(y0 - pad_y, y1 + pad_y, GRID, dtype=torch.float64)
    # A quarter-cell offset keeps starts off symmetry lines, where Newton's method can stall on a ridge.
    xs, ys = xs + 0.27 * (xs[1] - xs[0]), ys + 0.31 * (ys[1] - ys[0])
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2)
    known = torch.tensor(list(extra), dtype=torch.float64).reshape(-1, 2)
    return torch.cat((known, grid))


def newton(surface: Surface, starts: torch.Tensor, iterations: int = ITERATIONS) -> torch.Tensor:
    """Damped Newton iterations on ∇f = 0 from every row of ``starts`` (n, 2); returns the end points."""
    (x0, x1), (y0, y1) = surface.view
    limit = MAX_STEP * max(x1 - x0, y1 - y0)
    p = starts.clone()
    for _ in range(iterations):
        _, g, h = derivatives(surface, p)
        # 2×2 solve in closed form (singular or non-finite Hessians give no step)
        det = h[:, 0, 0] * h[:, 1, 1] - h[:, 0, 1] * h[:, 1, 0]
        sx = (h[:, 1, 1] * g[:, 0] - h[:, 0, 1] * g[:, 1]) / det
        sy = (h[:, 0, 0] * g[:, 1] - h[:, 1, 0] * g[:, 0]) / det
        step = torch.nan_to_num(torch.stack((sx, sy), dim=-1), nan=0.0, posinf=0.0, neginf=0.0)
        norm = torch.linalg.vector_norm(step, dim=-1, keepdim=True)
        p = p - step * torch.clamp(limit / norm.clamp_min(1e-300), max=1.0)
        if float(norm.max()) < 1e-14 * limit:
            break
    return p


def classify(surface: Surface, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(is critical, Hessian eigenvalues (n, 2) ascending, values) for every row of ``points``."""
    values, g, h = derivatives(surface, points)
    eig = torch.linalg.eigvalsh(0.5 * (h + h.transpose(1, 2)))
    scale = eig.abs().amax(dim=-1).clamp_min(1.0)
    ok = torch.isfinite(points).all(-1) & torch.isfinite(eig).all(-1)
    ok &= torch.linalg.vector_norm(g, dim=-1) < 1e-9 * scale
    return ok, eig, values


def _tiny(eig: torch.Tensor) -> torch.Tensor:
    """Eigenvalues at or below this count as 0 (a flat direction)."""
    return 1e-9 * eig.abs().amax(dim=-1).clamp_min(1.0)


def _inside(surface: Surface, p: torch.Tensor) -> torch.Tensor:
    (x0, x1), (y0, y1) = surface.view
    return (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)


def _unique(points: torch.Tensor, tol: float) -> torch.Tensor:
    """One row per cluster of rows closer than ``tol`` (deterministic: sorted, first of each cluster kept)."""
    cells = torch.unique(torch.round(points / tol), dim=0) * tol  # rows agreeing to ~1e-12 share a cell
    kept: list[torch.Tensor] = []
    for row in cells:  # cells of one point that straddle a cell edge are neighbours: merge them
        if not kept or torch.linalg.vector_norm(torch.stack(kept) - row, dim=-1).min() > 2 * tol:
            kept.append(row)
    return torch.stack(kept) if kept else points[:0]


def find_critical_points(surface: Surface, seeds: Sequence[tuple[float, float]] = ()
                         ) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """(minima, saddles) of ``surface`` inside its view box, sorted by value then position. A surface function
    may bring its own search as ``fn.find_critical_points(surface, seeds)`` (a regularised surface does: L1's
    minima on the axes need more than Newton's method; see :mod:`optviz.core.regularize`)."""
    own = getattr(surface.fn, "find_critical_points", None)
    return own(surface, seeds) if own is not None else search(surface, seeds)


def search(surface: Surface, seeds: Sequence[tuple[float, float]] = ()
           ) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """Newton's search of the module docstring: (minima, saddles) inside the view box."""
    from optviz.core.surfaces import Point

    ends = newton(surface, _starts(surface, seeds))
    ok, eig, _ = classify(surface, ends)
    from_seed = torch.arange(len(ends)) < len(seeds)  # the literature's points count wherever they moved
    # A flat direction (eigenvalue 0) makes neither a minimum nor a saddle below, only a line or plane of critical
    # points (y², a constant): dropped here, where a constant's thousands of ends would each have to be compared.
    ends = ends[ok & (_inside(surface, ends) | from_seed) & (eig[:, 0].abs() > _tiny(eig))]
    if len(ends) == 0:
        return (), ()
    (x0, x1), (y0, y1) = surface.view
    points = newton(surface, _unique(ends, 1e-7 * max(x1 - x0, y1 - y0)), iterations=3)  # polish the rounded rows
    ok, eig, values = classify(surface, points)
    tiny = _tiny(eig)
    is_min = ok & (eig[:, 0] > tiny)
    is_saddle = ok & (eig[:, 0] < -tiny) & (eig[:, 1] > tiny)
    best = float(values[is_min].min()) if bool(is_min.any()) else 0.0
    atol = 1e-9 * max(1.0, abs(best))

    def points_of(mask: torch.Tensor, kind_of) -> tuple[Point, ...]:
        rows = sorted((float(values[i]), float(points[i, 0]), float(points[i, 1])) for i in torch.nonzero(mask)[:, 0])
        return tuple(Point(x, y, v, kind_of(v)) for v, x, y in rows)

    return (points_of(is_min, lambda v: "global" if v <= best + atol else "local"),
            points_of(is_saddle, lambda v: "saddle"))
