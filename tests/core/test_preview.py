"""The launch preview: numpy paths equal torch.optim's, the picture equals the playground's, and no torch."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from reference import torch_optim_path
from test_simulate import CHOICES, NEW_ON, STARTS, SURFACES

from optviz.core import dual, field, preview
from optviz.core.custom import make_surface
from optviz.core.optimizers import OptimizerChoice
from optviz.core.presets import default_session
from optviz.core.regularize import Penalty, regularize
from optviz.core.schedules import ScheduleChoice
from optviz.core.session import OptimizerEntry
from optviz.core.simulate import simulate
from optviz.core.surfaces import SURFACES as ALL_SURFACES
from optviz.core.surfaces import get_surface

FORMULA = ("softplus(x) + max(y, 0.3)*sigmoid(x*y) + min(x, y)**2 + tanh(x)*log(1 + y**2) + abs(x - 1)*sqrt(x**2 + 1)"
           " + 2**x + tan(0.1*y) + exp(-x**2)*sin(3*y) + cos(x)")


def _surfaces():
    out = list(ALL_SURFACES.values())
    out.append(make_surface("custom", {}, formula=FORMULA, view=(-2, 2, -2, 2)))
    out.append(regularize(get_surface("rosenbrock"), Penalty("l1", 0.5)))
    out.append(regularize(get_surface("himmelblau"), Penalty("l2", 0.5)))
    out.append(get_surface("rastrigin", A=3.0))
    return out


@pytest.mark.parametrize("surface", _surfaces(), ids=lambda s: s.title)
def test_numpy_values_and_gradients_equal_autograds(surface):
    (x0, x1), (y0, y1) = surface.view
    rng = np.random.default_rng(0)
    points = np.stack([rng.uniform(x0, x1, 300), rng.uniform(y0, y1, 300)], axis=-1)
    values, grads = dual.value_and_grad(surface, points)
    t = torch.tensor(points, requires_grad=True)
    v = surface(t)
    (g,) = torch.autograd.grad(v.sum(), t)
    scale = max(1.0, float(np.abs(values).max()))
    np.testing.assert_allclose(values, v.detach().numpy(), rtol=0, atol=1e-14 * scale)
    np.testing.assert_allclose(grads, g.numpy(), rtol=0, atol=1e-14 * max(1.0, float(np.abs(grads).max())))
    np.testing.assert_array_equal(dual.values(surface, points), values)


@pytest.mark.parametrize("name", SURFACES)
def test_preview_paths_equal_torch_optims(name):
    surface = get_surface(name)
    choices = [c for c in CHOICES if name in NEW_ON or c.name in
               ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")]
    positions, converged, diverged = preview.run(surface, choices, np.array(STARTS), 150)
    for i, choice in enumerate(choices):
        # Centered RMSProp divides by √(s − c²), a difference of nearly equal numbers once the gradient settles:
        # it amplifies the gradients' rounding (forward mode here, reverse mode in torch; ~1e-16) to 1.5e-6 on
        # the six-hump camel. Every other rule stays within 1e-9 (most within 1e-12).
        tol = 1e-5 if choice.values.get("centered") else 1e-9
        for j, start in enumerate(STARTS):
            ref = torch_optim_path(surface, choice, start, 150)
            np.testing.assert_allclose(positions[i, j], ref, rtol=0, atol=tol, err_msg=choice.label)
    paths = simulate(surface, choices, STARTS, 150, engine="eager")
    np.testing.assert_array_equal(converged, paths.converged_step)
    np.testing.assert_array_equal(diverged, paths.diverged_step)


def test_a_diverging_path_is_cut_where_simulate_cuts_it():
    surface = get_surface("rosenbrock")
    choices = [OptimizerChoice("sgd", {"lr": 0.01}), OptimizerChoice("adam", {"lr": 0.01})]
    positions, _, diverged = preview.run(surface, choices, np.array([(-1.5, 2.5)]), 100)
    paths = simulate(surface, choices, [(-1.5, 2.5)], 100, engine="eager")
    assert diverged[0, 0] == paths.diverged_step[0, 0] > 0 and diverged[1, 0] == -1
    d = diverged[0, 0]
    assert np.isnan(positions[0, 0, d + 1:]).all() and np.isfinite(positions[0, 0, :d + 1]).all()


def test_the_preview_shows_the_playgrounds_picture_and_its_clipped_paths():
    session = default_session()
    p = preview.compute(session)
    real = field.sample(session.make_surface())
    assert p.field.scale == real.scale
    assert [t[1] for t in p.field.ticks] == [t[1] for t in real.ticks]
    np.testing.assert_allclose(p.field.colour, real.colour, rtol=0, atol=1e-12)
    assert p.entries == tuple(range(6)) and len(p.clipped) == 6 and p.note == ""
    (x0, x1), (y0, y1) = session.make_surface().view
    for row in p.clipped:
        (path,) = row
        pts = path.points[np.isfinite(path.points).all(-1)]
        assert len(pts) > 100
        assert ((pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)).all()
        np.testing.assert_array_equal(pts[0], session.starts[0])


def test_what_needs_torch_is_named_and_not_previewed():
    session = default_session()
    noisy = OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.01}, noise=0.5))
    decayed = OptimizerEntry(OptimizerChoice("adam", {"lr": 0.1}, schedule=ScheduleChoice("cosine")))
    p = preview.compute(session.with_(optimizers=(noisy, decayed)))
    assert p.clipped == () and p.entries == ()
    assert p.note == "Paths come once PyTorch has loaded (a learning-rate schedule, gradient noise need it)"
    assert p.field.colour.shape == (field.GRID, field.GRID)
