"""Tests for dcign_tf.polyphase: conv(up2(x)) computed at low resolution."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcign_tf import configs
from dcign_tf import layers
from dcign_tf import polyphase


@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_equals_upsampling_then_convolving(kernel_size, padding):
  rng = np.random.default_rng(kernel_size)
  features = rng.normal(size=(2, 6, 5, 3)).astype(np.float32)
  kernel = rng.normal(size=(kernel_size, kernel_size, 3, 4)).astype(
      np.float32)
  bias = rng.normal(size=(4,)).astype(np.float32)
  upsampled = features.repeat(2, axis=1).repeat(2, axis=2)
  expected = tf.nn.conv2d(upsampled, kernel, 1, padding.upper()) + bias
  actual = polyphase.upsample_conv(features, kernel, bias, padding)
  assert actual.shape == expected.shape
  np.testing.assert_allclose(actual, expected, atol=1e-4)


def test_phase_selection_closed_form():
  # A 3x3 "same" stage: phase 0 reads input offsets (-1, 0, 0) for its
  # taps a = 0, 1, 2; phase 1 reads (0, 0, 1).
  selection, before, after = polyphase.phase_selection(3, "same")
  np.testing.assert_array_equal(selection[0], [[1, 0, 0], [0, 1, 1],
                                               [0, 0, 0]])
  np.testing.assert_array_equal(selection[1], [[0, 0, 0], [1, 1, 0],
                                               [0, 0, 1]])
  assert (before, after) == (1, 1)
  # The paper's 7x7 "valid" stages: 4 taps per phase, no padding.
  selection, before, after = polyphase.phase_selection(7, "valid")
  assert selection.shape == (2, 4, 7) and (before, after) == (0, 0)
  np.testing.assert_array_equal(selection.sum(axis=(1, 2)), [7, 7])
  assert polyphase.phase_selection(4, "valid") is None
  with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
    polyphase.phase_selection(3, "full")


@pytest.mark.parametrize("network", [
    configs.NetworkConfig(
        image_size=32, latent_size=5, encoder_filters=(4, 4),
        encoder_kernels=(3, 3), decoder_filters=(6,), decoder_kernels=(5, 3),
        padding="same"),
    configs.preset("small", image_size=64, latent_size=5),
    configs.preset("paper", image_size=150, latent_size=5),
], ids=["same", "small", "paper"])
def test_decode_equals_the_decoder(network):
  keras.utils.set_random_seed(0)
  decoder = layers.Decoder(network)
  latents = np.random.default_rng(0).normal(size=(2, 5)).astype(np.float32)
  expected = decoder(latents)
  assert expected.shape == (2, network.image_size, network.image_size, 1)
  np.testing.assert_allclose(polyphase.decode(decoder, latents), expected,
                             atol=1e-4)
