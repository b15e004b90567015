"""Noise, seeds, schedules and the penalty in session files: round trips, the same limits and messages."""

from __future__ import annotations

import json

import pytest

from optviz.core.optimizers import OptimizerChoice, choice_from_dict, choice_to_dict, parse_optimizer
from optviz.core.params import ParamError
from optviz.core.regularize import Penalty
from optviz.core.schedules import ScheduleChoice
from optviz.core.session import (OptimizerEntry, Session, SessionError, load_session, save_session,
                                 session_from_dict, session_to_dict)


def test_run_settings_and_penalty_round_trip(tmp_path):
    choices = (OptimizerChoice("sgd", {"lr": 0.1}, noise=0.5, seed=3),
               OptimizerChoice("adam", {"lr": 0.05}, "adam cosine",
                               schedule=ScheduleChoice("cosine", {"eta_min": 0.001}, warmup=20)),
               OptimizerChoice("adamw"))
    session = Session("booth", {}, tuple(OptimizerEntry(c) for c in choices), ((1.0, 2.0),), 200,
                      penalty=Penalty("l1", 20.0))
    path = tmp_path / "s.json"
    save_session(session, path)
    data = json.loads(path.read_text())
    assert data["version"] == 2 and data["penalty"] == {"kind": "l1", "strength": 20.0}
    assert data["optimizers"][0] == {"name": "sgd", "label": "sgd", "values": {"lr": 0.1}, "noise": 0.5, "seed": 3,
                                     "enabled": True}
    assert data["optimizers"][1]["schedule"] == {"name": "cosine", "values": {"eta_min": 0.001}, "warmup": 20}
    assert set(data["optimizers"][2]) == {"name", "label", "values", "enabled"}  # nothing written that is not set
    loaded = load_session(path)
    assert loaded == session
    surface = loaded.make_surface()
    assert surface.minima[0].x == 0.0 and "L1" in surface.title  # the penalty is applied


def test_files_without_the_new_keys_load_as_before():
    session = session_from_dict({"version": 2, "surface": {"name": "himmelblau"},
                                 "optimizers": [{"name": "adam", "values": {"lr": 0.1}}]})
    assert session.penalty == Penalty() and session.optimizers[0].choice.plain
    assert "penalty" not in session_to_dict(session)


@pytest.mark.parametrize("patch,message", [
    ({"noise": -1}, "optimizers[0]: Invalid gradient noise: -1 (allowed: a number in [0, 100])"),
    ({"noise": "loud"}, "optimizers[0]: Invalid gradient noise: 'loud'"),
    ({"seed": 1.5}, "optimizers[0]: Invalid noise seed: 1.5 (allowed: an integer in [0, 2147483647])"),
    ({"schedule": {"name": "cyclic"}}, "optimizers[0]: Unknown schedule 'cyclic' (allowed: none, step, exponential"),
    ({"schedule": {"name": "step", "values": {"gamma": 3}}}, "optimizers[0]: Invalid gamma value: 3"),
    ({"schedule": {"name": "step", "warmup": -2}}, "optimizers[0]: Invalid warm-up steps: -2"),
    ({"schedule": {"name": "step", "every": 2}}, "optimizers[0]: unknown schedule key 'every' (allowed: name, values, "
                                                 "warmup)"),
    ({"volume": 1}, "optimizers[0]: unknown key 'volume' (allowed: name, label, values, noise, seed, schedule)"),
])
def test_bad_run_settings_name_the_problem(patch, message):
    data = {"version": 2, "surface": {"name": "booth"}, "optimizers": [{"name": "sgd", **patch}]}
    with pytest.raises(SessionError) as err:
        session_from_dict(data)
    assert str(err.value).startswith(message), str(err.value)


@pytest.mark.parametrize("penalty,message", [
    ({"kind": "l3"}, "penalty: Invalid penalty: 'l3' (allowed: none, l1, l2)"),
    ({"kind": "l1", "strength": 1e9}, "penalty: Invalid penalty strength: 1e+09 (allowed: a number in [0, 1000])"),
    ({"kind": "l1", "alpha": 1}, "penalty: unknown penalty key 'alpha' (allowed: kind, strength)"),
    ("l1", 'penalty: penalty must be an object like {"kind": "l1", "strength": 0.5}'),
])
def test_bad_penalties_name_the_problem(penalty, message):
    with pytest.raises(SessionError) as err:
        session_from_dict({"version": 2, "surface": {"name": "booth"}, "penalty": penalty})
    assert str(err.value) == message or str(err.value).startswith(message), str(err.value)


def test_the_cli_syntax_takes_noise_and_seed_and_the_dict_form_is_the_one_way():
    choice = parse_optimizer("momentum:lr=0.01,noise=0.3,seed=9")
    assert (choice.noise, choice.seed, choice.values["lr"]) == (0.3, 9, 0.01)
    assert choice_from_dict(choice_to_dict(choice)) == choice
    with pytest.raises(ParamError, match=r"Invalid gradient noise: -0.5 \(allowed: a number in \[0, 100\]\)"):
        parse_optimizer("sgd:noise=-0.5")
