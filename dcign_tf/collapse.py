"""Telling a decoder that draws one image for every input from one that
learned to render.

A run whose learning rate is too high can settle on the mean image: the
decoder ignores the code, the loss stays finite, and nothing else in the
training log looks wrong until the evaluation scores chance. The spread of
the reconstructions across different inputs exposes it at once.
"""

from typing import Optional

import numpy as np

# Reconstructions that vary less than this share of the inputs' variance
# across images: the decoder draws (nearly) one image whatever the input.
# A trained model sits near 1 - MSE / variance (0.9 and above on the faces);
# a collapsed one near 0.
COLLAPSED_SPREAD = 0.2
# Before this step a decoder may still be drawing little more than one
# image on its way to rendering (a face model cut to the face trained with
# the sigmoid Gaussian drew one black image until about step 550, and had
# 0.38 of the images' spread at step 1,000); the check waits.
CHECK_FROM_STEP = 2000
# How many test images the check encodes and decodes.
CHECK_IMAGES = 32


def check_images(images: np.ndarray, count: int = CHECK_IMAGES) -> np.ndarray:
  """`count` images spread evenly over `images` (test groups are stored
  group by group, so the first few would all be one face)."""
  images = np.asarray(images)
  if len(images) <= count:
    return images
  return images[np.linspace(0, len(images) - 1, count).astype(int)]


def reconstruction_spread(images, reconstructions) -> float:
  """How much the reconstructions vary across images, as a share of how
  much the images themselves do:

      sum_pixels Var_n(reconstruction_n) / sum_pixels Var_n(image_n)

  over the batch axis n. 1 for a perfect autoencoder, 0 for a decoder that
  draws the same image whatever it is given. Needs at least two images
  that differ.
  """
  images = np.asarray(images, np.float64)
  reconstructions = np.asarray(reconstructions, np.float64)
  if images.shape != reconstructions.shape:
    raise ValueError(f"images {images.shape} and reconstructions "
                     f"{reconstructions.shape} must have the same shape.")
  spread = images.var(axis=0).sum()
  if len(images) < 2 or spread == 0:
    raise ValueError("The spread needs at least two images that differ; got "
                     f"{len(images)} image(s) with variance {spread}.")
  return float(reconstructions.var(axis=0).sum() / spread)


def collapse_warning(spread: float, step: int,
                     learning_rate: float) -> Optional[str]:
  """A warning naming the cause and the remedy when `spread` says the
  decoder has collapsed onto one image; None when it has not (or when
  `spread` is NaN: nothing to tell)."""
  if not spread < COLLAPSED_SPREAD:
    return None
  return (f"Warning: at step {step} the decoder draws nearly the same image "
          f"for every input (its reconstructions of {CHECK_IMAGES} test "
          f"images vary {spread:.1%} as much as the images do; a trained "
          f"model is near 100%, below {COLLAPSED_SPREAD:.0%} is a collapse "
          "onto the mean image). The loss stays finite, so training goes "
          "on, but such a run scores chance. Rerun with a lower "
          f"--learning_rate (this run: {learning_rate:g}) or with "
          "--learning_rate_schedule=warmup_cosine.")
