"""Lessons: the registry, the "try next" edits, the playground lessons' claims and ``optviz lessons``.

The claims are the lessons' assertions: each is measured here exactly as ``optviz lessons --check`` measures it.
The training lessons' claims run in tests/training/test_lessons_training.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import re

import numpy as np
import pytest

from optviz.cli import main
from optviz.commands import lessons as command
from optviz.core.lessons import Claim, Edit, Measured, get_lesson, lessons, matches
from optviz.core.params import ParamError
from optviz.core.playground_lessons import PLAYGROUND_LESSONS
from optviz.core.presets import DEFAULT_PRESET, PRESETS, default_session
from optviz.core.session import session_from_dict, session_to_dict


@pytest.fixture(scope="module")
def claims() -> dict[str, Claim]:
    """Every playground lesson's claim, measured once for this module."""
    return {name: lesson.claim() for name, lesson in PLAYGROUND_LESSONS.items()}


def numbers(claim: Claim) -> dict[str, str]:
    return dict(claim.numbers)


# ---- the registry ------------------------------------------------------------------------------------------------

def test_every_lesson_the_issue_asks_for_is_listed_in_order_on_both_tabs():
    all_ = lessons()
    assert [lesson.number for lesson in all_.values()] == list(range(1, len(all_) + 1))
    assert len(all_) == 15
    assert {lesson.tab for lesson in all_.values()} == {"playground", "training"}
    assert [n for n, lesson in all_.items() if lesson.tab == "training"] == ["overfitting", "vanishing", "batchnorm",
                                                                             "kfold"]


@pytest.mark.parametrize("name", list(lessons()))
def test_a_lesson_has_its_texts_and_a_valid_session(name):
    lesson = get_lesson(name)
    for text in (lesson.title, lesson.explanation, *lesson.look_for):
        assert text.strip() and "  " not in text
    assert lesson.explanation.endswith(".") and len(lesson.explanation) > 150
    assert lesson.look_for
    s = lesson.session
    assert session_from_dict(session_to_dict(s)) == s  # a lesson is a session file's worth of settings
    assert matches(s, s, lesson.tab)
    if lesson.tab == "training":
        from optviz.training.config import problems

        assert problems(s.training) == []


@pytest.mark.parametrize("name,edit", [(n, e) for n, lesson in lessons().items() for e in lesson.try_next],
                         ids=lambda x: x if isinstance(x, str) else x.label)
def test_every_try_next_edit_applies_and_changes_the_settings(name, edit):
    lesson = get_lesson(name)
    edited = edit.apply(lesson.session)
    assert session_from_dict(session_to_dict(edited)) == edited
    assert not matches(lesson.session, edited, lesson.tab)
    assert matches(edited, edited, lesson.tab)
    assert edit.label and edit.expect and "  " not in edit.expect


def test_an_edit_sets_hyperparameters_noise_and_surface_parameters():
    base = get_lesson("wells").session
    edited = Edit("x", "y", optimizers={"momentum": {"lr": 0.05, "noise": 0.3, "seed": 4}}, enable=("adam",),
                  surface="quadratic", surface_params={"kappa": 5.0}, steps=120).apply(base)
    by_name = {e.choice.name: e for e in edited.optimizers}
    assert by_name["momentum"].choice.values["lr"] == 0.05 and by_name["momentum"].choice.noise == 0.3
    assert by_name["momentum"].choice.seed == 4 and by_name["sgd"].choice.noise == 0.1
    assert by_name["adam"].enabled and edited.surface == "quadratic" and edited.surface_params == {"kappa": 5.0}
    assert edited.steps == 120
    with pytest.raises(ParamError, match="learning rate"):
        Edit("x", "y", optimizers={"sgd": {"lr": -1.0}}).apply(base)


def test_settings_that_do_not_change_the_lesson_still_match():
    s = get_lesson("saddle").session
    assert matches(s, s.with_(device="cpu"), "playground")  # the device does not change what is drawn
    assert not matches(s, s.with_(steps=s.steps + 1), "playground")
    t = get_lesson("batchnorm").session
    assert matches(t, t.with_(surface="booth"), "training")  # a training lesson ignores the playground


def test_unknown_lesson_names_are_refused_with_the_names_allowed():
    with pytest.raises(ParamError, match=r"Invalid lesson: 'nope' \(allowed: himmelblau, wells, .*kfold\)"):
        get_lesson("nope")


def test_presets_are_the_playground_lessons_and_the_app_opens_on_the_first():
    assert PRESETS is PLAYGROUND_LESSONS and DEFAULT_PRESET == "himmelblau"
    assert default_session() == PRESETS["himmelblau"].session
    assert [e.choice.name for e in default_session().optimizers] == ["sgd", "momentum", "nesterov", "adagrad",
                                                                    "rmsprop", "adam"]


