"""Each preset's lesson, as its description states it, checked on the computed paths."""

from __future__ import annotations

import numpy as np
import pytest

from optviz.core.presets import DEFAULT_PRESET, PRESETS
from optviz.core.presets import default_session
from optviz.core.simulate import simulate


def run(name):
    s = PRESETS[name].session
    paths = simulate(s.make_surface(), s.enabled_choices(), s.starts, s.steps)
    return {c.name: i for i, c in enumerate(s.enabled_choices())}, paths, s.make_surface()


def nearest_minimum(surface, point):
    return min(surface.minima, key=lambda m: np.hypot(m.x - point[0], m.y - point[1]))


def test_app_opens_on_the_default_preset():
    assert default_session() == PRESETS[DEFAULT_PRESET].session and DEFAULT_PRESET == "himmelblau"


def test_himmelblau_six_optimizers_three_minima():
    idx, p, surface = run("himmelblau")
    ends = {n: p.positions[i, 0, -1] for n, i in idx.items()}
    at = {n: nearest_minimum(surface, e) for n, e in ends.items()}
    for n in ("sgd", "adagrad", "adam", "momentum", "nesterov"):
        assert np.hypot(at[n].x - ends[n][0], at[n].y - ends[n][1]) < 1e-3, n
    assert at["sgd"] == at["adagrad"] == at["adam"]
    assert len({at["sgd"], at["nesterov"], at["momentum"]}) == 3
    assert p.status(idx["rmsprop"], 0) == "running" and p.losses[idx["rmsprop"], 0, -1] > 0.1


def test_wells_sgd_local_momentum_global():
    idx, p, surface = run("wells")
    glob = next(m for m in surface.minima if m.kind == "global")
    assert nearest_minimum(surface, p.positions[idx["sgd"], 0, -1]).kind == "local"
    assert nearest_minimum(surface, p.positions[idx["momentum"], 0, -1]) == glob
    assert p.status(idx["sgd"], 0) == "converged"


def test_rosenbrock_sgd_still_far_after_1000_steps():
    idx, p, _ = run("rosenbrock")
    assert np.hypot(*(p.positions[idx["sgd"], 0, -1] - [1, 1])) > 1.0
    assert np.hypot(*(p.positions[idx["adam"], 0, -1] - [1, 1])) < 0.05


def test_quadratic_zigzag_and_nesterov_sooner():
    idx, p, _ = run("quadratic")
    y = p.positions[idx["sgd"], 0, :, 1]
    assert np.all(np.diff(np.sign(y[:100])) != 0)  # zig-zag across the narrow direction
    assert p.status(idx["sgd"], 0) == "running"
    cm, cn = p.converged_step[idx["momentum"], 0], p.converged_step[idx["nesterov"], 0]
    assert 0 < cn < cm and cm - cn >= 50
    faster = PRESETS["quadratic"].session
    entries = tuple(e.__class__(e.choice.__class__(e.choice.name, {**e.choice.values, "lr": 0.03}), e.enabled)
                    for e in faster.optimizers)
    s = faster.with_(optimizers=entries)
    q = simulate(s.make_surface(), s.enabled_choices(), s.starts, s.steps)
    names = [c.name for c in s.enabled_choices()]
    assert q.status(names.index("nesterov"), 0) == "diverged" and q.status(names.index("momentum"), 0) != "diverged"


def test_saddle_escape_times():
    idx, p, _ = run("saddle")
    leave = {n: int(np.argmax(np.abs(p.positions[i, 0, :, 1]) > 1.0)) for n, i in idx.items()}
    assert 60 <= leave["sgd"] <= 80
    assert all(20 <= leave[n] <= 30 for n in ("momentum", "nesterov")), leave
    assert all(0 < leave[n] < 20 for n in ("adagrad", "rmsprop")) and leave["adam"] <= 20, leave


def test_divergence_sgd_diverges_adam_does_not():
    idx, p, _ = run("divergence")
    assert p.status(idx["sgd"], 0) == "diverged" and 0 < p.diverged_step[idx["sgd"], 0] < 10
    assert p.status(idx["adam"], 0) == "running" and np.isfinite(p.losses[idx["adam"], 0]).all()


@pytest.mark.parametrize("name", PRESETS)
def test_presets_are_valid_sessions(name):
    from optviz.core.session import session_from_dict, session_to_dict

    s = PRESETS[name].session
    assert session_from_dict(session_to_dict(s)) == s
