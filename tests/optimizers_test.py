"""Tests for dcign_tf.optimizers."""

import pytest

from dcign_tf import optimizers


def test_cosine_learning_rate_decays_to_its_final_share():
  schedule = optimizers.learning_rate_schedule(1e-3, "cosine", 100)
  assert float(schedule(0)) == pytest.approx(1e-3)
  # Half-way down the half cosine: (1 + alpha) / 2 of the peak.
  assert float(schedule(50)) == pytest.approx(
      1e-3 * (1 + optimizers.COSINE_FINAL_SHARE) / 2, rel=1e-5)
  assert float(schedule(100)) == pytest.approx(
      1e-3 * optimizers.COSINE_FINAL_SHARE, rel=1e-5)
  assert optimizers.learning_rate_schedule(1e-3) == 1e-3
  with pytest.raises(ValueError, match="Unknown learning rate schedule "
                     "'step'; allowed: constant, cosine"):
    optimizers.learning_rate_schedule(1e-3, "step", 100)
