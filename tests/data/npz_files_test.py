"""Tests for dcign_tf.data.npz_files."""

import numpy as np
import pytest

from dcign_tf.data import npz_files


def _write_npz(path, **arrays):
  np.savez(path, **arrays)
  return path


def test_load_npz_reads_the_dsprites_layout(tmp_path):
  rng = np.random.default_rng(0)
  binary = rng.integers(0, 2, (5, 8, 8)).astype(np.uint8)
  classes = rng.integers(0, 3, (5, 6))
  path = _write_npz(tmp_path / "dsprites.npz", imgs=binary,
                    latents_classes=classes)
  images, labels, names = npz_files.load_npz(path)
  assert images.dtype == np.uint8 and images.shape == (5, 8, 8, 1)
  assert set(np.unique(images)) == {0, 255}
  np.testing.assert_array_equal(images[..., 0], binary * 255)
  np.testing.assert_array_equal(labels, classes)
  assert names == ("color", "shape", "scale", "orientation", "position_x",
                   "position_y")
  colour, _, _ = npz_files.load_npz(path, channels=3)
  assert colour.shape == (5, 8, 8, 3)
  for channel in range(3):
    np.testing.assert_array_equal(colour[..., channel], binary * 255)


def test_load_npz_keeps_8_bit_grayscale(tmp_path):
  gray = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4, 1) * 7
  path = _write_npz(tmp_path / "gray.npz", imgs=gray,
                    latents_classes=np.zeros((2, 6), int))
  np.testing.assert_array_equal(npz_files.load_npz(path)[0], gray)


def test_load_npz_converts_colour_with_bt601(tmp_path):
  rng = np.random.default_rng(1)
  rgb = rng.integers(0, 256, (2, 4, 4, 3)).astype(np.uint8)
  rgb[1, 2, 3] = (200, 100, 50)
  path = _write_npz(tmp_path / "rgb.npz", pixels=rgb,
                    classes=np.arange(4).reshape(2, 2))
  images, _, names = npz_files.load_npz(path, images_key="pixels",
                                       labels_key="classes",
                                       factor_names=("shape", "hue"))
  assert images.shape == (2, 4, 4, 1)
  # 0.299 * 200 + 0.587 * 100 + 0.114 * 50 = 124.2.
  assert images[1, 2, 3, 0] == 124
  expected = np.floor(rgb.astype(np.float64) @ [0.299, 0.587, 0.114] + 0.5)
  np.testing.assert_allclose(images[..., 0], expected, atol=1)
  assert names == ("shape", "hue")


def test_load_npz_errors(tmp_path):
  missing = tmp_path / "nothing.npz"
  with pytest.raises(ValueError, match="No file at .*nothing.npz"):
    npz_files.load_npz(missing)
  path = _write_npz(tmp_path / "wrong_keys.npz", imgs=np.zeros((2, 4, 4)),
                    labels=np.zeros((2, 6), int))
  with pytest.raises(ValueError, match="has no member 'latents_classes'; it "
                     "has imgs, labels"):
    npz_files.load_npz(path)
  path = _write_npz(tmp_path / "oblong.npz", imgs=np.zeros((2, 8, 6)),
                    latents_classes=np.zeros((2, 6), int))
  with pytest.raises(ValueError, match=r"non-square images, shape \(2, 8, 6, "
                     r"1\)"):
    npz_files.load_npz(path)
  path = _write_npz(tmp_path / "mismatch.npz", imgs=np.zeros((3, 4, 4)),
                    latents_classes=np.zeros((2, 6), int))
  with pytest.raises(ValueError, match="has 3 images but 'latents_classes' "
                     "has 2 rows"):
    npz_files.load_npz(path)
  path = _write_npz(tmp_path / "three.npz", imgs=np.zeros((2, 4, 4)),
                    latents_classes=np.zeros((2, 3), int))
  with pytest.raises(ValueError, match="has 3 factor columns, not dSprites' "
                     r"6; give factor_names \(3 names\)"):
    npz_files.load_npz(path)
  with pytest.raises(ValueError, match="channels must be 1 or 3, got 2"):
    npz_files.load_npz(path, channels=2)


def test_resize_square_averages_whole_blocks():
  block_means = np.array([[10, 20], [30, 41]], np.uint8)
  # Every 2x2 block varies around its mean, by offsets summing to zero.
  offsets = np.array([[-3, 3], [5, -5]])
  image = (np.kron(block_means, np.ones((2, 2), int)) +
           np.tile(offsets, (2, 2))).astype(np.uint8)
  images = image[np.newaxis, :, :, np.newaxis]
  shrunk = npz_files.resize_square(images, 2)
  assert shrunk.dtype == np.uint8 and shrunk.shape == (1, 2, 2, 1)
  np.testing.assert_array_equal(shrunk[0, :, :, 0], block_means)


def test_resize_square_interpolates_other_sizes():
  ramp = np.array([[0, 100], [0, 100]], np.uint8)[np.newaxis, ..., np.newaxis]
  grown = npz_files.resize_square(ramp, 4)
  # Pixel centres of the 4-pixel row fall at -0.25, 0.25, 0.75 and 1.25
  # source pixels; the outer ones clamp to the edges.
  np.testing.assert_array_equal(grown[0, :, :, 0],
                                np.tile([0, 25, 75, 100], (4, 1)))
  flat = np.full((3, 6, 6, 2), 77, np.uint8)
  assert (npz_files.resize_square(flat, 4) == 77).all()
  with pytest.raises(ValueError, match=r"uint8 \[N, H, H, C\], got shape "
                     r"\(1, 2, 2\)"):
    npz_files.resize_square(ramp[..., 0], 1)
