"""A new optimizer or surface (with a parameter) is one registry entry: the CLI, sessions and simulate take it."""

from __future__ import annotations

import json

import pytest
import torch

from optviz.cli import main
from optviz.core import optimizers, surfaces
from optviz.core.optimizers import OptimizerSpec
from optviz.core.params import Spec
from optviz.core.session import session_from_dict
from optviz.core.simulate import simulate
from optviz.core.surfaces import Point, Surface, get_surface


@pytest.fixture
def toys(monkeypatch):
    asgd = OptimizerSpec("asgd", "ASGD", torch.optim.ASGD,
                         (Spec("lr", "float", 0.01, 0.0, 10.0, log=True, label="learning rate"),
                          Spec("lambd", "float", 1e-4, 0.0, 1.0)), color="#00aaaa")
    monkeypatch.setitem(optimizers.REGISTRY, "asgd", asgd)
    bowl = Surface("tilted_bowl", "Tilted bowl", "x² + y² − c·x", lambda t, c=1.0: t[..., 0] ** 2 + t[..., 1] ** 2
                   - c * t[..., 0], ((-3.0, 3.0), (-3.0, 3.0)), known_minima=(Point(0.5, 0.0, -0.25),),
                   params=(Spec("c", "float", 1.0, -2.0, 2.0, title="Tilt (c)"),))
    monkeypatch.setitem(surfaces.SURFACES, "tilted_bowl", bowl)


def test_a_toy_optimizer_and_surface_run_from_the_command_line(toys, tmp_path, capsys):
    out = tmp_path / "p.json"
    args = ["paths", "--surface", "tilted_bowl:c=2", "--start", "2,2", "--steps", "200",
            "--optimizer", "asgd:lr=0.1,lambd=0", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    path = json.loads(out.read_text())["paths"][0]
    assert path["x"][-1] == pytest.approx(1.0, abs=1e-6) and path["y"][-1] == pytest.approx(0.0, abs=1e-6)
    assert main(["paths", "--surface", "tilted_bowl:c=3", "--start", "0,0", "--optimizer", "asgd"]) == 2
    assert "Invalid c: 3 (allowed: a number in [-2, 2])" in capsys.readouterr().err


def test_a_toy_entry_in_sessions_simulate_and_critical_points(toys):
    session = session_from_dict({"version": 2, "surface": {"name": "tilted_bowl", "params": {"c": -1}},
                                 "optimizers": [{"name": "asgd", "values": {"lr": 0.2, "lambd": 0}}], "starts": [[1, 1]]})
    surface = session.make_surface()
    assert [(m.x, m.y, m.kind) for m in surface.minima] == [(pytest.approx(-0.5), pytest.approx(0.0), "global")]
    paths = simulate(surface, session.enabled_choices(), session.starts, 100)
    assert paths.positions[0, 0, -1] == pytest.approx([-0.5, 0.0], abs=1e-6)
    assert get_surface("tilted_bowl").params[0].title == "Tilt (c)"
