"""Tests for dcign_tf.ada_gvae: the divergence against TFP's KL, the
adaptive threshold's bins, and the pair averaging against hand-computed
values."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from dcign_tf import ada_gvae


def test_divergence_is_twice_the_kl_between_the_posteriors():
  rng = np.random.default_rng(1)
  mean_1, mean_2 = rng.normal(size=(2, 4, 5)).astype(np.float32)
  log_variance_1, log_variance_2 = rng.normal(size=(2, 4, 5)).astype(
      np.float32)
  kl = tfp.distributions.kl_divergence(
      tfp.distributions.Normal(mean_1, np.exp(0.5 * log_variance_1)),
      tfp.distributions.Normal(mean_2, np.exp(0.5 * log_variance_2)))
  np.testing.assert_allclose(
      ada_gvae.pair_divergence(mean_1, log_variance_1, mean_2,
                               log_variance_2).numpy(),
      2 * kl.numpy(), rtol=1e-5, atol=1e-6)
  same = ada_gvae.pair_divergence(mean_1, log_variance_1, mean_1,
                                  log_variance_1)
  np.testing.assert_allclose(same.numpy(), 0, atol=1e-6)


def test_the_threshold_is_the_midpoint_of_each_rows_range():
  divergence = tf.constant([[0.0, 1.0, 10.0, 4.9],
                            [0.0, 5.0, 10.0, 2.0],   # 5.0: the upper bin
                            [3.0, 3.0, 3.0, 3.0],    # nothing differs
                            [2.0, 2.0, 2.0, 9.0]])
  np.testing.assert_array_equal(
      ada_gvae.shared_latents(divergence).numpy(),
      [[True, True, False, True], [True, False, False, True],
       [True, True, True, True], [True, True, True, False]])


def test_a_pair_averages_only_where_it_agrees():
  # Images 0 and 1 are each other's partner. They agree on latents 0 and 1
  # (divergence 0 and small) and differ on latent 2.
  mean = np.array([[0.5, 1.0, -3.0], [0.5, 1.2, 3.0]], np.float32)
  log_variance = np.log(np.array([[0.5, 1.0, 1.0], [0.5, 1.0, 1.0]],
                                 np.float32))
  out_mean, out_log_variance, shared = ada_gvae.average_pairs(
      tf.constant(mean), tf.constant(log_variance), tf.constant([1, 0]))
  np.testing.assert_array_equal(shared.numpy(),
                                [[True, True, False], [True, True, False]])
  np.testing.assert_allclose(out_mean.numpy(),
                             [[0.5, 1.1, -3.0], [0.5, 1.1, 3.0]], rtol=1e-6)
  np.testing.assert_allclose(np.exp(out_log_variance.numpy()),
                             [[0.5, 1.0, 1.0], [0.5, 1.0, 1.0]], rtol=1e-6)


def test_averaged_variances_are_the_mean_of_the_pairs():
  # Latent 0 differs a little in variance (1 and 1.2), latent 1 a lot in
  # mean: latent 0 is in the lower bin and gets the mean variance 1.1.
  mean = np.array([[0.0, -4.0], [0.0, 4.0]], np.float32)
  variance = np.array([[1.0, 1.0], [1.2, 1.0]], np.float32)
  _, out_log_variance, shared = ada_gvae.average_pairs(
      tf.constant(mean), tf.constant(np.log(variance)), tf.constant([1, 0]))
  np.testing.assert_array_equal(shared.numpy(), [[True, False],
                                                 [True, False]])
  np.testing.assert_allclose(np.exp(out_log_variance.numpy()),
                             [[1.1, 1.0], [1.1, 1.0]], rtol=1e-6)
