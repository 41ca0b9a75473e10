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
                     "'step'; allowed: constant, cosine, warmup_cosine"):
    optimizers.learning_rate_schedule(1e-3, "step", 100)


def test_warmup_cosine_rises_linearly_then_decays():
  schedule = optimizers.learning_rate_schedule(2e-3, "warmup_cosine", 1000)
  warmup = int(optimizers.WARMUP_SHARE * 1000)  # 50 steps.
  assert float(schedule(0)) == pytest.approx(0.0, abs=1e-9)
  assert float(schedule(warmup // 2)) == pytest.approx(1e-3, rel=1e-5)
  assert float(schedule(warmup)) == pytest.approx(2e-3, rel=1e-5)
  # The half cosine over the remaining 950 steps.
  assert float(schedule(warmup + 475)) == pytest.approx(
      2e-3 * (1 + optimizers.COSINE_FINAL_SHARE) / 2, rel=1e-4)
  assert float(schedule(1000)) == pytest.approx(
      2e-3 * optimizers.COSINE_FINAL_SHARE, rel=1e-4)
