"""Loss smoothing and overfitting detection (no Qt)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optviz.training.analysis import EmaSmoother, ema, overfit_epoch, thin


def _reference_ema(values, w):
    acc, count, out = 0.0, 0, []
    for x in values:
        if math.isfinite(x):
            acc = w * acc + (1 - w) * x
            count += 1
        out.append(acc / (1 - w ** count) if count else math.nan)
    return np.array(out)


def test_weight_zero_is_the_identity():
    values = np.array([3.0, 1.0, 2.0])
    np.testing.assert_array_equal(ema(values, 0.0), values)


def test_matches_the_debiased_formula():
    rng = np.random.default_rng(0)
    values = rng.normal(size=200)
    np.testing.assert_allclose(ema(values, 0.9), _reference_ema(values, 0.9))


def test_first_point_is_not_dragged_to_zero():
    assert ema([5.0, 5.0, 5.0], 0.99)[0] == pytest.approx(5.0)
    np.testing.assert_allclose(ema([5.0] * 50, 0.99), 5.0)


def test_newest_point_always_moves_the_smoothed_end():
    values = [1.0] * 100 + [10.0]
    smoothed = ema(values, 0.9)
    assert len(smoothed) == len(values)
    assert smoothed[-1] == pytest.approx(1.0 + 0.1 * 9.0, rel=1e-3)


def test_incremental_updates_equal_one_pass():
    rng = np.random.default_rng(1)
    values = rng.normal(size=300)
    smoother = EmaSmoother(0.8)
    for end in (1, 2, 50, 51, 300):
        part = smoother.update(values[:end])
    np.testing.assert_allclose(part, ema(values, 0.8))


def test_shorter_series_restarts():
    smoother = EmaSmoother(0.5)
    smoother.update(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(smoother.update(np.array([4.0])), [4.0])


def test_non_finite_values_are_skipped():
    smoothed = ema([math.nan, 2.0, math.inf, 2.0], 0.5)
    assert math.isnan(smoothed[0])
    np.testing.assert_allclose(smoothed[1:], 2.0)


@pytest.mark.parametrize("weight", [-0.1, 1.0, 2.0])
def test_invalid_weight(weight):
    with pytest.raises(ValueError, match="Invalid smoothing weight"):
        EmaSmoother(weight)


def test_overfitting_marked_at_the_validation_minimum():
    train = [2.0, 1.5, 1.0, 0.7, 0.5, 0.3]
    val = [2.1, 1.6, 1.2, 1.3, 1.5, 1.8]
    assert overfit_epoch(train, val) == 2


def test_no_overfitting_while_validation_falls():
    assert overfit_epoch([3, 2, 1, 0.5], [3, 2.5, 2, 1.9]) is None


def test_one_bump_is_not_overfitting():
    assert overfit_epoch([3, 2, 1, 0.5], [3, 2, 2.1, 1.5]) is None
    assert overfit_epoch([3, 2, 1], [3, 2, 2.5]) is None  # only one epoch after the minimum
    assert overfit_epoch([3, 2, 1], [3, 2, 2.5], patience=1) == 1


def test_no_overfitting_when_training_loss_rises_too():
    assert overfit_epoch([1.0, 1.1, 1.2, 1.3], [1.0, 1.2, 1.4, 1.6]) is None


def test_missing_validation_is_ignored():
    nan = math.nan
    assert overfit_epoch([3, 2, 1], [nan, nan, nan]) is None
    assert overfit_epoch([3, 2, 1.5, 1, 0.5], [3, 2, nan, 2.5, 2.7]) == 1
    assert overfit_epoch([], []) is None


def test_thin_leaves_short_curves_alone():
    x, y = np.arange(10.0), np.arange(10.0) ** 2
    tx, ty = thin(x, y, 100)
    assert tx is x and ty is y


@pytest.mark.parametrize("peaks", [False, True])
def test_thin_bounds_the_points_and_keeps_the_newest(peaks):
    rng = np.random.default_rng(2)
    x, y = np.arange(1.0, 10_001.0), rng.normal(size=10_000)
    tx, ty = thin(x, y, 1000, peaks=peaks)
    assert len(tx) == len(ty) <= 1001
    assert tx[-1] == x[-1] and ty[-1] == y[-1]
    assert np.all(np.diff(tx) >= 0)
    if peaks:  # the envelope of the noise survives
        assert ty.max() == y.max() or ty.max() == pytest.approx(y[:-1].max())
        assert ty.min() == pytest.approx(min(y[:-1].min(), y[-1]))
    else:
        assert abs(ty[:-1].mean() - y[:-1].mean()) < 0.01
