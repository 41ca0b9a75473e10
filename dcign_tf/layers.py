"""DC-IGN's encoder and decoder as Keras 3 layers."""

import keras

from dcign_tf import configs


def _dense_initializer(config: configs.NetworkConfig):
  return keras.initializers.RandomNormal(stddev=config.dense_init_stddev)


@keras.saving.register_keras_serializable(package="dcign_tf")
class Encoder(keras.layers.Layer):
  """Image -> (loc, log-variance) of the diagonal Gaussian posterior q(z|x).

  Convolution, 2x2 max pooling and ReLU per stage, then two linear heads
  (Kulkarni et al. 2015, Fig. 1; the original code's geometry).

  With `odd_latents`, those latents are made odd under a horizontal mirror
  of the image: the network sees the image and its mirror image, and an odd
  latent's mean is half the difference of the two heads' outputs (its
  log-variance their average), so loc(mirror(x)) = -loc(x) exactly. For a
  bilaterally symmetric object a mirror negates the azimuth and the light
  azimuth; building that in keeps a 1-D azimuth code from learning
  "how frontal" (even) instead of "which way" (odd). Other latents are
  the plain heads of the image itself.

  Args:
    network: a `configs.NetworkConfig` or its dict.
    odd_latents: indices of the latents made odd (default none: the
      paper's encoder).
  """

  def __init__(self, network, odd_latents=(), **kwargs):
    super().__init__(**kwargs)
    self.network = network = configs.as_network(network)
    self.odd_latents = tuple(sorted(int(i) for i in odd_latents))
    if self.odd_latents and not (
        0 <= self.odd_latents[0] and self.odd_latents[-1] < network.latent_size
        and len(set(self.odd_latents)) == len(self.odd_latents)):
      raise ValueError(f"odd_latents {list(self.odd_latents)} must be "
                       f"distinct indices in [0, {network.latent_size - 1}].")
    mask = [0.0] * network.latent_size
    for index in self.odd_latents:
      mask[index] = 1.0
    self.odd_mask = mask
    self.stages = []
    for filters, kernel in zip(network.encoder_filters,
                               network.encoder_kernels):
      self.stages.append(keras.layers.Conv2D(filters, kernel,
                                             padding=network.padding))
      self.stages.append(keras.layers.MaxPooling2D(2))
      self.stages.append(keras.layers.ReLU())
    self.flatten = keras.layers.Flatten()
    self.loc_head = keras.layers.Dense(
        network.latent_size, kernel_initializer=_dense_initializer(network),
        name="loc")
    self.log_variance_head = keras.layers.Dense(
        network.latent_size, kernel_initializer=_dense_initializer(network),
        name="log_variance")

  def heads(self, images):
    """(loc, log-variance) of the plain network, without mirroring."""
    features = images
    for stage in self.stages:
      features = stage(features)
    features = self.flatten(features)
    return self.loc_head(features), self.log_variance_head(features)

  def call(self, images):
    if not self.odd_latents:
      return self.heads(images)
    mirrored = keras.ops.flip(images, axis=2)  # NHWC: flip the width.
    loc, log_variance = self.heads(
        keras.ops.concatenate([images, mirrored], axis=0))
    loc, mirror_loc = keras.ops.split(loc, 2, axis=0)
    log_variance, mirror_log_variance = keras.ops.split(log_variance, 2,
                                                        axis=0)
    odd = keras.ops.convert_to_tensor(self.odd_mask, dtype=loc.dtype)
    return (loc - odd * (loc + mirror_loc) / 2.0,
            log_variance + odd * (mirror_log_variance - log_variance) / 2.0)

  def get_config(self):
    return {**super().get_config(), "network": self.network.to_dict(),
            "odd_latents": list(self.odd_latents)}


@keras.saving.register_keras_serializable(package="dcign_tf")
class NearestUpsampling(keras.layers.Layer):
  """x2 nearest-neighbour upsampling of [B, H, W, C] by broadcasting.

  The same values as keras.layers.UpSampling2D(2), which builds them from
  repeat ops whose reshapes lose the static height when the batch is
  dynamic (the TFLite converter then cannot lower the next convolution);
  here only the batch is left dynamic. Not an image resize either: XLA on
  CPU has no kernel for the resize's gradient.
  """

  def call(self, features):
    height, width, channels = features.shape[1:]
    doubled = features[:, :, None, :, None, :] * keras.ops.ones(
        (1, 1, 2, 1, 2, 1), dtype=features.dtype)
    return keras.ops.reshape(doubled, (-1, 2 * height, 2 * width, channels))

  def compute_output_shape(self, input_shape):
    batch, height, width, channels = input_shape
    return (batch, 2 * height, 2 * width, channels)


@keras.saving.register_keras_serializable(package="dcign_tf")
class Decoder(keras.layers.Layer):
  """Latents -> image logits [B, S, S, C] (apply a sigmoid for pixels).

  A linear layer and ReLU to the first feature map, then per stage
  nearest-neighbour x2 upsampling and a convolution, ReLU between stages.
  Returning logits lets the loss use a numerically stable cross-entropy.

  Args:
    network: a `configs.NetworkConfig` or its dict.
  """

  def __init__(self, network, **kwargs):
    super().__init__(**kwargs)
    self.network = network = configs.as_network(network)
    grid = network.decoder_grid()
    first_filters = network.encoder_filters[-1]
    self.project = keras.layers.Dense(
        grid * grid * first_filters,
        kernel_initializer=_dense_initializer(network), activation="relu")
    self.reshape = keras.layers.Reshape((grid, grid, first_filters))
    filters = list(network.decoder_filters) + [network.channels]
    self.stages = []
    for index, (count, kernel) in enumerate(zip(filters,
                                                network.decoder_kernels)):
      last = index == len(filters) - 1
      self.stages.append(NearestUpsampling())
      self.stages.append(keras.layers.Conv2D(
          count, kernel, padding=network.padding,
          activation=None if last else "relu"))

  def call(self, latents):
    features = self.reshape(self.project(latents))
    for stage in self.stages:
      features = stage(features)
    return features

  def get_config(self):
    return {**super().get_config(), "network": self.network.to_dict()}
