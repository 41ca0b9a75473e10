"""Tests for dcign_tf.image_quality against closed forms."""

import numpy as np
import pytest

from dcign_tf import image_quality


def _head(size=16):
  """A target with a square foreground of 0.5 on black, and its mask."""
  target = np.zeros((1, size, size, 1))
  mask = np.zeros((1, size, size))
  target[0, 4:12, 4:12] = 0.5
  mask[0, 4:12, 4:12] = 1
  return target, mask


def test_exact_render_scores_infinite_psnr_and_ssim_one():
  rng = np.random.default_rng(0)
  target = rng.uniform(size=(3, 16, 16, 1))
  mask = rng.uniform(size=(3, 16, 16)) > 0.5
  summary = image_quality.summary(target, target, mask)
  assert summary["foreground_mse"] == 0
  assert summary["foreground_psnr"] == np.inf
  assert summary["foreground_ssim"] == pytest.approx(1.0, abs=1e-12)


def test_psnr_counts_only_the_foreground():
  target, mask = _head()
  image = target + 0.1 * mask[..., None]  # 0.1 off on every head pixel.
  image[0, 0:2, 0:2] = 1.0  # Background errors must not count.
  assert image_quality.foreground_mse(image, target, mask) == pytest.approx(
      [0.01])
  # 10 log10(1 / 0.01) = 20 dB.
  assert image_quality.foreground_psnr(image, target, mask) == pytest.approx(
      [20.0])


def test_mean_face_psnr_is_the_foreground_variance():
  rng = np.random.default_rng(1)
  targets = rng.uniform(0.2, 0.8, size=(5, 8, 8, 1))
  mask = np.ones((5, 8, 8))
  mean_face = np.repeat(targets.mean(axis=0, keepdims=True), 5, axis=0)
  variance = np.mean((targets - mean_face) ** 2, axis=(1, 2, 3))
  np.testing.assert_allclose(
      image_quality.foreground_psnr(mean_face, targets, mask),
      10 * np.log10(1 / variance))


def test_ssim_of_constant_images_is_the_luminance_term():
  # Both windows flat: variances and covariance vanish, so
  # SSIM = (2 a b + C1) / (a^2 + b^2 + C1) everywhere.
  a, b = 0.3, 0.6
  value = image_quality.ssim_map(np.full((1, 12, 12, 1), a),
                                 np.full((1, 12, 12, 1), b))
  c1 = image_quality.SSIM_C1
  np.testing.assert_allclose(value, (2 * a * b + c1) / (a * a + b * b + c1))


def test_ssim_of_an_inverted_pattern_is_negative():
  rng = np.random.default_rng(2)
  pattern = rng.uniform(size=(1, 16, 16, 1))
  value = image_quality.foreground_ssim(1 - pattern, pattern,
                                        np.ones((1, 16, 16)))
  assert value[0] < 0
  symmetric = image_quality.ssim_map(pattern, 1 - pattern)
  np.testing.assert_allclose(symmetric,
                             image_quality.ssim_map(1 - pattern, pattern))


def test_bad_input_is_named():
  target, mask = _head()
  with pytest.raises(ValueError, match=r"images \(1, 16, 16, 1\) and targets "
                     r"\(1, 8, 8, 1\)"):
    image_quality.foreground_mse(target, target[:, :8, :8], mask)
  with pytest.raises(ValueError, match=r"Masks of shape \(1, 8, 8\)"):
    image_quality.foreground_mse(target, target, mask[:, :8, :8])
  with pytest.raises(ValueError, match=r"Image\(s\) \[0\] have an empty "
                     "foreground mask"):
    image_quality.foreground_ssim(target, target, np.zeros_like(mask))
