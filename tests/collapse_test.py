"""Tests for dcign_tf.collapse."""

import math

import numpy as np
import pytest

from dcign_tf import collapse


def _images(count=6, size=4, seed=0):
  return np.random.default_rng(seed).uniform(size=(count, size, size, 1))


def test_a_perfect_autoencoder_spreads_as_the_images_do():
  images = _images()
  assert collapse.reconstruction_spread(images, images) == pytest.approx(1.0)


def test_a_decoder_that_draws_the_mean_image_has_no_spread():
  images = _images()
  mean = np.broadcast_to(images.mean(axis=0), images.shape)
  assert collapse.reconstruction_spread(images, mean) == pytest.approx(0.0,
                                                                abs=1e-12)


def test_the_spread_is_the_ratio_of_summed_variances():
  # Reconstructions that shrink each image halfway to the mean vary a
  # quarter as much: Var(m + (x - m) / 2) = Var(x) / 4.
  images = _images()
  mean = images.mean(axis=0)
  shrunk = mean + (images - mean) / 2
  assert collapse.reconstruction_spread(images, shrunk) == pytest.approx(0.25)


def test_images_that_do_not_differ_are_refused():
  same = np.ones((4, 3, 3, 1))
  with pytest.raises(ValueError, match="two images that differ"):
    collapse.reconstruction_spread(same, same)
  with pytest.raises(ValueError, match="same shape"):
    collapse.reconstruction_spread(_images(4), _images(3))


def test_the_check_images_come_from_the_whole_test_set():
  images = np.arange(100)[:, None, None, None]
  chosen = collapse.check_images(images, count=5)
  assert chosen[:, 0, 0, 0].tolist() == [0, 24, 49, 74, 99]
  assert len(collapse.check_images(images[:3], count=5)) == 3


def test_the_warning_names_the_spread_and_the_remedy():
  assert collapse.collapse_warning(0.9, 5000, 1e-3) is None
  assert collapse.collapse_warning(math.nan, 5000, 1e-3) is None
  warning = collapse.collapse_warning(0.01, 5000, 2e-3)
  assert "step 5000" in warning
  assert "1.0%" in warning
  assert "--learning_rate (this run: 0.002)" in warning
  assert "warmup_cosine" in warning
