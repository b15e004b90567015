"""Session files: round trip, validation messages, atomic writes."""

from __future__ import annotations

import json

import pytest

from optviz.core.session import (SessionError, default_session, load_session, save_session, session_from_dict,
                                 session_to_dict)


def test_round_trip(tmp_path):
    s = default_session().with_(starts=((1.0, -2.0), (0.5, 0.25)), steps=1234, surface="quadratic",
                                surface_params={"kappa": 50.0}, training={"model": "lenet"})
    path = tmp_path / "s.json"
    save_session(s, path)
    assert load_session(path) == s
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["optimizers"][0] == {"name": "sgd", "label": "sgd", "enabled": True,
                                                              "hyper": {"lr": 0.01}}


def test_default_session_is_the_himmelblau_preset():
    s = default_session()
    assert s.surface == "himmelblau" and len(s.enabled_choices()) == 6


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.update(version=2), "version must be 1, got 2"),
    (lambda d: d.update(surface={"name": "nope"}), "surface: Unknown surface 'nope'"),
    (lambda d: d.update(surface="booth"), "surface must be an object"),
    (lambda d: d["optimizers"][0].update(hyper={"lr": -1}), "optimizers[0]: Invalid learning rate: -1"),
    (lambda d: d["optimizers"][1].update(name="lbfgs"), "optimizers[1]: Unknown optimizer 'lbfgs'"),
    (lambda d: d.update(starts=[[0, "a"]]), "starts[0][1] must be a finite number, got 'a'"),
    (lambda d: d.update(starts=[[0, 1, 2]]), "starts[0] must be an [x, y] pair"),
    (lambda d: d.update(steps=0), "steps must be an integer in [1, 5000], got 0"),
    (lambda d: d.update(steps=2.5), "steps must be an integer in [1, 5000], got 2.5"),
    (lambda d: d.update(device="tpu"), "device must be one of auto, cpu, cuda, got 'tpu'"),
    (lambda d: d.update(colour=1), "unknown key 'colour'"),
])
def test_bad_sessions_name_the_problem(mutate, message):
    d = session_to_dict(default_session())
    mutate(d)
    with pytest.raises(SessionError) as err:
        session_from_dict(d)
    assert str(err.value).startswith(message)


def test_bad_files(tmp_path):
    with pytest.raises(SessionError, match="does not exist"):
        load_session(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1,')
    with pytest.raises(SessionError, match="is not valid JSON"):
        load_session(bad)
    bad.write_text("[]")
    with pytest.raises(SessionError, match="a session must be a JSON object"):
        load_session(bad)


def test_save_never_leaves_a_half_written_file(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    save_session(default_session(), path)
    before = path.read_text()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("json.dumps", lambda *a, **k: "{" * 10)  # a partial payload …
    monkeypatch.setattr("os.replace", boom)  # … that never replaces the file
    with pytest.raises(OSError):
        save_session(default_session(), path)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]
