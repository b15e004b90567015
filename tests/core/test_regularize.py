"""L1/L2 penalties as surfaces (closed forms, an exact zero on an axis, the constraint regions), on both engines;
weight decay in the gradient vs decoupled against torch.optim."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import torch_optim_path

from optviz.core import engine, kernel
from optviz.core.optimizers import OptimizerChoice
from optviz.core.params import ParamError
from optviz.core.regularize import (DEMO, Penalty, geometry, parse_penalty, penalty_from_dict, regularize,
                                    weight_decay_pair)
from optviz.core.simulate import simulate
from optviz.core.surfaces import get_surface

ALPHA = DEMO["strength"]
BOOTH_H = np.array([[10.0, 8.0], [8.0, 10.0]])  # Booth is the quadratic (x + 2y − 7)² + (2x + y − 5)², minimum (1, 3)


@pytest.fixture(scope="module", autouse=True)
def _engine_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPTVIZ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "optviz-cache"))
        mp.delenv("OPTVIZ_ENGINE", raising=False)
        yield


def test_l2_minimum_is_the_closed_form_and_only_shrinks():
    booth = get_surface(DEMO["surface"])
    minima = regularize(booth, Penalty("l2", ALPHA)).minima
    assert len(minima) == 1
    # ∇(f + (α/2)‖w‖²) = H(w − w*) + αw = 0  ⇒  w = (H + αI)⁻¹ H w*
    expected = np.linalg.solve(BOOTH_H + ALPHA * np.eye(2), BOOTH_H @ [1.0, 3.0])
    np.testing.assert_allclose([minima[0].x, minima[0].y], expected, rtol=1e-12)
    assert 0.5 < expected[0] and 0.5 < expected[1] and np.linalg.norm(expected) < np.linalg.norm([1.0, 3.0])


def test_l1_minimum_lies_exactly_on_an_axis():
    booth = get_surface(DEMO["surface"])
    surface = regularize(booth, Penalty("l1", ALPHA))
    (m,) = surface.minima
    # On x = 0: d/dy[(2y − 7)² + (y − 5)² + α|y|] = 10y − 38 + α = 0 ⇒ y = (38 − α)/10; across the axis the smooth
    # part's slope is 8y − 34 = −19.6, inside [−α, α]: 0 is in the subdifferential, so x is exactly 0 there.
    assert m.x == 0.0 and m.kind == "global"
    assert m.y == pytest.approx((38 - ALPHA) / 10, abs=1e-12)
    assert abs(8 * m.y - 34) <= ALPHA
    # no point nearby is lower (a kink, not a smooth minimum: a grid check around it)
    xs = np.linspace(-0.05, 0.05, 41)
    grid = torch.tensor([[x, m.y + dy] for x in xs for dy in xs])
    assert float(surface(grid).min()) >= m.value - 1e-12
    # with a weak penalty the minimum stays off the axes (the kink is not strong enough to hold it)
    (weak,) = regularize(booth, Penalty("l1", 2.0)).minima
    assert weak.x != 0.0 and weak.y != 0.0


def test_constraint_regions_pass_through_the_moved_minimum_and_hold_its_best_point():
    booth = get_surface("booth")
    l1 = geometry(booth, Penalty("l1", ALPHA))
    assert (l1.minimum.x, l1.radius) == (0.0, pytest.approx(1.8))
    assert (l1.base_minimum.x, l1.base_minimum.y) == (pytest.approx(1.0), pytest.approx(3.0))
    np.testing.assert_allclose(np.abs(l1.outline).sum(1), 1.8)  # the diamond |x| + |y| = r
    l2 = geometry(booth, Penalty("l2", ALPHA))
    np.testing.assert_allclose(np.hypot(*l2.outline.T), l2.radius, rtol=1e-12)  # the circle
    # Each regularised minimum is the unregularised surface's best point on its region (Lagrange's view).
    for g, ring in ((l1, _diamond(l1.radius)), (l2, l2.radius * _circle())):
        values = booth(torch.tensor(ring)).numpy()
        best = ring[np.argmin(values)]
        assert np.hypot(best[0] - g.minimum.x, best[1] - g.minimum.y) < 1e-3
    assert geometry(booth, Penalty()).outline.shape == (0, 2)


def _circle(n: int = 20000) -> np.ndarray:
    u = np.linspace(0, 2 * np.pi, n)
    return np.column_stack((np.cos(u), np.sin(u)))


def _diamond(r: float, n: int = 20000) -> np.ndarray:
    c = _circle(n)
    return r * c / np.abs(c).sum(1, keepdims=True)


def test_the_critical_point_cache_knows_the_penalty():
    booth = get_surface("booth")
    a, b = regularize(booth, Penalty("l2", 1.0)), regularize(booth, Penalty("l2", 5.0))
    assert a.minima[0].x != b.minima[0].x
    assert regularize(booth, Penalty("l2", 1.0)).minima is a.minima  # cached per α
    assert regularize(booth, Penalty("l1", 1.0)).minima != a.minima  # and per kind
    assert regularize(booth, Penalty("l1", 0.0)) is booth and booth.minima[0].x == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_regularised_paths_on_both_engines_match_torch_optim(kind):
    surface = regularize(get_surface("himmelblau"), Penalty(kind, 3.0))
    choices = [OptimizerChoice("sgd", {"lr": 0.005}), OptimizerChoice("adam", {"lr": 0.05}),
               OptimizerChoice("adamw", {"lr": 0.05})]
    starts = [(0.5, -0.4), (-2.0, 2.5)]
    fast = simulate(surface, choices, starts, 150, engine="fast")
    eager = simulate(surface, choices, starts, 150, engine="eager")
    np.testing.assert_allclose(fast.positions, eager.positions, rtol=0, atol=1e-9)
    for i, choice in enumerate(choices):
        for j, start in enumerate(starts):
            np.testing.assert_allclose(eager.positions[i, j], torch_optim_path(surface, choice, start, 150), rtol=0,
                                       atol=1e-9)
    # a new strength is an argument of the same kernel: nothing is rebuilt
    lib, before = engine.library(surface), kernel.COMPILES[0]
    stronger = regularize(get_surface("himmelblau"), Penalty(kind, 6.0))
    assert engine.library(stronger) is lib
    moved = simulate(stronger, choices, starts, 150, engine="fast")
    assert kernel.COMPILES[0] == before and np.abs(moved.positions - fast.positions).max() > 1e-3


def test_l2_penalty_is_weight_decay_in_the_gradient():
    booth = get_surface("booth")
    penalised = simulate(regularize(booth, Penalty("l2", 0.5)), [OptimizerChoice("sgd", {"lr": 0.01})],
                         [(-4.0, 6.0)], 200, engine="fast")
    decayed = simulate(booth, [OptimizerChoice("sgd", {"lr": 0.01, "weight_decay": 0.5})], [(-4.0, 6.0)], 200,
                       engine="fast")
    np.testing.assert_allclose(penalised.positions, decayed.positions, rtol=0, atol=1e-12)


def _decoupled_loop(surface, name: str, values: dict, wd: float, start, steps: int) -> np.ndarray:
    """torch's decoupled convention by hand: x ← x·(1 − lr·λ), then the optimizer's own step without decay."""
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    choice = OptimizerChoice(name, {**values, "weight_decay": 0.0})
    opt = choice.build([x])
    out = [x.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        surface(x).backward()
        with torch.no_grad():
            x.mul_(1 - values["lr"] * wd)
        opt.step()
        out.append(x.detach().clone())
    return torch.stack(out).numpy()


def test_weight_decay_in_the_gradient_and_decoupled():
    surface, start, wd = get_surface("himmelblau"), (0.5, -3.0), 0.3
    # SGD: g + λx and x·(1 − lr·λ) − lr·g are the same update (torch's factor for decoupled decay is lr·λ)
    sgd = simulate(surface, [OptimizerChoice("sgd", {"lr": 0.01, "weight_decay": wd})], [start], 200, engine="fast")
    np.testing.assert_allclose(sgd.positions[0, 0], _decoupled_loop(surface, "sgd", {"lr": 0.01}, wd, start, 200),
                               rtol=0, atol=1e-12)
    # Adam: they differ, and AdamW is exactly the decoupled loop (the training lab's decoupled_decay + Adam)
    l2, decoupled = weight_decay_pair("adam", {"lr": 0.05}, wd)
    assert (l2.name, decoupled.name, decoupled.label) == ("adam", "adamw", "adamw decoupled")
    paths = simulate(surface, [l2, decoupled], [start], 200, engine="fast")
    np.testing.assert_allclose(paths.positions[1, 0], _decoupled_loop(surface, "adam", {"lr": 0.05}, wd, start, 200),
                               rtol=0, atol=1e-12)
    assert np.abs(paths.positions[0, 0, -1] - paths.positions[1, 0, -1]).max() > 0.05
    with pytest.raises(ParamError, match="Invalid optimizer for a weight-decay pair: sgd"):
        weight_decay_pair("sgd", {}, 0.1)


def test_penalty_text_and_limits():
    assert parse_penalty("l1:0.5") == Penalty("l1", 0.5)
    assert parse_penalty("L2:strength=3") == Penalty("l2", 3.0)
    assert parse_penalty("none") == Penalty()
    assert penalty_from_dict({"kind": "l2", "strength": 2}) == Penalty("l2", 2.0)
    for text, message in [("l3:1", "Invalid penalty: 'l3' (allowed: none, l1, l2)"),
                          ("l1:-1", "Invalid penalty strength: -1 (allowed: a number in [0, 1000])"),
                          ("l1:x", "Invalid penalty strength: 'x'"),
                          ("l1:strength=1,k=2", "Malformed penalty 'l1:strength=1,k=2'")]:
        with pytest.raises(ParamError) as err:
            parse_penalty(text)
        assert str(err.value).startswith(message), str(err.value)
    with pytest.raises(ParamError, match="unknown penalty key 'alpha'"):
        penalty_from_dict({"kind": "l1", "alpha": 1})


def test_l1_and_l2_are_different_pictures_of_the_same_surface():
    booth = get_surface("booth")
    l1, l2 = regularize(booth, Penalty("l1", ALPHA)), regularize(booth, Penalty("l2", ALPHA))
    assert l1.field_key != l2.field_key and l1.key != l2.key  # caches keyed on them tell L1 from L2
    assert l1.identity == l2.identity == booth.identity  # the view keeps its zoom
    assert [p.name for p in l1.params] == [p.name for p in booth.params] + ["l1"]
    assert l1.param_values()["l1"] == ALPHA and "L1" in l1.title and "|x|" in l1.formula


def test_muon_steps_are_normalised_whatever_the_gradient():
    # on a 2D point Muon's Newton–Schulz step only normalises: steps of about 0.7·lr (5 iterations), far from
    # the minimum and near it alike
    muon = OptimizerChoice("muon", {"lr": 0.01, "weight_decay": 0.0, "momentum": 0.0})
    paths = simulate(get_surface("booth"), [muon], [(-8.0, 9.0), (1.2, 2.9)], 20, engine="fast")
    lengths = np.linalg.norm(np.diff(paths.positions[0], axis=1), axis=-1)
    assert (lengths > 0.0068).all() and (lengths < 0.0072).all()
