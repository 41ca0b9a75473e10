"""Tests for dcign_tf.circular and evaluation.circular_r2 against closed
forms."""

import numpy as np
import pytest

from dcign_tf import circular
from dcign_tf import evaluation

RNG = np.random.default_rng(0)
ANGLES = RNG.uniform(-np.pi, np.pi, 2000)


def test_a_code_equal_to_the_angle_on_the_circle_scores_one():
  # The same angle, wrapped at another point than the labels.
  shifted = np.mod(ANGLES + 2.0, 2 * np.pi)
  assert evaluation.circular_r2(shifted, ANGLES) > 0.99
  # A linear R^2 misses it near the wrap.
  assert evaluation.binned_r2(shifted, ANGLES) < 0.9


def test_cos_and_sin_score_one_and_noise_about_zero():
  code = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)
  assert evaluation.circular_r2(code, ANGLES) > 0.99
  assert abs(evaluation.circular_r2(RNG.normal(size=2000), ANGLES)) < 0.05
  assert abs(evaluation.circular_r2(RNG.normal(size=(2000, 2)), ANGLES)) < 0.05


def test_circular_linear_correlation_closed_forms():
  assert circular.circular_linear_correlation(
      3 * np.cos(ANGLES - 0.7) + 5, ANGLES) == pytest.approx(1, abs=1e-9)
  assert circular.circular_linear_correlation(RNG.normal(size=2000),
                                              ANGLES) < 0.08
  # Half the variance explained: z = cos t + noise of equal variance.
  noisy = np.cos(ANGLES) + RNG.normal(scale=np.sqrt(0.5), size=2000)
  assert circular.circular_linear_correlation(noisy, ANGLES) ** 2 == (
      pytest.approx(0.5, abs=0.05))


def test_labels_become_angles_of_one_turn():
  np.testing.assert_allclose(
      circular.labels_to_radians([0, 9, 18, 27], 36),
      [0, np.pi / 2, np.pi, 3 * np.pi / 2])
  with pytest.raises(ValueError, match="span 40 units, at least the period "
                     "36"):
    circular.labels_to_radians([0, 40], 36)
  with pytest.raises(ValueError, match="period must be > 0"):
    circular.labels_to_radians([0, 1], 0)
