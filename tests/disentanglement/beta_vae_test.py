"""Tests for dcign_tf.disentanglement.beta_vae."""

import numpy as np

from dcign_tf.disentanglement import beta_vae
from tests.disentanglement import grids


def small_beta_vae(grid, seed=0):
  return beta_vae.beta_vae_score(grid, grids.rng(seed), batch_size=32, num_train=500,
                            num_eval=300)


def test_beta_vae_points_zero_the_fixed_factors_code():
  features, labels = beta_vae.beta_vae_points(grids.factor_code(), grids.rng(), 16, 50)
  assert features.shape == (50, 4)
  np.testing.assert_array_equal(features[np.arange(50), labels], 0.0)
  assert np.all(np.delete(features, 3, axis=1).sum(axis=1) > 0)


def test_beta_vae_closed_forms():
  for grid in (grids.factor_code(), grids.monotone_code()):
    scores = small_beta_vae(grid)
    assert scores["train_accuracy"] > 0.98
    assert scores["eval_accuracy"] > 0.98
  assert small_beta_vae(grids.random_code())["eval_accuracy"] < 0.5
