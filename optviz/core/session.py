"""Session files: both tabs' settings, typed, in the JSON that ``optviz paths --session`` runs and the GUI saves.

Format (version 3)::

    {
      "version": 3,
      "surface": {"name": "wells", "params": {}},   # or {"formula": "x**2 + y**2", "view": [-3, 3, -3, 3]},
                                                    # or {"name": "wells", "wells": [[x, y, depth, width], ...]}
      "optimizers": [{"name": "sgd", "label": "sgd", "enabled": true, "values": {"lr": 0.1}}, ...],
      "starts": [[-3.2, 2.6]],
      "steps": 300,
      "device": "auto",
      "penalty": {"kind": "l1", "strength": 0.5},   # optional: an L1/L2 penalty added to the surface
      "training": {...},           # optional: the training tab's TrainConfig
      "maps": {"basins_resolution": 128, "stability_y": "auto", "stability_cells": 64,
               "stability_lr": [1e-05, 1.0]}   # optional: the map views' settings (MapSettings)
    }

An optimizer entry may also carry ``noise`` (σ), ``seed`` and ``schedule`` (``{"name", "values", "warmup"}``),
written only where set: optional keys, so the format stays version 2. ``maps`` came with version 3: it is written
only where the map views' settings differ from their defaults, and a file without it is written as version 2, so
that the apps before version 3 still open it (and one that holds it says "version must be 1 or 2, got 3").

Every key but ``version`` and ``surface`` may be left out (defaults below). An optimizer is written the same way
in both tabs: ``name``, ``label`` and ``values`` holding only what differs from the registry's defaults (any
subset is accepted). Version 1 files still open: their playground optimizers carried ``hyper`` instead of
``values``. The loader is the same for the CLI and the GUI, so both give the same verdict on a file; the limits
below keep a hostile file from costing time or memory.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optviz.core.devices import DEVICE
from optviz.core.files import write_atomic
from optviz.core.optimizers import REGISTRY, OptimizerChoice, choice_from_dict, choice_to_dict
from optviz.core.params import ParamError, Spec, fmt, quote
from optviz.core.regularize import NO_PENALTY, Penalty, penalty_from_dict, regularize
from optviz.core.surfaces import Surface, get_surface

if TYPE_CHECKING:
    from optviz.training.config import TrainConfig

FORMAT_VERSION = 3  # the newest version: a file with "maps"
PLAIN_VERSION = 2  # the version of a file without "maps" (the apps before version 3 read it)
VERSIONS = (1, 2, 3)  # the versions this loader reads
MAX_FILE_BYTES = 1_000_000
MAX_STARTS = 64
MAX_OPTIMIZERS = 64
STEPS = Spec("steps", "int", 300, 1, 5000, title="Steps", step=50, doc="steps of every optimizer from every start point")
COORDINATE = Spec("coordinate", "float", 0.0, -1e6, 1e6)


class SessionError(ParamError):
    """A session file or value that cannot be used; the message names the problem and what is allowed."""


def _expect(cond: bool, message: str) -> None:
    if not cond:
        raise SessionError(message)


# -- the map views' settings ---------------------------------------------------------------------------------------
BASINS_RESOLUTIONS = (32, 64, 128, 256, 512)  # starts per side of the basins view's grid, as its menu offers them
STABILITY_CELLS = (16, 32, 64, 128)  # values per axis of the stability map, as its menu offers them
STABILITY_Y = ("auto", "strip", "momentum", "beta1", "beta2", "alpha")  # "auto": the optimizer's first second axis
MAX_LR = max(spec.hyper("lr").high for spec in REGISTRY.values())  # the largest lr any registry optimizer takes


def lr_allowed(lowest: float = 0.0, highest: float = MAX_LR) -> str:
    """What an end of an lr range may be, in words: ``a number in (0, 10]``."""
    return f"a number in {'[' if lowest > 0 else '('}{fmt(float(lowest))}, {fmt(float(highest))}]"


def check_lr_range(low: Any, high: Any, lowest: float = 0.0, highest: float = MAX_LR) -> tuple[float, float]:
    """(low, high) as floats if both lie in (lowest, highest] — [lowest, highest] where lowest > 0 — and
    low < high; ParamError naming the end ("from", "to") and what is allowed otherwise."""
    closed, allowed = lowest > 0, lr_allowed(lowest, highest)
    ends = []
    for word, value in (("from", low), ("to", high)):
        try:
            number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
        except OverflowError:  # an integer beyond any float
            number = math.nan
        if not (number >= lowest if closed else number > lowest) or not number <= highest:
            raise ParamError(f"{word} must be {allowed}, got {fmt(number) if math.isfinite(number) else quote(value)}")
        ends.append(number)
    if not ends[0] < ends[1]:
        raise ParamError(f"from must be below to (got {fmt(ends[0])} … {fmt(ends[1])})")
    return ends[0], ends[1]


@dataclass(frozen=True)
class MapSettings:
    """The map views' settings, saved with the session (the paths do not depend on them). Every field is checked
    here, so a MapSettings that exists is one the views can show; SessionError names the field otherwise."""

    basins_resolution: int = 128  # starts per side of the basins grid, one of BASINS_RESOLUTIONS
    stability_y: str = "auto"  # the stability map's second axis: "auto" (the optimizer's first), "strip" (lr only),
    # or a hyperparameter of STABILITY_Y (an optimizer without it gets its first)
    stability_cells: int = 64  # values per axis of the stability map, one of STABILITY_CELLS
    stability_lr: tuple[float, float] = (1e-5, 1.0)  # the stability map's lr axis (log), from < to

    def __post_init__(self) -> None:
        for name, allowed in (("basins_resolution", BASINS_RESOLUTIONS), ("stability_cells", STABILITY_CELLS)):
            value = getattr(self, name)
            _expect(type(value) in (int, float) and value in allowed,
                    f"{name} must be one of {', '.join(map(str, allowed))}, got {quote(value)}")
            object.__setattr__(self, name, int(value))
        _expect(isinstance(self.stability_y, str) and self.stability_y in STABILITY_Y,
                f"stability_y must be one of {', '.join(STABILITY_Y)}, got {quote(self.stability_y)}")
        lr = self.stability_lr
        _expect(isinstance(lr, (list, tuple)) and len(lr) == 2,
                f"stability_lr must be a [from, to] pair of numbers, got {quote(lr)}")
        try:
            object.__setattr__(self, "stability_lr", check_lr_range(*lr))
        except ParamError as exc:
            raise SessionError(f"stability_lr: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return {"basins_resolution": self.basins_resolution, "stability_y": self.stability_y,
                "stability_cells": self.stability_cells, "stability_lr": list(self.stability_lr)}


MAP_KEYS = tuple(f.name for f in fields(MapSettings))


@dataclass(frozen=True)
class OptimizerEntry:
    choice: OptimizerChoice
    enabled: bool = True


@dataclass(frozen=True)
class Session:
    surface: str = "wells"
    surface_params: dict[str, float] = field(default_factory=dict)
    optimizers: tuple[OptimizerEntry, ...] = ()
    starts: tuple[tuple[float, float], ...] = ((-3.2, 2.6),)
    steps: int = STEPS.default
    device: str = DEVICE.default
    training: TrainConfig | None = None
    formula: str = ""  # a typed surface f(x, y) (surface "custom"), over ``view``
    view: tuple[float, float, float, float] | None = None  # the formula's view box: xmin, xmax, ymin, ymax
    wells: tuple[tuple[float, float, float, float], ...] | None = None  # edited wells (surface "wells")
    penalty: Penalty = NO_PENALTY  # an L1/L2 penalty added to the surface (optviz.core.regularize)
    maps: MapSettings = MapSettings()  # the map views' settings (not the paths')

    def make_surface(self) -> Surface:
        from optviz.core.custom import make_surface

        # a formula counts on the "custom" surface only, edited wells on "wells" only (a with_(surface=…) that
        # forgot to clear them changes nothing)
        surface = make_surface(self.surface, self.surface_params, formula=self.formula if self.surface == "custom"
                               else "", view=self.view, wells=self.wells if self.surface == "wells" else None)
        return regularize(surface, self.penalty)

    def enabled_choices(self) -> list[OptimizerChoice]:
        return [e.choice for e in self.optimizers if e.enabled]

    def with_(self, **changes: Any) -> Session:
        return replace(self, **changes)


def session_to_dict(session: Session) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "surface": _surface_to_dict(session),
        "optimizers": [{**choice_to_dict(e.choice), "enabled": e.enabled} for e in session.optimizers],
        "starts": [[float(x), float(y)] for x, y in session.starts],
        "steps": session.steps,
        "device": session.device,
    }
    if session.penalty != NO_PENALTY:
        out["penalty"] = session.penalty.to_dict()
    if session.training is not None:
        out["training"] = session.training.to_dict()
    if session.maps != MapSettings():
        out["maps"] = session.maps.to_dict()
    else:
        out["version"] = PLAIN_VERSION  # nothing of version 3 in it: the apps before maps open it
    return out


def _surface_to_dict(session: Session) -> dict[str, Any]:
    if session.formula and session.surface == "custom":
        from optviz.core.custom import DEFAULT_VIEW

        return {"name": "custom", "formula": session.formula, "view": list(session.view or DEFAULT_VIEW)}
    out: dict[str, Any] = {"name": session.surface, "params": dict(session.surface_params)}
    if session.wells is not None and session.surface == "wells":
        out["wells"] = [list(w) for w in session.wells]
    return out


def _only(obj: dict, allowed: tuple[str, ...], where: str) -> None:
    unknown = [k for k in obj if k not in allowed]
    _expect(not unknown, f"{where}unknown key {quote(unknown[0]) if unknown else ''} (allowed: {', '.join(allowed)})")


def _check(spec: Spec, value: Any, where: str) -> Any:
    try:
        return spec.validate(value)
    except ParamError as exc:
        raise SessionError(f"{where}: {exc}") from None


def _custom_surface(data: dict) -> dict[str, Any]:
    """The keyword fields of a Session for a formula surface or edited wells (checked by building it)."""
    from optviz.core.custom import CUSTOM, check_view, formula_surface, wells_surface

    try:
        if "formula" in data:
            _only(data, ("name", "formula", "view"), "surface: ")
            _expect(data.get("name", CUSTOM) == CUSTOM, f'surface: a formula surface is named "{CUSTOM}"')
            _expect(isinstance(data["formula"], str), 'surface.formula must be text like "x**2 + 3*y**2"')
            view = check_view(data["view"]) if data.get("view") is not None else None
            surface = formula_surface(data["formula"], view)
            x, y = surface.view
            return {"surface": CUSTOM, "surface_params": {}, "formula": surface.formula, "view": (*x, *y)}
        _only(data, ("name", "params", "wells"), "surface: ")
        _expect(data.get("name") == "wells", 'surface: only the "wells" surface has "wells"')
        _expect(not data.get("params"), 'surface: edited "wells" take no "params"')
        surface = wells_surface(data["wells"])
        from optviz.core.custom import wells_of

        return {"surface": "wells", "surface_params": {}, "wells": wells_of(surface)}
    except SessionError:
        raise
    except ParamError as exc:
        raise SessionError(f"surface: {exc}") from None


def _surface(data: Any) -> tuple[str, dict[str, float]]:
    _expect(isinstance(data, dict) and isinstance(data.get("name"), str),
            'surface must be an object like {"name": "himmelblau", "params": {}} or {"formula": "x**2 + y**2", '
            '"view": [-3, 3, -3, 3]}')
    _only(data, ("name", "params"), "surface: ")
    params = data.get("params", {})
    _expect(isinstance(params, dict), "surface.params must be an object")
    try:
        surface = get_surface(data["name"], **params)
    except ParamError as exc:
        raise SessionError(f"surface: {exc}") from None
    return surface.name, dict(surface.values)


def _optimizers(data: Any, version: int) -> tuple[OptimizerEntry, ...]:
    _expect(isinstance(data, list) and len(data) <= MAX_OPTIMIZERS,
            f"optimizers must be a list of at most {MAX_OPTIMIZERS} entries")
    entries = []
    for i, item in enumerate(data):
        where = f"optimizers[{i}]"
        _expect(isinstance(item, dict), f'{where} must be an object like {{"name": "adam", "values": {{"lr": 0.01}}}}')
        item = dict(item)
        enabled = item.pop("enabled", True)
        _expect(isinstance(enabled, bool), f"{where}.enabled must be true or false")
        if version == 1 and "hyper" in item:
            item["values"] = item.pop("hyper")
        try:
            entries.append(OptimizerEntry(choice_from_dict(item), enabled))
        except ParamError as exc:
            raise SessionError(f"{where}: {exc}") from None
    labels = [e.choice.label for e in entries]
    dup = next((x for x in labels if labels.count(x) > 1), None)
    _expect(dup is None, f"optimizers: the label {quote(dup)} is used twice (give each optimizer its own label)")
    return tuple(entries)


def _starts(data: Any) -> tuple[tuple[float, float], ...]:
    _expect(isinstance(data, list) and 1 <= len(data) <= MAX_STARTS,
            f"starts must be a list of 1 to {MAX_STARTS} [x, y] pairs")
    points = []
    for i, p in enumerate(data):
        _expect(isinstance(p, list) and len(p) == 2, f"starts[{i}] must be an [x, y] pair, got {quote(p)}")
        points.append((_check(COORDINATE, p[0], f"starts[{i}][0]"), _check(COORDINATE, p[1], f"starts[{i}][1]")))
    return tuple(points)


def _training(data: Any) -> TrainConfig:
    from optviz.training.config import TrainConfig

    try:
        return TrainConfig.from_dict(data)
    except ParamError as exc:
        raise SessionError(f"training: {exc}") from None


def session_from_dict(data: Any) -> Session:
    """Validate a parsed session JSON object; raises SessionError naming the bad part."""
    _expect(isinstance(data, dict), "a session must be a JSON object")
    keys = ("version", "surface", "optimizers", "starts", "steps", "device", "training", "penalty", "maps")
    _only(data, keys, "")
    version = data.get("version")
    _expect(type(version) is int and version in VERSIONS,
            f"version must be {', '.join(map(str, VERSIONS[:-1]))} or {VERSIONS[-1]}, got {quote(version)}")
    defaults = Session()
    surface_data = data.get("surface")
    custom = _custom_surface(surface_data) if isinstance(surface_data, dict) and (
        "formula" in surface_data or "wells" in surface_data) else None
    name, params = (custom["surface"], {}) if custom else _surface(surface_data)
    entries = _optimizers(data.get("optimizers", []), version)
    starts = _starts(data.get("starts", [list(p) for p in defaults.starts]))
    steps = _check(STEPS, data.get("steps", defaults.steps), "steps")
    device = _check(DEVICE, data.get("device", defaults.device), "device")
    training = _training(data["training"]) if data.get("training") is not None else None
    maps = _maps(data["maps"], version) if "maps" in data else MapSettings()
    session = Session(name, params, entries, starts, steps, device, training, penalty=_penalty(data.get("penalty", {})),
                      maps=maps)
    return session.with_(**custom) if custom else session


def _maps(data: Any, version: int) -> MapSettings:
    _expect(version >= FORMAT_VERSION, f'maps: a file with "maps" is version {FORMAT_VERSION} (got version {version})')
    _expect(isinstance(data, dict), f'maps must be an object like {{"stability_lr": [0.0001, 1]}} (keys: '
                                    f'{", ".join(MAP_KEYS)})')
    _only(data, MAP_KEYS, "maps: ")
    try:
        return MapSettings(**data)
    except SessionError as exc:
        raise SessionError(f"maps.{exc}") from None


def _penalty(data: Any) -> Penalty:
    try:
        return penalty_from_dict(data)
    except ParamError as exc:
        raise SessionError(f"penalty: {exc}") from None


def load_session(path: str | os.PathLike) -> Session:
    """Read and validate a session file; SessionError names the file and the problem."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SessionError(f"session file {repr(str(p))} does not exist") from None
    except OSError as exc:
        raise SessionError(f"cannot read session file {repr(str(p))}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SessionError(f"session file {repr(str(p))} is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SessionError(f"session file {repr(str(p))} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise SessionError(f"session file {repr(str(p))} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (RecursionError, ValueError):  # nesting too deep; an integer too long to parse
        raise SessionError(f"session file {repr(str(p))} is nested too deeply or holds a number too long") from None
    try:
        return session_from_dict(data)
    except SessionError as exc:
        raise SessionError(f"session file {repr(str(p))}: {exc}") from None


def save_session(session: Session, path: str | os.PathLike) -> None:
    """Write ``session`` atomically (OutputError names the file and the reason)."""
    write_atomic(path, json.dumps(session_to_dict(session), indent=2) + "\n")
