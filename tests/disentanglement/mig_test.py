"""Tests for dcign_tf.disentanglement.mig."""

import numpy as np
import pytest

from dcign_tf import disentanglement as dis
from dcign_tf.disentanglement import mig
from tests.disentanglement import grids


def test_histogram_discretize_uses_equal_width_bins():
  codes = np.array([[0.0, 5.0], [0.24, 5.0], [0.26, 5.0], [1.0, 5.0]])
  labels = mig.histogram_discretize(codes, num_bins=4)
  # Bins [0, .25), [.25, .5), [.5, .75), [.75, 1]: the maximum is in bin 4.
  np.testing.assert_array_equal(labels[:, 0], [1, 1, 2, 4])
  assert len(set(labels[:, 1])) == 1  # A constant code is one bin.


def test_mig_hand_computed():
  # Both binary factors, every combination twice: exact independence.
  factors = np.array([[a, b] for a in (0, 1) for b in (0, 1)] * 2)
  f0, f1 = factors[:, 0], factors[:, 1]
  # Code 0 copies f0; code 1 determines both; code 2 is constant. For f0
  # the two best codes both hold ln 2 (gap 0); for f1 only code 1 does.
  codes = np.stack([f0, f0 + 2 * f1, np.zeros(8)], axis=1)
  result = mig.mig_from_samples(codes, factors)
  np.testing.assert_allclose(result["per_factor"], [0.0, 1.0], atol=1e-12)
  assert result["mig"] == pytest.approx(0.5)
  np.testing.assert_allclose(result["factor_entropy"], [np.log(2)] * 2)
  # A code agreeing with a binary factor 3 times in 4: joint table
  # [[3, 1], [1, 3]] / 8, so I = ln 2 - H(1/4) and MIG = 1 - H2(1/4).
  factor = np.array([0, 0, 0, 0, 1, 1, 1, 1])[:, None]
  noisy = np.array([0, 0, 0, 1, 1, 1, 1, 0.0])
  codes = np.stack([noisy, np.ones(8)], axis=1)
  bits = -(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75))
  assert mig.mig_from_samples(codes, factor)["mig"] == pytest.approx(
      1 - bits)


def test_mig_closed_forms():
  assert mig.mig(grids.factor_code(), grids.rng(), num_train=2000)["mig"] > 0.95
  # Monotone maps keeping the grid values in separate histogram bins.
  f = grids.factor_indices()
  gentle = dis.FactorGrid(np.stack(
      [(f[..., 0] + 1) ** 1.5, -np.sqrt(f[..., 1]), f[..., 2] ** 1.2], -1))
  assert mig.mig(gentle, grids.rng(), num_train=2000)["mig"] > 0.95
  assert abs(mig.mig(grids.random_code(), grids.rng(), num_train=2000)["mig"]) < 0.05
  rotated = mig.mig(grids.rotated_code(), grids.rng(), num_train=2000)
  # Only the unrotated factor 2 keeps its gap.
  assert rotated["mig"] < 0.45
  assert rotated["per_factor"][2] > 0.95


def test_mig_rejects_single_code_and_constant_sample():
  with pytest.raises(ValueError, match="num_codes >= 2"):
    mig.mig(dis.FactorGrid(np.zeros((3, 4, 1))), grids.rng(), num_train=100)
  with pytest.raises(ValueError, match=r"factors \[0\] took a single value"):
    mig.mig_from_samples(np.ones((4, 2)), np.array([[0, 0], [0, 1]] * 2))
