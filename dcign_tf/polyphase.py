"""x2 nearest-neighbour upsampling followed by a convolution, computed at the
low resolution: the decoder's stages in training, serving and on devices.

Each decoder stage is conv_k(up2(x)). Output pixel 2m + r (phase r in
{0, 1}) of a stride-1 convolution over the upsampled map reads the upsampled
pixels 2m + r + a - p (a = 0..k-1, p the left padding), that is, input
pixels m + floor((r + a - p) / 2). Summing the taps a that land on the same
input pixel gives, per phase, a small kernel over x itself; the four phases
(r, s) become 4 x C output channels of one convolution, and depth_to_space
interleaves them. The result equals the stage up to float rounding, with
about 3x fewer multiply-adds for the paper's 7x7 "valid" stages (4x4 taps
per phase instead of 49 taps at four times the pixels).

The kernels are computed in the graph from the trained weights, so a
SavedModel stays the same size and the TFLite converter folds them.
"""

from typing import Optional

import numpy as np
import tensorflow as tf


def phase_selection(kernel_size: int, padding: str) -> Optional[tuple]:
  """(selection [2, D, k] float32, pad_before, pad_after) for a stage with
  this kernel and padding, or None when the phases cannot be interleaved
  (an even kernel with "valid" padding gives an odd output size).

  selection[r, d, a] = 1 when tap a of phase r reads input offset
  d + d_min; the input is padded by pad_before / pad_after and convolved
  with D x D "valid" kernels.
  """
  if padding == "valid":
    if kernel_size % 2 == 0:
      return None
    left = 0
  elif padding == "same":
    left = (kernel_size - 1) // 2
  else:
    raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}.")
  offsets = np.array([[(r + a - left) // 2 for a in range(kernel_size)]
                      for r in (0, 1)])
  low, high = int(offsets.min()), int(offsets.max())
  selection = np.zeros((2, high - low + 1, kernel_size), np.float32)
  for r in (0, 1):
    selection[r, offsets[r] - low, np.arange(kernel_size)] = 1.0
  if padding == "valid":
    return selection, 0, 0
  return selection, -low, high


def phase_kernels(kernel, selection):
  """[D, D, Cin, 4 * Cout]: the four phases' kernels of `kernel` [k, k, Cin,
  Cout] as one convolution's, output channel (r * 2 + s) * Cout + c in the
  order depth_to_space reads. `selection` from `phase_selection`."""
  kernel = tf.convert_to_tensor(kernel)
  size = selection.shape[1]
  channels_in, channels_out = int(kernel.shape[2]), int(kernel.shape[3])
  selection = tf.constant(selection, kernel.dtype)
  phase_kernel = tf.einsum("rya,sxb,abio->yxirso", selection, selection,
                           kernel)
  return tf.reshape(phase_kernel, [size, size, channels_in, 4 * channels_out])


def upsample_nearest(features):
  """x2 nearest-neighbour upsampling of [B, H, W, C] by broadcasting.

  Its gradient sums each 2 x 2 block of the upstream gradient as 4 x a 2 x 2
  average pool: TensorFlow's own gradient of the broadcast (a reduction over
  two inner axes of a 6-D tensor) took 45 ms for the paper decoder's 42 ->
  84 px stage on two CPU cores and 155 ms for the 78 -> 156 px one, where
  the pool takes 5 and 17 ms. A sum of four numbers and 4 x their mean
  differ at most in the last bit. (Not an image resize: XLA on CPU has no
  kernel for the resize's gradient.)
  """
  height, width, channels = features.shape[1:]

  @tf.custom_gradient
  def _upsample(features):
    doubled = features[:, :, None, :, None, :] * tf.ones(
        (1, 1, 2, 1, 2, 1), dtype=features.dtype)
    output = tf.reshape(doubled, (-1, 2 * height, 2 * width, channels))

    def grad(upstream):
      return tf.nn.avg_pool2d(upstream, 2, 2, "VALID") * tf.constant(
          4.0, upstream.dtype)

    return output, grad

  return _upsample(features)


def conv2d_valid(features, kernel):
  """A stride-1 "valid" convolution (the default `valid_conv`)."""
  return tf.nn.conv2d(features, kernel, 1, "VALID")


def pad_same(features, kernel_size: int):
  """The padding of a stride-1 "same" convolution: (k - 1) // 2 before and
  k // 2 after, in height and width."""
  before, after = (kernel_size - 1) // 2, kernel_size // 2
  return tf.pad(features, [[0, 0], [before, after], [before, after], [0, 0]])


def upsample_conv(features, kernel, bias, padding: str, activation=None,
                  valid_conv=conv2d_valid):
  """conv(up2(features)) with `kernel` [k, k, Cin, Cout] and `bias` [Cout],
  computed at the input resolution (see the module docstring). Falls back
  to the direct form where `phase_selection` gives None (or the kernel is
  not square). `valid_conv(features, kernel)` computes each "valid"
  convolution (`layers.NarrowConv2D` passes its matmul form)."""
  kernel_size = int(kernel.shape[0])
  phases = (phase_selection(kernel_size, padding)
            if kernel.shape[0] == kernel.shape[1] else None)
  if phases is None:
    upsampled = upsample_nearest(features)
    if padding == "same":
      upsampled = pad_same(upsampled, kernel_size)
    output = valid_conv(upsampled, kernel) + bias
  else:
    selection, before, after = phases
    phase_kernel = phase_kernels(kernel, selection)
    if before or after:
      features = tf.pad(features, [[0, 0], [before, after], [before, after],
                                   [0, 0]])
    output = valid_conv(features, phase_kernel)
    output = tf.nn.depth_to_space(output + tf.tile(bias, [4]), 2)
  return activation(output) if activation is not None else output


def decode(decoder, latents):
  """A `layers.Decoder`'s logits, each upsampling + convolution stage
  computed by `upsample_conv`."""
  features = decoder.first_feature_map(latents)
  stages = decoder.stages
  padding = decoder.network.padding
  for upsample, conv in zip(stages[0::2], stages[1::2]):
    del upsample  # Folded into the convolution.
    features = upsample_conv(features, conv.kernel, conv.bias, padding,
                             conv.activation)
  return features
