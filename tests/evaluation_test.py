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


def test_factor_blocks():
  blocks = evaluation.factor_blocks(5, {"azimuth": (0,), "light": (2,)})
  assert blocks == {"azimuth": [0], "light": [2], "intrinsic": [1, 3, 4]}


def test_invariance_ratios_closed_form():
  rng = np.random.default_rng(0)
  groups, size = 200, 10
  group_ids = np.repeat(np.arange(groups), size)
  group_types = np.zeros(groups * size, int)  # All azimuth groups.
  codes = np.zeros((groups * size, 3))
  codes[:, 0] = rng.normal(size=groups * size)  # The active latent.
  # Intrinsic latent 1: a per-group offset (std 1) plus within-group noise
  # of std 0.5: ratio = 0.5 / sqrt(1 + 0.25).
  codes[:, 1] = (np.repeat(rng.normal(size=groups), size) +
                 0.5 * rng.normal(size=groups * size))
  codes[:, 2] = np.repeat(rng.normal(size=groups), size)  # Perfectly still.
  blocks = {"azimuth": [0], "elevation": [1], "light": [2]}
  ratios = evaluation.invariance_ratios(codes, group_types, group_ids,
                                        blocks)
  assert set(ratios) == {"azimuth"}
  assert "azimuth" not in ratios["azimuth"]
  assert ratios["azimuth"]["light"] == pytest.approx(0.0, abs=1e-9)
  assert ratios["azimuth"]["elevation"] == pytest.approx(
      0.5 / np.sqrt(1.25), rel=0.08)


def test_calibration_fits_a_monotone_code():
  degrees = np.linspace(-90, 90, 2000)
  calibration = evaluation.Calibration.fit("azimuth", 0, degrees,
                                           np.tanh(degrees / 45))
  probe = np.array([-80.0, -30.0, 0.0, 45.0, 85.0])
  np.testing.assert_allclose(calibration(probe), np.tanh(probe / 45),
                             atol=0.02)
  # Beyond the fitted range the map holds its end values.
  assert calibration(200.0) == pytest.approx(calibration.values[-1])
  again = evaluation.Calibration.from_dict(calibration.to_dict())
  np.testing.assert_array_equal(again(probe), calibration(probe))
  with pytest.raises(ValueError, match="increasing angles"):
    evaluation.Calibration("azimuth", 0, [1.0, 1.0], [0.0, 1.0])


def _toy_views(groups=4, size=6):
  """Images that encode their own (group, degrees): the 'true renders'."""
  group_ids = np.repeat(np.arange(groups), size)
  degrees = np.tile(np.linspace(-60, 60, size), groups)
  return group_ids, degrees, _render(group_ids, degrees)


def _render(group_ids, degrees):
  images = np.zeros((len(group_ids), 4, 4, 1), np.float32)
  images[:, 0, 0, 0] = (np.asarray(group_ids) + 1) / 10.0
  images[:, 1, 1, 0] = (np.asarray(degrees) + 90) / 180.0
  return images


def _oracle_encode(images):
  return np.stack([images[:, 1, 1, 0] * 180 - 90,
                   images[:, 0, 0, 0] * 10 - 1], axis=1)


def _oracle_decode(codes):
  return _render(np.round(codes[:, 1]), codes[:, 0])


def test_novel_view_error_of_an_oracle_is_zero():
  group_ids, degrees, images = _toy_views()
  identity_map = evaluation.Calibration("azimuth", 0, [-90, 90], [-90, 90])
  result = evaluation.novel_view_errors(_oracle_encode, _oracle_decode,
                                        images, group_ids, degrees,
                                        identity_map, sources_per_group=3)
  assert result["error"].size == 4 * 3 * 5  # groups x sources x others
  assert result["mean_error"] == pytest.approx(0.0, abs=1e-12)
  assert result["mean_lower_bound"] == pytest.approx(0.0, abs=1e-12)
  # A calibration that maps every angle to 0 degrees errs by the change of
  # view: (d / 180)^2 on one pixel of 16 for a target d degrees from 0.
  frozen = evaluation.novel_view_errors(
      _oracle_encode, _oracle_decode, images, group_ids, degrees,
      evaluation.Calibration("azimuth", 0, [-90, 90], [0, 0]), 3)
  np.testing.assert_allclose(
      frozen["error"], (frozen["target_degrees"] / 180) ** 2 / 16, rtol=1e-5)
  by_angle = evaluation.error_by_angle(frozen["source_degrees"],
                                       frozen["target_degrees"],
                                       frozen["error"], bins=3)
  assert sum(by_angle["pairs"]) == frozen["error"].size


def test_reconstruction_mse_closed_form():
  images = np.zeros((2, 4, 4, 1))
  reconstructions = np.full((2, 4, 4, 1), 0.5)
  reconstructions[0, 0, 0, 0] = 1.0  # One pixel of 32 errs by 1, not 0.5.
  expected = (31 * 0.25 + 1.0) / 32
  assert evaluation.reconstruction_mse(images, reconstructions) == (
      pytest.approx(expected))
  with pytest.raises(ValueError, match="same shape"):
    evaluation.reconstruction_mse(images, reconstructions[:1])


def test_wrapping_factors_are_scored_on_the_circle():
  rng = np.random.default_rng(3)
  labels = rng.uniform(0, 36, 800)  # In 10-degree units.
  # A perfect code of the angle whose wrap is not the labels' wrap.
  latent = np.mod(labels + 18, 36)
  codes = np.stack([latent, rng.normal(size=800)], axis=1)
  group_types = np.zeros(800, int)
  group_ids = np.arange(800) // 20
  scores = evaluation.factor_scores(codes, group_types, group_ids,
                                    {"azimuth": labels}, {"azimuth": [0]},
                                    circular_periods={"azimuth": 36})
  azimuth = scores["azimuth"]
  assert azimuth["r2"] > 0.99 and azimuth["period"] == 36
  # On a line the bin that holds the wrap (labels near 36 and near 0
  # together) predicts about 18 for both.
  assert azimuth["linear_r2"] < 0.95
  assert 0.3 < azimuth["circular_correlation"] <= 1
  line = evaluation.factor_scores(codes, group_types, group_ids,
                                  {"azimuth": labels}, {"azimuth": [0]})
  assert "period" not in line["azimuth"]
  assert line["azimuth"]["r2"] == azimuth["linear_r2"]
