"""The fast engine against the eager one and torch.optim; its states, builds, cache and what never rebuilds."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from reference import torch_optim_path
from test_simulate import CHOICES, STARTS, SURFACES

from optviz.core import engine, kernel
from optviz.core.optimizers import REGISTRY, OptimizerChoice
from optviz.core.simulate import SimulationError, simulate
from optviz.core.surfaces import SURFACES as ALL_SURFACES
from optviz.core.surfaces import Surface, get_surface

# Every flag and branch of the update rules that CHOICES (test_simulate) leaves at one value.
BRANCHES = [
    OptimizerChoice("sgd", {"lr": 2e-3}),
    OptimizerChoice("momentum", {"lr": 1e-3, "momentum": 0.5, "weight_decay": 0.1}),
    OptimizerChoice("nesterov", {"lr": 1e-3, "momentum": 0.6, "weight_decay": 0.0}),
    OptimizerChoice("adagrad", {"lr": 0.1, "weight_decay": 0.05}),
    OptimizerChoice("rmsprop", {"lr": 0.005, "alpha": 0.95, "weight_decay": 0.01}),
    OptimizerChoice("rmsprop", {"lr": 0.003, "alpha": 0.8, "momentum": 0.3}),
    OptimizerChoice("rmsprop", {"lr": 0.004, "alpha": 0.3, "centered": True, "eps": 1e-6}),
    OptimizerChoice("adam", {"lr": 0.01, "beta1": 0.3, "beta2": 0.9, "eps": 1e-6}),
    OptimizerChoice("adam", {"lr": 0.01, "amsgrad": True}),
    OptimizerChoice("nadam", {"lr": 0.01, "weight_decay": 0.02}),
    OptimizerChoice("radam", {"lr": 0.02, "weight_decay": 0.05, "decoupled_weight_decay": True}),
    OptimizerChoice("asgd", {"lr": 0.002}),
    OptimizerChoice("rprop", {"lr": 0.001, "step_size_min": 1e-4, "step_size_max": 0.05}),
    OptimizerChoice("muon", {"lr": 0.01, "nesterov": False, "ns_steps": 3, "weight_decay": 0.0}),
]


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPTVIZ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "optviz-cache"))  # one per session
        mp.delenv("OPTVIZ_ENGINE", raising=False)
        engine.wait_idle(60)
        engine.reset()  # kernels loaded by tests that ran before, from another cache folder, are not this one's
        yield
    engine.wait_idle(60)


@pytest.mark.parametrize("surface_name", SURFACES)
def test_fast_engine_matches_eager_in_every_output(surface_name):
    # Positions against torch.optim itself: test_simulate.py's agreement test runs on both engines.
    surface = get_surface(surface_name)
    fast = simulate(surface, CHOICES, STARTS, 300, engine="fast")
    eager = simulate(surface, CHOICES, STARTS, 300, engine="eager")
    assert fast.engine == "fast" and eager.engine == "eager"
    np.testing.assert_allclose(fast.positions, eager.positions, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fast.losses, eager.losses, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.grad_norms, eager.grad_norms, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(fast.converged_step, eager.converged_step)
    np.testing.assert_array_equal(fast.diverged_step, eager.diverged_step)


@pytest.mark.parametrize("surface_name", ["himmelblau", "ackley", "beale"])
def test_every_branch_of_the_rules_matches_torch_optim(surface_name):
    surface = get_surface(surface_name)
    starts = [(0.3, -0.4), (-1.1, 0.7)]
    fast = simulate(surface, BRANCHES, starts, 200, engine="fast")
    for i, choice in enumerate(BRANCHES):
        for j, start in enumerate(starts):
            ref = torch_optim_path(surface, choice, start, 200)
            np.testing.assert_allclose(fast.positions[i, j], ref, rtol=0, atol=1e-9, err_msg=choice.label)
            assert np.linalg.norm(ref[-1] - ref[0]) > 1e-4


def test_every_builtin_surface_translates_and_agrees():
    choices = [OptimizerChoice(n, {"lr": 1e-3}) for n in REGISTRY]
    rng = np.random.default_rng(3)
    for name, surface in ALL_SURFACES.items():
        (x0, x1), (y0, y1) = surface.view
        starts = np.column_stack((rng.uniform(x0, x1, 3), rng.uniform(y0, y1, 3)))
        fast = simulate(surface, choices, starts, 60, engine="fast")
        eager = simulate(surface, choices, starts, 60, engine="eager")
        np.testing.assert_allclose(fast.positions, eager.positions, rtol=0, atol=1e-9, err_msg=name)
        np.testing.assert_array_equal(fast.diverged_step, eager.diverged_step, err_msg=name)


def _mixed(t: torch.Tensor, c: float = 0.5) -> torch.Tensor:
    # Operations the built-in surfaces do not use, including data-dependent selections.
    x, y = t[..., 0], t[..., 1]
    smooth = torch.log1p(x**2) + torch.tanh(y) * torch.atan(x) + torch.sigmoid(x - y) + torch.rsqrt(2 + y**2)
    return smooth + c * torch.where(x > 0, x**2, 0.5 * x**2) + torch.maximum(y, x).abs() ** 1.5 / 3


def test_operations_beyond_the_builtin_surfaces():
    surface = Surface("mixed", "Mixed", "…", _mixed, ((-2.0, 2.0), (-2.0, 2.0)))
    choices = [OptimizerChoice("sgd", {"lr": 0.05}), OptimizerChoice("adam", {"lr": 0.05})]
    starts = [(1.5, -1.0), (-1.2, 1.3)]
    fast = simulate(surface, choices, starts, 100, engine="fast")
    eager = simulate(surface, choices, starts, 100, engine="eager")
    np.testing.assert_allclose(fast.positions, eager.positions, rtol=0, atol=1e-9)
    assert np.abs(fast.positions[:, :, -1] - fast.positions[:, :, 0]).max() > 0.1


def test_a_math_call_on_a_constant_broadcast_to_rows_is_unsupported_not_a_crash():
    from optviz.core import codegen, loops

    ins = [loops.Instruction("1.0", False, "double"), loops.Instruction("%0", True, "double", math="sqrt")]
    with pytest.raises(codegen.Unsupported, match="a math function of a constant broadcast to rows"):
        loops.write_loops(ins, {"f[i]": "%1"}, 256)


def test_nothing_a_user_changes_while_playing_rebuilds():
    surface = get_surface("rosenbrock")
    lib = engine.library(surface)
    before = kernel.COMPILES[0]
    rng = np.random.default_rng(0)
    for n_starts, steps in [(1, 1), (3, 17), (16, 500), (64, 40), (5, 5000)]:
        starts = rng.uniform(-1.5, 1.5, size=(n_starts, 2))
        choices = [OptimizerChoice(n, {"lr": float(rng.uniform(1e-4, 1e-3))}) for n in REGISTRY]
        fast = simulate(surface.with_params(b=float(rng.uniform(10, 200))), choices, starts, steps, engine="fast")
        assert fast.positions.shape == (len(REGISTRY), n_starts, steps + 1, 2)
    assert engine.library(surface.with_params(a=2.0)) is lib
    assert kernel.COMPILES[0] == before
    # ... and the surface's parameters are arguments, not constants: a new one moves the paths as eagerly.
    moved = surface.with_params(a=1.7, b=30.0)
    fast = simulate(moved, CHOICES, STARTS, 100, engine="fast")
    np.testing.assert_allclose(fast.positions, simulate(moved, CHOICES, STARTS, 100, engine="eager").positions,
                               rtol=0, atol=1e-9)


def test_auto_runs_eagerly_then_builds_in_the_background_and_takes_over():
    surface = dataclasses.replace(get_surface("booth"), fn=lambda t: get_surface("booth").fn(t))  # a new function
    assert engine.state(surface) == "idle"
    first = simulate(surface, CHOICES[:2], STARTS, 20)
    assert first.engine == "eager" and engine.state(surface) == "idle"  # one call: no build
    second = simulate(surface, CHOICES[:2], STARTS, 20)
    assert second.engine == "eager" and engine.state(surface) in ("compiling", "ready")
    assert engine.wait_idle(120) and engine.state(surface) == "ready"
    third = simulate(surface, CHOICES[:2], STARTS, 20)
    assert third.engine == "fast" and engine.status(surface) == "fast engine ready"
    np.testing.assert_allclose(third.positions, first.positions, rtol=0, atol=1e-12)


def test_unavailable_engine_is_silent_for_auto_and_clear_for_fast(monkeypatch):
    def unsupported(t: torch.Tensor) -> torch.Tensor:
        return torch.special.erf(t[..., 0]) + t[..., 1] ** 2

    surface = Surface("erf", "Erf", "…", unsupported, ((-2.0, 2.0), (-2.0, 2.0)))
    assert engine.prepare(surface, background=False).startswith("unavailable: surface erf")
    assert simulate(surface, CHOICES[:1], STARTS, 5).engine == "eager"
    with pytest.raises(SimulationError, match="fast engine is unavailable: surface erf"):
        simulate(surface, CHOICES[:1], STARTS, 5, engine="fast")
    monkeypatch.setenv("OPTVIZ_ENGINE", "eager")
    assert engine.state(get_surface("rosenbrock")).startswith("unavailable: turned off")
    assert simulate(get_surface("rosenbrock"), CHOICES[:1], STARTS, 5).engine == "eager"
    with pytest.raises(SimulationError, match="OPTVIZ_ENGINE=eager"):
        simulate(get_surface("rosenbrock"), CHOICES[:1], STARTS, 5, engine="fast")


def test_no_compiler_means_unavailable(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("CC", "")
    with pytest.raises(kernel.BuildError, match="no C compiler"):
        kernel.compiler()
    surface = dataclasses.replace(get_surface("matyas"), fn=lambda t: get_surface("matyas").fn(t))
    assert engine.prepare(surface, background=False) == "unavailable: no C compiler (install gcc or clang, or set CC)"
    assert simulate(surface, CHOICES[:1], STARTS, 5).engine == "eager"


def test_bad_engine_and_device_combinations():
    surface = get_surface("booth")
    with pytest.raises(SimulationError, match="Invalid engine: 'jit'"):
        simulate(surface, CHOICES, STARTS, 5, engine="jit")
    with pytest.raises(SimulationError, match="float64"):
        simulate(surface, CHOICES, STARTS, 5, engine="fast", dtype=torch.float32)
    assert simulate(surface, CHOICES, STARTS, 5, dtype=torch.float32).engine == "eager"
    assert simulate(surface, CHOICES, [], 5, engine="fast").positions.shape == (len(CHOICES), 0, 6, 2)


def test_a_second_process_loads_the_kernel_from_disk_without_compiling():
    engine.library(get_surface("himmelblau"))  # kept in this module's cache folder
    code = ("from optviz.core import kernel, simulate as s, surfaces, optimizers\n"
            "p = s.simulate(surfaces.get_surface('himmelblau'), [optimizers.OptimizerChoice('adam')], [(1, 1)], 50)\n"
            "print(p.engine, kernel.COMPILES[0])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["fast", "0"]


def test_a_first_call_with_nothing_compiled_never_imports_torch_dynamo(tmp_path):
    # torch.optim's first optimizer imports torch._dynamo (1.6 s): "auto" must not, so that a launch's first paths
    # and a one-shot `optviz paths` do not wait for it. The paths equal torch.optim's (test_simulate, "batched").
    code = ("import sys\nfrom optviz.core import simulate as s, surfaces, optimizers\n"
            "cs = [optimizers.OptimizerChoice(n) for n in optimizers.DEFAULT_OPTIMIZERS]\n"
            "p = s.simulate(surfaces.get_surface('rosenbrock'), cs, [(-1, 2)], 500, internals=[0])\n"
            "print(p.engine, 'torch._dynamo' in sys.modules, bool(p.positions[:, 0, -1].std() > 0))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OPTVIZ_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["eager", "False", "True"]


def test_kernels_are_written_atomically_and_kept_by_source():
    surface = get_surface("himmelblau")
    folder = kernel.cache_dir()
    libraries = sorted(folder.glob("*.so"))
    assert libraries and not list(folder.glob(".*.tmp"))
    assert engine.library(surface).path in libraries


def test_auto_device_keeps_the_faster_candidate_per_size(monkeypatch):
    clock = iter(range(0, 1000, 1))  # a fake clock: each call to perf_counter advances it by 1
    calls: list[str] = []

    def work(name: str, cost: int):
        def run():
            calls.append(name)
            for _ in range(cost - 1):  # `cost` ticks pass between the clock readings around this work
                next(clock)
            return name.upper()
        return run

    monkeypatch.setattr(engine.time, "perf_counter", lambda: next(clock))
    key = ("test", engine.bucket(100), engine.bucket(501))
    assert (engine.bucket(100), engine.bucket(128), engine.bucket(129), engine.bucket(1)) == (128, 128, 256, 1)
    assert engine.pick(key, {"cpu": work("cpu", 5), "cuda": work("cuda", 2)}) == ("cuda", "CUDA")
    assert calls == ["cpu", "cuda"]
    assert engine.pick(key, {"cpu": work("cpu", 1), "cuda": work("cuda", 9)}) == ("cuda", "CUDA")
    assert calls == ["cpu", "cuda", "cuda"]  # measured once: later calls run the winner only
    probe_key = ("test-probe",)
    got = engine.pick(probe_key, {"cpu": work("cpu-full", 1), "cuda": work("cuda-full", 1)},
                      {"cpu": work("cpu", 2), "cuda": work("cuda", 7)})
    assert got == ("cpu", "CPU-FULL") and calls[-3:] == ["cpu", "cuda", "cpu-full"]


@pytest.mark.skipif(None in kernel.math_table(), reason="this torch does not compute sqrt, exp, … with MKL")
def test_bit_for_bit_where_the_kernel_calls_torchs_own_math():
    # Where the kernel found torch's MKL functions, every output equals the eager engine's to the last bit
    # (a misplaced fused multiply-add or a libm call would show here long before it reached 1e-9).
    for name in ("rosenbrock", "ackley", "wells"):
        surface = get_surface(name)
        fast = simulate(surface, CHOICES + BRANCHES, STARTS, 150, engine="fast")
        eager = simulate(surface, CHOICES + BRANCHES, STARTS, 150, engine="eager")
        for field_name in ("positions", "losses", "grad_norms", "converged_step", "diverged_step"):
            np.testing.assert_array_equal(getattr(fast, field_name), getattr(eager, field_name), err_msg=name)
