"""optviz: watch optimizers move on 2D loss surfaces, and train small CNNs/ResNets with live plots."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "simulate"]


def __getattr__(name: str):  # lazy, so that `import optviz` stays light (the CLI imports it first)
    if name == "simulate":
        from optviz.core.simulate import simulate

        return simulate
    raise AttributeError(name)
