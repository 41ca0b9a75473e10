"""Tests for dcign_tf.disentanglement.factor_vae."""

import numpy as np
import pytest

from dcign_tf import disentanglement as dis
from dcign_tf.disentanglement import factor_vae
from tests.disentanglement import grids


def test_prune_dims_thresholds_standard_deviation():
  variances = np.array([0.0, 0.05 ** 2, 0.04 ** 2, 1.0])
  np.testing.assert_array_equal(factor_vae.prune_dims(variances),
                                [False, True, False, True])


def test_majority_vote_accuracy_hand_computed():
  votes = np.array([[5, 0, 1, 0],
                    [2, 4, 0, 0]])  # [factors, codes]; code 3 got none.
  classifier = factor_vae.majority_vote_classifier(votes)
  np.testing.assert_array_equal(classifier, [0, 1, 0, 0])
  assert factor_vae.vote_accuracy(votes, classifier) == pytest.approx(10 / 12)
  held_out = np.array([[1, 3, 0, 2],
                       [0, 1, 3, 0]])
  assert factor_vae.vote_accuracy(held_out, classifier) == pytest.approx(4 / 10)


def small_factor_vae(grid, seed=0, **kwargs):
  return factor_vae.factor_vae_score(grid, grids.rng(seed), batch_size=32, num_train=500,
                              num_eval=300, num_variance_estimate=1000,
                              **kwargs)


def test_factor_vae_closed_forms():
  scores = small_factor_vae(grids.factor_code())
  assert scores["train_accuracy"] == scores["eval_accuracy"] == 1.0
  # The constant code is pruned; unpruned, its 0/0 would take every vote.
  assert scores["active_dims"] == [0, 1, 2]
  assert small_factor_vae(grids.monotone_code())["eval_accuracy"] == 1.0
  assert small_factor_vae(grids.random_code())["eval_accuracy"] < 0.45
  assert small_factor_vae(grids.rotated_code())["eval_accuracy"] < 0.8


def test_factor_vae_without_active_dims():
  tiny = dis.FactorGrid(grids.factor_indices() * 1e-3)
  scores = small_factor_vae(tiny)
  assert (scores["train_accuracy"], scores["eval_accuracy"]) == (0.0, 0.0)
  assert scores["num_active_dims"] == 0
  assert "no code dimension" in scores["note"]
  assert small_factor_vae(tiny, prune_threshold=0.0)["eval_accuracy"] == 1.0
