"""The correctness reference: a plain torch.optim loop, one start point and one optimizer at a time, float64."""

from __future__ import annotations

import numpy as np
import torch


def torch_optim_path(surface, choice, start, steps: int) -> np.ndarray:
    """Positions (steps + 1, 2) of ``choice`` (an OptimizerChoice) from ``start``."""
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = choice.build([x])
    out = [x.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        surface(x).backward()
        opt.step()
        out.append(x.detach().clone())
    return torch.stack(out).numpy()
