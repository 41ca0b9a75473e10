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

  Args:
    network: a `configs.NetworkConfig` or its dict.
  """

  def __init__(self, network, **kwargs):
    super().__init__(**kwargs)
    self.network = network = configs.as_network(network)
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

  def call(self, images):
    features = images
    for stage in self.stages:
      features = stage(features)
    features = self.flatten(features)
    return self.loc_head(features), self.log_variance_head(features)

  def get_config(self):
    return {**super().get_config(), "network": self.network.to_dict()}


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
      self.stages.append(keras.layers.UpSampling2D(2))
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
