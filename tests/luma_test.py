"""Tests for dcign_tf.luma."""

import numpy as np
import pytest

from dcign_tf import luma


def test_weights_sum_to_one_so_gray_stays_gray():
  assert sum(luma.BT601_WEIGHTS) == pytest.approx(1.0, abs=1e-12)
  gray = np.linspace(0, 1, 11)[:, None].repeat(3, axis=1)
  np.testing.assert_allclose(luma.float_luma(gray), gray[:, 0], atol=1e-12)


def test_float_luma_of_pure_primaries_is_each_weight():
  primaries = np.eye(3)
  np.testing.assert_allclose(luma.float_luma(primaries), luma.BT601_WEIGHTS)
  single = np.full((2, 2, 1), 0.25)
  np.testing.assert_array_equal(luma.float_luma(single), np.full((2, 2), 0.25))


def test_uint8_luma_rounds_half_up_in_chunks(monkeypatch):
  monkeypatch.setattr(luma, "CHUNK_IMAGES", 2)
  images = np.zeros((5, 1, 2, 3), np.uint8)
  images[:, 0, 0] = (255, 0, 0)  # 76.245 -> 76
  images[:, 0, 1] = (10, 10, 10)  # exactly 10
  gray = luma.uint8_luma(images)
  assert gray.shape == (5, 1, 2, 1) and gray.dtype == np.uint8
  np.testing.assert_array_equal(gray[:, 0, :, 0], [[76, 10]] * 5)
  green = np.zeros((1, 1, 1, 3), np.uint8)
  green[..., 1] = 1  # luma 0.587 rounds to 1, not down to 0.
  assert luma.uint8_luma(green)[0, 0, 0, 0] == 1


@pytest.mark.parametrize("shape", [(2, 4, 4, 2), (4, 4, 3)])
def test_refuses_images_that_are_not_colour_batches(shape):
  with pytest.raises(ValueError, match="shape"):
    luma.uint8_luma(np.zeros(shape, np.uint8))
  if shape[-1] == 2:
    with pytest.raises(ValueError, match="1 or 3 channels"):
      luma.float_luma(np.zeros(shape))
