"""Where computations run: the one device setting and the one "is CUDA here?" check."""

from __future__ import annotations

import functools

from optviz.core.params import Spec

DEVICE = Spec("device", "choice", "auto", choices=("auto", "cpu", "cuda"), title="Device",
              doc="auto: the faster device for the size at hand; cuda needs an NVIDIA GPU")


@functools.lru_cache(maxsize=1)
def cuda_available() -> bool:
    """Whether torch sees a CUDA device (asked once: the answer does not change while the app runs)."""
    import torch

    return torch.cuda.is_available()


def unavailable(device: str) -> str:
    """Why ``device`` cannot be used here, or "" when it can."""
    if device == "cuda" and not cuda_available():
        return "Invalid device: cuda (no CUDA device is available here; allowed: auto, cpu)"
    return ""
