"""rules.numpy_step (the launch preview's torch-free rules) against rules.torch_step and torch.optim itself, for
every kind and every branch of the update rules, rows of different kinds in one batch.

Agreement: numpy_step and torch_step are the same rule functions through numpy's and torch's operations. They
differ in one operation: torch's float sqrt is MKL's vector sqrt (vdSqrt, "high accuracy"), which is one unit in the
last place off the correctly rounded root for about 1 % of inputs, numpy's is the correctly rounded one. With torch's
sqrt put in numpy's place the two agree bit for bit (where torch fuses addcmul and lerp: AVX2/AVX512), NaN, inf and
signed zeros included. With numpy's own sqrt, numpy_step follows torch_step and torch.optim to 1e-9 absolute and
relative after 300 steps on these (non-chaotic) cases; on a chaotic path (Adadelta lr 0.5, ρ 0.8 on Rosenbrock) the
1-ulp roots grew to 5e-3 in 300 steps.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from optviz.core import numpy_ops, rules
from optviz.core.optimizers import OptimizerChoice

STEPS = 300
# Every flag and branch of the rules, at values that are not torch.optim's defaults.
CASES = [
    OptimizerChoice("sgd", {"lr": 2e-3, "weight_decay": 0.05}),
    OptimizerChoice("momentum", {"lr": 1e-3, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}),
    OptimizerChoice("momentum", {"lr": 1e-3, "momentum": 0.0}),
    OptimizerChoice("nesterov", {"lr": 1e-3, "momentum": 0.7, "weight_decay": 0.02}),
    OptimizerChoice("adagrad", {"lr": 0.2, "lr_decay": 0.01, "initial_accumulator_value": 0.3, "eps": 1e-6,
                                "weight_decay": 0.01}),
    OptimizerChoice("rmsprop", {"lr": 0.005, "alpha": 0.9, "momentum": 0.4, "centered": True, "weight_decay": 0.01}),
    OptimizerChoice("rmsprop", {"lr": 0.002, "alpha": 0.8, "centered": True, "eps": 1e-6}),
    OptimizerChoice("rmsprop", {"lr": 0.003, "alpha": 0.95, "momentum": 0.3}),
    OptimizerChoice("adam", {"lr": 0.02, "beta1": 0.8, "beta2": 0.99, "amsgrad": True, "weight_decay": 0.01}),
    OptimizerChoice("adam", {"lr": 0.01, "beta1": 0.3, "beta2": 0.9, "eps": 1e-6}),
    OptimizerChoice("adamw", {"lr": 0.02, "beta1": 0.85, "weight_decay": 0.05, "amsgrad": True}),
    OptimizerChoice("nadam", {"lr": 0.01, "momentum_decay": 0.01, "weight_decay": 0.01,
                              "decoupled_weight_decay": True}),
    OptimizerChoice("nadam", {"lr": 0.005, "beta1": 0.7, "weight_decay": 0.02}),
    OptimizerChoice("radam", {"lr": 0.01, "beta2": 0.99, "weight_decay": 0.01}),  # ρₜ ≤ 5 at first, then > 5
    OptimizerChoice("radam", {"lr": 0.002, "beta2": 0.5, "weight_decay": 0.05, "decoupled_weight_decay": True}),
    OptimizerChoice("adamax", {"lr": 0.02, "beta1": 0.8, "beta2": 0.95, "weight_decay": 0.001}),
    OptimizerChoice("adadelta", {"lr": 0.3, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.01}),
    OptimizerChoice("asgd", {"lr": 1e-3, "lambd": 0.01, "alpha": 0.6, "t0": 100.0, "weight_decay": 0.01}),
    OptimizerChoice("rprop", {"lr": 0.01, "etaminus": 0.4, "etaplus": 1.3, "step_size_min": 1e-3,
                              "step_size_max": 0.5}),
    OptimizerChoice("muon", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.05}),
    OptimizerChoice("muon", {"lr": 0.02, "momentum": 0.8, "nesterov": False, "ns_steps": 3, "weight_decay": 0.0}),
]
STARTS = np.array([(-1.2, 1.0), (0.5, -0.5), (1.5, 1.7)])
EXACT = torch.backends.cpu.get_cpu_capability() != "DEFAULT"  # torch's kernels fuse addcmul and lerp (FMA)


# The gradients, written once for numpy and for torch with the same operations in the same order.
def rosenbrock(x):
    a, b = x[..., 0], x[..., 1]
    r = b - a * a
    return [-2.0 * (1.0 - a) - 400.0 * a * r, 200.0 * r]


def bowl(x):
    return [x[..., 0] * 3.0 + x[..., 1] * 0.5, x[..., 0] * 0.5 + x[..., 1] * 8.0]


GRADIENTS = {"rosenbrock": rosenbrock, "bowl": bowl}


def numpy_gradient(name, x):
    return np.stack(GRADIENTS[name](x), axis=-1)


def torch_gradient(name, x):
    return torch.stack(GRADIENTS[name](x), dim=-1)


def run_rules(name, choices, step, lib, steps=STEPS):
    """Positions (steps + 1, rows, 2) and the final state of every choice from every start, one batch of rows."""
    table = rules.hyper_table(choices)
    groups = np.repeat(np.arange(len(choices)), len(STARTS))
    kinds = tuple(sorted({int(k) for k in table[:, rules.COL["kind"]]}))
    h, x = table[groups], np.tile(STARTS, (len(choices), 1))
    state = rules.initial_state(table, groups)
    if lib is torch:
        h, x, state = (torch.as_tensor(a) for a in (h, x, state))
    path = [x]
    for k in range(steps):
        g = (torch_gradient if lib is torch else numpy_gradient)(name, x)
        sc = rules.step_scalars(table, k + 1)[groups]
        x, state = step(x, g, state, h, k + 1, torch.as_tensor(sc) if lib is torch else sc, kinds)
        path.append(x)
    if lib is torch:
        return torch.stack(path).numpy(), state.numpy()
    return np.stack(path), state


def torch_optim_run(name, choice, steps=STEPS):
    """torch.optim itself: positions (steps + 1, starts, 2); every start in one parameter (the rules are element-wise)
    but for Muon, which takes a matrix: one 1×2 parameter per start."""
    starts = np.split(STARTS, len(STARTS)) if choice.name == "muon" else [STARTS]
    params = [torch.tensor(s, dtype=torch.float64).requires_grad_(True) for s in starts]
    opt = choice.build(params)
    path = [torch.cat([p.detach() for p in params]).numpy()]
    for _ in range(steps):
        for p in params:
            p.grad = torch_gradient(name, p.detach())
        opt.step()
        path.append(torch.cat([p.detach() for p in params]).numpy())
    return np.stack(path)


def torch_sqrt(a):
    return torch.sqrt(torch.from_numpy(np.ascontiguousarray(a))).numpy()


def assert_same(a, b, msg=""):
    if EXACT:
        np.testing.assert_array_equal(a, b, err_msg=msg)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=msg)


@pytest.fixture(scope="module", params=sorted(GRADIENTS))
def runs(request):
    name = request.param
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(numpy_ops.NUMPY_OPS, "sqrt", torch_sqrt)
        same_sqrt = run_rules(name, CASES, rules.numpy_step, np)
    return name, run_rules(name, CASES, rules.numpy_step, np), same_sqrt, run_rules(name, CASES, rules.torch_step, torch)


def test_numpy_step_is_torch_step_but_for_the_roots(runs):
    name, _, (np_path, np_state), (torch_path, torch_state) = runs
    assert np_path.dtype == np.float64 and np_state.shape == (len(rules.STATE), len(CASES) * len(STARTS), 2)
    assert np.isfinite(np_path).all()  # the cases are chosen to stay finite: agreement on numbers, not on inf
    assert_same(np_path, torch_path, name)
    assert_same(np_state, torch_state, name)


def test_numpy_step_follows_torch_step_and_torch_optim(runs):
    name, (np_path, np_state), _, (torch_path, torch_state) = runs
    np.testing.assert_allclose(np_path, torch_path, rtol=1e-9, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(np_state, torch_state, rtol=1e-9, atol=1e-9, err_msg=name)
    for i, choice in enumerate(CASES):
        rows = slice(i * len(STARTS), (i + 1) * len(STARTS))
        np.testing.assert_allclose(np_path[:, rows], torch_optim_run(name, choice), rtol=1e-9, atol=1e-9,
                                   err_msg=f"{name} {choice}")


def test_one_kind_alone_steps_as_in_a_mixed_batch(runs):
    name, (np_path, _), _, _ = runs
    for kind in range(rules.N_KINDS):
        picked = [i for i, c in enumerate(CASES) if rules.KINDS[c.name] == kind]
        alone, _ = run_rules(name, [CASES[i] for i in picked], rules.numpy_step, np, steps=40)
        rows = np.concatenate([np.arange(i * len(STARTS), (i + 1) * len(STARTS)) for i in picked])
        np.testing.assert_array_equal(alone, np_path[:41, rows], err_msg=f"kind {kind}")


def test_the_cases_reach_every_branch():
    table = rules.hyper_table(CASES)
    rho_t = rules.step_scalars(table, 1)[:, rules.SCALARS.index("rho_t")]
    late = rules.step_scalars(table, STEPS)[:, rules.SCALARS.index("rho_t")]
    radam = table[:, rules.COL["kind"]] == rules.KINDS["radam"]
    assert (rho_t[radam] <= 5).all() and (late[radam] > 5).any() and (late[radam] <= 5).any()
    # Rprop's steps grew and shrank: its sign of g·g_prev changed
    rprop = CASES.index(next(c for c in CASES if c.name == "rprop"))
    sizes = []
    for k in range(1, 60):
        _, state = run_rules("rosenbrock", [CASES[rprop]], rules.numpy_step, np, steps=k)
        sizes.append(state[1])
    sizes = np.array(sizes)
    assert (sizes > 0.01).any() and (sizes < 0.01).any()


def test_inf_nan_and_signed_zeros_as_torch(monkeypatch):
    monkeypatch.setattr(numpy_ops.NUMPY_OPS, "sqrt", torch_sqrt)
    # One step of every case from hostile numbers: NaN, ±inf, ±0, huge and small, in x, g and the state.
    rng = np.random.default_rng(7)
    table = rules.hyper_table(CASES)
    groups = np.repeat(np.arange(len(CASES)), 16)
    pool = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300, -1e300, 1e-150, 3.0, -2.5, 0.7, 1e-8])
    x, g = rng.choice(pool, (len(groups), 2)), rng.choice(pool, (len(groups), 2))
    state = rules.initial_state(table, groups) + rng.choice(pool, (len(rules.STATE), len(groups), 2)) * 0.5
    h = table[groups]
    for t in (1, 2, 150):
        sc = rules.step_scalars(table, t)[groups]
        got = rules.numpy_step(x, g, state, h, t, sc, range(rules.N_KINDS))
        want = rules.torch_step(*(torch.as_tensor(a) for a in (x, g, state, h)), t, torch.as_tensor(sc))
        for a, b in zip(got, want):
            assert_same(a, b.numpy(), f"t={t}")
            if EXACT:  # the sign of zeros too (not of NaN: its sign bit means nothing)
                np.testing.assert_array_equal(np.signbit(a) & ~np.isnan(a), np.signbit(b.numpy()) & ~np.isnan(a))


def test_fused_multiply_add_rounds_once():
    # exact small integers: the true value, where a·b + c in two roundings is not
    big = 2.0 ** 27 + 1
    assert numpy_ops.fma(np.array(big), np.array(big), np.array(-(2.0 ** 54))) == 2.0 ** 28 + 1
    assert big * big - 2.0 ** 54 != 2.0 ** 28 + 1
    if not EXACT:
        pytest.skip("torch's CPU kernels do not fuse here: no fused multiply-add to compare with")
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(20000) * 1e3, rng.standard_normal(20000)
    c = np.where(np.arange(20000) % 2 == 0, -(a * b), rng.standard_normal(20000))  # cancellations and not
    np.testing.assert_array_equal(numpy_ops.fma(a, b, c), torch.addcmul(*map(torch.as_tensor, (c, a, b))).numpy())
    # beyond the float range either way, inf, NaN, signed zeros, subnormals: as torch's fused kernel (the hardware)
    pool = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.7e308, -1.7e308, 1e300, 1e-300, 5e-324, 2.0 ** 996, 1.5])
    with np.errstate(all="ignore"):
        a, b, c = (rng.choice(pool, 20000) * rng.choice([1, -0.999, 1.3], 20000) for _ in range(3))
        scale = 10.0 ** rng.uniform(-308, 308, (3, 20000))
        a, b, c = np.concatenate([a, scale[0] * rng.standard_normal(20000)]), \
            np.concatenate([b, scale[1] * rng.standard_normal(20000)]), \
            np.concatenate([c, scale[2] * rng.standard_normal(20000)])
    got, want = numpy_ops.fma(a, b, c), torch.addcmul(*map(torch.as_tensor, (c, a, b))).numpy()
    same = ((got == want) & (np.signbit(got) == np.signbit(want))) | (np.isnan(got) & np.isnan(want))
    band = (np.abs(want) >= 2.0 ** -1023) & (np.abs(want) < 2.0 ** -1022)  # rounded twice there: may be 1 ulp off
    assert (same | band).all(), list(zip(a[~same], b[~same], c[~same]))[:3]


def test_bfloat16_rounds_to_nearest_even_as_torch():
    bits = np.random.default_rng(5).integers(0, 2 ** 32, 200000, dtype=np.uint64).astype(np.uint32)
    values = np.concatenate([bits.view(np.float32), np.float32([np.inf, -np.inf, 0.0, -0.0, 3.3895e38])])
    got = numpy_ops.NUMPY_OPS.bf16(values)
    want = rules.bf16(torch.as_tensor(values)).numpy()
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    assert same.all()


def test_numpy_step_never_imports_torch():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from optviz.core import rules
        from optviz.core.optimizers import OptimizerChoice
        choices = [OptimizerChoice(n, {}) for n in rules.KINDS]
        table = rules.hyper_table(choices)
        groups = np.arange(len(choices))
        x, state = np.ones((len(choices), 2)), rules.initial_state(table, groups)
        for t in (1, 2):
            x, state = rules.numpy_step(x, 2 * x, state, table[groups], t, rules.step_scalars(table, t)[groups])
        assert np.isfinite(x).all(), x
        print(sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.")))
    """)
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_unknown_kinds_are_refused():
    assert rules.NUMPY_KINDS == tuple(range(rules.N_KINDS))
    with pytest.raises(NotImplementedError, match="kind"):
        rules.numpy_step(np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((4, 1, 2)), np.zeros((1, len(rules.COLUMNS))),
                         1, np.zeros((1, len(rules.SCALARS))), kinds=(rules.N_KINDS,))
