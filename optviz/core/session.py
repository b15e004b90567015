"""Session files: the JSON that ``optviz paths --session`` runs and the GUI saves and opens.

Format (version 1)::

    {
      "version": 1,
      "surface": {"name": "wells", "params": {}},
      "optimizers": [{"name": "sgd", "label": "sgd", "enabled": true, "hyper": {"lr": 0.1}}, ...],
      "starts": [[-3.2, 2.6]],
      "steps": 300,
      "device": "auto",
      "training": {...}            # optional: a TrainConfig.to_dict() for the training tab
    }

Every key but ``version`` and ``surface`` may be left out (defaults below). ``hyper`` holds only the values that
differ from the registry's defaults when the GUI writes it, but any subset is accepted.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from optviz.core.optimizers import HyperparameterError, OptimizerChoice
from optviz.core.surfaces import Surface, SurfaceError, get_surface

FORMAT_VERSION = 1
MAX_STEPS = 5000
MAX_STARTS = 64
DEVICES = ("auto", "cpu", "cuda")


class SessionError(ValueError):
    """A session file or value that cannot be used; the message names the problem and what is allowed."""


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
    steps: int = 300
    device: str = "auto"
    training: dict[str, Any] | None = None  # kept as given; the training package validates it

    def make_surface(self) -> Surface:
        return get_surface(self.surface, **self.surface_params)

    def enabled_choices(self) -> list[OptimizerChoice]:
        return [e.choice for e in self.optimizers if e.enabled]

    def with_(self, **changes: Any) -> Session:
        return replace(self, **changes)


def default_session() -> Session:
    """The session the app opens on: the first preset, where the six optimizers visibly differ."""
    from optviz.core.presets import DEFAULT_PRESET, PRESETS

    return PRESETS[DEFAULT_PRESET].session


def session_to_dict(session: Session) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "surface": {"name": session.surface, "params": dict(session.surface_params)},
        "optimizers": [{"name": e.choice.name, "label": e.choice.label, "enabled": e.enabled,
                        "hyper": e.choice.changed()} for e in session.optimizers],
        "starts": [[float(x), float(y)] for x, y in session.starts],
        "steps": session.steps,
        "device": session.device,
    }
    if session.training is not None:
        out["training"] = session.training
    return out


def _expect(cond: bool, message: str) -> None:
    if not cond:
        raise SessionError(message)


def _number(value: Any, what: str) -> float:
    _expect(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
            f"{what} must be a finite number, got {value!r}")
    return float(value)


def session_from_dict(data: Any) -> Session:
    """Validate a parsed session JSON object; raises SessionError naming the bad part."""
    _expect(isinstance(data, dict), "a session must be a JSON object")
    known = {"version", "surface", "optimizers", "starts", "steps", "device", "training"}
    unknown = sorted(set(data) - known)
    _expect(not unknown, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(known))})" if unknown else "")
    _expect(data.get("version") == FORMAT_VERSION, f"version must be {FORMAT_VERSION}, got {data.get('version')!r}")
    surf = data.get("surface")
    _expect(isinstance(surf, dict) and isinstance(surf.get("name"), str),
            'surface must be an object like {"name": "himmelblau", "params": {}}')
    params = surf.get("params", {})
    _expect(isinstance(params, dict), "surface.params must be an object")
    try:
        get_surface(surf["name"], **params)
    except SurfaceError as exc:
        raise SessionError(f"surface: {exc}") from None
    defaults = Session()
    entries = []
    raw_opts = data.get("optimizers", [])
    _expect(isinstance(raw_opts, list), "optimizers must be a list")
    for i, item in enumerate(raw_opts):
        _expect(isinstance(item, dict) and isinstance(item.get("name"), str),
                f'optimizers[{i}] must be an object like {{"name": "adam", "hyper": {{"lr": 0.01}}}}')
        hyper = item.get("hyper", {})
        _expect(isinstance(hyper, dict), f"optimizers[{i}].hyper must be an object")
        enabled = item.get("enabled", True)
        _expect(isinstance(enabled, bool), f"optimizers[{i}].enabled must be true or false")
        label = item.get("label", "")
        _expect(isinstance(label, str), f"optimizers[{i}].label must be a string")
        try:
            entries.append(OptimizerEntry(OptimizerChoice(item["name"], hyper, label), enabled))
        except HyperparameterError as exc:
            raise SessionError(f"optimizers[{i}]: {exc}") from None
    starts = data.get("starts", [list(p) for p in defaults.starts])
    _expect(isinstance(starts, list) and len(starts) <= MAX_STARTS,
            f"starts must be a list of at most {MAX_STARTS} [x, y] pairs")
    points = []
    for i, p in enumerate(starts):
        _expect(isinstance(p, list) and len(p) == 2, f"starts[{i}] must be an [x, y] pair, got {p!r}")
        points.append((_number(p[0], f"starts[{i}][0]"), _number(p[1], f"starts[{i}][1]")))
    steps = data.get("steps", defaults.steps)
    _expect(isinstance(steps, int) and not isinstance(steps, bool) and 1 <= steps <= MAX_STEPS,
            f"steps must be an integer in [1, {MAX_STEPS}], got {steps!r}")
    device = data.get("device", "auto")
    _expect(device in DEVICES, f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    training = data.get("training")
    _expect(training is None or isinstance(training, dict), "training must be an object")
    return Session(surf["name"].strip().lower().replace("-", "_"), {k: float(v) for k, v in params.items()},
                   tuple(entries), tuple(points), steps, device, training)


def load_session(path: str | os.PathLike) -> Session:
    """Read and validate a session file; SessionError names the file and the problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SessionError(f"session file {str(p)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionError(f"cannot read session file {str(p)!r}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SessionError(f"session file {str(p)!r} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    try:
        return session_from_dict(data)
    except SessionError as exc:
        raise SessionError(f"session file {str(p)!r}: {exc}") from None


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder: never a half-written file."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_session(session: Session, path: str | os.PathLike) -> None:
    write_atomic(path, json.dumps(session_to_dict(session), indent=2) + "\n")
