"""Tests for dcign_tf.layers (tiny shapes)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcign_tf import configs
from dcign_tf import layers

NETWORK = configs.NetworkConfig(
    image_size=16, latent_size=5, encoder_filters=(4, 4),
    encoder_kernels=(3, 3), decoder_filters=(4,), decoder_kernels=(3, 3),
    padding="same")


def _images(count=3, seed=0):
  return np.random.default_rng(seed).uniform(size=(count, 16, 16, 1)).astype(
      np.float32)


def test_shapes_and_config_round_trip():
  encoder, decoder = layers.Encoder(NETWORK), layers.Decoder(NETWORK)
  loc, log_variance = encoder(_images())
  assert loc.shape == log_variance.shape == (3, 5)
  assert decoder(loc).shape == (3, 16, 16, 1)
  for layer in (encoder, decoder):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_odd_latents_change_sign_under_a_mirror():
  encoder = layers.Encoder(NETWORK, odd_latents=[0, 3])
  images = _images()
  loc, log_variance = (np.asarray(t) for t in encoder(images))
  mirror_loc, mirror_log_variance = (
      np.asarray(t) for t in encoder(images[:, :, ::-1]))
  np.testing.assert_allclose(mirror_loc[:, [0, 3]], -loc[:, [0, 3]],
                             atol=1e-6)
  np.testing.assert_allclose(mirror_log_variance[:, [0, 3]],
                             log_variance[:, [0, 3]], atol=1e-6)
  # A frontal, symmetric image has odd latents of exactly 0.
  symmetric = images + images[:, :, ::-1]
  np.testing.assert_allclose(np.asarray(encoder(symmetric)[0])[:, [0, 3]],
                             0.0, atol=1e-6)
  # The other latents are the plain heads of the image itself.
  plain_loc, plain_log_variance = (np.asarray(t)
                                   for t in encoder.heads(images))
  np.testing.assert_allclose(loc[:, [1, 2, 4]], plain_loc[:, [1, 2, 4]],
                             atol=1e-6)
  np.testing.assert_allclose(log_variance[:, [1, 2, 4]],
                             plain_log_variance[:, [1, 2, 4]], atol=1e-6)
  # The odd mean is half the difference of the heads on image and mirror.
  mirror_plain = np.asarray(encoder.heads(images[:, :, ::-1])[0])
  np.testing.assert_allclose(loc[:, 0],
                             (plain_loc[:, 0] - mirror_plain[:, 0]) / 2,
                             atol=1e-6)
  assert layers.Encoder.from_config(encoder.get_config()).odd_latents == (0, 3)


@pytest.mark.parametrize("odd", [[5], [-1], [1, 1]])
def test_bad_odd_latents(odd):
  with pytest.raises(ValueError, match=r"must be distinct indices in \[0, 4\]"):
    layers.Encoder(NETWORK, odd_latents=odd)


def test_paper_encoder_is_unchanged_without_odd_latents():
  encoder = layers.Encoder(NETWORK)
  images = _images()
  for a, b in zip(encoder(images), encoder.heads(images)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert keras.ops.shape(encoder(images)[0]) == (3, 5)


def test_hidden_layers_sit_between_the_feature_maps_and_the_code():
  network = configs.NetworkConfig(**{**NETWORK.to_dict(), "dense_units": 7})
  encoder, decoder = layers.Encoder(network), layers.Decoder(network)
  images = _images()
  loc, log_variance = (np.asarray(t) for t in encoder(images))
  # The heads read the hidden layer: ReLU(features W + b) W_head + b_head.
  features = images
  for stage in encoder.stages:
    features = stage(features)
  features = np.asarray(features).reshape(3, -1)
  hidden_kernel, hidden_bias = (np.asarray(w) for w in
                                encoder.hidden[0].weights)
  assert hidden_kernel.shape == (features.shape[1], 7)
  hidden = np.maximum(features @ hidden_kernel + hidden_bias, 0.0)
  head_kernel, head_bias = (np.asarray(w) for w in encoder.loc_head.weights)
  np.testing.assert_allclose(loc, hidden @ head_kernel + head_bias,
                             rtol=1e-5, atol=1e-6)
  assert log_variance.shape == (3, 5)
  # The decoder's projection reads a 7-wide hidden layer of the latents.
  assert decoder(loc).shape == (3, 16, 16, 1)
  assert np.asarray(decoder.hidden[0].weights[0]).shape == (5, 7)
  assert np.asarray(decoder.project.weights[0]).shape[0] == 7
  # Without the setting there is no hidden layer: the paper's linear maps.
  plain = layers.Encoder(NETWORK)
  plain(images)
  assert not plain.hidden and len(plain.weights) == 2 * 2 + 2 * 2
  clone = layers.Encoder.from_config(encoder.get_config())
  assert clone.network.dense_units == 7


def test_nearest_upsampling_repeats_each_pixel_twice():
  features = np.random.default_rng(0).normal(size=(2, 3, 5, 4)).astype(
      np.float32)
  expected = features.repeat(2, axis=1).repeat(2, axis=2)
  np.testing.assert_array_equal(layers.NearestUpsampling()(features),
                                expected)
  np.testing.assert_array_equal(keras.layers.UpSampling2D(2)(features),
                                expected)


def test_nearest_upsampling_gradient_sums_each_2x2_block():
  features = tf.random.stateless_normal([2, 3, 5, 4], seed=[5, 6])
  upstream = tf.random.stateless_normal([2, 6, 10, 4], seed=[7, 8])
  with tf.GradientTape() as tape:
    tape.watch(features)
    output = layers.NearestUpsampling()(features)
  gradient = tape.gradient(output, features, output_gradients=upstream)
  # Closed form: each input pixel feeds the four pixels of its 2 x 2 block.
  expected = upstream.numpy().reshape(2, 3, 2, 5, 2, 4).sum(axis=(2, 4))
  np.testing.assert_allclose(gradient.numpy(), expected, rtol=1e-6,
                             atol=1e-6)


def test_decoder_keeps_static_shapes_under_a_dynamic_batch():
  # What the TFLite converter needs to lower the decoder's convolutions.
  decoder = layers.Decoder(configs.preset("small", image_size=32,
                                          latent_size=4))
  traced = tf.function(decoder, input_signature=[
      tf.TensorSpec([None, 4], tf.float32)]).get_concrete_function()
  assert traced.structured_outputs.shape.as_list() == [None, 32, 32, 1]


def assert_same_as_conv2d(layer, features, upsampled):
  """`layer` (built, random weights set here) against keras Conv2D with its
  weights, of `features` or, with `upsampled`, of their x2 upsampling: the
  outputs, their shape, and the gradients for the input and weights."""
  layer.kernel.assign(tf.random.stateless_normal(layer.kernel.shape,
                                                 seed=[3, 4]))
  layer.bias.assign(tf.fill(layer.bias.shape, 0.1))
  reference = keras.layers.Conv2D(layer.kernel.shape[-1],
                                  layer.kernel.shape[0],
                                  padding=layer.padding,
                                  activation=layer.activation)
  reference_input = (keras.layers.UpSampling2D(2)(features) if upsampled
                     else features)
  reference.build(reference_input.shape)
  reference.set_weights([layer.kernel.numpy(), layer.bias.numpy()])
  outputs, gradients = [], []
  for mine in (True, False):
    with tf.GradientTape() as tape:
      tape.watch(features)
      if mine:
        output = layer(features, upsampled=upsampled)
      else:
        output = reference(keras.layers.UpSampling2D(2)(features) if
                           upsampled else features)
      # A weighting that makes every output pixel's gradient different.
      loss = tf.reduce_sum(output * tf.reshape(
          tf.range(tf.size(output), dtype=tf.float32), output.shape) / 100.0)
    outputs.append(output.numpy())
    used = layer if mine else reference
    gradients.append([g.numpy() for g in tape.gradient(
        loss, [features, used.kernel, used.bias])])
  assert outputs[0].shape == outputs[1].shape == layer.compute_output_shape(
      features.shape, upsampled=upsampled)
  np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-5, atol=1e-5)
  for mine, theirs in zip(*gradients):
    np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("padding,filters", [("valid", 1), ("same", 1),
                                             ("valid", 3)])
def test_narrow_conv_equals_conv2d_values_and_gradients(padding, filters):
  features = tf.random.stateless_normal([2, 9, 9, 5], seed=[1, 2])
  narrow = layers.NarrowConv2D(filters, 3, padding=padding,
                               activation="relu")
  narrow.build(features.shape)
  assert_same_as_conv2d(narrow, features, upsampled=False)


@pytest.mark.parametrize("padding,kernel,filters", [
    ("valid", 7, 1), ("valid", 3, 3), ("same", 3, 1), ("same", 4, 1),
    ("valid", 4, 1)])  # The last has no phase form: upsampled first.
def test_narrow_conv_of_the_upsampled_map_equals_conv2d_of_upsampling(
    padding, kernel, filters):
  features = tf.random.stateless_normal([2, 8, 8, 5], seed=[1, 2])
  narrow = layers.NarrowConv2D(filters, kernel, padding=padding,
                               activation="sigmoid")
  narrow.build(features.shape)
  assert_same_as_conv2d(narrow, features, upsampled=True)


@pytest.mark.parametrize("padding,kernel", [
    ("valid", 7), ("valid", 5), ("same", 3), ("same", 5), ("same", 4),
    ("valid", 4)])  # The last has no phase form: upsampled first.
def test_phase_conv_equals_conv2d_with_and_without_upsampling(padding,
                                                              kernel):
  features = tf.random.stateless_normal([2, 8, 8, 3], seed=[1, 2])
  phase = layers.PhaseConv2D(6, kernel, padding=padding, activation="relu")
  phase.build(features.shape)
  assert_same_as_conv2d(phase, features, upsampled=True)
  assert_same_as_conv2d(phase, features, upsampled=False)


@pytest.mark.parametrize("preset", ["small", "paper"])
def test_decoder_in_phases_equals_the_direct_decoder(preset):
  network = configs.preset(preset, image_size=64 if preset == "small" else
                           150, latent_size=8)
  # In float64: through the paper's four stages, float32 round-off in the
  # two summation orders differs by up to 3e-3 in the first layer's
  # gradient, which would hide a real error of that size.
  keras.config.set_dtype_policy("float64")
  try:
    latents = tf.random.stateless_normal([2, 8], seed=[5, 6],
                                         dtype=tf.float64)
    phased = layers.Decoder(network, phases=True)
    direct = layers.Decoder(network, phases=False)
    phased(latents)
    direct(latents)
    direct.set_weights(phased.get_weights())
    results = []
    for decoder in (phased, direct):
      with tf.GradientTape() as tape:
        tape.watch(latents)
        loss = tf.reduce_sum(tf.sigmoid(decoder(latents)))
      results.append([loss.numpy()] + [g.numpy() for g in tape.gradient(
          loss, [latents] + decoder.trainable_variables)])
  finally:
    keras.config.set_dtype_policy("float32")
  for mine, theirs in zip(*results):
    np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-9)
  assert layers.Decoder.from_config(phased.get_config()).phases
  assert not layers.Decoder.from_config(direct.get_config()).phases


def test_the_decoder_makes_its_image_with_a_narrow_conv():
  decoder = layers.Decoder(configs.preset("paper", image_size=150))
  assert isinstance(decoder.stages[-1], layers.NarrowConv2D)
  assert decoder.stages[-1].filters == 1
  # The 48- and 96-filter stages are convolutions that can run in phases.
  assert all(type(stage) is layers.PhaseConv2D  # pylint: disable=unidiomatic-typecheck
             for stage in decoder.stages[1:-1:2])
