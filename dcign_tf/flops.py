"""The arithmetic of one forward pass, for run-time estimates."""

from dcign_tf import configs
from dcign_tf import layers
from dcign_tf import polyphase


def forward_flops_per_image(network: configs.NetworkConfig,
                            phases: bool = True) -> float:
  """Multiply-adds x 2 of one forward pass, counted from the layer shapes
  as the layers compute them (`phases`: as `layers.Decoder(phases=...)`).

  A convolution counts output pixels x taps x channels in x out. A decoder
  stage computed in phases is a "valid" D x D convolution of the padded
  low-resolution map to 4 x Cout channels; the image-making stage
  (`layers.NarrowConv2D`) is a matmul at every (padded) input pixel to one
  channel per tap and output channel, at the low resolution in phases.
  """
  flops, size, channels = 0.0, network.image_size, network.channels
  for filters, kernel in zip(network.encoder_filters, network.encoder_kernels):
    out = size - (kernel - 1 if network.padding == "valid" else 0)
    flops += 2.0 * out * out * kernel * kernel * channels * filters
    size, channels = out // 2, filters
  features = size * size * channels
  if network.dense_units:  # The hidden layers on both sides of the code.
    flops += 2.0 * features * network.dense_units
    flops += 2.0 * network.latent_size * network.dense_units
    features = code = network.dense_units
  else:
    code = network.latent_size
  flops += 2 * 2.0 * features * network.latent_size
  grid = network.decoder_grid()
  channels = network.encoder_filters[-1]
  flops += 2.0 * code * grid * grid * channels
  size = grid
  for filters, kernel in zip(list(network.decoder_filters) +
                             [network.channels], network.decoder_kernels):
    out = 2 * size - (kernel - 1 if network.padding == "valid" else 0)
    stage = polyphase.phase_selection(kernel, network.padding) if (
        phases) else None
    narrow = filters <= layers.NARROW_FILTERS
    if stage is None:  # Upsampled, then convolved.
      if narrow:
        padded = out + kernel - 1
        flops += 2.0 * padded * padded * channels * kernel * kernel * filters
      else:
        flops += 2.0 * out * out * kernel * kernel * channels * filters
    else:
      selection, before, after = stage
      taps, padded = selection.shape[1], size + before + after
      pixels = padded if narrow else padded - taps + 1
      flops += 2.0 * pixels * pixels * channels * taps * taps * 4 * filters
    size, channels = out, filters
  return flops
