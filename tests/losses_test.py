"""Tests for dcign_tf.losses against closed forms."""

import numpy as np
import pytest
import tensorflow as tf

from dcign_tf import losses


def test_bernoulli_nll_matches_closed_form():
  rng = np.random.default_rng(0)
  images = rng.uniform(size=(3, 4, 4, 1))
  logits = rng.normal(size=(3, 4, 4, 1)) * 3
  p = 1 / (1 + np.exp(-logits))
  expected = -np.sum(images * np.log(p) + (1 - images) * np.log(1 - p),
                     axis=(1, 2, 3))
  np.testing.assert_allclose(losses.bernoulli_nll(
      tf.constant(images), tf.constant(logits)).numpy(), expected, rtol=1e-10)


def test_kl_matches_closed_form():
  rng = np.random.default_rng(1)
  loc = rng.normal(size=(5, 7))
  log_variance = rng.normal(size=(5, 7))
  expected = 0.5 * np.sum(np.exp(log_variance) + loc ** 2 - 1 - log_variance,
                          axis=1)
  distribution = losses.posterior(tf.constant(loc), tf.constant(log_variance))
  np.testing.assert_allclose(losses.kl_to_prior(distribution).numpy(),
                             expected, rtol=1e-10)


def test_posterior_samples_are_reparameterised():
  loc = tf.Variable(tf.zeros([2, 3]))
  with tf.GradientTape() as tape:
    sample = losses.posterior(loc, tf.zeros([2, 3])).sample(seed=(1, 2))
    total = tf.reduce_sum(sample)
  np.testing.assert_allclose(tape.gradient(total, loc).numpy(), 1.0)


def test_pixel_mse():
  a = np.zeros((2, 2, 2, 1))
  b = np.ones((2, 2, 2, 1)) * [[[[0.5]]], [[[1.0]]]]
  np.testing.assert_allclose(losses.pixel_mse(a, b).numpy(), [0.25, 1.0])


def test_gaussian_nll_matches_closed_form():
  images = np.array([[[[0.2], [0.9]]]], np.float32)  # [1, 1, 2, 1]
  logits = np.array([[[[0.0], [2.0]]]], np.float32)
  means = 1 / (1 + np.exp(-logits))
  expected = np.sum((images - means) ** 2) / (2 * 0.1 ** 2)
  np.testing.assert_allclose(
      losses.gaussian_nll(images, logits, 0.1).numpy(), [expected], rtol=1e-5)
  np.testing.assert_allclose(
      losses.reconstruction_nll(images, logits, "gaussian", 0.1).numpy(),
      [expected], rtol=1e-5)
  np.testing.assert_allclose(
      losses.reconstruction_nll(images, logits).numpy(),
      losses.bernoulli_nll(images, logits).numpy())
  with pytest.raises(ValueError, match="Unknown likelihood 'laplace'"):
    losses.reconstruction_nll(images, logits, "laplace")


def test_gaussian_linear_nll_matches_closed_form():
  images = np.array([[[[0.2], [0.9]]]], np.float32)
  means = np.array([[[[0.5], [1.3]]]], np.float32)
  expected = ((0.2 - 0.5) ** 2 + (0.9 - 1.3) ** 2) / (2 * 0.1 ** 2)
  np.testing.assert_allclose(
      losses.reconstruction_nll(images, means, "gaussian_linear", 0.1).numpy(),
      [expected], rtol=1e-5)
  np.testing.assert_allclose(
      losses.pixels(means, "gaussian_linear").numpy().ravel(), [0.5, 1.0])
  np.testing.assert_allclose(
      losses.pixels(means, "gaussian").numpy().ravel(),
      1 / (1 + np.exp(-means.ravel())), rtol=1e-6)
  with pytest.raises(ValueError, match="Unknown likelihood 'laplace'"):
    losses.pixels(means, "laplace")


def test_a_saturated_decoder_is_pulled_back_only_by_the_linear_mean():
  # A face pixel (0.5) drawn as deep background: through the sigmoid the
  # gradient is (p - x) p (1 - p) / s^2, almost nothing at logit -12; the
  # linear mean's is (m - x) / s^2 whatever the output.
  images = tf.constant([[[[0.5]]]])
  outputs = tf.constant([[[[-12.0]]]])
  gradients = {}
  for likelihood in ("gaussian", "gaussian_linear"):
    with tf.GradientTape() as tape:
      tape.watch(outputs)
      loss = losses.reconstruction_nll(images, outputs, likelihood, 0.1)
    gradients[likelihood] = float(tape.gradient(loss, outputs).numpy().ravel()[0])
  p = 1 / (1 + np.exp(12.0))
  assert gradients["gaussian"] == pytest.approx((p - 0.5) * p * (1 - p) / 0.01,
                                                rel=1e-4)
  assert abs(gradients["gaussian"]) < 1e-3
  assert gradients["gaussian_linear"] == pytest.approx((-12.0 - 0.5) / 0.01)
