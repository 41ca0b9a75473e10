"""Tests for dcign_tf.evaluation."""

import numpy as np
import pytest

from dcign_tf import evaluation


def test_spearman():
  x = np.linspace(-1, 1, 50)
  assert evaluation.spearman(x, x ** 3) == pytest.approx(1.0)
  assert evaluation.spearman(x, -np.exp(x)) == pytest.approx(-1.0)
  assert evaluation.spearman(np.ones(5), x[:5]) == 0.0


def test_binned_r2_closed_forms():
  rng = np.random.default_rng(0)
  x = rng.uniform(-1, 1, 4000)
  assert evaluation.binned_r2(x, 3 * x + 1) > 0.99  # Determined by x.
  assert evaluation.binned_r2(x, np.sin(3 * x)) > 0.98  # Nonlinear too.
  assert abs(evaluation.binned_r2(x, rng.normal(size=4000))) < 0.02  # Noise.
  # Half the variance explained: y = x + independent noise of equal variance.
  y = x + rng.uniform(-1, 1, 4000)
  assert evaluation.binned_r2(x, y) == pytest.approx(0.5, abs=0.03)


def test_binned_r2_rejects_bad_input():
  with pytest.raises(ValueError, match="at least 40 samples"):
    evaluation.binned_r2(np.arange(10.0), np.arange(10.0))
  with pytest.raises(ValueError, match="equal length"):
    evaluation.binned_r2(np.arange(50.0), np.arange(49.0))


def test_most_varying_latent_and_factor_scores():
  rng = np.random.default_rng(1)
  groups = np.repeat(np.arange(20), 10)
  truth = rng.uniform(-90, 90, 200)
  codes = rng.normal(scale=0.01, size=(200, 5))
  codes[:, 3] = truth / 90  # Latent 3 carries the factor.
  assert evaluation.most_varying_latent(codes, groups) == 3
  types = np.zeros(200, int)  # All azimuth groups.
  scores = evaluation.factor_scores(codes, types, groups,
                                    {"azimuth": truth}, bins=5)
  assert scores["azimuth"]["latent"] == 3
  assert scores["azimuth"]["r2"] > 0.95
  designated = evaluation.factor_scores(codes, types, groups,
                                        {"azimuth": truth},
                                        {"azimuth": [0]}, bins=5)
  assert designated["azimuth"]["latent"] == 0
  assert designated["azimuth"]["r2"] < 0.3


def test_latent_sweep_codes():
  base = np.arange(6.0).reshape(2, 3)
  codes = evaluation.latent_sweep_codes(base, 1, np.array([-1.0, 1.0]))
  np.testing.assert_array_equal(codes, [[0, -1, 2], [0, 1, 2],
                                        [3, -1, 5], [3, 1, 5]])
