"""Typed formulas: the whitelist parser against hostile text, values and gradients against hand-written torch,
formula and edited-wells surfaces in sessions, the CLI, the critical-point search and both engines."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import torch_optim_path

from optviz.cli import main
from optviz.core import engine, kernel
from optviz.core.custom import (DEFAULT_VIEW, FormulaSurfaceError, builtin_wells, formula_surface, parse_view,
                                wells_of, wells_surface)
from optviz.core.formula import MAX_DEPTH, MAX_LENGTH, FormulaError, parse_formula
from optviz.core.optimizers import OptimizerChoice
from optviz.core.params import ParamError
from optviz.core.session import SessionError, session_from_dict, session_to_dict
from optviz.core.simulate import simulate
from optviz.core.surfaces import get_surface

F = torch.nn.functional


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPTVIZ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "optviz-cache"))
        mp.delenv("OPTVIZ_ENGINE", raising=False)
        yield
    engine.wait_idle(60)


# ---- the parser: hostile text ----------------------------------------------------------------------------------

HOSTILE = [
    "__import__('os')", "__import__('os').system('ls')", "x.real", "x.__class__.__mro__", "(1).__class__",
    "x[0]", "y[::-1]", "lambda: 1", "(lambda x: x)(1)", "[x for x in y]", "{x: 1 for x in y}", "sum(i for i in x)",
    "f'{x}'", "f'{__import__(\"os\")}'", "(z := 1)", "(x := 2) + x", "9**9**9", "2**10000", "10**400",
    "1" * 400, "(" * 200 + "x" + ")" * 200, "-" * 300 + "x", "x" + "+x" * 500, "x" * 10_000, "eval('1')",
    "exec('1')", "compile('1', '', 'eval')", "open('/etc/passwd')", "globals()", "x if y else 1", "x < y",
    "x and y", "not x", "~x", "x ^ 2", "x // 2", "x % 2", "x @ y", "x | y", "'abc'", "b'abc'", "[x, y]",
    "{x}", "{1: x}", "x, y", "*x", "await x", "x = 1", "import os", "x; y", "1j", "True", "None", "...",
    "\0", "x\ny", "sin(x=1)", "min(x)", "max(x, y, 1)", "sin", "foo(x)", "sin()(x)", "x²", "", "   ",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_formulas_are_refused_fast_with_one_line(text):
    t0 = time.perf_counter()
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    assert time.perf_counter() - t0 < 0.5
    message = str(info.value)
    assert "\n" not in message and 0 < len(message) < 400


ATOMS = st.sampled_from(["x", "y", "pi", "e", "1", "2.5", "0.1", "3", "z", "os", "__import__", "sin", "exp"])
GLUE = st.sampled_from([" + ", " - ", " * ", " / ", " ** ", "(", ")", ",", ".", "[", "]", ":", "=", "'", '"', "{",
                        "}", "lambda ", " for ", " in ", " if ", " else ", ":=", "^", "%", "@", "!", "sin(",
                        "min(", "softplus(", "__class__", "f'", "\\", "#", ";", "\n", " "])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(ATOMS, GLUE), max_size=40) | st.text(max_size=60))
def test_any_text_parses_to_the_whitelist_or_is_refused_in_bounded_time(pieces):
    text = "".join(pieces) if isinstance(pieces, list) else pieces
    t0 = time.perf_counter()
    try:
        formula = parse_formula(text)
    except FormulaError as exc:
        assert "\n" not in str(exc) and 0 < len(str(exc)) < 400
    else:
        _assert_whitelisted(formula.tree)
        x = torch.linspace(-2, 2, 5, dtype=torch.float64)
        assert formula.evaluate(x, x).shape == (5,)
    assert time.perf_counter() - t0 < 1.0


def _assert_whitelisted(tree):
    kind = tree[0]
    if kind == "num":
        assert isinstance(tree[1], float) and math.isfinite(tree[1])
    elif kind in ("x", "y"):
        assert len(tree) == 1
    elif kind == "call":
        assert tree[1] in ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "softplus", "min",
                           "max")
        for arg in tree[2:]:
            _assert_whitelisted(arg)
    else:
        assert kind in ("neg", "add", "sub", "mul", "div", "pow")
        for arg in tree[1:]:
            _assert_whitelisted(arg)


@pytest.mark.parametrize("text, expected", [
    ("x + y + z", "unknown name 'z' at column 9"),
    ("x^2", "'^' at column 2: write powers as **"),
    ("2x + y", "at column 1 (write a product with *"),
    ("x.real", "attribute access ('.') not allowed at column 1"),
    ("sin(x) + y[0]", "subscripts ('[...]') not allowed at column 10"),
    ("x + (y", "'(' was never closed at column 5"),
    ("x +", "incomplete formula"),
    ("2**x**100", "exponent 100 at column 7 too large"),
    ("9**9**9", "too large"),
    ("x + 1/0", "division by zero at column 5"),
    ("foo(x)", "unknown function 'foo' at column 1"),
    ("max(x)", "max() takes 2 arguments, got 1 at column 1"),
    ("x²", "character '²' at column 2 not allowed (write powers as **)"),
])
def test_messages_name_the_problem_and_its_column(text, expected):
    with pytest.raises(FormulaError, match=None) as info:
        parse_formula(text)
    assert expected in str(info.value)


def test_limits_on_length_and_depth():
    with pytest.raises(FormulaError, match=f"at most {MAX_LENGTH}"):
        parse_formula("x" + "+x" * MAX_LENGTH)
    deep = "sin(" * (MAX_DEPTH + 5) + "x" + ")" * (MAX_DEPTH + 5)
    with pytest.raises(FormulaError, match="nested too deeply"):
        parse_formula(deep)
    parse_formula("sin(" * 10 + "x" + ")" * 10)


# ---- values and gradients against hand-written torch -----------------------------------------------------------

CASES = [
    ("sin(3*x)*cos(3*y) + 0.1*(x**2 + y**2)", lambda x, y: torch.sin(3 * x) * torch.cos(3 * y) + 0.1 * (x**2 + y**2)),
    ("(1 - x)**2 + 100*(y - x**2)**2", lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2),
    ("-x**2 + 2**y - 3/(1 + y**2)", lambda x, y: -(x**2) + 2**y - 3 / (1 + y**2)),
    ("exp(-x**2) * log(2 + y**2) + sqrt(1 + x**2 + y**2)",
     lambda x, y: torch.exp(-(x**2)) * torch.log(2 + y**2) + torch.sqrt(1 + x**2 + y**2)),
    ("tanh(x) * sigmoid(y) + softplus(x - y) + abs(x + 0.3)",
     lambda x, y: torch.tanh(x) * torch.sigmoid(y) + F.softplus(x - y) + torch.abs(x + 0.3)),
    ("min(x, y) + max(x**2, 0.5) - min(1, y)",
     lambda x, y: torch.minimum(x, y) + torch.clamp_min(x**2, 0.5) - torch.clamp_max(y, 1.0)),
    ("tan(0.3*x) + pi*y - e", lambda x, y: torch.tan(0.3 * x) + math.pi * y - math.e),
    ("(2 + sin(x))**(1 + 0.1*y**2)", lambda x, y: (2 + torch.sin(x)) ** (1 + 0.1 * y**2)),
    ("x", lambda x, y: x + 0 * y),
    ("4.5", lambda x, y: 0 * x + 4.5),
]


@pytest.mark.parametrize("text, reference", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_equal_hand_written_torch(text, reference):
    formula = parse_formula(text)
    g = torch.Generator().manual_seed(0)
    p = (torch.rand(200, 2, generator=g, dtype=torch.float64) * 4 - 2).requires_grad_(True)
    q = p.detach().clone().requires_grad_(True)
    mine, theirs = formula(p), reference(q[:, 0], q[:, 1])
    torch.testing.assert_close(mine, theirs, rtol=1e-13, atol=1e-13)
    (g1,) = torch.autograd.grad(mine.sum(), p)
    (g2,) = torch.autograd.grad(theirs.sum(), q)
    torch.testing.assert_close(g1, g2, rtol=1e-13, atol=1e-13)


def test_equal_formulas_share_a_surface_and_spellings_share_a_canonical_text():
    assert formula_surface("x**2 + y**2") is formula_surface("  x**2 + y**2 ")
    assert parse_formula("x**2+y**2").canonical == parse_formula("(x ** 2) + (y**2)").canonical
    assert formula_surface("x**2 + y").key != formula_surface("x**2 + y", (-1, 1, -1, 1)).key


# ---- surfaces: view box, non-finite values, critical points ----------------------------------------------------

def test_a_formula_not_finite_on_the_view_box_is_reported_with_where():
    with pytest.raises(FormulaSurfaceError, match=r"f is NaN at \(x, y\) = \(-3, -3\)"):
        formula_surface("log(x) + y", DEFAULT_VIEW)
    with pytest.raises(FormulaSurfaceError, match=r"f is infinite at \(x, y\) = \(-30, -1\)"):
        formula_surface("exp(x**2) + y", (-30, 30, -1, 1))
    assert formula_surface("log(x) + y**2", (0.5, 3, -1, 1)).view == ((0.5, 3.0), (-1.0, 1.0))


@pytest.mark.parametrize("text", ["1,2,3", "3,1,0,1", "0,1,2,2", "a,b,c,d", "0,1,0,inf", "0,1,0,1e9", ""])
def test_bad_view_boxes_are_refused(text):
    with pytest.raises(ParamError, match="view box"):
        parse_view(text)


def test_critical_points_of_a_formula_are_found_and_classified():
    surface = formula_surface("(x**2 - 1)**2 + y**2", (-2, 2, -2, 2))
    minima = sorted((round(m.x, 9), round(m.y, 9), m.kind) for m in surface.minima)
    assert minima == [(-1.0, 0.0, "global"), (1.0, 0.0, "global")]
    assert [(round(s.x, 9), round(s.y, 9), round(s.value, 9)) for s in surface.saddles] == [(0.0, 0.0, 1.0)]
    other = formula_surface("(x**2 - 1)**2 + y**2", (0.5, 2, -2, 2))  # another view box: its own points
    assert [round(m.x, 9) for m in other.minima] == [1.0] and other.saddles == ()


def test_a_path_through_a_non_differentiable_point_diverges_and_does_not_raise():
    surface = formula_surface("sqrt(x**2 + y**2)", (-2, 2, -2, 2))
    paths = simulate(surface, [OptimizerChoice("sgd", {"lr": 1.0})], [(1.0, 0.0)], 10, engine="eager")
    assert paths.diverged_step[0, 0] >= 0  # the step lands exactly on the cone's tip: the gradient there is NaN
    assert paths.status(0, 0) == "diverged"


def test_formula_paths_equal_torch_optim():
    surface = formula_surface("sin(3*x)*cos(3*y) + 0.1*(x**2 + y**2)")
    choice = OptimizerChoice("adam", {"lr": 0.05})
    paths = simulate(surface, [choice], [(1.0, -0.5)], 100, engine="eager")
    ref = torch_optim_path(surface, choice, (1.0, -0.5), 100)
    np.testing.assert_allclose(paths.positions[0, 0], ref, rtol=0, atol=1e-12)


# ---- the fast engine -------------------------------------------------------------------------------------------

def test_formula_surfaces_run_on_the_fast_engine_and_agree_with_eager():
    choices = [OptimizerChoice("sgd", {"lr": 0.01}), OptimizerChoice("adam", {"lr": 0.05})]
    starts = [(1.0, -0.5), (-1.3, 1.1), (0.2, 0.4)]
    text = "tanh(x)*sigmoid(y) + softplus(x - y) + abs(x + 0.3) + min(x, y)**2 + (2 + sin(x))**(1 + 0.1*y**2)"
    for surface in (formula_surface(text), formula_surface("x**2 + 0.5")):  # the second: a gradient with a 0
        fast = simulate(surface, choices, starts, 120, engine="fast")
        eager = simulate(surface, choices, starts, 120, engine="eager")
        assert fast.engine == "fast"
        np.testing.assert_allclose(fast.positions, eager.positions, rtol=0, atol=1e-9, err_msg=surface.formula)
        np.testing.assert_array_equal(fast.diverged_step, eager.diverged_step)


def test_a_formula_kernel_is_kept_by_its_text_and_never_rebuilt_for_a_new_view_box():
    surface = formula_surface("x**4 - x**2 + y**2")
    lib = engine.library(surface)
    before = kernel.COMPILES[0]
    assert engine.library(formula_surface("x**4 - x**2 + y**2", (-1, 1, -1, 1))) is lib
    assert kernel.quick_key(surface) == kernel.quick_key(formula_surface("x**4 - x**2 + y**2", (-5, 5, -1, 1)))
    assert kernel.quick_key(surface) != kernel.quick_key(formula_surface("x**4 - x**2 + 2*y**2"))
    assert kernel.load_cached(surface) is not None  # a later launch finds it on disk without tracing
    assert kernel.COMPILES[0] == before


# ---- edited wells ----------------------------------------------------------------------------------------------

def test_edited_wells_equal_the_builtin_surface_with_the_same_wells():
    builtin, edited = get_surface("wells"), wells_surface(builtin_wells())
    p = torch.rand(500, 2, dtype=torch.float64) * 8 - 4
    torch.testing.assert_close(edited(p), builtin(p), rtol=1e-14, atol=1e-14)
    assert wells_of(edited) == builtin_wells() == wells_of(builtin)


def test_moving_a_well_moves_the_minimum_and_needs_no_new_kernel():
    wells = [(0.0, 0.0, 2.0, 0.6), (2.0, 2.0, -1.0, 0.5)]  # a well and a hill
    surface = wells_surface(wells)
    lib = engine.library(surface)
    before = kernel.COMPILES[0]
    moved = wells_surface([(1.0, -1.0, 2.0, 0.6), (2.0, 2.0, -1.0, 0.5)])
    assert engine.library(moved) is lib and kernel.COMPILES[0] == before
    xs, ys, z = moved.grid(201)
    i, j = np.unravel_index(int(torch.argmin(z)), z.shape)
    assert abs(float(xs[j]) - 1.0) < 0.15 and abs(float(ys[i]) + 1.0) < 0.15
    choices = [OptimizerChoice("momentum", {"lr": 0.05})]
    fast = simulate(moved, choices, [(-2.0, 2.5)], 200, engine="fast")
    eager = simulate(moved, choices, [(-2.0, 2.5)], 200, engine="eager")
    np.testing.assert_allclose(fast.positions, eager.positions, rtol=0, atol=1e-9)
    assert wells_surface([])(torch.tensor([[1.0, 2.0]], dtype=torch.float64)).item() == pytest.approx(0.3)  # bowl


# ---- sessions and the command line -----------------------------------------------------------------------------

def _session(surface: dict) -> dict:
    return {"version": 2, "surface": surface, "optimizers": [{"name": "sgd", "values": {"lr": 0.05}}],
            "starts": [[1.0, 1.0]], "steps": 20}


def test_formula_and_wells_sessions_round_trip():
    s = session_from_dict(_session({"formula": "x**2 + 3*y**2", "view": [-2, 2, -1, 1]}))
    assert (s.surface, s.formula, s.view) == ("custom", "x**2 + 3*y**2", (-2.0, 2.0, -1.0, 1.0))
    assert session_from_dict(json.loads(json.dumps(session_to_dict(s)))) == s
    assert s.make_surface().view == ((-2.0, 2.0), (-1.0, 1.0))
    w = session_from_dict(_session({"name": "wells", "wells": [[0, 1, 1.5, 0.5], [1, -1, -0.5, 1]]}))
    assert w.wells == ((0.0, 1.0, 1.5, 0.5), (1.0, -1.0, -0.5, 1.0))
    assert session_from_dict(json.loads(json.dumps(session_to_dict(w)))) == w
    assert w.make_surface().param_values()["depth2"] == -0.5


@pytest.mark.parametrize("surface, expected", [
    ({"formula": "x + z"}, "unknown name 'z' at column 5"),
    ({"formula": 3}, "surface.formula must be text"),
    ({"formula": "x", "view": [1, 0, 0, 1]}, "Invalid view box"),
    ({"formula": "x", "params": {}}, "unknown key 'params'"),
    ({"formula": "log(x)"}, "f is NaN at"),
    ({"name": "wells", "wells": [[0, 0, 9, 1]]}, "Invalid depth: 9"),
    ({"name": "wells", "wells": [[0, 0, 1, 1]] * 13}, "at most 12"),
    ({"name": "himmelblau", "wells": []}, 'only the "wells" surface'),
])
def test_bad_custom_surfaces_in_sessions_are_refused_in_one_line(surface, expected):
    with pytest.raises(SessionError) as info:
        session_from_dict(_session(surface))
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_cli_paths_and_surfaces_with_a_formula(capsys, tmp_path):
    assert main(["paths", "--formula", "(x - 1)**2 + 3*(y + 0.5)**2", "--view", "-2,3,-2,2", "--start", "2,2",
                 "--steps", "3", "--optimizer", "sgd:lr=0.1"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[1] == "sgd,0,0,2.0,2.0,19.75,15.132745950421556,running"
    x, y = (float(v) for v in rows[2].split(",")[3:5])
    assert (x, y) == pytest.approx((2 - 0.1 * 2, 2 - 0.1 * 15))
    assert main(["surfaces", "--formula", "(x**2 - 1)**2 + y**2", "--view", "-2,2,-2,2", "--json"]) == 0
    (doc,) = json.loads(capsys.readouterr().out)
    assert doc["name"] == "custom" and doc["view"] == [[-2.0, 2.0], [-2.0, 2.0]]
    assert sorted(round(m["x"], 6) for m in doc["minima"]) == [-1.0, 1.0]
    out = tmp_path / "b.npz"
    assert main(["basins", "--formula", "(x**2 - 1)**2 + y**2", "--view=-2,2,-2,2", "--optimizer", "sgd:lr=0.05",
                 "--resolution", "8", "--steps", "200", "--engine", "eager", "--out", str(out)]) == 0
    assert set(np.unique(np.load(out)["sgd/labels"])) <= {-1, 0, 1}


@pytest.mark.parametrize("argv, expected", [
    (["paths", "--formula", "__import__('os').system('echo hi')", "--start", "0,0", "--optimizer", "sgd"],
     "only plain function names can be called"),
    (["paths", "--formula", "9**9**9", "--start", "0,0", "--optimizer", "sgd"], "too large"),
    (["paths", "--formula", "x + z", "--start", "0,0", "--optimizer", "sgd"], "unknown name 'z' at column 5"),
    (["paths", "--formula", "log(x)", "--start", "0,0", "--optimizer", "sgd"], "f is NaN at"),
    (["paths", "--formula", "x", "--view", "1,0,0,1", "--start", "0,0", "--optimizer", "sgd"], "Invalid view box"),
    (["paths", "--formula", "x", "--surface", "booth", "--start", "0,0", "--optimizer", "sgd"], "not both"),
    (["paths", "--surface", "booth", "--view", "0,1,0,1", "--start", "0,0", "--optimizer", "sgd"],
     "--view goes with --formula"),
    (["surfaces", "--formula", "x ** * 2", "--json"], "invalid syntax at column 6"),
    (["sweep", "--formula", "x[0]", "--start", "0,0", "--optimizer", "sgd", "--x", "lr:1e-3:1", "--out", "s.npz"],
     "subscripts"),
])
def test_cli_bad_formulas_exit_2_with_one_line(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], captured.err
    assert captured.out == ""


SURFACE_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(), st.text(max_size=30),
                           st.sampled_from(["x**2 + y", "9**9**9", "__import__('os')", "log(x)", "custom", "wells"]),
                           st.lists(st.one_of(st.floats(-10, 10), st.text(max_size=3), st.lists(st.floats(-10, 10),
                                                                                                max_size=5)),
                                    max_size=14))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["name", "params", "formula", "view", "wells", "extra"]), SURFACE_VALUES,
                       max_size=4))
def test_any_surface_object_in_a_session_loads_or_is_refused_in_one_line(surface):
    try:
        session = session_from_dict(_session(surface))
    except SessionError as exc:
        assert "\n" not in str(exc) and 0 < len(str(exc)) < 600
    else:
        assert session_from_dict(json.loads(json.dumps(session_to_dict(session)))) == session
        session.make_surface()


def test_cli_view_overrides_a_sessions_formula_and_is_refused_for_a_named_surface(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(_session({"formula": "(x - 1)**2 + y**2", "view": [-2, 2, -2, 2]})))
    out = tmp_path / "p.json"
    assert main(["paths", "--session", str(path), "--view", "0,3,-1,1", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert (doc["surface"], doc["formula"], doc["view"]) == ("custom", "(x - 1)**2 + y**2", [0.0, 3.0, -1.0, 1.0])
    assert (doc["paths"][0]["x"][1], doc["paths"][0]["y"][1]) == pytest.approx((1.0, 0.9))  # ∇f(1, 1) = (0, 2)
    path.write_text(json.dumps(_session({"name": "booth"})))
    capsys.readouterr()
    assert main(["paths", "--session", str(path), "--view", "0,3,-1,1"]) == 2
    assert "--view goes with --formula" in capsys.readouterr().err