# ---- the claims --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(PLAYGROUND_LESSONS))
def test_the_lessons_claim_holds(claims, name):
    claim = claims[name]
    assert claim.passed, claim.failed()
    assert claim.numbers and len(claim.checks) >= 1


@pytest.mark.parametrize("name,label,fragment", [
    ("himmelblau", "Momentum ends at", "(−2.81, 3.13)"),
    ("himmelblau", "RMSProp: first step with f − f* < 1e-10", "by step 71"),
    ("himmelblau", "RMSProp: last step with f − f* < 1e-10", "after step 188"),
    ("rosenbrock", "Momentum: crossings of the valley floor y = x²", "45 times"),
    ("rosenbrock", "Nesterov: crossings of the valley floor", "5 times"),
    ("rosenbrock", "Momentum: largest |y − x²| after its first crossing", "up to 1.42"),
    ("quadratic", "SGD: steps to f − f* < 1e-6", "needs 390 steps"),
    ("quadratic", "Momentum: steps to f − f* < 1e-6", "needs 59"),
    ("quadratic", "Adagrad: steps to f − f* < 1e-6", "Adagrad needs 20"),
    ("quadratic", "RMSProp: steps to f − f* < 1e-6", "needs 423"),
    ("saddle", "SGD: steps until |y| > 1", "needs 73"),
    ("divergence", "SGD diverges at step", "at step 3"),
    ("weight-decay", "adamw ends at", "AdamW at (1.06, 1.21)"),
])
def test_the_numbers_in_the_texts_are_the_measured_ones(claims, name, label, fragment):
    measured = numbers(claims[name])[label]
    digits = re.findall(r"\d+(?:\.\d+)?", fragment)
    assert fragment in PLAYGROUND_LESSONS[name].explanation
    for d in digits:
        assert any(abs(float(d) - abs(float(m))) <= 0.01 * max(1.0, float(d))
                   for m in re.findall(r"-?\d+(?:\.\d+)?", measured)), (fragment, measured)


def test_a_claim_fails_when_a_check_fails():
    m = Measured()
    m.number("x", 1.5)
    m.check("holds", True)
    m.check("does not hold", False)
    claim = m.claim()
    assert not claim.passed and claim.failed() == ["does not hold"] and claim.numbers == (("x", "1.5"),)
    assert not Measured().claim().passed  # a claim that checks nothing proves nothing


# ---- optviz lessons ----------------------------------------------------------------------------------------------

def test_optviz_lessons_lists_every_lesson(capsys):
    assert main(["lessons"]) == 0
    out = capsys.readouterr().out
    for lesson in lessons().values():
        row = rf"^\s*{lesson.number}\s+{re.escape(lesson.name)}\s+{lesson.tab}\s+{re.escape(lesson.title)}$"
        assert re.search(row, out, re.M)


def test_optviz_lessons_name_prints_the_text(capsys):
    assert main(["lessons", "adam"]) == 0
    out = capsys.readouterr().out
    lesson = get_lesson("adam")
    assert lesson.explanation in out and "What to look for:" in out and lesson.try_next[0].label in out


def test_optviz_lessons_check_prints_numbers_and_exits_0_when_all_hold(capsys):
    assert main(["lessons", "--check", "divergence", "saddle"]) == 0
    out = capsys.readouterr().out
    assert "PASS  divergence — Too large a learning rate" in out and "PASS  saddle" in out
    assert "SGD diverges at step: 3" in out and "✓ SGD with lr 0.01 diverges within 10 steps" in out
    assert "2 of 2 lessons passed in" in out


def test_optviz_lessons_check_exits_1_and_names_the_failed_statement():
    failing = Claim((("measured", "42"),), (("it holds", True), ("it does not", False)), 0.1)
    out = io.StringIO()
    status = command.run(argparse.Namespace(check=True, names=["saddle", "adam"]), out=out,
                         measure=lambda lesson: failing)
    text = out.getvalue()
    assert status == 1 and "FAIL  saddle" in text and "✗ it does not" in text and "✓ it holds" in text
    assert "measured: 42" in text and "0 of 2 lessons passed" in text


