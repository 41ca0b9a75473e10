"""DC-IGN's encoder and decoder as Keras 3 layers."""

import keras
import tensorflow as tf

from dcign_tf import configs
from dcign_tf import polyphase

# Convolutions with at most this many output channels use NarrowConv2D.
NARROW_FILTERS = 4


def _dense_initializer(config: configs.NetworkConfig):
  return keras.initializers.RandomNormal(stddev=config.dense_init_stddev)


def _hidden_layers(config: configs.NetworkConfig) -> list:
  """The hidden fully connected layer of `config.dense_units` (or none).

  Keras's Glorot init, not the linear maps' small normal one: a ReLU layer
  started at stddev 0.01 would pass on a tenth of its input's scale.
  """
  if not config.dense_units:
    return []
  return [keras.layers.Dense(config.dense_units, activation="relu",
                             name="hidden")]


@keras.saving.register_keras_serializable(package="dcign_tf")
class Encoder(keras.layers.Layer):
  """Image -> (loc, log-variance) of the diagonal Gaussian posterior q(z|x).

  Convolution, 2x2 max pooling and ReLU per stage, then two linear heads
  (Kulkarni et al. 2015, Fig. 1; the original code's geometry). With
  `network.dense_units`, a hidden ReLU layer before the heads lets the code
  be a nonlinear function of the whole feature map: a face's identity seen
  from another side is not a linear read-out of where its features fall.

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
    self.hidden = _hidden_layers(network)
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
    for layer in self.hidden:
      features = layer(features)
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

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    # No weights: built as it is (the decoder folds the last one into the
    # image-making convolution and never calls it).
    self.built = True

  def call(self, features):
    return polyphase.upsample_nearest(features)

  def compute_output_shape(self, input_shape):
    batch, height, width, channels = input_shape
    return (batch, 2 * height, 2 * width, channels)


def shift_sum(taps, kernel_size: int, filters: int, out_height: int,
              out_width: int):
  """sum over (dy, dx) of taps[:, dy:dy + out_h, dx:dx + out_w, block t],
  block t = dy * k + dx of `filters` channels: the second half of a
  convolution computed tap by tap. Its gradient pads each tap's share into
  place (TensorFlow's own would materialise a full-size zero tensor per
  tap)."""
  k = kernel_size

  @tf.custom_gradient
  def _shift_sum(taps):
    total = tf.add_n([
        taps[:, dy:dy + out_height, dx:dx + out_width,
             (dy * k + dx) * filters:(dy * k + dx + 1) * filters]
        for dy in range(k) for dx in range(k)])

    def grad(upstream):
      return tf.concat([
          tf.pad(upstream, [[0, 0], [dy, k - 1 - dy], [dx, k - 1 - dx],
                            [0, 0]])
          for dy in range(k) for dx in range(k)], axis=-1)

    return total, grad

  return _shift_sum(taps)


def _valid_tap_conv(features, kernel):
  """A "valid" stride-1 convolution of [B, H, W, Cin] with `kernel`
  [k, k, Cin, Cout] as one matmul to a channel per tap and output channel,
  then `shift_sum` of the taps (see NarrowConv2D)."""
  k, _, channels, filters = (int(d) for d in kernel.shape)
  height, width = features.shape[1], features.shape[2]
  taps = tf.reshape(tf.transpose(kernel, (2, 0, 1, 3)),
                    (channels, k * k * filters))
  per_tap = tf.reshape(tf.matmul(tf.reshape(features, (-1, channels)), taps),
                       (-1, height, width, k * k * filters))
  return shift_sum(per_tap, k, filters, height - k + 1, width - k + 1)


@keras.saving.register_keras_serializable(package="dcign_tf")
class NarrowConv2D(keras.layers.Layer):
  """A stride-1 convolution with few output channels (the decoder's last,
  image-making stage), computed as one matmul and a shift-and-add.

  Same weights (`kernel` [k, k, Cin, Cout], `bias`), initialiser and
  values as keras.layers.Conv2D. Why: oneDNN runs a 96 -> 1 channel 7x7
  convolution at about 14 GFLOP/s on the CPU where 96 -> 96 runs at 220,
  and its filter gradient is as slow; in the paper's 150 px network those
  two took 0.6 s of a 3 s step. Here the FLOPs go into a matmul
  [pixels, Cin] x [Cin, k*k*Cout] (one output channel per tap), and the
  k*k shifted taps are summed.
  """

  def __init__(self, filters, kernel_size, padding="valid", activation=None,
               **kwargs):
    super().__init__(**kwargs)
    if padding not in ("valid", "same"):
      raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}.")
    self.filters = int(filters)
    self.kernel_size = int(kernel_size)
    self.padding = padding
    self.activation = keras.activations.get(activation)

  def build(self, input_shape):
    k = self.kernel_size
    self.kernel = self.add_weight(
        name="kernel", shape=(k, k, int(input_shape[-1]), self.filters),
        initializer="glorot_uniform")
    self.bias = self.add_weight(name="bias", shape=(self.filters,),
                                initializer="zeros")

  def call(self, features, upsampled=False):
    """The convolution of `features`, or with `upsampled` of their x2
    nearest-neighbour upsampling, computed at the input's resolution in
    four phases (dcign_tf/polyphase.py): the paper's last stage then takes
    64 taps at 78 x 78 instead of 49 at 156 x 156, with no upsampled
    96-channel map."""
    kernel = tf.cast(self.kernel, features.dtype)
    bias = tf.cast(self.bias, features.dtype)
    if upsampled:
      return polyphase.upsample_conv(features, kernel, bias, self.padding,
                                     self.activation, _valid_tap_conv)
    if self.padding == "same":
      features = polyphase.pad_same(features, self.kernel_size)
    return self.activation(_valid_tap_conv(features, kernel) + bias)

  def compute_output_shape(self, input_shape, upsampled=False):
    batch, height, width, _ = input_shape
    if upsampled:
      height, width = 2 * height, 2 * width
    trim = self.kernel_size - 1 if self.padding == "valid" else 0
    return (batch, height - trim, width - trim, self.filters)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters,
            "kernel_size": self.kernel_size, "padding": self.padding,
            "activation": keras.activations.serialize(self.activation)}


@keras.saving.register_keras_serializable(package="dcign_tf")
class PhaseConv2D(keras.layers.Conv2D):
  """keras.layers.Conv2D (same weights and values) that can also convolve
  the x2 nearest-neighbour upsampling of its input without making it.

  `layer(x, upsampled=True)` equals `layer(up2(x))`, computed at x's
  resolution as one convolution to the four output phases
  (`dcign_tf/polyphase.py`). Why: the taps of a k x k kernel that read
  the same duplicated input pixel are summed first, so the paper's 7 x 7
  stages take 16 taps per output pixel instead of 49 and never write the
  upsampled map; its 96 -> 96 stage at 84 px went from 802 to 274 ms per
  step (forward and both gradients) on two CPU cores. Kernels and paddings
  without a phase form (an even kernel with "valid") upsample first.
  """

  def call(self, inputs, upsampled=False):
    if not upsampled:
      return super().call(inputs)
    return polyphase.upsample_conv(inputs, tf.cast(self.kernel, inputs.dtype),
                                   tf.cast(self.bias, inputs.dtype),
                                   self.padding, self.activation)

  def compute_output_shape(self, input_shape, upsampled=False):
    if upsampled:
      batch, height, width, channels = input_shape
      input_shape = (batch, 2 * height, 2 * width, channels)
    return super().compute_output_shape(input_shape)


@keras.saving.register_keras_serializable(package="dcign_tf")
class Decoder(keras.layers.Layer):
  """Latents -> image logits [B, S, S, C] (apply a sigmoid for pixels).

  A linear layer and ReLU to the first feature map (after a hidden ReLU
  layer with `network.dense_units`, so pose and identity latents can
  combine nonlinearly before any pixel is drawn), then per stage
  nearest-neighbour x2 upsampling and a convolution, ReLU between stages.
  Returning logits lets the loss use a numerically stable cross-entropy.

  Args:
    network: a `configs.NetworkConfig` or its dict.
    phases: compute each upsampling + convolution at the low resolution
      (`PhaseConv2D`, `NarrowConv2D` with `upsampled`): the same values
      and weights in fewer operations. False upsamples, then convolves, as
      the paper describes it.
  """

  def __init__(self, network, phases=True, **kwargs):
    super().__init__(**kwargs)
    self.network = network = configs.as_network(network)
    self.phases = bool(phases)
    grid = network.decoder_grid()
    first_filters = network.encoder_filters[-1]
    self.hidden = _hidden_layers(network)
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
      # The image-making stage has 1 or 3 output channels.
      convolution = NarrowConv2D if count <= NARROW_FILTERS else (
          PhaseConv2D)
      self.stages.append(convolution(
          count, kernel, padding=network.padding,
          activation=None if last else "relu"))

  def first_feature_map(self, latents):
    """The map the first upsampling stage reads [B, g, g, C]."""
    features = latents
    for layer in self.hidden:
      features = layer(features)
    return self.reshape(self.project(features))

  def call(self, latents):
    features = self.first_feature_map(latents)
    for upsample, convolution in zip(self.stages[0::2], self.stages[1::2]):
      if self.phases:
        # The upsampling is folded into the convolution (same values).
        features = convolution(features, upsampled=True)
      else:
        features = convolution(upsample(features))
    return features

  def get_config(self):
    return {**super().get_config(), "network": self.network.to_dict(),
            "phases": self.phases}
