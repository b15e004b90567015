"""``torch``, imported when a function first uses it rather than when the module is imported.

The launch preview (:mod:`optviz.core.preview`) reads the remembered session, samples its surface and steps its
optimizers with numpy while torch (about 2 s) still loads; the modules it goes through name torch as
``from optviz.core.lazy import torch`` and use it only inside functions. The first attribute asked for imports
torch (Python's import lock makes that safe from any thread) and is then kept on the stand-in, so later uses cost
a plain attribute lookup.
"""

from __future__ import annotations

import importlib
import sys


class _Torch:
    """Stands for the ``torch`` module; attributes come from the real one, imported on first use."""

    def __getattr__(self, name: str):
        if name.startswith("__"):  # copy, pickle and introspection ask for dunders: do not import torch for them
            raise AttributeError(name)
        value = getattr(importlib.import_module("torch"), name)
        setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        return "<torch, imported on first use>" if "torch" not in sys.modules else repr(sys.modules["torch"])


torch = _Torch()


def loaded() -> bool:
    """Whether torch has been imported in this process (by anything)."""
    return "torch" in sys.modules
