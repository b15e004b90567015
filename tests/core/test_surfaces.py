"""Every listed critical point: gradient ≈ 0, Hessian definite/indefinite as claimed, value as listed."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd.functional import hessian, jacobian

from optviz.core.surfaces import SURFACES, SurfaceError, get_surface

POINTS = [(s.name, p) for s in SURFACES.values() for p in s.minima + s.saddles]


def _grad_hess(surface, p):
    x = torch.tensor([p.x, p.y], dtype=torch.float64)
    return jacobian(surface, x), hessian(surface, x), float(surface(x))


@pytest.mark.parametrize("name,point", POINTS, ids=[f"{n}-{p.kind}-{p.x:.3g},{p.y:.3g}" for n, p in POINTS])
def test_critical_point(name, point):
    surface = SURFACES[name]
    g, h, value = _grad_hess(surface, point)
    scale = max(1.0, float(torch.linalg.matrix_norm(h)))
    assert float(g.norm()) < 1e-7 * scale
    assert value == pytest.approx(point.value, abs=1e-8, rel=1e-9)
    eig = torch.linalg.eigvalsh(h)
    if point.kind == "saddle":
        assert eig[0] < 0 < eig[1]
    else:
        assert eig[0] > 0


def test_at_least_twelve_surfaces_with_a_global_minimum_or_saddle():
    assert len(SURFACES) >= 12
    for s in SURFACES.values():
        assert s.minima or s.saddles, s.name
        if s.minima:
            best = min(m.value for m in s.minima)
            assert all(m.value == pytest.approx(best, abs=1e-9) for m in s.minima if m.kind == "global")
            assert all(m.value > best for m in s.minima if m.kind == "local")


@pytest.mark.parametrize("name,x,y,value", [  # literature values
    ("rosenbrock", 1, 1, 0.0), ("himmelblau", 3, 2, 0.0), ("rastrigin", 0, 0, 0.0), ("ackley", 0, 0, 0.0),
    ("beale", 3, 0.5, 0.0), ("booth", 1, 3, 0.0), ("goldstein_price", 0, -1, 3.0),
    ("six_hump_camel", 0.0898, -0.7126, -1.0316), ("styblinski_tang", -2.903534, -2.903534, -78.33234),
    ("matyas", 0, 0, 0.0),
])
def test_literature_minima(name, x, y, value):
    s = SURFACES[name]
    assert float(s(torch.tensor([x, y], dtype=torch.float64))) == pytest.approx(value, abs=1e-4)
    best = min((m for m in s.minima if m.kind == "global"), key=lambda m: m.value)
    assert best.value == pytest.approx(value, abs=1e-4)


def test_global_minimum_is_lowest_on_a_fine_grid():
    for s in SURFACES.values():
        if not s.minima:
            continue
        _, _, z = s.grid(300)
        assert float(z.min()) >= min(m.value for m in s.minima) - 1e-9, s.name


def test_wells_has_separated_local_minima():
    s = SURFACES["wells"]
    kinds = [m.kind for m in s.minima]
    assert kinds.count("global") == 1 and kinds.count("local") >= 2
    pts = [(m.x, m.y) for m in s.minima]
    assert min(math.dist(a, b) for i, a in enumerate(pts) for b in pts[i + 1:]) > 1.5


def test_quadratic_condition_number_parameter():
    q = get_surface("quadratic", kappa=100)
    h = hessian(q, torch.zeros(2, dtype=torch.float64))
    eig = torch.linalg.eigvalsh(h)
    assert float(eig[1] / eig[0]) == pytest.approx(100.0)


def test_batched_evaluation_matches_pointwise():
    for s in SURFACES.values():
        pts = torch.tensor([[0.3, -0.7], [1.1, 0.4], [-0.5, 0.9]], dtype=torch.float64)
        batched = s(pts.reshape(3, 1, 2)).reshape(3)
        assert torch.equal(batched, torch.stack([s(p) for p in pts]))


@pytest.mark.parametrize("call,message", [
    (lambda: get_surface("nope"), "Unknown surface 'nope'"),
    (lambda: get_surface("quadratic", kappa=0), "Invalid kappa: 0 (allowed: a number in [1, 1000])"),
    (lambda: get_surface("quadratic", size=3), "Unknown parameter 'size' for surface quadratic"),
])
def test_bad_surface_input(call, message):
    with pytest.raises(SurfaceError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        call()


def test_changed_parameters_move_the_listed_points():
    r = get_surface("rosenbrock", a=2.0)
    assert [(m.x, m.y, m.value) for m in r.minima] == [pytest.approx((2.0, 4.0, 0.0))]
    ras = get_surface("rastrigin", A=3.0)
    for p in ras.minima + ras.saddles:
        g, h, value = _grad_hess(ras, p)
        assert float(g.norm()) < 1e-8 and value == pytest.approx(p.value)
    assert len(ras.minima) == len(SURFACES["rastrigin"].minima)
