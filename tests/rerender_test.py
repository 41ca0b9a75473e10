"""Tests for dcign_tf.rerender's image reading (the re-rendering itself is
tested with real exports in tests/export/rerender_test.py)."""

import io

import numpy as np
from PIL import Image
import pytest

from dcign_tf import rerender


def _png(array, mode=None) -> bytes:
  stream = io.BytesIO()
  Image.fromarray(array, mode).save(stream, format="PNG")
  return stream.getvalue()


@pytest.mark.parametrize("value", [0, 1000, 32768, 65535])
def test_a_16_bit_png_keeps_its_gray_level(value):
  data = _png(np.full((6, 6), value, np.uint16))
  image = rerender.image_array(data, 3)
  assert image.shape == (1, 3, 3, 1) and image.dtype == np.float32
  np.testing.assert_allclose(image, value / 65535.0, atol=1e-6)


def test_8_bit_and_colour_images_become_luma_in_0_1():
  gray = rerender.image_array(_png(np.full((4, 4), 51, np.uint8)), 2)
  np.testing.assert_allclose(gray, 51 / 255.0, atol=1e-6)
  red = np.zeros((4, 4, 3), np.uint8)
  red[..., 0] = 255
  # Pillow's "L" conversion: 0.299 * 255, rounded.
  np.testing.assert_allclose(rerender.image_array(_png(red), 2),
                             76 / 255.0, atol=1e-6)


def test_area_resize_averages_a_16_bit_checkerboard():
  board = np.indices((8, 8)).sum(axis=0) % 2 * 65535
  image = rerender.image_array(_png(board.astype(np.uint16)), 4)
  np.testing.assert_allclose(image, 0.5, atol=1e-6)
