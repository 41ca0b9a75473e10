"""Labelled images stored as `.npz` files in the dSprites layout: uint8
images and one integer label column per factor; and bringing images to the
model's square resolution."""

import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from dcign_tf import luma
from dcign_tf.data import labelled

# Latent factors of dSprites, in the column order of its `latents_classes`.
DSPRITES_FACTORS = ("color", "shape", "scale", "orientation", "position_x",
                    "position_y")
# Images converted at a time, so that a float copy of a 3 GB array never
# exists at once.
CHUNK_IMAGES = 1024


def _to_uint8(images: np.ndarray, key: str) -> np.ndarray:
  """Stored pixel values -> uint8 in [0, 255].

  Binary images (dSprites stores 0/1) would look black at full scale, so
  booleans, and integers whose maximum is 1, are scaled to {0, 255}. An
  integer array that is in fact 8-bit but has no value above 1 (a nearly
  black set) would be scaled too; that is taken as the lesser risk. Floats
  must lie in [0, 1] and are scaled by 255.
  """
  if images.dtype == np.bool_:
    return images.astype(np.uint8) * np.uint8(255)
  if np.issubdtype(images.dtype, np.integer):
    low, high = int(images.min()), int(images.max())
    if low < 0 or high > 255:
      raise ValueError(f"{key!r} holds integer values in [{low}, {high}]; "
                       "allowed: [0, 255], or {0, 1} for binary images.")
    images = images.astype(np.uint8, copy=False)
    if high <= 1:
      images = np.multiply(images, 255, dtype=np.uint8)
    return images
  if np.issubdtype(images.dtype, np.floating):
    low, high = float(images.min()), float(images.max())
    if not (0.0 <= low and high <= 1.0):
      raise ValueError(f"{key!r} holds float values in [{low:g}, {high:g}]; "
                       "allowed: [0, 1].")
    return np.floor(images * 255.0 + 0.5).astype(np.uint8)
  raise ValueError(f"{key!r} has dtype {images.dtype}; allowed: bool, "
                   "integer or float images.")


def load_npz(path: Union[str, os.PathLike], images_key: str = "imgs",
             labels_key: str = "latents_classes",
             factor_names: Optional[Sequence[str]] = None,
             channels: int = 1) -> Tuple[np.ndarray, np.ndarray, tuple]:
  """Reads images and factor labels from an `.npz` in the dSprites layout.

  Args:
    path: the `.npz` file.
    images_key: its member of images, [N, H, H] or [N, H, H, C], C in
      (1, 3); bool, integer or float (see `_to_uint8`).
    labels_key: its member of integer labels, [N, F].
    factor_names: one name per label column; by default the dSprites names
      when F == 6 (and required otherwise).
    channels: 1 for grayscale (colour is converted with BT.601 weights) or
      3 (grayscale is replicated).

  Returns:
    (uint8 images [N, H, H, channels], labels [N, F], factor names).
  """
  if channels not in (1, 3) or isinstance(channels, bool):
    raise ValueError(f"channels must be 1 or 3, got {channels!r}.")
  if not os.path.isfile(path):
    raise ValueError(f"No file at {os.fspath(path)!r}; allowed: an existing "
                     ".npz file.")
  # Compressed members cannot be memory-mapped, and np.load ignores
  # mmap_mode for .npz archives, so each member is read whole.
  archive = np.load(path, allow_pickle=False)
  if not isinstance(archive, np.lib.npyio.NpzFile):
    raise ValueError(f"{os.fspath(path)!r} holds a single array, not an .npz "
                     "archive of images and labels.")
  with archive:
    for key in (images_key, labels_key):
      if key not in archive.files:
        raise ValueError(f"{os.fspath(path)!r} has no member {key!r}; it has "
                         f"{', '.join(sorted(archive.files))}.")
    images, labels = archive[images_key], archive[labels_key]

  if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"{labels_key!r} must be a 2-D integer array [images, "
                     f"factors], got shape {labels.shape} of dtype "
                     f"{labels.dtype}.")
  if images.ndim == 3:
    images = images[..., np.newaxis]
  if images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise ValueError(f"{images_key!r} has shape {images.shape}; allowed: "
                     "[N, H, H] or [N, H, H, C] with C 1 or 3.")
  if images.shape[1] != images.shape[2]:
    raise ValueError(f"{images_key!r} has non-square images, shape "
                     f"{images.shape}; allowed: height == width.")
  if len(images) != len(labels):
    raise ValueError(f"{images_key!r} has {len(images)} images but "
                     f"{labels_key!r} has {len(labels)} rows; allowed: one "
                     "label row per image.")
  count = labels.shape[1]
  if factor_names is None:
    if count != len(DSPRITES_FACTORS):
      raise ValueError(f"{labels_key!r} has {count} factor columns, not "
                       f"dSprites' {len(DSPRITES_FACTORS)}; give "
                       f"factor_names ({count} names).")
    factor_names = DSPRITES_FACTORS
  factor_names = tuple(factor_names)
  if len(factor_names) != count:
    raise ValueError(f"{len(factor_names)} factor_names were given for "
                     f"{count} label columns; allowed: one name per column.")

  images = _to_uint8(images, images_key)
  if images.shape[-1] == 3 and channels == 1:
    images = luma.uint8_luma(images)
  elif images.shape[-1] == 1 and channels == 3:
    images = np.repeat(images, 3, axis=-1)
  return images, labels, factor_names


def resize_square(images: np.ndarray, size: int) -> np.ndarray:
  """uint8 [N, H, H, C] -> uint8 [N, size, size, C].

  Shrinking by a whole factor averages each block of pixels (no aliasing,
  and exact); any other size is interpolated bilinearly with pixel centres
  aligned (as PIL and tf.image do), which is adequate for mild changes.
  """
  size = labelled.check_whole_number("size", size, 1)
  if images.ndim != 4 or images.shape[1] != images.shape[2] or (
      images.dtype != np.uint8):
    raise ValueError("images must be uint8 [N, H, H, C], got shape "
                     f"{images.shape} of dtype {images.dtype}.")
  height = images.shape[1]
  if size == height:
    return images.copy()
  result = np.empty((len(images), size, size, images.shape[3]), np.uint8)
  if height % size == 0:
    factor = height // size
    for start in range(0, len(images), CHUNK_IMAGES):
      chunk = images[start:start + CHUNK_IMAGES].astype(np.float32)
      blocks = chunk.reshape(len(chunk), size, factor, size, factor, -1)
      result[start:start + CHUNK_IMAGES] = np.floor(
          blocks.mean(axis=(2, 4)) + 0.5).astype(np.uint8)
    return result
  # Source coordinate of each output pixel centre, clamped at the borders.
  coordinates = np.clip((np.arange(size) + 0.5) * height / size - 0.5, 0,
                        height - 1)
  below = np.floor(coordinates).astype(np.int64)
  above = np.minimum(below + 1, height - 1)
  fraction = (coordinates - below).astype(np.float32)
  rows_weight = fraction[:, None, None]
  columns_weight = fraction[None, :, None]
  for start in range(0, len(images), CHUNK_IMAGES):
    chunk = images[start:start + CHUNK_IMAGES].astype(np.float32)
    rows = (chunk[:, below] * (1 - rows_weight[None]) +
            chunk[:, above] * rows_weight[None])
    mixed = (rows[:, :, below] * (1 - columns_weight[None]) +
             rows[:, :, above] * columns_weight[None])
    result[start:start + CHUNK_IMAGES] = np.clip(
        np.floor(mixed + 0.5), 0, 255).astype(np.uint8)
  return result
