"""`optviz paths` with noise, seeds, schedules and penalties: the same paths as simulate, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optviz.cli import main
from optviz.core.optimizers import OptimizerChoice
from optviz.core.regularize import Penalty, regularize
from optviz.core.schedules import ScheduleChoice
from optviz.core.simulate import simulate
from optviz.core.surfaces import get_surface

BASE = ["paths", "--surface", "booth", "--start", "-4,6", "--steps", "40"]


def _json(tmp_path, capsys, *extra: str) -> dict:
    out = tmp_path / "p.json"
    assert main([*BASE, *extra, "--out", str(out)]) == 0, capsys.readouterr().err
    return json.loads(out.read_text())


def test_flags_give_the_paths_simulate_gives(tmp_path, capsys):
    doc = _json(tmp_path, capsys, "--optimizer", "sgd:lr=0.01", "--optimizer", "adam:lr=0.1,noise=2,seed=5",
                "--noise", "0.5", "--seed", "3", "--schedule", "step:step_size=10,gamma=0.5", "--warmup", "2",
                "--penalty", "l2:0.5")
    schedule = ScheduleChoice("step", {"step_size": 10.0, "gamma": 0.5}, warmup=2)
    choices = [OptimizerChoice("sgd", {"lr": 0.01}, noise=0.5, seed=3, schedule=schedule),
               OptimizerChoice("adam", {"lr": 0.1}, noise=2.0, seed=5, schedule=schedule)]  # its own noise wins
    expected = simulate(regularize(get_surface("booth"), Penalty("l2", 0.5)), choices, [(-4.0, 6.0)], 40)
    for i, path in enumerate(doc["paths"]):
        np.testing.assert_allclose(np.column_stack((path["x"], path["y"])), expected.positions[i, 0], rtol=0,
                                   atol=1e-12)
        assert path["schedule"] == schedule.to_dict()
    assert (doc["paths"][0]["noise"], doc["paths"][1]["seed"]) == (0.5, 5)
    assert doc["penalty"] == {"kind": "l2", "strength": 0.5}


def test_a_session_carries_the_same_settings(tmp_path, capsys):
    session = tmp_path / "s.json"
    session.write_text(json.dumps({
        "version": 2, "surface": {"name": "booth"}, "penalty": {"kind": "l1", "strength": 20},
        "optimizers": [{"name": "momentum", "values": {"lr": 0.01}, "noise": 0.5, "seed": 3,
                        "schedule": {"name": "cosine"}}], "starts": [[-4, 6]], "steps": 40}))
    from_session = _json(tmp_path, capsys, "--session", str(session))
    flags = _json(tmp_path, capsys, "--optimizer", "momentum:lr=0.01,noise=0.5,seed=3", "--schedule", "cosine",
                  "--penalty", "l1:20")
    assert from_session["paths"][0]["x"] == flags["paths"][0]["x"]


@pytest.mark.parametrize("extra,message", [
    (["--noise", "-1"], "Invalid gradient noise: -1 (allowed: a number in [0, 100])"),
    (["--noise", "x"], "Invalid gradient noise: 'x'"),
    (["--seed", "1.5"], "Invalid noise seed: 1.5 (allowed: an integer in [0, 2147483647])"),
    (["--schedule", "cyclic"], "Unknown schedule 'cyclic' (allowed: none, step, exponential, time, cosine)"),
    (["--schedule", "step:gamma=0"], "Invalid gamma value: 0 (allowed: a number in (0, 1])"),
    (["--warmup", "-3"], "Invalid warm-up steps: -3 (allowed: an integer in [0, 100000])"),
    (["--penalty", "l4:1"], "Invalid penalty: 'l4' (allowed: none, l1, l2)"),
    (["--penalty", "l1:-2"], "Invalid penalty strength: -2 (allowed: a number in [0, 1000])"),
    (["--optimizer", "sgd:seed=-1"], "Invalid noise seed: -1"),
])
def test_bad_flags_exit_2_with_one_line(extra, message, capsys):
    args = [*BASE, *extra] + ([] if "--optimizer" in extra else ["--optimizer", "sgd"])
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
