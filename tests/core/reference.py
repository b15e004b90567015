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


def simulate_on(engine: str, *args, **kw):
    """``simulate`` on "eager", "fast", or "batched": what engine="auto" runs while no kernel is ready (the fast
    engine's rules on torch tensors), with no kernel looked for and no build started."""
    from unittest import mock

    import optviz.core.simulate as simulate_module

    if engine != "batched":
        return simulate_module.simulate(*args, engine=engine, **kw)
    with mock.patch.object(simulate_module, "_fast_library", lambda *a: None), \
            mock.patch.object(simulate_module.fast_engine, "note_eager_call", lambda surface: None):
        return simulate_module.simulate(*args, engine="auto", **kw)
