"""Session files: round trip, validation messages, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optviz.core.files import OutputError
from optviz.core.presets import default_session
from optviz.core.session import SessionError, load_session, save_session, session_from_dict, session_to_dict
from optviz.training.config import TrainConfig

DOCS = Path(__file__).parents[2] / "docs"


def test_round_trip(tmp_path):
    s = default_session().with_(starts=((1.0, -2.0), (0.5, 0.25)), steps=1234, surface="quadratic",
                                surface_params={"kappa": 50.0}, training=TrainConfig(model="resnet8", epochs=2))
    path = tmp_path / "s.json"
    save_session(s, path)
    assert load_session(path) == s
    data = json.loads(path.read_text())
    assert data["version"] == 2 and data["optimizers"][0] == {"name": "sgd", "label": "sgd", "enabled": True,
                                                              "values": {"lr": 0.01}}
    assert data["training"]["optimizers"] == [{"name": "adam", "label": "adam", "values": {}}]


def test_default_session_is_the_himmelblau_preset():
    s = default_session()
    assert s.surface == "himmelblau" and len(s.enabled_choices()) == 6


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.update(version=4), "version must be 1, 2 or 3, got 4"),
    (lambda d: d.update(version=True), "version must be 1, 2 or 3, got True"),
    (lambda d: d["surface"].update(paramz={}), "surface: unknown key 'paramz'"),
    (lambda d: d["surface"]["params"].update(kappa=True), "surface: Unknown parameter 'kappa' for surface himmelblau"),
    (lambda d: d["optimizers"][0].update(hyperparams={}), "optimizers[0]: unknown key 'hyperparams'"),
    (lambda d: d["optimizers"][0].update(label="x" * 10_000_000), "optimizers[0]: Invalid label: 'xxxxxxxx"),
    (lambda d: d["optimizers"][1].update(label="sgd"), "optimizers: the label 'sgd' is used twice"),
    (lambda d: d.update(steps=10**400), "steps: Invalid steps: a huge integer"),
    (lambda d: d.update(steps=True), "steps: Invalid steps: True"),
    (lambda d: d.update(starts=[]), "starts must be a list of 1 to 64"),
    (lambda d: d.update(starts=[[0, 0]] * 65), "starts must be a list of 1 to 64"),
    (lambda d: d.update(optimizers=[{"name": "sgd", "label": str(i)} for i in range(65)]),
     "optimizers must be a list of at most 64"),
    (lambda d: d.update(training={"epochs": True}), "training: Invalid epochs: True"),
    (lambda d: d.update(training={"modle": "lenet"}), "training: Unknown training setting 'modle'"),
    (lambda d: d.update(surface={"name": "nope"}), "surface: Unknown surface 'nope'"),
    (lambda d: d.update(surface="booth"), "surface must be an object"),
    (lambda d: d["optimizers"][0].update(values={"lr": -1}), "optimizers[0]: Invalid learning rate: -1"),
    (lambda d: d["optimizers"][1].update(name="lbfgs"), "optimizers[1]: Unknown optimizer 'lbfgs'"),
    (lambda d: d.update(starts=[[0, "a"]]), "starts[0][1]: Invalid coordinate: 'a'"),
    (lambda d: d.update(starts=[[0, 1, 2]]), "starts[0] must be an [x, y] pair"),
    (lambda d: d.update(steps=0), "steps: Invalid steps: 0 (allowed: an integer in [1, 5000])"),
    (lambda d: d.update(steps=2.5), "steps: Invalid steps: 2.5 (allowed: an integer in [1, 5000])"),
    (lambda d: d.update(device="tpu"), "device: Invalid device: 'tpu' (allowed: auto, cpu, cuda)"),
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
    bad.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SessionError, match="nested too deeply"):
        load_session(bad)
    bad.write_text('{"version": 1' + " " * 1_000_001 + "}")
    with pytest.raises(SessionError, match="larger than 1,000,000 bytes"):
        load_session(bad)
    bad.write_text('{"version": 1, "steps": 1' + "0" * 5000 + "}")
    with pytest.raises(SessionError, match="session file"):
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
    with pytest.raises(OutputError, match="s.json': disk full"):
        save_session(default_session(), path)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def test_version_1_files_still_open(tmp_path):
    """The docs' training session and a playground file as version 1 wrote it ("hyper", training "values")."""
    docs = load_session(DOCS / "training-session.json")
    assert [c.label for c in docs.training.optimizers] == ["SGD", "Momentum", "Adam"]
    assert docs.training.optimizers[0].values["lr"] == 0.03 and docs.training.device == "cpu"
    old = {"version": 1, "surface": {"name": "quadratic", "params": {"kappa": 50}},
           "optimizers": [{"name": "sgd", "label": "sgd", "enabled": True, "hyper": {"lr": 0.024}},
                          {"name": "adam", "label": "adam", "enabled": False, "hyper": {}}],
           "starts": [[-2.5, 2.0]], "steps": 400, "device": "auto",
           "training": {"dataset": "shapes", "optimizers": [{"name": "sgd", "values": {
               "lr": 0.1, "weight_decay": 0.0}, "label": "sgd"}], "epochs": 2}}
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(old))
    s = load_session(path)
    assert s.enabled_choices()[0].values["lr"] == 0.024 and not s.optimizers[1].enabled
    assert s.surface_params == {"kappa": 50.0} and s.training.dataset == "shapes" and s.training.epochs == 2
    assert session_from_dict(session_to_dict(s)) == s
