"""Tests for dcign_tf.group_vae against hand-computed averages."""

import numpy as np
import tensorflow as tf

from dcign_tf import group_vae


def test_shared_latents_take_the_groups_average_posterior():
  # Two groups of two images, two latents; latent 1 is shared.
  mean = np.array([[1.0, 2.0], [3.0, 6.0], [0.0, -1.0], [5.0, 1.0]],
                  np.float32)
  variance = np.array([[1.0, 0.5], [4.0, 1.5], [2.0, 2.0], [2.0, 4.0]],
                      np.float32)
  shared = np.array([[0, 1]] * 4, np.float32)
  averaged_mean, averaged_log_variance = group_vae.average_posteriors(
      tf.constant(mean), tf.constant(np.log(variance)),
      tf.constant([0, 0, 1, 1]), tf.constant(shared), 2)
  np.testing.assert_allclose(averaged_mean.numpy(),
                             [[1, 4], [3, 4], [0, 0], [5, 0]], atol=1e-6)
  # Latent 1: the log of the members' average variance; latent 0: own.
  np.testing.assert_allclose(np.exp(averaged_log_variance.numpy()),
                             [[1, 1], [4, 1], [2, 3], [2, 3]], rtol=1e-6)


def test_a_group_that_shares_nothing_keeps_every_posterior():
  rng = np.random.default_rng(0)
  mean = rng.normal(size=(6, 3)).astype(np.float32)
  log_variance = rng.normal(size=(6, 3)).astype(np.float32)
  out_mean, out_log_variance = group_vae.average_posteriors(
      mean, log_variance, tf.constant([0, 0, 0, 1, 1, 1]),
      tf.zeros((6, 3)), 2)
  np.testing.assert_allclose(out_mean.numpy(), mean, rtol=1e-6)
  np.testing.assert_allclose(out_log_variance.numpy(), log_variance,
                             rtol=1e-5, atol=1e-6)


def test_the_average_passes_each_member_one_over_g_of_the_gradient():
  mean = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2))
  with tf.GradientTape() as tape:
    out, _ = group_vae.average_posteriors(
        mean, tf.zeros((3, 2)), tf.constant([0, 0, 0]),
        tf.constant([[1.0, 0.0]] * 3), 1)
    loss = tf.reduce_sum(out[0])  # Only image 0's outputs.
  # Shared latent 0: image 0's output is the mean of all three; own
  # latent 1 reaches only image 0.
  np.testing.assert_allclose(tape.gradient(loss, mean).numpy(),
                             [[1 / 3, 1], [1 / 3, 0], [1 / 3, 0]], rtol=1e-6)
