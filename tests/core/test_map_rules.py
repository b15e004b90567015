"""The maps' engines (rules.torch_step for mixed rows, torch.optim for one optimizer, the C kernel) for every
registry optimizer, against simulate's torch.optim paths."""

from __future__ import annotations

import numpy as np
import pytest
from test_simulate import CHOICES

from optviz.core import batch, rules
from optviz.core.simulate import simulate
from optviz.core.surfaces import get_surface

STARTS = np.array([(0.3, -0.4), (-1.1, 0.7), (2.5, 1.0)])


@pytest.fixture(scope="module")
def reference():
    return simulate(get_surface("himmelblau"), CHOICES, STARTS, 120, engine="eager")


@pytest.mark.parametrize("engine", ["eager", "fast"])
def test_mixed_rows_of_every_optimizer(engine, reference):
    table = rules.hyper_table(CHOICES)
    groups = np.repeat(np.arange(len(CHOICES), dtype=np.int32), len(STARTS))
    run, used, _ = batch.track(get_surface("himmelblau"), table, groups, np.tile(STARTS, (len(CHOICES), 1)), 120,
                               engine=engine)
    assert used == engine
    np.testing.assert_allclose(run.position, reference.positions[:, :, -1].reshape(-1, 2), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(run.converged, reference.converged_step.ravel())


def test_one_optimizer_per_map_runs_torch_optim_or_muons_rules(reference):
    for i, choice in enumerate(CHOICES):
        table = rules.hyper_table([choice])
        run, _, _ = batch.track(get_surface("himmelblau"), table, np.zeros(len(STARTS), np.int32), STARTS, 120,
                                engine="eager")
        np.testing.assert_allclose(run.position, reference.positions[i, :, -1], rtol=0, atol=1e-9,
                                   err_msg=choice.name)
