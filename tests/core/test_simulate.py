"""simulate() on both engines against a plain torch.optim loop, one start point at a time; statuses; closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import simulate_on, torch_optim_path

from optviz.core.optimizers import OptimizerChoice
from optviz.core.simulate import SimulationError, choose_device, simulate
from optviz.core.surfaces import get_surface

# Non-default hyperparameters for every optimizer, small enough to stay finite for 300 steps on these surfaces.
CHOICES = [
    OptimizerChoice("sgd", {"lr": 1e-3, "weight_decay": 0.01}),
    OptimizerChoice("momentum", {"lr": 5e-4, "momentum": 0.8, "dampening": 0.1}),
    OptimizerChoice("nesterov", {"lr": 5e-4, "momentum": 0.85, "weight_decay": 0.001}),
    OptimizerChoice("adagrad", {"lr": 0.2, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-8}),
    OptimizerChoice("rmsprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True}),
    OptimizerChoice("adam", {"lr": 0.02, "beta1": 0.8, "beta2": 0.99, "amsgrad": True, "weight_decay": 0.01}),
    # the rest of torch.optim
    OptimizerChoice("adamw", {"lr": 0.02, "beta1": 0.85, "weight_decay": 0.05, "amsgrad": True}),
    OptimizerChoice("nadam", {"lr": 0.01, "momentum_decay": 0.01, "weight_decay": 0.01,
                              "decoupled_weight_decay": True}),
    OptimizerChoice("radam", {"lr": 5e-4, "beta2": 0.99, "weight_decay": 0.01}),
    OptimizerChoice("adamax", {"lr": 0.02, "beta1": 0.8, "weight_decay": 0.001}),
    OptimizerChoice("adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.01}),
    OptimizerChoice("asgd", {"lr": 1e-3, "lambd": 0.01, "alpha": 0.6, "t0": 100.0, "weight_decay": 0.01}),
    OptimizerChoice("rprop", {"lr": 0.01, "etaminus": 0.4, "etaplus": 1.3, "step_size_max": 0.5}),
    OptimizerChoice("muon", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.05}),
]
SURFACES = ["rosenbrock", "himmelblau", "beale", "six_hump_camel", "rastrigin"]
NEW_ON = ("rosenbrock", "himmelblau", "beale")  # surfaces where the optimizers beyond the six meet the reference
STARTS = [(-1.2, 1.0), (0.5, -0.5), (1.5, 1.5)]
ENGINES = ["eager", "fast", "batched"]  # batched: "auto" until the kernel is ready


@pytest.fixture(scope="module", autouse=True)
def _engine_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # compiled kernels go to a temporary folder, not ~/.cache
        mp.setenv("OPTVIZ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "optviz-cache"))  # one per session
        mp.delenv("OPTVIZ_ENGINE", raising=False)
        yield


_REFERENCES: dict[tuple, np.ndarray] = {}  # one plain torch.optim loop per path, shared by both engines' tests


def _reference(surface_name: str, i: int, j: int) -> np.ndarray:
    key = (surface_name, i, j)
    if key not in _REFERENCES:
        _REFERENCES[key] = torch_optim_path(get_surface(surface_name), CHOICES[i], STARTS[j], 300)
    return _REFERENCES[key]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("surface_name", SURFACES)
def test_matches_torch_optim_loop_to_1e9(surface_name, engine):
    surface = get_surface(surface_name)
    paths = simulate_on(engine, surface, CHOICES, STARTS, 300, device="cpu")
    assert paths.engine == {"batched": "eager"}.get(engine, engine)
    assert paths.positions.shape == (len(CHOICES), len(STARTS), 301, 2)
    assert (paths.diverged_step == -1).all()
    for i, choice in enumerate(CHOICES):
        if i >= 6 and surface_name not in NEW_ON:  # time: the rest of torch.optim on three surfaces (the engines'
            continue                               # agreement on every surface is test_engine's)
        for j, start in enumerate(STARTS):
            ref = _reference(surface_name, i, j)
            np.testing.assert_allclose(paths.positions[i, j], ref, rtol=0, atol=1e-9, err_msg=choice.label)
            # A path that only ran in place would pass trivially: these move.
            assert np.linalg.norm(ref[-1] - ref[0]) > 1e-3


@pytest.mark.parametrize("engine", ENGINES)
def test_losses_and_grad_norms_are_those_of_the_positions(engine):
    surface = get_surface("himmelblau")
    paths = simulate_on(engine, surface, CHOICES[:2], STARTS, 20)
    pts = torch.tensor(paths.positions, requires_grad=True)
    values = surface(pts)
    values.sum().backward()
    np.testing.assert_allclose(paths.losses, values.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(paths.grad_norms, pts.grad.norm(dim=-1).numpy(), rtol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_gradient_descent_on_quadratic_matches_closed_form(engine):
    # f = ½(x² + κy²): x_k = (1 − lr)^k x_0, y_k = (1 − lr·κ)^k y_0.
    kappa, lr, steps = 10.0, 0.05, 50
    paths = simulate_on(engine, get_surface("quadratic", kappa=kappa), [OptimizerChoice("sgd", {"lr": lr})],
                        [(2.0, 1.5)], steps)
    k = np.arange(steps + 1)
    np.testing.assert_allclose(paths.positions[0, 0, :, 0], 2.0 * (1 - lr) ** k, rtol=1e-12)
    np.testing.assert_allclose(paths.positions[0, 0, :, 1], 1.5 * (1 - lr * kappa) ** k, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("engine", ENGINES)
def test_divergence_is_a_status_with_its_step_and_nothing_after(engine):
    surface = get_surface("rosenbrock")
    paths = simulate_on(engine, surface, [OptimizerChoice("sgd", {"lr": 1.0}), OptimizerChoice("adam", {"lr": 0.01})],
                        [(0.0, 0.0)], 100)
    d = int(paths.diverged_step[0, 0])
    assert d == 2  # (0,0) → (2,0) → (-3200, 800): far outside the view box
    assert paths.status(0, 0) == "diverged" and paths.status(0, 0, d - 1) == "running"
    assert np.isnan(paths.positions[0, 0, d + 1:]).all()
    assert np.isfinite(paths.positions[0, 0, : d + 1]).all()
    assert paths.diverged_step[1, 0] == -1 and np.isfinite(paths.positions[1]).all()  # the other path is untouched


@pytest.mark.parametrize("engine", ENGINES)
def test_non_finite_divergence_does_not_leak_into_other_starts(engine):
    surface = get_surface("saddle")
    paths = simulate_on(engine, surface, [OptimizerChoice("sgd", {"lr": 0.1})], [(1.0, 0.0), (1.0, 1e-3)], 400)
    assert paths.diverged_step[0, 0] == -1 and paths.converged_step[0, 0] > 0  # stays on the ridge: converges
    assert paths.diverged_step[0, 1] > 0  # falls off the saddle
    np.testing.assert_allclose(paths.positions[0, 0, :, 0], 0.8 ** np.arange(401), rtol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_convergence_step_is_first_small_gradient_and_path_keeps_stepping(engine):
    paths = simulate_on(engine, get_surface("booth"), [OptimizerChoice("sgd", {"lr": 0.02})], [(0.0, 0.0)], 500,
                        tol=1e-6)
    c = int(paths.converged_step[0, 0])
    assert c > 0 and paths.grad_norms[0, 0, c] < 1e-6 <= paths.grad_norms[0, 0, c - 1]
    assert paths.status(0, 0) == "converged" and paths.status(0, 0, c - 1) == "running"
    np.testing.assert_allclose(paths.positions[0, 0, -1], [1.0, 3.0], atol=1e-7)


@pytest.mark.parametrize("engine", ENGINES)
def test_batched_starts_equal_single_runs(engine):
    surface = get_surface("six_hump_camel")
    starts = np.random.default_rng(0).uniform(-2, 2, size=(64, 2))
    many = simulate_on(engine, surface, CHOICES, starts, 100)
    one = simulate_on(engine, surface, CHOICES, starts[17:18], 100)
    np.testing.assert_array_equal(many.positions[:, 17], one.positions[:, 0])


@pytest.mark.parametrize("engine", ENGINES)
def test_wells_preset_sgd_stays_local_momentum_reaches_global(engine):
    surface = get_surface("wells")
    paths = simulate_on(engine, surface,
                        [OptimizerChoice("sgd", {"lr": 0.1}), OptimizerChoice("momentum", {"lr": 0.1})],
                        [(-3.2, 2.6)], 300)
    glob = next(m for m in surface.minima if m.kind == "global")
    local = min((m for m in surface.minima if m.kind == "local"),
                key=lambda m: np.hypot(m.x - paths.positions[0, 0, -1, 0], m.y - paths.positions[0, 0, -1, 1]))
    assert np.hypot(*(paths.positions[0, 0, -1] - [local.x, local.y])) < 0.05
    assert np.hypot(*(paths.positions[1, 0, -1] - [glob.x, glob.y])) < 0.05


def test_device_choice_and_bad_arguments():
    assert choose_device("auto", 10).type == "cpu"
    assert choose_device("cpu", 10**6).type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(SimulationError, match="no CUDA device"):
            choose_device("cuda", 1)
    with pytest.raises(SimulationError, match="Invalid device: 'tpu'"):
        choose_device("tpu", 1)
    with pytest.raises(SimulationError, match="Invalid steps"):
        simulate(get_surface("booth"), CHOICES, STARTS, -1)
    with pytest.raises(SimulationError, match="finite"):
        simulate(get_surface("booth"), CHOICES, [(float("nan"), 0.0)], 5)
    assert simulate(get_surface("booth"), CHOICES, [], 5).positions.shape == (len(CHOICES), 0, 6, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ["booth", "quadratic"])
def test_cuda_matches_cpu(name):
    # Convex surfaces: rounding differences between the devices' kernels (fused multiply-adds) shrink along the
    # path. On Rosenbrock or Rastrigin they can grow, as any perturbation of a chaotic path does.
    surface = get_surface(name)
    cpu = simulate(surface, CHOICES, STARTS, 300, device="cpu", engine="eager")
    gpu = simulate(surface, CHOICES, STARTS, 300, device="cuda", engine="eager")
    assert gpu.device.startswith("cuda")
    np.testing.assert_allclose(gpu.positions, cpu.positions, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(gpu.diverged_step, cpu.diverged_step)
