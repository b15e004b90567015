"""Hostile input, generated: every session object and every command line ends in a result or one clean line."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optviz.cli import main
from optviz.core.params import ParamError
from optviz.core.presets import PRESETS
from optviz.core.session import Session, session_from_dict, session_to_dict
from optviz.training.config import TrainConfig

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**500, max_value=10**500),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=80),
                    st.sampled_from(["auto", "cuda", "adam", "sgd", "lenet", "rosenbrock", "1e-3", "x" * 5000]))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                     st.dictionaries(st.text(max_size=12), inner, max_size=5)),
                    max_leaves=20)
KEYS = ["version", "surface", "optimizers", "starts", "steps", "device", "training"]
TRAIN_KEYS = list(TrainConfig().to_dict())
BASE = session_to_dict(PRESETS["quadratic"].session.with_(training=TrainConfig()))


def _paths(d):
    """Every (container, key) inside a session dict, to aim a mutation at."""
    out = []
    stack = [d]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            out.append((node, k))
            stack.append(v)
    return out


def _clean(exc: Exception) -> None:
    text = str(exc)
    assert "\n" not in text and 0 < len(text) < 600, text[:300]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_sessions_load_or_fail_in_one_line(data):
    d = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(1, 3))):
        targets = _paths(d)
        node, key = data.draw(st.sampled_from(targets))
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            node[key] = data.draw(JSON)
        elif action == "delete" and isinstance(node, dict):
            del node[key]
        elif isinstance(node, dict):
            node[data.draw(st.sampled_from(KEYS + TRAIN_KEYS + ["paramz", "hyper", "values"]))] = data.draw(JSON)
    try:
        session = session_from_dict(d)
    except ParamError as exc:
        _clean(exc)
    else:
        assert isinstance(session, Session)
        assert session_from_dict(json.loads(json.dumps(session_to_dict(session)))) == session


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_arbitrary_json_never_raises_anything_else(value):
    try:
        session_from_dict(value)
    except ParamError as exc:
        _clean(exc)
    try:
        TrainConfig.from_dict(value)
    except ParamError as exc:
        _clean(exc)


VALUES = st.one_of(st.sampled_from(["", "-1", "0", "1", "3", "1e400", "nan", "-inf", "1,2", "0,0", "-1.5,2",
                                    "a,b", "1" * 500, "adam", "adam:lr=0.1", "adam:lr=0.1,lr=0.2", "sgd:lr",
                                    "momentum:nesterov=1", "booth", "quadratic:kappa=0", "quadratic:kappa=true",
                                    "rastrigin:A=3", "cuda", "cpu", "tpu", "x.csv", "/nonexistent/x.csv"]),
                   st.text(max_size=30))
FLAGS = ["--surface", "--start", "--steps", "--optimizer", "--device", "--session", "--out", "--bogus"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(FLAGS), VALUES), max_size=6))
def test_paths_command_lines_end_in_a_status_and_at_most_one_line(capsys, args):
    argv = ["paths"]
    for flag, value in args:
        if flag == "--steps" and value.strip().isascii() and value.strip().isdigit() and int(value) > 50:
            value = "50"  # valid but long runs only cost time
        argv += [flag, value]
    try:
        status = main(argv)
    except SystemExit as exc:  # --help style exits
        status = exc.code
    out, err = capsys.readouterr()
    assert status in (0, 1, 2)
    if status:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("optviz: error: ") and len(lines[0]) < 700, err[:500]
    assert "Traceback" not in err


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"version": 1, "steps": 1' + "0" * 10_000 + "}"])
def test_pathological_files(tmp_path, capsys, text):
    path = tmp_path / "s.json"
    path.write_text(text)
    assert main(["paths", "--session", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "session file" in err[0]


def test_a_huge_unknown_name_is_quoted_short_everywhere(capsys):
    # hypothesis found it: a 5,000-character surface name was echoed whole in the session error
    from optviz.core.optimizers import OptimizerChoice
    from optviz.core.schedules import ScheduleChoice, parse_schedule
    from optviz.core.simulate import choose_device
    from optviz.core.surfaces import get_surface

    huge = "x" * 5000
    for make in (lambda: get_surface(huge), lambda: OptimizerChoice(huge), lambda: parse_schedule(huge),
                 lambda: ScheduleChoice(huge), lambda: choose_device(huge, 1),
                 lambda: session_from_dict({**session_to_dict(Session()), "surface": {"name": huge}})):
        with pytest.raises(ValueError) as err:
            make()
        _clean(err.value)
        assert "xxxx…" in str(err.value)
    for argv in (["paths", "--surface", huge, "--optimizer", "adam"], ["paths", "--optimizer", huge],
                 ["paths", "--optimizer", "adam", "--start", huge]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(err) < 600 and err.count("\n") == 1, err[:200]
