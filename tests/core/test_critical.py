"""Every minimum and saddle in the view box is listed: an independent search must find nothing that is not.

The independent search looks for cells of a fine grid where both gradient components change sign (a zero of ∇f
can only lie in such a cell), refines each cell's centre with Newton's method written here with torch.func, and
keeps the points that stay in their cell's neighbourhood. It shares no code with optviz.core.critical.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import grad, jacrev, vmap

from optviz.core.surfaces import SURFACES, get_surface

CASES = [(name, {}) for name in SURFACES] + [
    ("rastrigin", {"A": 3.0}), ("rosenbrock", {"a": 0.5, "b": 10.0}), ("quadratic", {"kappa": 100.0})]
N = 301  # grid points per axis


def hessian(f):
    return jacrev(grad(f))  # reverse over reverse (torch.func.hessian's forward mode warns on this torch)


def _independent_search(surface):
    values = surface.param_values()
    f = lambda p: surface.fn(p, **values)  # noqa: E731
    (x0, x1), (y0, y1) = surface.view
    xs = torch.linspace(x0, x1, N, dtype=torch.float64)
    ys = torch.linspace(y0, y1, N, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)  # (y, x, 2)
    g = vmap(grad(f))(grid.reshape(-1, 2)).reshape(N, N, 2)
    corners = torch.stack((g[:-1, :-1], g[1:, :-1], g[:-1, 1:], g[1:, 1:]))  # (4, N-1, N-1, 2)
    changes = ((corners.amin(0) <= 0) & (corners.amax(0) >= 0)).all(-1)
    centres = ((grid[:-1, :-1] + grid[1:, 1:]) / 2)[changes]
    p = centres.clone()
    for _ in range(30):
        step = torch.linalg.lstsq(vmap(hessian(f))(p), vmap(grad(f))(p).unsqueeze(-1)).solution.squeeze(-1)
        p = p - torch.nan_to_num(step, nan=0.0).clamp(-0.1, 0.1)
    cell = max(x1 - x0, y1 - y0) / (N - 1)
    near = torch.linalg.vector_norm(p - centres, dim=-1) < 3 * cell
    inside = (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)
    h = vmap(hessian(f))(p)
    eig = torch.linalg.eigvalsh(h)
    scale = eig.abs().amax(-1).clamp_min(1.0)
    critical = torch.linalg.vector_norm(vmap(grad(f))(p), dim=-1) < 1e-8 * scale
    keep = near & inside & critical & torch.isfinite(eig).all(-1)
    found = []
    for point, e in zip(p[keep].tolist(), eig[keep].tolist()):
        tiny = 1e-6 * max(1.0, abs(e[1]))
        kind = "min" if e[0] > tiny else "saddle" if e[0] < -tiny < tiny < e[1] else "other"
        if kind != "other":
            found.append((point, kind))
    return found


@pytest.mark.parametrize("name,params", CASES, ids=[f"{n}{p or ''}" for n, p in CASES])
def test_nothing_critical_is_missing_and_everything_listed_is_critical(name, params):
    surface = get_surface(name, **params)
    listed = {"min": [(m.x, m.y) for m in surface.minima], "saddle": [(s.x, s.y) for s in surface.saddles]}
    found = _independent_search(surface)
    assert found, "the independent search found nothing: it is broken"
    (x0, x1), (y0, y1) = surface.view
    tol = 1e-6 * max(x1 - x0, y1 - y0)
    missing = [(pt, kind) for pt, kind in found if not any(math.dist(pt, q) < tol for q in listed[kind])]
    assert not missing, f"{len(missing)} critical points not listed, e.g. {missing[:3]}"
    values = surface.param_values()
    for kind, points in listed.items():
        for x, y in points:
            p = torch.tensor([x, y], dtype=torch.float64)
            g = grad(lambda q: surface.fn(q, **values))(p)
            eig = torch.linalg.eigvalsh(hessian(lambda q: surface.fn(q, **values))(p))
            assert float(g.norm()) < 1e-7 * max(1.0, float(eig.abs().max())), (kind, x, y)
            assert (eig[0] > 0) if kind == "min" else (eig[0] < 0 < eig[1]), (kind, x, y)


@pytest.mark.parametrize("name,minima,saddles", [
    ("rastrigin", 121, 220), ("ackley", 121, 220), ("himmelblau", 4, 4), ("six_hump_camel", 6, 7),
    ("goldstein_price", 4, 4), ("beale", 1, 2), ("styblinski_tang", 4, 4), ("saddle", 0, 1)])
def test_counts_and_symmetry(name, minima, saddles):
    s = SURFACES[name]
    assert (len(s.minima), len(s.saddles)) == (minima, saddles)
    if name in ("rastrigin", "ackley"):  # symmetric under x → −x, y → −y and x ↔ y: so is the list
        pts = {(round(m.x, 6), round(m.y, 6)) for m in s.minima + s.saddles}
        for x, y in pts:
            assert {(-x, y), (x, -y), (y, x)} <= {(a + 0.0, b + 0.0) for a, b in pts} | {(-0.0, y)}, (x, y)


def test_literature_points_are_all_found():
    for s in SURFACES.values():
        listed = [(p.x, p.y) for p in s.minima + s.saddles]
        for p in s.known_minima + s.known_saddles:
            assert any(math.dist((p.x, p.y), q) < 1e-8 for q in listed), (s.name, p)


@pytest.mark.parametrize("formula", ["x + y", "0*x", "1", "y**2"])
def test_planes_constants_and_valleys_have_no_isolated_critical_points(formula):
    """A plane has none; a constant or y² has whole lines of them, none a strict minimum or a saddle. The search
    raised torch's "does not require grad" on the first two and took minutes comparing a constant's 1,600 ends."""
    from optviz.core.critical import derivatives
    from optviz.core.custom import formula_surface

    surface = formula_surface(formula)
    points = torch.tensor([[0.5, -1.0], [2.0, 1.5]], dtype=torch.float64)
    values, g, h = derivatives(surface, points)
    expected_g = {"x + y": [1.0, 1.0], "0*x": [0.0, 0.0], "1": [0.0, 0.0], "y**2": None}[formula]
    if expected_g is not None:
        assert g.tolist() == [expected_g, expected_g] and h.abs().max() == 0
    else:
        assert g[:, 1].tolist() == [-2.0, 3.0] and h[0].tolist() == [[0.0, 0.0], [0.0, 2.0]]
    assert surface.minima == () and surface.saddles == ()