def test_optviz_lessons_check_refuses_an_unknown_name_in_one_line(capsys):
    assert main(["lessons", "--check", "saddle", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("optviz: error: Invalid lesson: 'nope' (allowed: himmelblau") and "\n" not in err


# ---- what each playground "try next" says will happen -----------------------------------------------------------

def _after(name: str, label: str):
    """(index by label, paths, surface) of lesson ``name`` after its "try next" edit ``label``."""
    from optviz.core.playground_claims import run

    lesson = get_lesson(name)
    edit = next(e for e in lesson.try_next if e.label.startswith(label))
    session = edit.apply(lesson.session)
    _, paths, surface = run(session)
    return {c.label: i for i, c in enumerate(session.enabled_choices())}, paths, surface, session


def _end(p, i):
    return p.positions[i, 0, -1]


def _near(point, target, tol):
    return float(np.hypot(point[0] - target[0], point[1] - target[1])) < tol


def test_try_next_on_himmelblau():
    idx, p, _, _ = _after("himmelblau", "Lower Momentum's")
    assert _near(_end(p, idx["momentum"]), (3, 2), 1e-3) and _near(_end(p, idx["nesterov"]), (3, 2), 1e-3)
    idx, p, _, _ = _after("himmelblau", "Lower RMSProp's")
    assert 0.1 < p.losses[idx["rmsprop"], 0, -1] < 0.2 and p.status(idx["rmsprop"], 0) == "running"
    idx, p, _, _ = _after("himmelblau", "Start at")
    assert all(_near(_end(p, idx[n]), (-3.779, -3.283), 1e-3) for n in ("sgd", "momentum", "nesterov", "adagrad",
                                                                        "adam"))


def test_try_next_on_the_wells():
    from optviz.core.playground_claims import _settled_minimum, run

    lesson = get_lesson("wells")
    noisy = lesson.try_next[0].apply(lesson.session)
    for seed, kind in ((1, "local"), (4, "local"), (6, "local"), (0, "global")):
        s = noisy.with_(optimizers=tuple(dataclasses.replace(e, choice=dataclasses.replace(e.choice, seed=seed))
                                         for e in noisy.optimizers))
        idx, p, surface = run(s)
        assert _settled_minimum(surface, p.positions[idx["momentum"], 0]).kind == kind, seed
    idx, p, surface, _ = _after("wells", "Give Momentum")
    from optviz.core.playground_claims import _settled_minimum as settled

    assert settled(surface, p.positions[idx["momentum"], 0]).kind == "local"


def test_try_next_on_rosenbrock_quadratic_adagrad_adam():
    from optviz.core.playground_claims import floor_crossings

    idx, p, _, _ = _after("rosenbrock", "Lower Momentum's and Nesterov's momentum")
    assert [floor_crossings(p.positions[idx[n], 0]) for n in ("momentum", "nesterov")] == [3, 1]
    assert _near(_end(p, idx["momentum"]), (0.82, 0.68), 0.01) and _near(_end(p, idx["nesterov"]), (0.82, 0.68), 0.01)
    idx, p, _, _ = _after("quadratic", "Raise SGD's lr")
    assert p.status(idx["sgd"], 0) == "diverged"
    idx, p, _, _ = _after("adagrad", "Raise Adagrad's lr")
    assert _near(_end(p, idx["adagrad"]), (1, 1), 0.6) and not _near(_end(p, idx["adagrad"]), (1, 1), 0.55)
    assert _near(_end(p, idx["rmsprop"]), (1, 1), 0.13)
    idx, p, _, _ = _after("adam", "Set Adam's β₁")
    assert p.converged_step[idx["adam"], 0] == 140
    idx, p, _, _ = _after("adam", "Set κ to 1")
    assert np.allclose(np.abs(p.positions[idx["adam"], 0, 1] - p.positions[idx["adam"], 0, 0]), 0.1, rtol=1e-6)


def test_try_next_on_saddle_divergence_penalties_and_decay():
    idx, p, _, _ = _after("saddle", "Start exactly")
    assert np.all(p.positions[:, 0, :, 1] == 0.0)  # nobody leaves the ridge
    idx, p, _, _ = _after("divergence", "Lower SGD's lr")
    assert p.status(idx["sgd"], 0) != "diverged"
    idx, p, surface, _ = _after("l1-l2", "Switch to L2")
    assert all(p.status(i, 0) == "converged" and _near(_end(p, i), (0.8565, 1.0383), 1e-3) for i in idx.values())
    _, _, surface, _ = _after("l1-l2", "Lower α")
    best = min(surface.minima, key=lambda q: q.value)
    assert np.allclose((best.x, best.y), (0.7222, 2.7222), atol=1e-3)
    idx, p, _, _ = _after("weight-decay", "Set AdamW's")
    assert _near(_end(p, idx["adamw"]), (1.36, 2.01), 0.01)
    idx, p, _, _ = _after("lr-decay", "Remove the noise")
    assert [int(p.converged_step[idx[n], 0]) for n in ("constant", "step", "exponential", "time")] == [140, 182, -1, -1]
