"""The map views' settings in session files ("maps", version 3): round trips, old files, one-line errors."""

from __future__ import annotations

import json

import pytest

from optviz.core.basins import RESOLUTION as BASINS_RESOLUTION
from optviz.core.optimizers import REGISTRY
from optviz.core.presets import default_session
from optviz.core.session import (BASINS_RESOLUTIONS, MAX_LR, STABILITY_CELLS, STABILITY_Y, MapSettings, Session,
                                 SessionError, load_session, save_session, session_from_dict, session_to_dict)
from optviz.core.sweep import RESOLUTION as SWEEP_RESOLUTION

CUSTOM = MapSettings(basins_resolution=64, stability_y="beta2", stability_cells=16, stability_lr=(0.01, 0.1))


def test_defaults_are_the_engines_defaults():
    maps = MapSettings()
    assert maps.basins_resolution == BASINS_RESOLUTION.default and maps.stability_cells == SWEEP_RESOLUTION.default
    assert maps.stability_lr == (1e-5, 1.0) and maps.stability_y == "auto"
    assert MAX_LR == max(spec.hyper("lr").high for spec in REGISTRY.values())
    assert all(BASINS_RESOLUTION.low <= n <= BASINS_RESOLUTION.high for n in BASINS_RESOLUTIONS)
    assert all(SWEEP_RESOLUTION.low <= n <= SWEEP_RESOLUTION.high for n in STABILITY_CELLS)


def test_maps_round_trip_through_the_dict_as_version_3():
    session = default_session().with_(maps=CUSTOM)
    data = session_to_dict(session)
    assert data["version"] == 3
    assert data["maps"] == {"basins_resolution": 64, "stability_y": "beta2", "stability_cells": 16,
                            "stability_lr": [0.01, 0.1]}
    back = session_from_dict(json.loads(json.dumps(data)))
    assert back.maps == CUSTOM and back == session


def test_maps_round_trip_through_a_file(tmp_path):
    session = default_session().with_(maps=MapSettings(stability_y="strip", stability_lr=(1e-7, 3.0)))
    path = tmp_path / "s.json"
    save_session(session, path)  # what File → Save session writes
    assert json.loads(path.read_text())["version"] == 3
    back = load_session(path)
    assert back.maps.stability_lr == (1e-7, 3.0) and back.maps.stability_y == "strip"
    assert back.maps.basins_resolution == 128 and back.maps.stability_cells == 64


def test_default_maps_are_not_written_and_the_file_stays_version_2():
    data = session_to_dict(default_session())
    assert "maps" not in data and data["version"] == 2  # the apps before version 3 still open it
    assert session_from_dict(data).maps == MapSettings()


@pytest.mark.parametrize("data", [
    {"version": 1, "surface": {"name": "quadratic", "params": {"kappa": 50}},
     "optimizers": [{"name": "sgd", "hyper": {"lr": 0.01}}]},
    {"version": 2, "surface": {"name": "booth"}, "optimizers": [{"name": "adam", "values": {"lr": 0.1}}],
     "steps": 200},
])
def test_old_files_open_with_the_default_maps(tmp_path, data):
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    session = load_session(path)
    assert session.maps == MapSettings()
    assert session.optimizers[0].choice.values["lr"] in (0.01, 0.1)


def test_a_version_2_file_with_maps_says_which_version_has_them():
    data = session_to_dict(Session().with_(maps=CUSTOM))
    data["version"] = 2
    with pytest.raises(SessionError) as err:
        session_from_dict(data)
    assert str(err.value) == 'maps: a file with "maps" is version 3 (got version 2)'


