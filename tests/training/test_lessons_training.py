"""The training lab's lessons: each claim trains on the shipped MNIST 5k with seeds 0, 1 and 2 and must hold.

The claims are measured once for the module (about a minute on a 2-core CPU) and shared: the same results are
asserted here and printed through ``optviz lessons --check``'s code, as the command prints them.
"""

from __future__ import annotations

import io
import re

import pytest

from optviz.commands import lessons as command
from optviz.core.lessons import Claim, lessons
from optviz.training.lessons import SEEDS, TRAINING_LESSONS


@pytest.fixture(scope="module")
def claims() -> dict[str, Claim]:
    return {name: lesson.claim() for name, lesson in TRAINING_LESSONS.items()}


def test_the_training_lessons_are_registered_with_three_seeds():
    assert SEEDS == (0, 1, 2)
    for name, lesson in TRAINING_LESSONS.items():
        assert lessons()[name] is lesson and lesson.tab == "training" and lesson.seeds == SEEDS
        assert "Checked for seeds 0, 1 and 2." in lesson.explanation


@pytest.mark.parametrize("name", list(TRAINING_LESSONS))
def test_the_lessons_claim_holds_for_every_seed(claims, name):
    claim = claims[name]
    assert claim.passed, claim.failed()
    for seed in SEEDS:  # the numbers are given per seed
        assert any(label.startswith(f"seed {seed}:") for label, _ in claim.numbers)


def test_the_vanishing_gradient_is_orders_of_magnitude(claims):
    rows = [value for label, value in claims["vanishing"].numbers if "median gradient norm of the first conv" in label]
    assert len(rows) == 3
    for row in rows:
        plain, res = (float(v) for v in row.split(" · "))
        assert res / plain > 1e6


def test_optviz_lessons_check_prints_the_training_claims(claims):
    out = io.StringIO()
    status = command.check(list(TRAINING_LESSONS.values()), out, lambda lesson: claims[lesson.name])
    text = out.getvalue()
    assert status == 0 and "4 of 4 lessons passed" in text
    for name, lesson in TRAINING_LESSONS.items():
        assert re.search(rf"^PASS  {name} — {re.escape(lesson.title)} \(\d+\.\d s, seeds 0, 1, 2\)$", text, re.M)
    assert "seed 2: validation accuracy after 2 epochs, without · with:" in text
