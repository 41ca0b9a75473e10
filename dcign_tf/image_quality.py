"""Image quality over the object's pixels: foreground MSE, PSNR and SSIM.

A rendered head fills a third of its frame; the rest is black background
that any decoder reproduces. Averaged over the whole frame, a decoder that
blurs the face away still scores well. These scores look only at the
foreground: the pixels the renderer's mesh covers in the *true* image.

Conventions: images are float arrays [B, S, S, C] (or [B, S, S]) on [0, 1];
masks are [B, S, S] (or with a trailing 1), nonzero on the foreground.
"""

import numpy as np
from scipy import ndimage

# Z. Wang et al. (2004), "Image quality assessment: from error visibility to
# structural similarity": an 11-tap Gaussian window of sigma 1.5 and
# K1 = 0.01, K2 = 0.03 of a data range of 1.
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5
SSIM_C1 = 0.01 ** 2
SSIM_C2 = 0.03 ** 2


def _as_batch(images: np.ndarray) -> np.ndarray:
  """[B, S, S, C] or [B, S, S] -> float64 [B, S, S, C]."""
  images = np.asarray(images, np.float64)
  if images.ndim == 3:
    images = images[..., None]
  if images.ndim != 4:
    raise ValueError(f"Images must be [B, S, S] or [B, S, S, C], got shape "
                     f"{images.shape}.")
  return images


def _as_masks(masks: np.ndarray, images: np.ndarray) -> np.ndarray:
  """Masks as bool [B, S, S], checked against the images."""
  masks = np.asarray(masks)
  if masks.ndim == 4 and masks.shape[-1] == 1:
    masks = masks[..., 0]
  if masks.shape != images.shape[:3]:
    raise ValueError(f"Masks of shape {masks.shape} do not fit images of "
                     f"shape {images.shape}.")
  masks = masks > 0
  empty = np.flatnonzero(~masks.any(axis=(1, 2)))
  if empty.size:
    raise ValueError(f"Image(s) {empty[:5].tolist()} have an empty "
                     "foreground mask: nothing to score.")
  return masks


def _check_pair(images, targets):
  images, targets = _as_batch(images), _as_batch(targets)
  if images.shape != targets.shape:
    raise ValueError(f"images {images.shape} and targets {targets.shape} must "
                     "have the same shape.")
  return images, targets


def foreground_mse(images, targets, masks) -> np.ndarray:
  """[B] mean over foreground pixels (and channels) of (image - target)^2."""
  images, targets = _check_pair(images, targets)
  masks = _as_masks(masks, targets)
  squared = np.mean((images - targets) ** 2, axis=-1)
  return np.sum(squared * masks, axis=(1, 2)) / np.sum(masks, axis=(1, 2))


def foreground_psnr(images, targets, masks) -> np.ndarray:
  """[B] PSNR in dB over the foreground: 10 log10(1 / foreground MSE) for a
  data range of 1; +inf where the image equals its target there."""
  mse = foreground_mse(images, targets, masks)
  with np.errstate(divide="ignore"):
    return 10.0 * np.log10(1.0 / mse)


def ssim_map(images, targets) -> np.ndarray:
  """[B, S, S] SSIM of every pixel's neighbourhood (averaged over channels).

  SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2) /
         ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2)),
  with Gaussian-weighted local means, variances and covariance (window
  sigma 1.5, 11 taps; the image border is reflected). It is 1 exactly where
  the two images agree over the whole window.
  """
  images, targets = _check_pair(images, targets)
  sigmas = (0, SSIM_SIGMA, SSIM_SIGMA, 0)
  truncate = SSIM_RADIUS / SSIM_SIGMA

  def blur(values):
    return ndimage.gaussian_filter(values, sigmas, mode="reflect",
                                   truncate=truncate)

  mu_x, mu_y = blur(images), blur(targets)
  var_x = blur(images * images) - mu_x ** 2
  var_y = blur(targets * targets) - mu_y ** 2
  covariance = blur(images * targets) - mu_x * mu_y
  numerator = (2 * mu_x * mu_y + SSIM_C1) * (2 * covariance + SSIM_C2)
  denominator = (mu_x ** 2 + mu_y ** 2 + SSIM_C1) * (var_x + var_y + SSIM_C2)
  return np.mean(numerator / denominator, axis=-1)


def foreground_ssim(images, targets, masks) -> np.ndarray:
  """[B] mean of `ssim_map` over each target's foreground pixels."""
  images, targets = _check_pair(images, targets)
  masks = _as_masks(masks, targets)
  values = ssim_map(images, targets)
  return np.sum(values * masks, axis=(1, 2)) / np.sum(masks, axis=(1, 2))


def summary(images, targets, masks) -> dict:
  """Mean foreground MSE, PSNR (dB) and SSIM over a batch.

  The PSNR is the mean of the per-image PSNRs (+inf when any image is
  exact), the usual way image-synthesis papers report it.
  """
  mse = foreground_mse(images, targets, masks)
  with np.errstate(divide="ignore"):
    psnr = 10.0 * np.log10(1.0 / mse)
  return {"foreground_mse": float(mse.mean()),
          "foreground_psnr": float(psnr.mean()),
          "foreground_ssim": float(foreground_ssim(images, targets,
                                                   masks).mean()),
          "images": int(mse.size)}
