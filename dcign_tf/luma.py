"""Colour to grayscale, one way everywhere: ITU-R BT.601 luma.

The weights sum to exactly 1 (as Pillow's "L" mode), so a gray image keeps
its values; `tf.image.rgb_to_grayscale`'s sum to 0.9999 and darken it.
"""

import numpy as np

# R, G, B.
BT601_WEIGHTS = (0.299, 0.587, 0.114)
# uint8 images converted at a time, so that a float copy of a large array
# never exists at once.
CHUNK_IMAGES = 1024


def float_luma(images) -> np.ndarray:
  """[..., C] float images -> [...] grayscale; C is 3 (converted) or 1
  (taken as is)."""
  images = np.asarray(images)
  if images.shape[-1] == 3:
    return images @ np.asarray(BT601_WEIGHTS, images.dtype)
  if images.shape[-1] == 1:
    return images[..., 0]
  raise ValueError(f"Images must have 1 or 3 channels, got shape "
                   f"{images.shape}.")


def uint8_luma(images) -> np.ndarray:
  """uint8 [N, H, W, 3] -> uint8 [N, H, W, 1], luma rounded half up."""
  images = np.asarray(images)
  if images.ndim != 4 or images.shape[-1] != 3:
    raise ValueError(f"Expected uint8 [N, H, W, 3] images, got shape "
                     f"{images.shape}.")
  gray = np.empty(images.shape[:-1] + (1,), np.uint8)
  weights = np.asarray(BT601_WEIGHTS, np.float32)
  for start in range(0, len(images), CHUNK_IMAGES):
    chunk = images[start:start + CHUNK_IMAGES].astype(np.float32) @ weights
    gray[start:start + CHUNK_IMAGES, ..., 0] = np.clip(
        np.floor(chunk + 0.5), 0, 255).astype(np.uint8)
  return gray
