"""Files shipped with optviz (the top-level ``assets/`` folder, installed as the package ``optviz.assets``)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any


def asset(name: str) -> Any:
    """A Traversable for ``assets/<name>``: from the installed package, or from a source checkout whose
    ``optviz/`` shadows the installed one (``python -m optviz`` run in the repository root)."""
    try:
        return importlib.resources.files("optviz.assets").joinpath(name)
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "assets" / name
