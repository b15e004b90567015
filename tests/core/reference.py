"""The correctness reference: a plain torch.optim loop, one start point and one optimizer at a time, float64."""

from __future__ import annotations

import numpy as np
import torch


def torch_optim_path(surface, choice, start, steps: int) -> np.ndarray:
    """Positions (steps + 1, 2) of ``choice`` (an OptimizerChoice) from ``start``."""
    # Muon takes matrices only: its point is a 1×2 parameter (the surface reads the last dimension either way).
    shape = (1, 2) if choice.name == "muon" else (2,)
    x = torch.tensor(start, dtype=torch.float64).reshape(shape).requires_grad_(True)
    opt = choice.build([x])
    out = [x.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        surface(x).sum().backward()
        opt.step()
        out.append(x.detach().clone())
    return torch.stack(out).reshape(steps + 1, 2).numpy()