@pytest.mark.parametrize("maps, message", [
    ({"grid": 64}, "maps: unknown key 'grid' (allowed: basins_resolution, stability_y, stability_cells, "
                   "stability_lr)"),
    ([64], "maps must be an object like"),
    ({"basins_resolution": 100}, "maps.basins_resolution must be one of 32, 64, 128, 256, 512, got 100"),
    ({"basins_resolution": "64"}, "maps.basins_resolution must be one of 32, 64, 128, 256, 512, got '64'"),
    ({"basins_resolution": True}, "maps.basins_resolution must be one of 32, 64, 128, 256, 512, got True"),
    ({"stability_cells": 512}, "maps.stability_cells must be one of 16, 32, 64, 128, got 512"),
    ({"stability_y": "eps"}, "maps.stability_y must be one of auto, strip, momentum, beta1, beta2, alpha, got 'eps'"),
    ({"stability_y": None}, "maps.stability_y must be one of auto, strip, momentum, beta1, beta2, alpha, got None"),
    ({"stability_lr": [0.1, 0.01]}, "maps.stability_lr: from must be below to (got 0.1 … 0.01)"),
    ({"stability_lr": [0.1, 0.1]}, "maps.stability_lr: from must be below to (got 0.1 … 0.1)"),
    ({"stability_lr": [0, 1]}, "maps.stability_lr: from must be a number in (0, 10], got 0"),
    ({"stability_lr": [-1e-3, 1]}, "maps.stability_lr: from must be a number in (0, 10], got -0.001"),
    ({"stability_lr": [1e-3, 100]}, "maps.stability_lr: to must be a number in (0, 10], got 100"),
    ({"stability_lr": [1e-3, "inf"]}, "maps.stability_lr: to must be a number in (0, 10], got 'inf'"),
    ({"stability_lr": [1e-3, 10**400]}, "maps.stability_lr: to must be a number in (0, 10], got a huge integer"),
    ({"stability_lr": [None, 1]}, "maps.stability_lr: from must be a number in (0, 10], got None"),
    ({"stability_lr": [1e-3]}, "maps.stability_lr must be a [from, to] pair of numbers, got [0.001]"),
    ({"stability_lr": 0.1}, "maps.stability_lr must be a [from, to] pair of numbers, got 0.1"),
])
def test_each_bad_field_gives_one_line_naming_it(maps, message):
    data = session_to_dict(Session().with_(maps=CUSTOM))
    data["maps"] = maps
    with pytest.raises(SessionError) as err:
        session_from_dict(data)
    text = str(err.value)
    assert text.startswith(message) and "\n" not in text, text


def test_non_finite_lr_ends_are_refused():
    for bad in (float("nan"), float("inf")):
        with pytest.raises(SessionError, match=r"^stability_lr: to must be a number in \(0, 10\], got (nan|inf)$"):
            MapSettings(stability_lr=(1e-3, bad))


def test_a_bad_maps_key_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "bad.json"
    data = session_to_dict(Session().with_(maps=CUSTOM))
    data["maps"]["stability_lr"] = [1, 0.5]
    path.write_text(json.dumps(data))
    with pytest.raises(SessionError) as err:
        load_session(path)
    assert str(err.value) == (f"session file {str(path)!r}: maps.stability_lr: from must be below to "
                              "(got 1 … 0.5)")


def test_the_allowed_axis_names_are_the_registry_hyperparameters():
    names = {h.name for spec in REGISTRY.values() for h in spec.hypers}
    assert set(STABILITY_Y) - {"auto", "strip"} <= names


def test_optviz_paths_runs_a_version_3_file(tmp_path, capsys):
    import csv
    import io

    from optviz.cli import main

    path = tmp_path / "s.json"
    save_session(default_session().with_(steps=10, maps=CUSTOM), path)
    assert json.loads(path.read_text())["version"] == 3
    assert main(["paths", "--session", str(path)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 6 * 11 and rows[0]["x"] == "1.5"


def test_any_json_under_maps_loads_or_fails_in_one_line():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**400, 10**400), st.floats(), st.text(max_size=20),
                        st.sampled_from([*STABILITY_Y, 16, 64, 128, 1e-5, 1.0, 10.0]))
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
    keys = st.sampled_from(["basins_resolution", "stability_y", "stability_cells", "stability_lr", "other"])

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(values, st.dictionaries(keys, values, max_size=4)))
    def check(maps):
        data = {"version": 3, "surface": {"name": "booth"}, "maps": maps}
        try:
            session = session_from_dict(data)
        except SessionError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("maps")
        else:
            assert isinstance(session.maps, MapSettings)
            assert session_from_dict(session_to_dict(session)).maps == session.maps  # what loads, saves back

    check()
