"""Scores of a latent against a circular factor (an angle that wraps).

Spearman correlation and the binned R^2 of `evaluation` treat a factor as a
line. A chair's azimuth runs all the way round: 350 and 10 degrees are 20
degrees apart, and a code that is perfect but whose wrap-around falls
elsewhere than the labels' would score low near the wrap. Here:

* `circular_linear_correlation` (Mardia 1976): the multiple correlation of
  a latent z with (cos t, sin t),

      R^2 = (r_zc^2 + r_zs^2 - 2 r_zc r_zs r_cs) / (1 - r_cs^2),

  where r_zc = corr(z, cos t), r_zs = corr(z, sin t), r_cs = corr(cos t,
  sin t). It is 1 when z = a cos(t - phi) + b for some phase phi, and about
  0 for a latent independent of t.
* `evaluation.circular_r2`: the binned regression of `binned_r2` scored on
  the circle. The code (one latent, or two read as a point whose angle is
  taken) is cut into quantile bins; each bin predicts the circular mean of
  the angles of the other half of the data in it (two-fold cross-fit), and

      R^2_circ = 1 - sum(1 - cos(t - prediction)) / sum(1 - cos(t - mean t)),

  one minus the circular variance left, over the circular variance of t.
  It is 1 for a code equal to t on the circle (whatever its wrap point) or
  to (cos t, sin t), and about 0 for a code independent of t.
"""

import numpy as np


def labels_to_radians(labels: np.ndarray, period: float) -> np.ndarray:
  """Labels of a factor that turns once every `period` label units, as
  angles in radians.

  Raises:
    ValueError: when the labels span a full period or more, so that they
      cannot be angles of one turn.
  """
  labels = np.asarray(labels, np.float64)
  if not period > 0:
    raise ValueError(f"A circular factor's period must be > 0, got "
                     f"{period}.")
  if labels.size and np.ptp(labels) >= period:
    raise ValueError(
        f"The labels span {np.ptp(labels):g} units, at least the period "
        f"{period:g}: a circular factor's labels must be angles within one "
        "turn.")
  return 2 * np.pi * labels / period


def _correlation(a, b):
  a, b = a - a.mean(), b - b.mean()
  denominator = np.sqrt(np.sum(a * a) * np.sum(b * b))
  return 0.0 if denominator == 0 else float(np.sum(a * b) / denominator)


def circular_linear_correlation(latent: np.ndarray,
                                radians: np.ndarray) -> float:
  """Mardia's circular-linear correlation R in [0, 1] of a latent [M] with
  angles [M] in radians."""
  latent = np.asarray(latent, np.float64)
  radians = np.asarray(radians, np.float64)
  if latent.shape != radians.shape or latent.ndim != 1:
    raise ValueError(f"latent and angles must be 1-D of equal length, got "
                     f"{latent.shape} and {radians.shape}.")
  cos, sin = np.cos(radians), np.sin(radians)
  r_zc, r_zs = _correlation(latent, cos), _correlation(latent, sin)
  r_cs = _correlation(cos, sin)
  if 1 - r_cs ** 2 <= 1e-12:  # The angles lie on a line through the circle.
    return abs(r_zc)
  squared = (r_zc ** 2 + r_zs ** 2 - 2 * r_zc * r_zs * r_cs) / (1 - r_cs ** 2)
  return float(np.sqrt(np.clip(squared, 0.0, 1.0)))


def circular_mean(radians, weights=None):
  """The mean direction of angles in radians."""
  return np.arctan2(np.average(np.sin(radians), weights=weights),
                    np.average(np.cos(radians), weights=weights))
